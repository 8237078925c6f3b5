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

import zlib
from collections.abc import Callable, Mapping, Sequence

import attrs
import numpy as np
import simpy

from feeds.feed import Feed, FeedStats, MemoryFeed
from feeds.market import MarketData
from sim.ledger import Ledger
from sim.router import Handle, OrderRouter
from sim.tape import Tape
from strategies.base import LaneStrategy, Order
from venues.config import VenueConfig
from venues.orders import Fill
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


def stream_keys(names: Sequence[str]) -> list[tuple[int, int]]:
    """Return each strategy's random-stream key: its name's CRC-32 and its rank among equal names."""
    seen: dict[str, int] = {}
    keys = []
    for name in names:
        keys.append((zlib.crc32(name.encode()), seen.get(name, 0)))
        seen[name] = seen.get(name, 0) + 1
    return keys


@attrs.frozen(eq=False)
class RunOutcome:
    """What a replay produced: one ledger per slot, the time the window closed, and the feed's counts."""

    ledgers: tuple[Ledger, ...]
    end_ns: int
    stats: FeedStats
    final_mid: int | None = None
    #: The closing touch on the side an overfill unwinds into: best bid for a buy, best ask for a sell.
    unwind_px: int | None = None
    stale_reads: int = 0
    reads: int = 0


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
            queue_models=[c.queue for c in venues],
        )
        self.router = OrderRouter(self.env, self.view, dispatch=self._call, wake=self._wake, on_fill=on_fill)
        # Every random stream is keyed by the strategy's name, not its place in the run, so a
        # strategy draws the same numbers whichever other strategies run beside it.
        streams = stream_keys([slot.name for slot in slots])
        self.venues = [
            Venue(self.env, k, c, self.tape, self.router, int(seed), streams) for k, c in enumerate(venues)
        ]
        order = Order(side=side, target=self.target, start_ns=self.start_ns, end_ns=self.end_ns)
        self.strategies: list[LaneStrategy] = []
        self.ledgers: list[Ledger] = []
        for owner, slot in enumerate(slots):
            lanes = [slot.cls.parse_params(p) if isinstance(p, Mapping) else p for p in slot.params]
            strategy = slot.cls(
                lanes,
                order=order,
                venue_ids=venue_ids,
                rng=np.random.default_rng([int(seed), *streams[owner]]),
                router=Handle(self.router, owner, self.call_at),
            )
            self.strategies.append(strategy)
            self.ledgers.append(Ledger(strategy.lanes, len(venues), side=side))
        self.router.attach(self.venues, self.strategies, self.ledgers)
        self._tape_users = [type(s).on_tape is not LaneStrategy.on_tape for s in self.strategies]
        self._synced = [-(2**63)] * len(self.strategies)
        self._poke: simpy.Event | None = None
        self._dispatched = -(2**63)  # the last instant whose books were shown
        self._progress_at = 0

    # -- timers and calling strategies ------------------------------------------------------

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
        self.router.closed = True
        self._venues_to_now()
        self.router.catch_up()
        return RunOutcome(
            ledgers=tuple(self.ledgers),
            end_ns=int(self.env.now),
            stats=self.feed.stats(),
            final_mid=self._closing_mid(),
            unwind_px=self._closing_touch(),
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

    def _closing_touch(self) -> int | None:
        """Return the best price the last books offer our side back: the bid for a buy, the ask for a sell."""
        near, near_ok = self._exchange_best("bid")  # in the order frame, a sell's asks
        if not near_ok.any():
            return None
        return self.tape.sign * int(near[near_ok].max())

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
