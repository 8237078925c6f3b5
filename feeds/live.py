"""A market that fills in as a live stream delivers it: ``MarketData`` columns, preallocated.

A live run's start marker says how many snapshots will come, over which venues and
time span, so the columns are allocated once and rows are written in place as they
arrive; the engine asks for rows with ``ensure(n)``, which blocks until they exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from feeds.market import MarketData


class LiveMarket:
    """A ``MarketData`` being written row by row from a stream of ``LiveSnapshot`` values.

    Rows outside ``[start_ns, end_ns]`` are skipped and counted as ``outside_window``.
    ``on_row(live_snapshot)`` is called for every snapshot received (for a lag display).
    """

    def __init__(
        self,
        snapshots: Iterator,
        *,
        capacity: int,
        levels: int,
        source: str,
        symbol: str,
        start_ns: int | None = None,
        end_ns: int | None = None,
        on_row: Callable | None = None,
    ):
        z1 = lambda: np.zeros(capacity, dtype=np.int64)  # noqa: E731
        z2 = lambda: np.zeros((capacity, levels), dtype=np.int64)  # noqa: E731
        self.md = MarketData(
            ts_event=z1(),
            ts_recv=z1(),
            venue=z1(),
            action=z1(),
            side=z1(),
            price=z1(),
            size=z1(),
            bid_px=z2(),
            bid_sz=z2(),
            ask_px=z2(),
            ask_sz=z2(),
            source=source,
            symbol=symbol,
        )
        self._it = snapshots
        self._start = start_ns
        self._end = end_ns
        self._on_row = on_row
        self.filled = 0
        self.outside = 0
        self.exhausted = False

    def ensure(self, n: int) -> int:
        """Block until at least ``n`` rows are written or the stream ends; return the rows written."""
        md = self.md
        while self.filled < n and not self.exhausted:
            item = next(self._it, None)
            if item is None:
                self.exhausted = True
                break
            if self._on_row is not None:
                self._on_row(item)
            s = item.snapshot
            if (self._start is not None and s.ts_event < self._start) or (
                self._end is not None and s.ts_event > self._end
            ):
                self.outside += 1
                continue
            i = self.filled
            md.ts_event[i], md.ts_recv[i], md.venue[i] = s.ts_event, s.ts_recv, s.venue
            md.action[i], md.side[i], md.price[i], md.size[i] = ord(s.action), ord(s.side), s.price, s.size
            width = len(s.bid_px)
            md.bid_px[i, :width], md.bid_sz[i, :width] = s.bid_px, s.bid_sz
            md.ask_px[i, :width], md.ask_sz[i, :width] = s.ask_px, s.ask_sz
            self.filled += 1
        return self.filled

    def final(self, rows_read: int, dropped: dict[str, int]) -> MarketData:
        """Return the rows received as a finished ``MarketData`` with the source's counts."""
        dropped = dict(dropped)
        if self.outside:
            dropped["outside_window"] = dropped.get("outside_window", 0) + self.outside
        return self.md.take(slice(0, self.filled), rows_read=rows_read, dropped=dropped)
