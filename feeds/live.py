"""A feed that fills in as a live stream delivers it: chunks of whole instants, as they arrive.

A live run's start marker says which venues and levels will come and over what
span, which is all a replay needs before the first row. Snapshots are gathered
into a chunk until the instant changes and either enough rows are in or enough
wall time has passed, so a slow stream is replayed as it comes and a fast one in
efficient chunks. Rows outside ``[start_ns, end_ns]`` are skipped and counted as
``outside_window``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from feeds.feed import FeedInfo, FeedStats
from feeds.market import BookSnapshot, MarketData

#: A chunk is handed over at the next instant boundary once it has this many rows...
FLUSH_ROWS = 4096
#: ...or once this much wall time has passed since the last one (seconds).
FLUSH_S = 0.05


class LiveFeed:
    """A ``feeds.feed.Feed`` over a stream of ``LiveSnapshot`` values (``.snapshot`` a ``BookSnapshot``)."""

    def __init__(
        self,
        snapshots: Iterator,
        info: FeedInfo,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        on_row: Callable | None = None,
        end_stats: Callable[[], FeedStats] | None = None,
    ):
        self._it = snapshots
        self._info = info
        self._start = start_ns
        self._end = end_ns
        self._on_row = on_row
        self._end_stats = end_stats
        self.received = 0
        self.outside = 0

    @property
    def info(self) -> FeedInfo:
        return self._info

    def chunks(self) -> Iterator[MarketData]:
        pending: list[BookSnapshot] = []
        last_flush = time.monotonic()
        for item in self._it:
            if self._on_row is not None:
                self._on_row(item)
            s = item.snapshot
            if (self._start is not None and s.ts_event < self._start) or (
                self._end is not None and s.ts_event > self._end
            ):
                self.outside += 1
                continue
            if pending and s.ts_event != pending[-1].ts_event:
                full = len(pending) >= FLUSH_ROWS or time.monotonic() - last_flush >= FLUSH_S
                if full:
                    yield self._chunk(pending)
                    pending = []
                    last_flush = time.monotonic()
            pending.append(s)
        if pending:
            yield self._chunk(pending)

    def _chunk(self, rows: list[BookSnapshot]) -> MarketData:
        self.received += len(rows)
        info = self._info
        return MarketData.from_snapshots(rows, levels=info.levels, source=info.source, symbol=info.symbol)

    def stats(self) -> FeedStats:
        base = self._end_stats() if self._end_stats is not None else FeedStats(0, 0)
        dropped = dict(base.dropped)
        if self.outside:
            dropped["outside_window"] = dropped.get("outside_window", 0) + self.outside
        return FeedStats(rows_read=base.rows_read, snapshots=self.received, dropped=dropped, meta=base.meta)
