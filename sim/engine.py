"""The engine: one replay of a feed through the venues, serving every strategy and parameter set at once.

Time is SimPy's clock in integer nanoseconds. The replay kernel walks the feed
chunk by chunk (``feeds.feed``) and wakes only where something can happen:

* at each instant (distinct visible time) while some strategy is ``watching``: the
  strategies that watch see the books (``on_book``);
* at each feed row that can fill one of our resting orders (a trade at or through
  its price, the far side coming down to it): that venue applies its rows up to it;
* at the end of each chunk, to hand over to the next.

Everything else happens on SimPy events of its own: orders and cancels reach a
venue after the venue's latency (``venues.venue``), fills and reports reach their
strategy after the response latency, and timers fire at their time, after the
kernel's step at the same instant. Feed rows stamped ``t`` are applied before
anything else that happens at ``t`` looks at the books. Stretches of feed nobody
watches are not stepped through: a venue brings its book up to date when it is
next needed, and strategies that estimate from the tape get its rows in batches
(``on_tape``) before their next callback.

When the feed is exhausted and the window closed, in-flight orders land, resting
orders are cancelled, and each lane still short of its target sweeps the last
book's depth (the catch-up).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import attrs
import numpy as np
import simpy

from feeds.feed import Feed, FeedStats, MemoryFeed
from feeds.market import MarketData
from sim.ledger import Ledger
from sim.tape import Tape
from strategies.base import LaneStrategy, Order
from venues.config import VenueConfig
from venues.latency import Link
from venues.orders import ChildOrder, Fill, OrderKind, OrderReport
from venues.venue import Venue
from venues.view import BookView

_TIMER_PRIORITY = 2  # SimPy runs lower numbers first at equal times; NORMAL is 1
_NEVER = np.iinfo(np.int64).max


@attrs.frozen
class StrategySlot:
    """One strategy instance to run: its class, its name in the results, its parameter lanes."""

    name: str
    cls: type[LaneStrategy]
    params: tuple


@attrs.frozen(eq=False)
class RunOutcome:
    """What a replay produced: one ledger per slot, the time the window closed, and the feed's counts."""

    ledgers: tuple[Ledger, ...]
    end_ns: int
    stats: FeedStats
    final_mid: int | None = None
    stale_reads: int = 0
    reads: int = 0


class _Handle:
    """One strategy's handle on the engine (``strategies.base.Router``): no owner to pass around."""

    __slots__ = ("_engine", "_owner")

    def __init__(self, engine: Engine, owner: int):
        self._engine = engine
        self._owner = owner

    @property
    def now(self) -> int:
        return int(self._engine.env.now)

    def send(self, venue: int, kind: OrderKind, qty: np.ndarray, limit_px: int) -> int:
        return self._engine.send(self._owner, venue, kind, qty, limit_px)

    def cancel(self, venue: int, order_id: int, lanes: np.ndarray | None = None) -> None:
        self._engine.venues[venue].send_cancel(self._owner, order_id, lanes)

    def call_at(self, ts_ns: int, callback: Callable[[], None]) -> None:
        self._engine.call_at(self._owner, ts_ns, callback)

    def offered(self) -> np.ndarray:
        return self._engine.offered(self._owner)


