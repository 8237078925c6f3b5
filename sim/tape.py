"""The tape: the feed's current chunk, in the order's frame, indexed for venues and strategies.

The engine replays a feed chunk by chunk (``feeds.feed``). The tape holds the chunk
being replayed and answers the two questions everything else asks of it:

* what a venue shows at exchange time ``t`` (its last row with ``ts_event <= t``);
* what a strategy sees at time ``t`` (each venue's last row *visible* by ``t``: the
  venue's ``FeedDelay`` turns ``ts_event`` and ``ts_recv`` into a visible time).

The order's frame
-----------------
Every price on the tape is an *order price*: the price for a buy, minus the
price for a sell, with the two sides swapped for a sell (the "asks" of the tape
are always the far side we take, the "bids" the near side we join, and a trade's
aggressor letter is swapped with them). So all matching code is written once, for
a buy, and lower is always better for us. ``sign`` turns an order price back into
a price: ``price = sign * order_price``.

Chunk boundaries
----------------
When the next chunk is loaded, the rows of the previous one that something may
still need are carried in front of it: each venue's last row (its book until it
changes) and every row not yet visible (a feed delay can make a row visible after
the next chunk's first row). Carried rows keep their times, so nothing is applied
twice; ``carried`` says how many there are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from feeds.market import MarketData
from venues.latency import FeedDelay

_BOOK = ("bid_px", "bid_sz", "ask_px", "ask_sz")
_COLUMNS = ("ts_event", "ts_recv", "venue", "action", "side", "price", "size", *_BOOK)
_B, _A = ord("B"), ord("A")


def to_order_frame(md: MarketData, side: str) -> MarketData:
    """Return ``md`` in the frame of an order on ``side``: unchanged for a buy, mirrored for a sell."""
    if side == "buy":
        return md
    swapped = np.where(md.side == _B, _A, np.where(md.side == _A, _B, md.side))
    return MarketData(
        ts_event=md.ts_event,
        ts_recv=md.ts_recv,
        venue=md.venue,
        action=md.action,
        side=swapped,
        price=-md.price,
        size=md.size,
        bid_px=-md.ask_px,
        bid_sz=md.ask_sz,
        ask_px=-md.bid_px,
        ask_sz=md.bid_sz,
        source=md.source,
        symbol=md.symbol,
        rows_read=md.rows_read,
        dropped=dict(md.dropped),
        meta=dict(md.meta),
    )


class Tape:
    """The chunk being replayed, with each row's venue index and visible time (see the module)."""

    def __init__(self, venue_ids: Sequence[int], feed_delays: Sequence[FeedDelay], side: str):
        self.venue_ids = tuple(int(v) for v in venue_ids)
        self._index = {v: k for k, v in enumerate(self.venue_ids)}
        self._delays = tuple(feed_delays)
        self.side = side
        self.sign = 1 if side == "buy" else -1
        self.k = len(self.venue_ids)
        self.md: MarketData | None = None
        self.carried = 0
        self.generation = 0

    # -- loading ---------------------------------------------------------------------

    def load(self, chunk: MarketData) -> None:
        """Make ``chunk`` (prices as in the feed) the current one, carrying what the last one still owes."""
        chunk = to_order_frame(chunk, self.side)
        carry = self._carry(int(chunk.ts_event[0]) if len(chunk) else None)
        md = chunk if carry is None else _concat(carry, chunk)
        venue = md.venue
        try:
            index = np.array([self._index[int(v)] for v in np.unique(venue)], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"the data has a venue with no settings: {exc.args[0]}") from None
        lookup = np.zeros(int(venue.max()) + 1 if len(md) else 1, dtype=np.int64)
        lookup[np.unique(venue)] = index
        self.md = md
        self.carried = 0 if carry is None else len(carry)
        self.venue_index = lookup[venue] if len(md) else np.zeros(0, dtype=np.int64)
        self.ts = md.ts_event
        vis = np.empty_like(md.ts_event)
        self.rows_of: list[np.ndarray] = []
        for k in range(self.k):
            rows = np.flatnonzero(self.venue_index == k)
            self.rows_of.append(rows)
            if rows.size:
                seen = self._delays[k].visible_ns(md.ts_event[rows], md.ts_recv[rows])
                # A venue's rows are seen in the order it sent them: never before an earlier one.
                vis[rows] = np.maximum.accumulate(np.maximum(seen, md.ts_event[rows]))
        self.vis = vis
        self.ts_of = [self.ts[r] for r in self.rows_of]
        self.vis_of = [vis[r] for r in self.rows_of]
        order = np.argsort(vis, kind="stable")
        self.by_vis = order
        self.vis_sorted = vis[order]
        # Each venue's last visible row after each row in visible order: one lookup per read.
        rank = np.arange(order.size)
        shown = np.full((self.k, order.size), -1, dtype=np.int64)
        for k in range(self.k):
            mine = np.where(self.venue_index[order] == k, rank, -1)
            at = np.maximum.accumulate(mine) if mine.size else mine
            shown[k] = np.where(at >= 0, order[np.maximum(at, 0)], -1)
        self._shown = shown
        self.generation += 1

    def _carry(self, next_ts: int | None) -> MarketData | None:
        md = self.md
        if md is None or len(md) == 0:
            return None
        keep = np.zeros(len(md), dtype=bool)
        for rows in self.rows_of:
            if rows.size:
                keep[rows[-1]] = True
        if next_ts is not None:
            keep |= self.vis > next_ts
        return md.take(keep)

    # -- reading -----------------------------------------------------------------------

    @property
    def first_ts(self) -> int:
        return int(self.ts[self.carried]) if len(self.ts) > self.carried else int(self.ts[-1])

    @property
    def last_ts(self) -> int:
        return int(self.ts[-1])

    def visible_row(self, k: int, t: int) -> int:
        """Return venue ``k``'s last row visible to strategies at ``t`` (-1 when none)."""
        i = int(np.searchsorted(self.vis_of[k], t, side="right"))
        return int(self.rows_of[k][i - 1]) if i else -1

    def visible_rows(self, t: int) -> np.ndarray:
        """Return each venue's last row visible at ``t`` (-1 where none), all venues at once."""
        i = int(np.searchsorted(self.vis_sorted, t, side="right"))
        if i == 0:
            return np.full(self.k, -1, dtype=np.int64)
        return self._shown[:, i - 1]

    def instants(self, after: int) -> np.ndarray:
        """Return the distinct visible times later than ``after``, ascending."""
        vals = self.vis_sorted[np.searchsorted(self.vis_sorted, after, side="right") :]
        if vals.size == 0:
            return vals
        return vals[np.r_[True, vals[1:] != vals[:-1]]]

    def visible_between(self, after: int, upto: int) -> np.ndarray:
        """Return the rows with ``after < visible time <= upto``, in visible order."""
        a = int(np.searchsorted(self.vis_sorted, after, side="right"))
        b = int(np.searchsorted(self.vis_sorted, upto, side="right"))
        return self.by_vis[a:b]


def _concat(a: MarketData, b: MarketData) -> MarketData:
    cols = {name: np.concatenate([getattr(a, name), getattr(b, name)]) for name in _COLUMNS}
    return MarketData(
        **cols,
        source=b.source,
        symbol=b.symbol,
        rows_read=b.rows_read,
        dropped=dict(b.dropped),
        meta=dict(b.meta),
    )
