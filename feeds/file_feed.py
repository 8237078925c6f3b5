"""A ``Feed`` over a data file: one instrument's rows, block by block, through the snapshot rules.

``FileFeed`` joins a block reader (``feeds.databento_csv.CsvReader``,
``feeds.dbn.DbnReader``) to a ``feeds.pipeline.SnapshotStream``. Rows of other
instruments are left out first and counted as ``other_instrument``, so ``rows_read``
still counts every record of the file.

The instrument is chosen as ``feeds.symbology.select`` says. A replay must know the
venues and the first and last instant before the first row (``info``): a file that
fits in memory (``fits_in_memory``: every DBN day file of a batch download, a CSV up
to 64 MiB) is then read whole once and served from memory, exactly as ``load_source``
would give it; a larger one is read through the rules once without keeping a row,
then streamed again, so memory stays bounded by a few blocks and chunks. Without
``info``, ``chunks()`` streams at once: a symbol or id the file does not hold is
reported when the file has been read, a second instrument when it appears.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

from feeds import symbology
from feeds.errors import FeedError
from feeds.feed import DEFAULT_CHUNK_ROWS, FeedInfo, FeedStats, MemoryFeed
from feeds.market import MarketData
from feeds.pipeline import REORDER_NS, RawBlock, SnapshotStream
from feeds.snapshot_rule import joined

_ALL_ROWS = 2**62


class BlockReader(Protocol):
    """A data file read as ``RawBlock``s in file order; ``blocks()`` and ``scan()`` restart each time."""

    source: str
    levels: int
    ids_are_real: bool

    @property
    def symbology(self) -> symbology.Symbology: ...

    def blocks(self) -> Iterator[RawBlock]: ...

    def scan(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(instrument keys, venues)`` per block, as cheaply as the format allows."""
        ...

    def default_symbol(self, instrument_ids: tuple[int, ...] | None) -> str: ...

    def meta(self) -> dict[str, object]: ...

    def fits_in_memory(self) -> bool:
        """Return whether the file is small enough to read whole when a feed must know it first."""
        ...


