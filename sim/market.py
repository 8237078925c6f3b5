"""The consolidated best bid and ask over the window, sampled as the replay goes, for the result's plots.

The samples sit on a regular grid of ``n = min(2000, max(2, rows))`` instants from
the window's start to its end (``start + span * i // (n - 1)``, exact in integer
ns); each is the best bid (highest across venues) and best ask (lowest) of the
venues' last rows at or before that instant. The sampler sees
each chunk once, in order, and keeps only one row per venue between chunks, so its
memory does not grow with the data; a feed of fewer than 2,000 rows is kept whole
and sampled once its length is known.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from feeds.market import MarketData, units_to_decimal

MARKET_POINTS = 2000
_NONE_ASK = np.iinfo(np.int64).max


def grid(start_ns: int, end_ns: int, points: int) -> np.ndarray:
    """Return ``points`` instants from ``start_ns`` to ``end_ns``, evenly spaced, exact in integer ns."""
    span = end_ns - start_ns
    return np.array([start_ns + span * i // (points - 1) for i in range(points)], dtype=np.int64)


class MarketSampler:
    """Samples the consolidated best bid and ask of each chunk shown to it (see the module)."""

    def __init__(self, start_ns: int, end_ns: int, points: int = MARKET_POINTS, *, keep_small: bool = True):
        self.start_ns = int(start_ns)
        self.end_ns = int(end_ns)
        self.points = points
        self.rows = 0
        self._grid = grid(self.start_ns, self.end_ns, points) if end_ns > start_ns else None
        self._bid = np.zeros(points, dtype=np.int64)
        self._ask = np.full(points, _NONE_ASK, dtype=np.int64)
        self._done = 0  # grid points already sampled
        self._last: dict[int, tuple[int, int]] = {}  # venue -> (best bid, best ask) of its last row
        # Every chunk while fewer than `points` rows were seen (a short feed gets a shorter grid).
        self._keep_small = keep_small
        self._small: list[MarketData] = []

    def observe(self, md: MarketData) -> None:
        """Sample the grid points up to ``md``'s last row (chunks come in time order)."""
        n = len(md)
        if n == 0:
            return
        self.rows += n
        if self._keep_small:
            if self.rows < self.points:
                self._small.append(md)
            else:
                self._keep_small, self._small = False, []
        if self._grid is None:
            return
        last_ts = int(md.ts_event[-1])
        stop = int(np.searchsorted(self._grid, last_ts, side="left"))
        # Grid points before this chunk's rows took the state left by the chunks before.
        before = int(np.searchsorted(self._grid, int(md.ts_event[0]), side="left"))
        self._fill_from_state(self._done, before)
        self._done = max(self._done, before)
        grid = self._grid[self._done : stop]
        bid0 = np.where(md.bid_sz[:, 0] > 0, md.bid_px[:, 0], 0)
        ask0 = np.where(md.ask_sz[:, 0] > 0, md.ask_px[:, 0], _NONE_ASK)
        best_bid = np.zeros(grid.size, dtype=np.int64)
        best_ask = np.full(grid.size, _NONE_ASK, dtype=np.int64)
        for v in sorted(set(np.unique(md.venue).tolist()) | set(self._last)):
            rows = np.flatnonzero(md.venue == v)
            pos = np.searchsorted(md.ts_event[rows], grid, side="right") - 1
            carry_bid, carry_ask = self._last.get(v, (0, _NONE_ASK))
            if rows.size:
                r = rows[np.clip(pos, 0, None)]
                bid = np.where(pos >= 0, bid0[r], carry_bid)
                ask = np.where(pos >= 0, ask0[r], carry_ask)
            else:
                bid = np.full(grid.size, carry_bid)
                ask = np.full(grid.size, carry_ask)
            best_bid = np.maximum(best_bid, bid)
            best_ask = np.minimum(best_ask, ask)
        self._bid[self._done : stop] = best_bid
        self._ask[self._done : stop] = best_ask
        self._done = max(self._done, stop)
        for v in np.unique(md.venue).tolist():
            r = int(np.flatnonzero(md.venue == v)[-1])
            self._last[v] = (int(bid0[r]), int(ask0[r]))

    def _fill_from_state(self, a: int, b: int) -> None:
        if b <= a:
            return
        bids = [bid for bid, _ in self._last.values()]
        asks = [ask for _, ask in self._last.values()]
        self._bid[a:b] = max(bids, default=0)
        self._ask[a:b] = min(asks, default=_NONE_ASK)

    def series(self) -> dict[str, list[Any]]:
        """Return ``{"ts_ns", "best_bid", "best_ask"}`` (dollars; ``None`` where a side is empty)."""
        if self.rows == 0 or self._grid is None:
            return {"ts_ns": [], "best_bid": [], "best_ask": []}
        if self._keep_small:
            short = MarketSampler(self.start_ns, self.end_ns, max(2, self.rows), keep_small=False)
            for md in self._small:
                short.observe(md)
            return short.series()
        self._fill_from_state(self._done, self.points)
        return _as_result(self._grid, self._bid, self._ask)


def _as_result(grid: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> dict[str, list[Any]]:
    return {
        "ts_ns": [int(t) for t in grid],
        "best_bid": [units_to_decimal(int(b)) if b > 0 else None for b in bid],
        "best_ask": [units_to_decimal(int(a)) if a != _NONE_ASK else None for a in ask],
    }
