"""Bid-queue outflow of each venue, estimated online from the feed (Cont–Kukanov's xi).

The outflow of a venue's best-bid queue is what leaves it: cancellations plus
sells that hit it. From a price-level feed it is read, row by row of that venue,
as (``docs/cont-kukanov.md``, "Where xi comes from"):

* the best bid price is unchanged: the fall of its displayed size, if any;
* the best bid price fell (or the bid side emptied): the whole size the old best
  level showed, since that queue was taken out;
* the best bid price rose: nothing (a new, better queue started).

Outflows are summed into short buckets of ``step_ns``; a sample of the outflow
over the horizon ``T`` is the sum of ``T / step`` consecutive finished buckets, and
the samples are all such overlapping windows inside the last ``history_ns``.
Only rows already applied and buckets already over at the decision instant are
used, so no sample looks ahead.
"""

from __future__ import annotations

from collections import deque

import numpy as np

# An empty bid side: below any order price (prices are negative for a sell).
_EMPTY = -(2**62)


class OutflowEstimator:
    """Rolling empirical law of each venue's best-bid queue outflow over a horizon.

    Feed it every book update with :meth:`update` (cheap: one pass over the rows
    of that instant); ask for :meth:`samples` at decision time.

    Parameters
    ----------
    venue_ids : tuple of int
        The run's venues, in ``BookView`` order.
    horizon_ns : int
        Length ``T`` of one outflow sample.
    history_ns : int
        How far back samples reach (the rolling estimation window), ``>= horizon_ns``.
    step_ns : int, optional
        Bucket length and stride between overlapping samples; ``horizon_ns / 10``
        when omitted. ``horizon_ns`` is rounded to a whole number of steps.
    origin_ns : int
        Start of the first bucket (the strategy's start: buckets line up with the
        decision times).
    """

    def __init__(
        self,
        venue_ids: tuple[int, ...],
        horizon_ns: int,
        history_ns: int,
        *,
        step_ns: int | None = None,
        origin_ns: int = 0,
    ):
        if horizon_ns <= 0 or history_ns < horizon_ns:
            raise ValueError(f"need 0 < horizon_ns <= history_ns, got {horizon_ns}, {history_ns}")
        self.step_ns = int(step_ns) if step_ns else max(1, int(horizon_ns) // 10)
        self.width = max(1, round(int(horizon_ns) / self.step_ns))
        self.horizon_ns = self.width * self.step_ns
        self.keep = max(self.width, int(history_ns) // self.step_ns)
        self._index = {int(v): k for k, v in enumerate(venue_ids)}
        k = len(venue_ids)
        self._buckets: deque[np.ndarray] = deque(maxlen=self.keep)
        self._current = np.zeros(k, dtype=np.int64)
        # Buckets are [origin + j * step, origin + (j + 1) * step); the first is set by the first row.
        self._origin = int(origin_ns)
        self._bucket_end: int | None = None
        self._last_px = [_EMPTY] * k
        self._last_sz = [0] * k
        self._seen = [False] * k
        self._col = None

    # -- feed -------------------------------------------------------------------------

    def update(self, rows, venue_index: np.ndarray) -> None:
        """Account a batch of feed rows (a ``MarketData`` slice, in time order) with their venue indices."""
        if len(rows) == 0:
            return
        ts = rows.ts_event.tolist()
        px = rows.bid_px[:, 0].tolist()
        sz = rows.bid_sz[:, 0].tolist()
        ks = np.asarray(venue_index).tolist()
        last_ts = None
        for t, k, p, z in zip(ts, ks, px, sz, strict=True):
            if t != last_ts:
                self._advance(t)
                last_ts = t
            self._row_k(k, p, z)

    def _row_k(self, k: int, px: int, sz: int) -> None:
        if sz <= 0:
            px, sz = _EMPTY, 0
        if self._seen[k]:
            last_px = self._last_px[k]
            if px == last_px:
                if sz < self._last_sz[k]:
                    self._current[k] += self._last_sz[k] - sz
            elif px < last_px:
                self._current[k] += self._last_sz[k]
        self._seen[k] = True
        self._last_px[k] = px
        self._last_sz[k] = sz

    def _advance(self, ts: int) -> None:
        """Close every bucket that ended at or before ``ts`` (empty ones included)."""
        if self._bucket_end is None:
            self._bucket_end = self._origin + ((ts - self._origin) // self.step_ns + 1) * self.step_ns
            return
        if ts < self._bucket_end:
            return
        self._buckets.append(self._current)
        self._current = np.zeros_like(self._current)
        self._bucket_end += self.step_ns
        if ts >= self._bucket_end:
            gaps = (ts - self._bucket_end) // self.step_ns + 1
            for _ in range(min(gaps, self.keep)):
                self._buckets.append(np.zeros_like(self._current))
            self._bucket_end += gaps * self.step_ns

    # -- estimate ---------------------------------------------------------------------

    def ready(self, now_ns: int) -> bool:
        """Return whether one whole horizon of finished buckets exists at ``now_ns``."""
        return self.n_buckets(now_ns) >= self.width

    def n_buckets(self, now_ns: int) -> int:
        """Return how many finished buckets (at ``now_ns``) are held."""
        return len(self._finished(now_ns))

    def _finished(self, now_ns: int) -> list[np.ndarray]:
        held = list(self._buckets)
        if self._bucket_end is None:
            return held
        # Buckets that ended by now but saw no row since are finished too.
        if now_ns >= self._bucket_end:
            gaps = (now_ns - self._bucket_end) // self.step_ns + 1
            held.append(self._current)
            held.extend(np.zeros_like(self._current) for _ in range(min(gaps - 1, self.keep)))
        return held[-self.keep :]

    def samples(self, now_ns: int) -> np.ndarray:
        """Return the outflow samples over the horizon, shape ``[N, K]`` (``N = 0`` before one horizon).

        Sample ``i`` is the total outflow of each venue over ``width`` consecutive
        finished buckets; consecutive samples overlap by all but one bucket.
        """
        held = self._finished(now_ns)
        k = self._current.shape[0]
        if len(held) < self.width:
            return np.zeros((0, k), dtype=np.int64)
        cum = np.zeros((len(held) + 1, k), dtype=np.int64)
        np.cumsum(np.stack(held), axis=0, out=cum[1:])
        return cum[self.width :] - cum[: -self.width]
