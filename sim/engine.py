"""The engine: one replay of the feed through the venues, serving every strategy at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import attrs
import numpy as np
import simpy

from feeds.live import LiveMarket
from feeds.market import MarketData
from sim.ledger import Ledger
from strategies.base import Strategy
from venues.config import VenueConfig
from venues.latency import Link
from venues.orders import ChildOrder, Fill, OrderKind, OrderReport
from venues.venue import Venue
from venues.view import BookView

_TIMER_PRIORITY = 2  # SimPy runs lower numbers first at equal times; NORMAL is 1


def _call(message: tuple[Callable, object]) -> None:
    tell, payload = message
    tell(payload)


@attrs.frozen
class StrategySlot:
    """One strategy instance to run: its class, its name in the results, its parameter lanes."""

    name: str
    cls: type[Strategy]
    params: tuple[dict, ...]


@attrs.frozen(eq=False)
class RunOutcome:
    """What a replay produced: one ledger per slot, and the time the window closed."""

    ledgers: tuple[Ledger, ...]
    end_ns: int


class Engine:
    """Replay ``md`` once through one ``Venue`` per publisher and every strategy slot.

    Time is SimPy's clock in integer nanoseconds. All rows sharing a ``ts_event`` are
    applied in one step, then each unfinished strategy sees the books once. Orders
    travel to a venue over a ``Link`` with the venue's entry latency; the ledger books
    a fill when the venue makes it, and the strategy hears of fills and of an order's
    end over another ``Link`` with the venue's response latency. With a ``LiveMarket``
    the rows are replayed as a stream delivers them. When the feed is
    exhausted and in-flight orders have landed, resting orders are cancelled and
    each lane still short of its target sweeps the last book's depth (catch-up).
    """

    def __init__(
        self,
        md: MarketData,
        venues: Sequence[VenueConfig],
        slots: Sequence[StrategySlot],
        *,
        target: int,
        start_ns: int,
        end_ns: int,
        seed: int,
        progress: Callable[[int, int], None] | None = None,
        resting_factory: Callable[[Venue], object] | None = None,
        live: LiveMarket | None = None,
        on_fill: Callable[[Fill], None] | None = None,
    ):
        self.live = live
        self._fill_hook = on_fill
        if live is not None:
            md = live.md
        elif len(md) == 0:
            raise ValueError("no market data in the window")
        self.md = md
        self.target = int(target)
        self.start_ns = int(start_ns)
        self.end_ns = int(end_ns)
        self.progress = progress
        first = self.start_ns if live is not None else min(int(md.ts_event[0]), self.start_ns)
        self.env = simpy.Environment(initial_time=first)
        venue_ids = tuple(c.venue_id for c in venues)
        index = {v: k for k, v in enumerate(venue_ids)}
        self._venue_index = index
        missing = [] if live is not None else sorted(set(md.venues) - set(index))
        if missing:
            raise ValueError(f"the data has venues with no settings: {missing}")
        self.view = BookView(md, venue_ids, fee=[c.fee for c in venues], rebate=[c.rebate for c in venues])
        self.venues = [Venue(self.env, k, c, self.view, self, feed=md) for k, c in enumerate(venues)]
        if resting_factory is not None:
            for venue in self.venues:
                venue.resting = resting_factory(venue)
        self.links = [
            Link(self.env, c.latency_ns, v.inbox.put) for c, v in zip(venues, self.venues, strict=True)
        ]
        self._response_ns = [c.response_latency_ns for c in venues]
        self.responses = [Link(self.env, c.response_latency_ns, _call) for c in venues]
        self._closed = False
        self._row_venue = (
            None if live is not None else np.array([index[int(v)] for v in md.venue], dtype=np.int64)
        )
        self.strategies: list[Strategy] = []
        self.ledgers: list[Ledger] = []
        for owner, slot in enumerate(slots):
            strategy = slot.cls(
                list(slot.params),
                target=self.target,
                start_ns=self.start_ns,
                end_ns=self.end_ns,
                venue_ids=venue_ids,
                rng=np.random.default_rng([int(seed), owner]),
            )
            strategy.bind(self, owner)
            self.strategies.append(strategy)
            self.ledgers.append(Ledger(strategy.lanes, len(venues)))
        self._next_order_id = 1
        self._orders: dict[int, ChildOrder] = {}

    # -- Router: what strategies call ------------------------------------------------

    @property
    def now(self) -> int:
        return int(self.env.now)

    def send(self, owner: int, venue: int, kind: OrderKind, qty: np.ndarray, limit_px: int) -> int:
        order_id = self._next_order_id
        self._next_order_id += 1
        order = ChildOrder(
            order_id=order_id,
            owner=owner,
            venue=venue,
            kind=kind,
            qty=qty,
            limit_px=limit_px,
            ts_sent=self.now,
        )
        self._orders[order_id] = order
        self.strategies[owner].pending += qty
        self.links[venue].send(order)
        return order_id

    def cancel(self, owner: int, venue: int, order_id: int) -> None:
        self.links[venue].send((owner, order_id))

    def call_at(self, ts_ns: int, callback: Callable[[], None]) -> None:
        # A timer after the window closes never fires: the window's end is final.
        if int(ts_ns) > self.end_ns:
            return
        event = simpy.Event(self.env)
        event._ok = True
        event._value = None
        event.callbacks.append(lambda _event: callback())
        # Timers run after the feed's step at the same instant, so they see that instant's books.
        self.env.schedule(event, _TIMER_PRIORITY, max(0, int(ts_ns) - self.now))

    def available_asks(self, owner: int) -> np.ndarray:
        view = self.view
        lanes = self.strategies[owner].lanes
        out = np.broadcast_to(view.ask_sz, (lanes, *view.ask_sz.shape)).copy()
        for k, venue in enumerate(self.venues):
            taken = venue.taken.get(owner)
            if taken:
                taken.subtract(out[:, k, :], view.ask_px[k], view.ask_sz[k])
        return out

    # -- OrderSink: what venues call ---------------------------------------------------

    def on_fill(self, fill: Fill) -> None:
        self.ledgers[fill.owner].record(fill)
        if self._fill_hook is not None:
            self._fill_hook(fill)
        self._respond(fill.venue, self._tell_fill, fill)

    def headroom(self, owner: int) -> np.ndarray:
        # The venue's truth (the ledger), not what the strategy has heard so far.
        strategy = self.strategies[owner]
        room = strategy.target - self.ledgers[owner].filled
        for order in self._orders.values():
            if order.owner == owner and order.kind is OrderKind.MARKETABLE:
                room = room - order.qty
        return room

    def on_report(self, report: OrderReport) -> None:
        self._orders.pop(report.order_id, None)
        self._respond(report.venue, self._tell_report, report)

    def _respond(self, venue: int, tell: Callable, message) -> None:
        # A zero response latency tells the strategy at once, inside the venue's step;
        # so does the closing sweep, after which no event runs.
        if self._closed or self._response_ns[venue] == 0:
            tell(message)
        else:
            self.responses[venue].send((tell, message))

    def _tell_fill(self, fill: Fill) -> None:
        strategy = self.strategies[fill.owner]
        strategy.filled += fill.qty
        strategy.on_fill(fill)

    def _tell_report(self, report: OrderReport) -> None:
        strategy = self.strategies[report.owner]
        strategy.pending -= report.filled + report.cancelled
        strategy.on_report(report)

    # -- the replay ------------------------------------------------------------------

    def _instants(self, row_venue: list[int]) -> Iterator[tuple[int, int, int]]:
        """Yield ``(start, stop, ts)`` for every instant: the feed rows sharing one ``ts_event``.

        ``row_venue`` receives each row's venue index as rows become known.
        """
        md = self.md
        ts = md.ts_event
        if self.live is None:
            starts = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]]).tolist()
            bounds = starts + [len(md)]
            ts_list = ts.tolist()
            row_venue.extend(self._row_venue.tolist())
            for g in range(len(starts)):
                yield bounds[g], bounds[g + 1], ts_list[bounds[g]]
            return
        # Live: rows are written while we replay, so an instant is complete only once
        # the next row (or the end of the stream) has arrived.
        market = self.live
        index = self._venue_index
        row = 0
        while market.ensure(row + 1) > row:
            t = int(ts[row])
            stop = row + 1
            while market.ensure(stop + 1) > stop and int(ts[stop]) == t:
                stop += 1
            for r in range(row, stop):
                k = index.get(int(md.venue[r]))
                if k is None:
                    raise ValueError(f"the stream has a venue with no settings: {int(md.venue[r])}")
                row_venue.append(k)
            yield row, stop, t
            row = stop

    def _feed(self):
        row_venue: list[int] = []
        # Bound once: the loop below runs once per distinct timestamp, tens of thousands of times.
        on_snapshot = [venue.on_snapshot for venue in self.venues]
        view = self.view
        env = self.env
        timeout = env.timeout
        progress = self.progress if self.live is None else None
        active = list(self.strategies)
        for s in active:
            s.on_start(view)
        instants = self._instants(row_venue)
        groups = int(np.count_nonzero(np.diff(self.md.ts_event))) + 1 if progress is not None else 0
        every = max(1, groups // 200)
        g = 0
        for start, stop, t in instants:
            if t > env.now:
                yield timeout(t - env.now)
            for row in range(start, stop):
                on_snapshot[row_venue[row]](row)
            view.ts = t
            view.batch_start = start
            view.batch_stop = stop
            for s in active:
                s.on_book(view)
            if not g & 63:
                active = [s for s in active if not s.done]
            if progress is not None and g % every == 0:
                progress(g, groups)
            g += 1
        if self.end_ns > env.now:
            yield env.timeout(self.end_ns - env.now)
        if progress is not None:
            progress(groups, groups)

    def run(self) -> RunOutcome:
        """Replay the feed, let in-flight orders land, then close the window."""
        self.env.process(self._feed())
        self.env.run()
        for s in self.strategies:
            s.on_end(self.view)
        for venue in self.venues:
            if venue.resting is not None:
                venue.resting.cancel_all()
        self.env.run()
        self._closed = True
        self._catch_up()
        return RunOutcome(ledgers=tuple(self.ledgers), end_ns=self.now)

    def _catch_up(self) -> None:
        """Sweep the last book's depth across venues, cheapest price first, for what is left."""
        view = self.view
        levels = sorted(
            (int(view.ask_px[k, level]), k)
            for k in range(view.venues)
            for level in range(view.ask_px.shape[1])
            if view.ask_sz[k, level] > 0
        )
        for owner, strategy in enumerate(self.strategies):
            rem = strategy.target - self.ledgers[owner].filled
            np.maximum(rem, 0, out=rem)
            if not rem.any():
                continue
            order_id = self._next_order_id
            self._next_order_id += 1
            for px, k in levels:
                self.venues[k].take(owner, rem, px, order_id, only_px=px, catch_up=True)
                if not rem.any():
                    break
