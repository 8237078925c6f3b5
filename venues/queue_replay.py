"""Replay virtual resting orders through a ``QueueTracker`` on MBP rows: the model side of the queue truth.

``model_fills`` joins each virtual order after every row stamped at or before its
entry, reads its queue ahead at given instants, pulls it at its deadline, and
records when it first and fully filled. Each order is its own owner, so orders
never share a print.

Most rows of a liquid day cannot move any of a few dozen resting orders: a change
deep in the book, or on the ask side, while no order is crossed. ``model_fills``
leaves those out (``skip_idle_rows``), which gives the same fills and queue
positions as replaying every row, because the tracker's only state that a row
changes without touching an order's price is the trade credit, and the rows that
decide it are always replayed (``must_apply``). A test holds the two to equality.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from feeds.market import MarketData
from venues.fifo_truth import NOT_FILLED
from venues.queue import QueueTracker, apply_row
from venues.queue_models import QueueModel


@attrs.frozen(eq=False)
class VirtualOrders:
    """Virtual resting buy orders: entry time, price, size, displayed size on entry, ticks below the bid."""

    entry_ts: np.ndarray
    price: np.ndarray
    qty: np.ndarray
    displayed: np.ndarray
    offset: np.ndarray

    def __len__(self) -> int:
        return int(self.entry_ts.shape[0])


@attrs.frozen(eq=False)
class Probes:
    """Instants at which to read an order's queue ahead: ``(ts[j], order[j])``, sorted by time."""

    ts: np.ndarray
    order: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.shape[0])


@attrs.frozen(eq=False)
class ModelFills:
    """A model's fills: first and full fill time per order (or ``NOT_FILLED``), and the queue ahead per probe.

    An order that has begun to fill by a probe has 0 ahead of it there.
    """

    first: np.ndarray
    full: np.ndarray
    ahead: np.ndarray


@attrs.frozen(eq=False)
class BidChanges:
    """What changed on the bid side from each row to the next, as a queue tracker sees it.

    ``prices[i]`` are the bid prices whose shown size differs from row ``i - 1``
    (a level that appeared, vanished or changed size). ``[visible_lo[i], visible_hi[i])``
    is the range of prices that were below the deepest of a full book and are now
    visible (a tracker reads their size again; ``visible_lo >= visible_hi`` if none).
    A price that only falls out of view keeps its last size in the tracker, so it
    is no change. Row 0 changes everything.
    """

    prices: list[tuple[int, ...]]
    visible_lo: list[int]
    visible_hi: list[int]

    def touches(self, row: int, prices: dict[int, int]) -> bool:
        """Return whether row ``row`` changes the shown size at any of ``prices``."""
        if row == 0:
            return True
        changed = self.prices[row]
        if any(p in prices for p in changed):
            return True
        lo, hi = self.visible_lo[row], self.visible_hi[row]
        return lo < hi and any(lo <= p < hi for p in prices)


def bid_changes(md: MarketData) -> BidChanges:
    """Return the ``BidChanges`` of every row of ``md`` (vectorised over rows)."""
    px, sz = md.bid_px, md.bid_sz
    n = len(md)
    if n < 2:
        return BidChanges(prices=[()] * n, visible_lo=[0] * n, visible_hi=[0] * n)
    cur_px, cur_sz, old_px, old_sz = px[1:], sz[1:], px[:-1], sz[:-1]
    same = (cur_px[:, :, None] == old_px[:, None, :]) & (cur_sz[:, :, None] == old_sz[:, None, :])
    new_level = (cur_sz > 0) & ~same.any(axis=2)
    gone_level = (old_sz > 0) & ~same.any(axis=1)
    rows = np.concatenate([np.nonzero(new_level)[0], np.nonzero(gone_level)[0]])
    values = np.concatenate([cur_px[new_level], old_px[gone_level]])
    order = np.argsort(rows, kind="stable")
    rows, values = rows[order], values[order]
    bounds = np.searchsorted(rows, np.arange(n)).tolist()
    flat = values.tolist()
    prices = [()] + [tuple(flat[bounds[r] : bounds[r + 1]]) for r in range(n - 1)]
    # The deepest price a full book shows; 0 when the book is not full (all prices visible).
    deep = np.where(sz[:, -1] > 0, px[:, -1], 0)
    lo, hi = deep[1:], deep[:-1]
    more = lo < hi
    return BidChanges(
        prices=prices,
        visible_lo=[0] + np.where(more, lo, 0).tolist(),
        visible_hi=[0] + np.where(more, hi, 0).tolist(),
    )


def must_apply(md: MarketData) -> np.ndarray:
    """Return the rows a tracker must see whatever its orders: trades, their instant, and the row after it.

    A trade leaves a credit on the orders at its price that lives through the rows of
    its instant and the first row after (see ``venues.queue``); those rows decide it.
    """
    n = len(md)
    trade = md.action == ord("T")
    ts = md.ts_event
    last_trade_ts = np.maximum.accumulate(np.where(trade, ts, np.iinfo(np.int64).min))
    same = ts == last_trade_ts
    after = np.zeros(n, dtype=bool)
    after[1:] = same[:-1] & ~same[1:]
    return trade | same | after