class Engine:
    """Replay a feed once through one ``Venue`` per publisher and every strategy slot (module docstring).

    Parameters
    ----------
    data
        The market: ``MarketData`` in memory or a ``feeds.feed.Feed``.
    venues
        One ``VenueConfig`` per venue of the data, in the run's venue order.
    slots
        The strategies to run.
    target, side, start_ns, end_ns
        The parent order every strategy works.
    seed
        Seeds every strategy's and every venue's random generator.
    progress
        Called as ``progress(done_ns, total_ns)`` as simulated time advances.
    on_fill
        Called with every fill as the venue makes it (for printing a live run).
    max_quote_age_ns
        Strategies see a venue whose quote is older than this as empty (None: never).
    observers
        Shown every chunk, as the feed gives it, before it is replayed (``observe(md)``).
    """

    def __init__(
        self,
        data: MarketData | Feed,
        venues: Sequence[VenueConfig],
        slots: Sequence[StrategySlot],
        *,
        target: int,
        start_ns: int,
        end_ns: int,
        seed: int,
        side: str = "buy",
        progress: Callable[[int, int], None] | None = None,
        on_fill: Callable[[Fill], None] | None = None,
        max_quote_age_ns: int | None = None,
        observers: Sequence = (),
    ):
        self.feed = MemoryFeed(data) if isinstance(data, MarketData) else data
        self._chunks = iter(self.feed.chunks())
        self._first = next(self._chunks, None)
        if self._first is None or len(self._first) == 0:
            raise ValueError("no market data in the window")
        self.target = int(target)
        self.start_ns = int(start_ns)
        self.end_ns = int(end_ns)
        self.side = side
        self.progress = progress
        self._fill_hook = on_fill
        self._observers = tuple(observers)
        venue_ids = tuple(c.venue_id for c in venues)
        missing = sorted(set(self.feed.info.venues) - set(venue_ids))
        if missing:
            raise ValueError(f"the data has venues with no settings: {missing}")
        self.env = simpy.Environment(initial_time=min(int(self._first.ts_event[0]), self.start_ns))
        self.tape = Tape(venue_ids, [c.feed for c in venues], side)
        self.view = BookView(
            self.tape,
            lambda: self.env.now,
            [c.fees for c in venues],
            self._first.levels,
            max_quote_age_ns=max_quote_age_ns,
        )
        # Venue models draw apart from the strategies' generators ([seed, owner]).
        self.venues = [
            Venue(self.env, k, c, self.tape, self, np.random.default_rng([int(seed), 1_000 + k]))
            for k, c in enumerate(venues)
        ]
        self._responses = [Link(self.env, _deliver) for _ in venues]
        order = Order(side=side, target=self.target, start_ns=self.start_ns, end_ns=self.end_ns)
        self.strategies: list[LaneStrategy] = []
        self.ledgers: list[Ledger] = []
        for owner, slot in enumerate(slots):
            lanes = [slot.cls.parse_params(p) if isinstance(p, Mapping) else p for p in slot.params]
            strategy = slot.cls(
                lanes,
                order=order,
                venue_ids=venue_ids,
                rng=np.random.default_rng([int(seed), owner]),
                router=_Handle(self, owner),
            )
            self.strategies.append(strategy)
            self.ledgers.append(Ledger(strategy.lanes, len(venues), side=side))
        self._tape_users = [type(s).on_tape is not LaneStrategy.on_tape for s in self.strategies]
        self._synced = [-(2**63)] * len(self.strategies)
        self._next_order_id = 1
        self._orders: dict[int, ChildOrder] = {}
        # Marketable orders sent and not yet executed at their venue, per owner.
        self._in_flight: list[dict[int, ChildOrder]] = [{} for _ in self.strategies]
        self._closed = False
        self._poke: simpy.Event | None = None
        self._dispatched = -(2**63)  # the last instant whose books were shown
        self._progress_at = 0

    # -- what strategies call (through their handle) ------------------------------------

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
            ts_sent=int(self.env.now),
        )
        self._orders[order_id] = order
        if kind is OrderKind.MARKETABLE:
            self._in_flight[owner][order_id] = order
        self.strategies[owner].pending += qty
        self.venues[venue].send(order)
        return order_id

    def call_at(self, owner: int, ts_ns: int, callback: Callable[[], None]) -> None:
        # A timer after the window closes never fires: the window's end is final.
        if int(ts_ns) > self.end_ns:
            return
        event = simpy.Event(self.env)
        event._ok = True
        event._value = None
        event.callbacks.append(lambda _event: self._call(owner, callback))
        # Timers run after the kernel's step at the same instant, so they see that instant's books.
        self.env.schedule(event, _TIMER_PRIORITY, max(0, int(ts_ns) - int(self.env.now)))

    def offered(self, owner: int) -> np.ndarray:
        """Return the far sizes offered to ``owner``: displayed, less taken, less its orders in flight."""
        view = self.view
        lanes = self.strategies[owner].lanes
        far_px, far_sz = view.far_px, view.far_sz
        out = np.broadcast_to(far_sz, (lanes, *far_sz.shape)).copy()
        for k, venue in enumerate(self.venues):
            taken = venue.book.taken.get(owner)
            if taken:
                taken.subtract(out[:, k, :], far_px[k], far_sz[k])
        for order in self._in_flight[owner].values():
            # What a marketable order on its way will take, best levels first, up to its limit.
            k = order.venue
            reach = far_px[k] <= order.limit_px
            before = np.cumsum(out[:, k, :] * reach, axis=1) - out[:, k, :] * reach
            out[:, k, :] -= np.clip(order.qty[:, None] - before, 0, out[:, k, :]) * reach
        return out

    # -- what venues call (the sink) -----------------------------------------------------

    def on_fill(self, fill: Fill) -> None:
        self.ledgers[fill.owner].record(fill)
        if self._fill_hook is not None:
            self._fill_hook(fill)
        self._respond(fill.venue, self._tell_fill, fill)

    def on_report(self, report: OrderReport) -> None:
        if report.complete:
            self._orders.pop(report.order_id, None)
        self._in_flight[report.owner].pop(report.order_id, None)
        self._respond(report.venue, self._tell_report, report)

    def on_resting(self, venue: int) -> None:
        self._wake()

    def _respond(self, venue: int, tell: Callable, message) -> None:
        # News with no response delay reaches the strategy at once, inside the venue's step;
        # so does the closing sweep's, after which no event runs.
        delay = 0 if self._closed else self.venues[venue].response_ns()
        if delay == 0:
            tell(message)
        else:
            self._responses[venue].send((tell, message), delay)

    def _tell_fill(self, fill: Fill) -> None:
        strategy = self.strategies[fill.owner]
        strategy.filled += fill.qty
        self._call(fill.owner, strategy.on_fill, fill)

    def _tell_report(self, report: OrderReport) -> None:
        strategy = self.strategies[report.owner]
        strategy.pending -= report.filled + report.cancelled
        self._call(report.owner, strategy.on_report, report)

    # -- calling strategies -----------------------------------------------------------------

    def _call(self, owner: int, fn: Callable, *args, tape: bool = True) -> None:
        """Call a strategy back: books and tape brought up to now first; wake the kernel if it now watches."""
        self._venues_to_now()
        if tape and self._tape_users[owner]:
            self._sync_tape(owner)
        fn(*args)
        if self._poke is not None and self.strategies[owner].watching:
            self._wake()

    def _venues_to_now(self) -> None:
        now = int(self.env.now)
        for venue in self.venues:
            venue.book.advance(now)

    def _sync_tape(self, owner: int) -> None:
        now = int(self.env.now)
        rows = self.tape.visible_between(self._synced[owner], now)
        self._synced[owner] = now
        if rows.size:
            self.strategies[owner].on_tape(self.tape.md.take(rows), self.tape.venue_index[rows])

    def _wake(self) -> None:
        poke = self._poke
        if poke is not None and not poke.triggered:
            poke.succeed()

    # -- the replay kernel ---------------------------------------------------------------

    def _wait(self, until: int):
        """Wait until ``until`` or until woken (an order rests, a strategy starts watching)."""
        self._poke = poke = self.env.event()
        yield self.env.timeout(until - int(self.env.now)) | poke
        self._poke = None

    def _next_venue_event(self) -> int:
        soonest = _NEVER
        for venue in self.venues:
            if venue.book.busy:
                t = venue.book.next_event_ts()
                if t is not None and t < soonest:
                    soonest = t
        return soonest

    def _replay(self):
        env = self.env
        view = self.view
        chunk = self._first
        self._first = None
        self._load(chunk)
        for owner, s in enumerate(self.strategies):
            # The tape's rows follow on_start, which is where estimators are made.
            self._call(owner, s.on_start, view, tape=False)
        while True:
            instants = self.tape.instants(self._dispatched).tolist()
            end = self.tape.last_ts
            pos = 0
            while True:
                now = int(env.now)
                while pos < len(instants) and instants[pos] < now:
                    pos += 1
                watched = any(s.watching for s in self.strategies)
                t1 = instants[pos] if watched and pos < len(instants) and instants[pos] <= end else _NEVER
                t2 = self._next_venue_event()
                t = min(t1, t2)
                if t > end:
                    if end > now:
                        yield from self._wait(end)
                        if int(env.now) < end:
                            continue
                    break
                if t > now:
                    yield from self._wait(t)
                    if int(env.now) < t:
                        continue
                self._step(t, t == t1)
                if t == t1:
                    pos += 1
            self._venues_to_now()
            for owner, used in enumerate(self._tape_users):
                if used:
                    self._sync_tape(owner)
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._load(chunk)
        if self.end_ns > env.now:
            yield env.timeout(self.end_ns - int(env.now))
        self._show_progress(final=True)

    def _load(self, chunk: MarketData) -> None:
        for observer in self._observers:
            observer.observe(chunk)
        self.tape.load(chunk)

    def _step(self, t: int, instant: bool) -> None:
        due = []
        for venue in self.venues:
            if venue.book.busy and venue.book.next_event_ts() == t:
                due.append((venue.book.next_row(), venue))
        for _, venue in sorted(due, key=lambda item: item[0]):
            venue.book.advance(t)
        if instant:
            self._dispatched = t
            view = self.view
            for owner, s in enumerate(self.strategies):
                if s.watching:
                    self._call(owner, s.on_book, view)
        self._show_progress()

    def _show_progress(self, final: bool = False) -> None:
        if self.progress is None:
            return
        total = max(self.end_ns - self.start_ns, 1)
        done = total if final else min(max(int(self.env.now) - self.start_ns, 0), total)
        if final or done - self._progress_at >= total // 200:
            self._progress_at = done
            self.progress(done, total)

    def run(self) -> RunOutcome:
        """Replay the feed, let in-flight orders land, then close the window."""
        self.env.process(self._replay())
        self.env.run()
        for owner, s in enumerate(self.strategies):
            self._call(owner, s.on_end, self.view)
        now = int(self.env.now)
        for venue in self.venues:
            venue.book.cancel_all(now)
        self.env.run()
        self._closed = True
        self._venues_to_now()
        self._catch_up()
        return RunOutcome(
            ledgers=tuple(self.ledgers),
            end_ns=int(self.env.now),
            stats=self.feed.stats(),
            final_mid=self._closing_mid(),
            stale_reads=self.view.stale_reads,
            reads=self.view.reads,
        )

    def _closing_mid(self) -> int | None:
        """Return the consolidated mid of the last books, in dollars' 1e-9 units (None: one side empty)."""
        far, far_ok = self._exchange_best("ask")
        near, near_ok = self._exchange_best("bid")
        if not far_ok.any() or not near_ok.any():
            return None
        mid2 = self.tape.sign * (int(far[far_ok].min()) + int(near[near_ok].max()))
        return mid2 // 2

    def _exchange_best(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        md = self.tape.md
        px = np.zeros(len(self.venues), dtype=np.int64)
        ok = np.zeros(len(self.venues), dtype=bool)
        for k, venue in enumerate(self.venues):
            row = venue.book.current_row()
            if row >= 0 and getattr(md, f"{side}_sz")[row, 0] > 0:
                px[k] = getattr(md, f"{side}_px")[row, 0]
                ok[k] = True
        return px, ok

    def _catch_up(self) -> None:
        """Sweep the last book's depth across venues for what is left, cheapest price plus fee first."""
        md = self.tape.md
        levels = []
        for k, venue in enumerate(self.venues):
            row = venue.book.current_row()
            if row < 0:
                continue
            fees = venue.config.fees
            for level in range(md.ask_px.shape[1]):
                if md.ask_sz[row, level] > 0:
                    px = int(md.ask_px[row, level])
                    levels.append((px + fees.taker_per_share(self.tape.sign * px), px, k))
        levels.sort()
        now = int(self.env.now)
        for owner, strategy in enumerate(self.strategies):
            rem = strategy.target - self.ledgers[owner].filled
            np.maximum(rem, 0, out=rem)
            if not rem.any():
                continue
            order_id = self._next_order_id
            self._next_order_id += 1
            for _cost, px, k in levels:
                self.venues[k].book.take(owner, order_id, rem, px, now, only_px=px, catch_up=True)
                if not rem.any():
                    break


def _deliver(message: tuple[Callable, object]) -> None:
    tell, payload = message
    tell(payload)
