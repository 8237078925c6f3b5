"""Resolve a data source spec (a path, ``synthetic:...`` or ``kafka://...``) to a feed or to ``MarketData``.

Specs:

- ``path/to/file.csv`` -> ``feeds.databento_csv.CsvReader``;
- ``path/to/file.dbn`` or ``.dbn.zst`` -> ``feeds.dbn.DbnReader``;
- ``synthetic:`` or ``synthetic:venues=3,seconds=522,seed=7`` (any ``SynthConfig``
  field) -> ``feeds.synthetic.generate``;
- ``kafka://...`` -> ``feeds.kafka.consumer.read_topic(spec, start, end)``.

``start``/``end`` bound ``ts_event`` (inclusive): integer nanoseconds, a full
ISO-8601 timestamp, or a time of day (``"13:36:32"``) on the UTC day of the
data's first snapshot. ``symbol``/``instrument_id`` choose one instrument of a file
that holds several (``feeds.symbology``).

``open_source`` returns a ``feeds.feed.Feed``: files are streamed block by block in
bounded memory (``feeds.file_feed.FileFeed``), in-memory sources served by a
``MemoryFeed``. ``load_source`` reads the same rows into one ``MarketData``.
``load_instruments`` reads every instrument of one file in a single pass.
"""

from __future__ import annotations

import importlib
import os

import attrs

from feeds.errors import FeedError
from feeds.feed import DEFAULT_CHUNK_ROWS, Feed, MemoryFeed
from feeds.market import MarketData
from feeds.pipeline import REORDER_NS
from feeds.synthetic import SynthConfig, generate
from feeds.timeparse import parse_window_bound

#: Rows per chunk of a file feed: 16,384 rows of 10 levels are about 6 MB, so a replay
#: streaming a file holds a few megabytes of it at a time.
FILE_CHUNK_ROWS = 1 << 14
SYNTHETIC_PREFIX = "synthetic:"
KAFKA_PREFIX = "kafka://"


def open_source(
    spec: str | os.PathLike,
    start: str | int | None = None,
    end: str | int | None = None,
    *,
    symbol: str | None = None,
    instrument_id: int | None = None,
    chunk_rows: int | None = None,
    reorder_ns: int | None = REORDER_NS,
) -> Feed:
    """Open a source spec as a feed of ``MarketData`` chunks, cut to the ``[start, end]`` window.

    Parameters
    ----------
    spec
        A CSV or DBN path, ``synthetic:key=value,...`` or ``kafka://...``.
    start, end
        Window bounds on ``ts_event``, inclusive; ``None`` leaves a side open.
    symbol, instrument_id
        Which instrument of a file to replay (needed when it holds several).
    chunk_rows
        About how many rows each chunk holds (chunks hold whole instants); by default
        ``FILE_CHUNK_ROWS`` for a file (memory is then bounded by a few chunks, not the
        file) and ``feeds.feed.DEFAULT_CHUNK_ROWS`` for data in memory.
    reorder_ns
        How far out of ``ts_event`` order a file's venues may interleave
        (``feeds.pipeline``); ``None`` for no bound (memory then grows with the file).

    Raises
    ------
    FeedError
        When a file is missing, not a regular file, or holds bad data; or the
        instrument cannot be chosen.
    ValueError
        When the spec or a window bound cannot be understood.
    """
    spec = os.fspath(spec)
    reader = _file_reader(spec)
    if reader is None:
        md = _in_memory(spec, start, end, symbol, instrument_id)
        return MemoryFeed(md, chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS)
    from feeds.file_feed import FileFeed

    return FileFeed(
        reader,
        start=start,
        end=end,
        symbol=symbol,
        instrument_id=instrument_id,
        chunk_rows=chunk_rows or FILE_CHUNK_ROWS,
        reorder_ns=reorder_ns,
    )