@attrs.frozen(eq=False)
class ReplayFeed:
    """MBP rows ready to replay: the rows, and what ``model_fills`` needs to know to skip idle ones."""

    md: MarketData
    ts: list[int]
    forced: list[bool]
    changes: BidChanges
    best_ask: list[int]

    @classmethod
    def of(cls, md: MarketData) -> ReplayFeed:
        """Prepare ``md`` once for any number of ``model_fills`` runs."""
        no_ask = np.iinfo(np.int64).max
        return cls(
            md=md,
            ts=md.ts_event.tolist(),
            forced=must_apply(md).tolist(),
            changes=bid_changes(md),
            best_ask=np.where(md.ask_sz[:, 0] > 0, md.ask_px[:, 0], no_ask).tolist() if len(md) else [],
        )


def model_fills(
    feed: ReplayFeed | MarketData,
    orders: VirtualOrders,
    model: QueueModel,
    horizon_ns: int,
    probes: Probes,
    *,
    skip_idle_rows: bool = True,
    vanish_fills: bool = False,
) -> ModelFills:
    """Fill the virtual orders on the MBP rows through a ``QueueTracker`` with ``model``.

    Each order joins after every row stamped at or before its entry, is read at its
    probes the same way, and is pulled ``horizon_ns`` after entry. ``skip_idle_rows``
    leaves out the rows that cannot change the tracker (see the module docstring):
    no trade, not in a trade's instant or the row after it, no change at the bid
    price of a resting order, the best ask above every resting order and nothing
    taken from the asks by one. ``vanish_fills`` is the tracker's option of that name
    (a level that vanishes under us fills us); it reads every row.
    """
    feed = feed if isinstance(feed, ReplayFeed) else ReplayFeed.of(feed)
    md = feed.md
    replay = _Replay(md, orders, QueueTracker(model, vanish_fills=vanish_fills, taken={}))
    # The vanish rule compares each row's best bid with the row before: every row counts.
    skip_idle_rows = skip_idle_rows and not vanish_fills
    # What happens between rows, in time order: 0 join, 1 probe, 2 pull (a probe at the
    # horizon reads the order before it is pulled).
    n, m = len(orders), len(probes)
    when = np.concatenate([orders.entry_ts, probes.ts, orders.entry_ts + horizon_ns])
    kind = np.concatenate([np.zeros(n, np.int64), np.ones(m, np.int64), np.full(n, 2, np.int64)])
    which = np.concatenate([np.arange(n), np.arange(m), np.arange(n)])
    by = np.lexsort((which, kind, when))
    when, kind, which = when[by].tolist(), kind[by].tolist(), which[by].tolist()
    ahead = np.zeros(m, dtype=np.int64)
    probe_order = probes.order.tolist()
    ts_rows, forced, changes, best_ask = feed.ts, feed.forced, feed.changes, feed.best_ask
    # Rows before the first join only set the tracker's idea of the best bid: start just before it.
    start = max(int(np.searchsorted(md.ts_event, when[0], side="right")) - 1, 0) if when else len(ts_rows)
    k = 0
    for row in range(start, len(ts_rows) + 1):
        ts = ts_rows[row] if row < len(ts_rows) else math.inf
        while k < len(when) and when[k] < ts:
            j = which[k]
            if kind[k] == 0:
                replay.join(j)
            elif kind[k] == 1:
                ahead[j] = replay.ahead(probe_order[j])
            else:
                replay.pull(j)
            k += 1
        if row == len(ts_rows):
            break
        idle = skip_idle_rows and not forced[row] and not replay.holds_taken()
        if idle and best_ask[row] > replay.top_price() and not changes.touches(row, replay.live):
            continue
        replay.apply(row)
    return ModelFills(first=replay.first, full=replay.full, ahead=ahead)


class _Replay:
    """One tracker and the virtual orders resting in it: which prices they rest at, when they filled."""

    def __init__(self, md: MarketData, orders: VirtualOrders, tracker: QueueTracker):
        self.md = md
        self.tracker = tracker
        self.price = orders.price.tolist()
        self.qty = orders.qty.tolist()
        self.shown = orders.displayed.tolist()
        self.first = np.full(len(orders), NOT_FILLED, dtype=np.int64)
        self.full = self.first.copy()
        #: Resting orders per price.
        self.live: dict[int, int] = {}

    def join(self, j: int) -> None:
        self.tracker.add(j, self.price[j], self.qty[j], self.shown[j])
        self.live[self.price[j]] = self.live.get(self.price[j], 0) + 1

    def ahead(self, j: int) -> int:
        # An order that has (begun to) fill has nothing ahead of it.
        if self.first[j] != NOT_FILLED or j not in self.tracker:
            return 0
        return int(self.tracker.position(j).ahead[0])

    def pull(self, j: int) -> None:
        if j in self.tracker:
            self.tracker.cancel(j)
            self._leave(j)

    def top_price(self) -> int:
        return max(self.live, default=0)

    def holds_taken(self) -> bool:
        return any(self.tracker.taken.values())

    def apply(self, row: int) -> None:
        for fill in apply_row(self.tracker, self.md, row):
            if self.first[fill.key] == NOT_FILLED:
                self.first[fill.key] = fill.ts_event
            if fill.complete:
                self.full[fill.key] = fill.ts_event
                self._leave(fill.key)

    def _leave(self, j: int) -> None:
        # Each order is its own owner and never comes back: what it took from the asks goes too.
        self.tracker.taken.pop(j, None)
        p = self.price[j]
        self.live[p] -= 1
        if not self.live[p]:
            del self.live[p]