class FileFeed:
    """A data file as a ``Feed`` of one instrument's snapshots, in bounded memory (see the module)."""

    def __init__(
        self,
        reader: BlockReader,
        *,
        start: str | int | None = None,
        end: str | int | None = None,
        symbol: str | None = None,
        instrument_id: int | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        reorder_ns: int | None = REORDER_NS,
    ) -> None:
        self.reader = reader
        self.source = reader.source
        if symbol is not None and instrument_id is not None:
            raise FeedError(self.source, "give symbol or instrument_id, not both")
        self.symbol = symbol
        self.instrument_id = None if instrument_id is None else int(instrument_id)
        self.start, self.end = start, end
        self.chunk_rows = chunk_rows
        self.reorder_ns = reorder_ns
        self._info: FeedInfo | None = None
        self._stats: FeedStats | None = None
        self._stream: SnapshotStream | None = None
        self._kept: set[int] = set()
        self._memory: MemoryFeed | None = None
        #: Every venue of the file's rows once it has been read (bounds the reorder buffer).
        self._venues_seen: tuple[int, ...] | None = None
        self._check_selector()

    def _check_selector(self) -> None:
        # What can be refused before reading a row: a symbol absent from a file's own symbology.
        names = set(self.reader.symbology.symbols.values())
        if self.symbol is not None and self.reader.ids_are_real and names and self.symbol not in names:
            raise FeedError(
                self.source,
                f"symbol {self.symbol!r} is not in the file (symbols: {symbology.listing(names)})",
            )
        if self.instrument_id is not None and not self.reader.ids_are_real:
            raise FeedError(
                self.source, "cannot choose by instrument_id: the file has no instrument_id column"
            )

    # ------------------------------------------------------------ the Feed protocol

    @property
    def info(self) -> FeedInfo:
        """What a replay needs first: the venues, the shape, the first and last ``ts_event``.

        A file that fits in memory is read whole at this point and then served from
        memory (exactly as ``load_source`` + ``MemoryFeed``); a larger one is read once
        through the rules without keeping the rows, and streamed again by ``chunks()``.
        """
        if self._info is None:
            if self.reader.fits_in_memory():
                self._memory = MemoryFeed(self.read_all(), chunk_rows=self.chunk_rows)
                self._info = self._memory.info
            else:
                for _ in self._stream_chunks(whole=False):
                    pass
        return self._info

    def chunks(self) -> Iterator[MarketData]:
        """Yield the chosen instrument's snapshots in ``ts_event`` order, whole instants per chunk."""
        if self._memory is not None:
            yield from self._memory.chunks()
            self._stats = self._memory.stats()
            return
        yield from self._stream_chunks(whole=False)

    def _stream_chunks(self, *, whole: bool) -> Iterator[MarketData]:
        stream = SnapshotStream(
            self.source,
            self.reader.levels,
            start=self.start,
            end=self.end,
            reorder_ns=self.reorder_ns,
            chunk_rows=self.chunk_rows,
            venues=self._venues_seen,
            whole=whole,
        )
        self._stream = stream
        for block, others in self.instrument_blocks():
            stream.levels = self.reader.levels
            stream.drop("other_instrument", others)
            if whole and not stream.rows_read and len(block) and hasattr(self.reader, "expected_rows"):
                stream.expect(self.reader.expected_rows(len(block) + others))
            if not stream.symbol and len(block):
                stream.symbol = self._symbol(self._kept)
                stream.meta = self._meta(self._kept)
            yield from stream.push(block)
        kept_keys = self._kept
        stream.symbol = stream.symbol or self._symbol(kept_keys)
        stream.meta = self._meta(kept_keys)
        yield from stream.finish()
        meta = stream.final_meta()
        self._stats = FeedStats(
            rows_read=stream.rows_read, snapshots=stream.snapshots, dropped=dict(stream.dropped), meta=meta
        )
        self._venues_seen = tuple(sorted(stream.venues_seen))
        if self._info is None:
            # What the chunks held: as MemoryFeed says of the same rows.
            self._info = FeedInfo(
                source=self.source,
                venues=tuple(sorted(stream.venues_kept)),
                levels=self.reader.levels,
                symbol=stream.symbol,
                meta=meta,
                first_ts=stream.first_ts,
                last_ts=stream.last_ts,
            )

    def instrument_blocks(self) -> Iterator[tuple[RawBlock, int]]:
        """Yield the chosen instrument's raw rows block by block, with how many other rows each block had.

        Raises the selection's ``FeedError`` when a second instrument appears and none
        was chosen, or when the file ends without a row of the chosen one.
        """
        seen: set[int] = set()
        self._kept = kept = set()
        for block in self.reader.blocks():
            keys = block.instrument
            others = 0
            if keys is not None and len(block):
                present = np.unique(keys)
                seen.update(present.tolist())
                wanted = self._wanted(seen)
                if wanted is not None:
                    mask = np.isin(keys, wanted)
                    others = int(len(block) - mask.sum())
                    block = block.take(mask)
                    if len(block):
                        kept.update(np.unique(block.instrument).tolist())
                else:
                    kept.update(present.tolist())
            yield block, others
        if (self.symbol is not None or self.instrument_id is not None) and not kept:
            self._selection(seen)  # raises: the symbol or id is not in the file
            raise FeedError(self.source, "no rows of the chosen instrument in the file")

    @property
    def instrument(self) -> tuple[str, tuple[int, ...]]:
        """Return the symbol and the instrument ids of the rows kept (once they are read)."""
        ids = tuple(sorted(self._kept)) if self.reader.ids_are_real else ()
        return self._symbol(self._kept), ids

    def stats(self) -> FeedStats:
        """Return the counts; valid once ``chunks()`` is exhausted."""
        if self._stats is None:
            raise RuntimeError("stats() is known only once chunks() is exhausted")
        return self._stats

    def read_all(self) -> MarketData:
        """Read the whole feed into one ``MarketData`` with its counts (memory grows with the data)."""
        if self._memory is not None:
            return self._memory.md
        # Written into one growing set of columns: the rows are touched once.
        parts = list(self._stream_chunks(whole=True))
        return joined(parts, self._stream)

    # ------------------------------------------------------------ choosing the instrument

    def _wanted(self, seen: set[int]) -> tuple[int, ...] | None:
        if self.instrument_id is not None:
            return (self.instrument_id,)
        if self.symbol is not None:
            return self.reader.symbology.ids_of(self.symbol)
        if len(seen) > 1:
            self._selection(self._all_keys())  # raises: several instruments, none chosen
        return None

    def _all_keys(self) -> set[int]:
        keys: set[int] = set()
        for instrument, _ in self.reader.scan():
            if instrument is not None and instrument.shape[0]:
                keys.update(np.unique(instrument).tolist())
        return keys

    def _selection(self, present: set[int]) -> symbology.Selection:
        return symbology.select(
            self.reader.symbology,
            present,
            self.source,
            symbol=self.symbol,
            instrument_id=self.instrument_id,
            ids_are_real=self.reader.ids_are_real,
        )

    def _symbol(self, keys: set[int]) -> str:
        if self.symbol is not None:
            return self.symbol
        ids = tuple(sorted(keys))
        names = {self.reader.symbology.symbols.get(k, "") for k in ids}
        if len(names) == 1 and "" not in names:
            return names.pop()
        return self.reader.default_symbol(ids if self.reader.ids_are_real else None)

    def _meta(self, keys: set[int]) -> dict[str, object]:
        meta = dict(self.reader.meta())
        if self.reader.ids_are_real and keys:
            ids = sorted(keys)
            meta["instrument_id"] = ids[0] if len(ids) == 1 else ids
        return meta


def read_each_instrument(
    reader: BlockReader,
    *,
    start: str | int | None = None,
    end: str | int | None = None,
    reorder_ns: int | None = REORDER_NS,
) -> dict[str, MarketData]:
    """Read every instrument of a file in one pass: its symbol (or id) -> its ``MarketData``.

    Each instrument's rows go through a ``SnapshotStream`` of their own, exactly as a
    ``FileFeed`` choosing that instrument would read them; ``rows_read`` counts the
    file's records and the others' rows are ``other_instrument``, as there.
    """
    streams: dict[int, SnapshotStream] = {}
    parts: dict[int, list[MarketData]] = {}
    total = 0
    for block in reader.blocks():
        n = len(block)
        if not n:
            continue
        total += n
        keys = block.instrument if block.instrument is not None else np.zeros(n, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        cuts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1], True])
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            key = int(sorted_keys[a])
            if key not in streams:
                streams[key] = SnapshotStream(
                    reader.source,
                    reader.levels,
                    start=start,
                    end=end,
                    reorder_ns=reorder_ns,
                    chunk_rows=_ALL_ROWS,
                )
                parts[key] = []
            # order[a:b] keeps file order within the instrument (the sort is stable).
            parts[key].extend(streams[key].push(block.take(order[a:b])))
    out: dict[str, MarketData] = {}
    for key, stream in streams.items():
        parts[key].extend(stream.finish())
        stream.drop("other_instrument", total - stream.rows_read)
        ids = (key,) if reader.ids_are_real else None
        stream.symbol = reader.symbology.symbols.get(key, "") or reader.default_symbol(ids)
        stream.meta = {**reader.meta(), **({"instrument_id": key} if reader.ids_are_real else {})}
        out[stream.symbol or str(key)] = joined(parts[key], stream)
    return out