def load_source(
    spec: str | os.PathLike,
    start: str | int | None = None,
    end: str | int | None = None,
    *,
    symbol: str | None = None,
    instrument_id: int | None = None,
    reorder_ns: int | None = REORDER_NS,
) -> MarketData:
    """Load market data from a source spec, cut to the ``[start, end]`` window (see ``open_source``)."""
    spec = os.fspath(spec)
    reader = _file_reader(spec)
    if reader is None:
        return _in_memory(spec, start, end, symbol, instrument_id)
    from feeds.file_feed import FileFeed

    feed = FileFeed(
        reader, start=start, end=end, symbol=symbol, instrument_id=instrument_id, reorder_ns=reorder_ns
    )
    return feed.read_all()


def load_instruments(
    spec: str | os.PathLike,
    start: str | int | None = None,
    end: str | int | None = None,
    *,
    reorder_ns: int | None = REORDER_NS,
) -> dict[str, MarketData]:
    """Read every instrument of one file in a single pass: symbol (or id) -> its ``MarketData``.

    Each value is what ``load_source(spec, start, end, symbol=...)`` gives for that
    instrument; the file is decoded once for all of them.
    """
    spec = os.fspath(spec)
    reader = _file_reader(spec)
    if reader is None:
        md = _in_memory(spec, start, end, None, None)
        return {md.symbol: md}
    from feeds.file_feed import read_each_instrument

    return read_each_instrument(reader, start=start, end=end, reorder_ns=reorder_ns)


def _file_reader(spec: str):
    # The block reader of a file spec, or None for a source held in memory.
    if spec.startswith((KAFKA_PREFIX, SYNTHETIC_PREFIX)):
        return None
    lower = spec.lower()
    if lower.endswith(".csv"):
        from feeds.databento_csv import CsvReader

        return CsvReader(spec)
    if lower.endswith((".dbn", ".dbn.zst")):
        from feeds.dbn import DbnReader

        return DbnReader(spec)
    raise ValueError(
        f"unknown data source {spec!r}: expected a .csv, .dbn or .dbn.zst file, "
        "'synthetic:key=value,...' or 'kafka://...'"
    )


def _in_memory(
    spec: str, start: str | int | None, end: str | int | None, symbol: str | None, instrument_id: int | None
) -> MarketData:
    if spec.startswith(KAFKA_PREFIX):
        consumer = importlib.import_module("feeds.kafka.consumer")
        md = consumer.read_topic(spec, start, end)
    else:
        md = _window(generate(synth_config(spec)), start, end)
    if instrument_id is not None:
        raise FeedError(spec, "instrument_id chooses an instrument of a file; this source holds one")
    if symbol is not None and symbol != md.symbol:
        raise FeedError(spec, f"symbol {symbol!r} is not in this source (it holds {md.symbol!r})")
    return md


def synth_config(spec: str) -> SynthConfig:
    """Build a ``SynthConfig`` from ``synthetic:key=value,...``; reject unknown keys by name."""
    body = spec[len(SYNTHETIC_PREFIX) :] if spec.startswith(SYNTHETIC_PREFIX) else spec
    fields = attrs.fields_dict(SynthConfig)
    values: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in body.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"synthetic source: expected key=value, got {item!r}")
        if key not in fields:
            known = ", ".join(fields)
            raise ValueError(f"synthetic source: unknown key {key!r} (known keys: {known})")
        if key in values:
            raise ValueError(f"synthetic source: key {key!r} given twice")
        try:
            values[key] = fields[key].converter(value.strip())
        except (TypeError, ValueError):
            raise ValueError(f"synthetic source: bad value for {key!r}: {value.strip()!r}") from None
    try:
        return SynthConfig(**values)
    except ValueError as exc:
        raise ValueError(f"synthetic source: {exc}") from None


def _bound(bound: str | int | None, day_ns: int | None) -> int | None:
    return None if bound is None else parse_window_bound(bound, day_ns)


def _window(md: MarketData, start: str | int | None, end: str | int | None) -> MarketData:
    if start is None and end is None:
        return md
    day_ns = int(md.ts_event[0]) if len(md) else None
    return md.window(_bound(start, day_ns), _bound(end, day_ns))
