"""The feed contract: market data as a stream of ``MarketData`` chunks, for files and streams alike.

A ``Feed`` is what the engine replays. It knows up front what a replay must know
before the first row (``FeedInfo``: the venues, the number of book levels, the
symbol), then yields chunks of rows in ``ts_event`` order. Every chunk holds whole
instants: all rows sharing a ``ts_event`` are in one chunk, so a replay can apply
an instant without looking at the next chunk. Chunks are bounded in size, so
memory is bounded by the chunk, not the file. When the chunks are exhausted,
``stats()`` tells how many rows the source had and what was dropped, by reason.

``MemoryFeed`` serves data already in memory; readers of files and streams
implement the same three members.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import attrs
import numpy as np

from feeds.market import MarketData

#: Rows per chunk unless a feed is told otherwise: a 10-level chunk is ~20 MB of int64.
DEFAULT_CHUNK_ROWS = 1 << 16


@attrs.frozen
class FeedInfo:
    """What a replay needs before the first row: where the data comes from, its shape and span.

    ``first_ts``/``last_ts`` are the first and last ``ts_event`` the feed will yield
    (the replay window defaults to them), ``None`` where a source cannot tell yet.
    """

    source: str
    venues: tuple[int, ...]
    levels: int
    symbol: str = ""
    meta: dict[str, object] = attrs.field(factory=dict)
    first_ts: int | None = None
    last_ts: int | None = None


@attrs.frozen
class FeedStats:
    """What the source held, known once it is exhausted: rows read, and rows dropped by reason."""

    rows_read: int
    snapshots: int
    dropped: dict[str, int] = attrs.field(factory=dict)
    meta: dict[str, object] = attrs.field(factory=dict)


class Feed(Protocol):
    """A source of ``MarketData`` chunks (see the module docstring)."""

    @property
    def info(self) -> FeedInfo: ...

    def chunks(self) -> Iterator[MarketData]:
        """Yield the rows in ``ts_event`` order, whole instants per chunk; callable once."""
        ...

    def stats(self) -> FeedStats:
        """Return the source's counts; valid once ``chunks()`` is exhausted."""
        ...


def instant_cuts(ts_event: np.ndarray, chunk_rows: int) -> list[int]:
    """Return row offsets that cut ``ts_event`` into chunks of about ``chunk_rows`` whole instants.

    A cut never falls inside an instant, so a chunk may exceed ``chunk_rows`` when one
    instant does. The list starts at 0 and ends at ``len(ts_event)``.
    """
    n = int(ts_event.shape[0])
    cuts = [0]
    while cuts[-1] < n:
        at = cuts[-1] + max(1, int(chunk_rows))
        if at >= n:
            cuts.append(n)
            break
        # Move the cut forward to the first row of the next instant.
        at = int(np.searchsorted(ts_event, ts_event[at - 1], side="right"))
        cuts.append(min(at, n))
    return cuts


class MemoryFeed:
    """A feed over ``MarketData`` already in memory, served in chunks of whole instants."""

    def __init__(self, md: MarketData, chunk_rows: int = DEFAULT_CHUNK_ROWS):
        self.md = md
        self.chunk_rows = chunk_rows
        self._info = FeedInfo(
            source=md.source,
            venues=md.venues,
            levels=md.levels,
            symbol=md.symbol,
            meta=dict(md.meta),
            first_ts=int(md.ts_event[0]) if len(md) else None,
            last_ts=int(md.ts_event[-1]) if len(md) else None,
        )

    @property
    def info(self) -> FeedInfo:
        return self._info

    def chunks(self) -> Iterator[MarketData]:
        md = self.md
        cuts = instant_cuts(md.ts_event, self.chunk_rows)
        for a, b in zip(cuts, cuts[1:], strict=False):
            yield md.take(slice(a, b))

    def stats(self) -> FeedStats:
        md = self.md
        return FeedStats(
            rows_read=md.rows_read, snapshots=len(md), dropped=dict(md.dropped), meta=dict(md.meta)
        )


def collect(feed: Feed) -> MarketData:
    """Read a whole feed into one ``MarketData`` (for tests and small files; memory grows with the data)."""
    info = feed.info
    parts = list(feed.chunks())
    stats = feed.stats()
    if parts:
        cols = {
            name: np.concatenate([getattr(p, name) for p in parts])
            for name in ("ts_event", "ts_recv", "venue", "action", "side", "price", "size")
        }
        book = {
            name: np.concatenate([getattr(p, name) for p in parts])
            for name in ("bid_px", "bid_sz", "ask_px", "ask_sz")
        }
    else:
        cols = {name: np.zeros(0, dtype=np.int64) for name in ("ts_event", "ts_recv", "venue", "action")}
        cols |= {name: np.zeros(0, dtype=np.int64) for name in ("side", "price", "size")}
        book = {name: np.zeros((0, info.levels), dtype=np.int64) for name in ("bid_px", "bid_sz")}
        book |= {name: np.zeros((0, info.levels), dtype=np.int64) for name in ("ask_px", "ask_sz")}
    return MarketData(
        **cols,
        **book,
        source=info.source,
        symbol=info.symbol,
        rows_read=stats.rows_read,
        dropped=dict(stats.dropped),
        meta={**info.meta, **stats.meta},
    )
