"""How often the consolidated book of the last quotes is crossed or locked, with and without stale ones.

At every instant of the feed, each venue's quote is its last row's best bid and
ask. Across venues the best bid (highest) and best ask (lowest) make the
consolidated book; it is *crossed* when the best bid is above the best ask and
*locked* when they are equal. A venue's quote is *stale* once it is older than
``max_quote_age_ns`` (TBBO samples a venue's quote only at its own trades, so a
quiet venue's last quote may be minutes old); strategies then see that venue as
empty (``venues.view.BookView``), and the counts are given both ways. The
counter sees each chunk once, keeping one quote per venue between chunks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from feeds.market import MarketData

_NO_ASK = np.iinfo(np.int64).max


class QuoteStats:
    """Counts crossed and locked consolidated books per instant (see the module docstring)."""

    def __init__(self, venue_ids: tuple[int, ...], max_quote_age_ns: int | None):
        self._index = {int(v): k for k, v in enumerate(venue_ids)}
        self.max_age = max_quote_age_ns
        k = len(venue_ids)
        self._bid = np.zeros(k, dtype=np.int64)
        self._ask = np.full(k, _NO_ASK, dtype=np.int64)
        self._ts = np.full(k, np.iinfo(np.int64).min // 2, dtype=np.int64)
        self.instants = 0
        self.crossed = self.locked = 0
        self.crossed_fresh = self.locked_fresh = 0
        self.stale_instants = 0

    def observe(self, md: MarketData) -> None:
        """Count the instants of ``md`` (chunks come in time order)."""
        n = len(md)
        if n == 0:
            return
        k = self._bid.size
        ts = md.ts_event
        last = np.r_[ts[1:] != ts[:-1], True]  # the last row of each instant
        venue = np.array([self._index[int(v)] for v in md.venue], dtype=np.int64)
        bid0 = np.where(md.bid_sz[:, 0] > 0, md.bid_px[:, 0], 0)
        ask0 = np.where(md.ask_sz[:, 0] > 0, md.ask_px[:, 0], _NO_ASK)
        bids = np.empty((n, k), dtype=np.int64)
        asks = np.empty((n, k), dtype=np.int64)
        seen = np.empty((n, k), dtype=np.int64)
        rows = np.arange(n)
        for v in range(k):
            # Each venue's quote as of every row: its last row so far, else what came before.
            mine = np.where(venue == v, rows, -1)
            at = np.maximum.accumulate(mine)
            have = at >= 0
            bids[:, v] = np.where(have, bid0[np.maximum(at, 0)], self._bid[v])
            asks[:, v] = np.where(have, ask0[np.maximum(at, 0)], self._ask[v])
            seen[:, v] = np.where(have, ts[np.maximum(at, 0)], self._ts[v])
        bids, asks, seen, t = bids[last], asks[last], seen[last], ts[last]
        self.instants += int(t.size)
        self._count(bids, asks, fresh=False)
        if self.max_age is not None:
            stale = (t[:, None] - seen) > self.max_age
            self.stale_instants += int(stale.any(axis=1).sum())
            self._count(np.where(stale, 0, bids), np.where(stale, _NO_ASK, asks), fresh=True)
        self._bid, self._ask, self._ts = bids[-1].copy(), asks[-1].copy(), seen[-1].copy()

    def _count(self, bids: np.ndarray, asks: np.ndarray, *, fresh: bool) -> None:
        best_bid = bids.max(axis=1)
        best_ask = asks.min(axis=1)
        both = (best_bid > 0) & (best_ask < _NO_ASK)
        crossed = int((both & (best_bid > best_ask)).sum())
        locked = int((both & (best_bid == best_ask)).sum())
        if fresh:
            self.crossed_fresh += crossed
            self.locked_fresh += locked
        else:
            self.crossed += crossed
            self.locked += locked

    def as_result(self) -> dict[str, Any]:
        """Return the counts for the result's ``data.consolidated`` block."""
        out: dict[str, Any] = {"instants": self.instants, "crossed": self.crossed, "locked": self.locked}
        if self.max_age is not None:
            out["with_stale_quotes_dropped"] = {
                "crossed": self.crossed_fresh,
                "locked": self.locked_fresh,
                "instants_with_a_stale_venue": self.stale_instants,
            }
        return out
