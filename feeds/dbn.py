"""Read Databento Binary Encoding (``.dbn``, ``.dbn.zst``) MBP-1, MBP-10 and TBBO files.

Decoding uses the optional ``databento-dbn`` package (``pip install 'sor[dbn]'``),
imported only when a DBN file is read. Zstandard compression is recognised by the
file's magic bytes, whatever its name; any DBN version it decodes is accepted.
The decoder yields records a megabyte of input at a time; their fixed-size bytes
are viewed as one numpy record array per batch (``MBP1_DTYPE``/``MBP10_DTYPE``), so
a file is read as a stream of ``RawBlock``s in bounded memory. Records other than
MBP-1/MBP-10 (symbol mappings, system messages) are skipped; a file mixing MBP-1
and MBP-10 records is refused. A price of ``UNDEF_PRICE`` (int64 max) is an empty
level (a message price of ``UNDEF_PRICE`` becomes 0). Rows are numbered from 1 over
the MBP records, for messages.

What a row means
----------------
An MBP-1 or MBP-10 record is one book update of one venue (``publisher_id``): the
message (``action``, ``side``, ``price``, ``size``) and that venue's book after it.
A TBBO record is an MBP-1 record of action ``T`` sampled at each trade: ``price``,
``size`` and ``side`` (the aggressor: ``B`` buy, ``A`` sell, ``N`` not given) are the
trade, and the level is the venue's best bid and offer *immediately before* the
trade took effect. Most DBEQ prints give no side; one at or below the quote's bid is
read as a sale (``A``), one at or above its ask as a purchase (``B``), one inside the
spread stays ``N`` (``feeds.tbbo.infer_aggressor``). So in ``MarketData`` a TBBO
row is a trade row whose book is the quote the trade met; the venue's book stays at
that quote until its next trade. A side with no quote (``UNDEF_PRICE``, size 0, as in
early pre-market records) is an empty side: that venue shows nothing on it
(``meta["empty_book_sides"]`` counts the kept snapshots with an empty best bid or
ask); the trade itself still counts.
``ts_recv`` is kept beside ``ts_event``.

Instruments
-----------
Each record carries its ``instrument_id``; the file's metadata mappings (or a
``symbology.json`` beside it) name them (``feeds.symbology``). Small files are
decoded once per process and kept (``CACHE_BYTES``), so reading one day file for
each of its symbols decodes it once.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator

import attrs
import numpy as np

from feeds import symbology
from feeds.errors import FeedError
from feeds.files import identity, open_regular
from feeds.market import MarketData
from feeds.pipeline import RawBlock
from feeds.tbbo import infer_aggressor

UNDEF_PRICE = 2**63 - 1
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20
INSTALL_HINT = "pip install 'sor[dbn]'"
#: Files whose decoded MBP records fit in this many bytes are kept after one decode (two at most).
CACHE_BYTES = 32 * 2**20
_CACHE_FILES = 2
_INT64_MAX = 2**63 - 1

_LEVEL = np.dtype(
    [
        ("bid_px", "<i8"),
        ("ask_px", "<i8"),
        ("bid_sz", "<u4"),
        ("ask_sz", "<u4"),
        ("bid_ct", "<u4"),
        ("ask_ct", "<u4"),
    ]
)


def record_dtype(levels: int) -> np.dtype:
    """Return the layout of a DBN MBP record with ``levels`` book levels (80 bytes for 1, 368 for 10)."""
    return np.dtype(
        [
            ("length", "u1"),
            ("rtype", "u1"),
            ("publisher_id", "<u2"),
            ("instrument_id", "<u4"),
            ("ts_event", "<u8"),
            ("price", "<i8"),
            ("size", "<u4"),
            ("action", "u1"),
            ("side", "u1"),
            ("flags", "u1"),
            ("depth", "u1"),
            ("ts_recv", "<u8"),
            ("ts_in_delta", "<i4"),
            ("sequence", "<u4"),
            ("levels", _LEVEL, (levels,)),
        ]
    )


MBP1_DTYPE = record_dtype(1)
MBP10_DTYPE = record_dtype(10)


class MissingDependency(FeedError, ImportError):
    """The optional ``databento-dbn`` package is not installed.

    Both a ``FeedError`` (so command-line tools print it as one line) and an
    ``ImportError`` (which is what it is).
    """


def _decoder_module(source: str):
    try:
        import databento_dbn
    except ImportError:
        raise MissingDependency(
            source, f"reading .dbn files needs the optional package databento-dbn: {INSTALL_HINT}"
        ) from None
    return databento_dbn


@attrs.frozen(eq=False)
class DbnHead:
    """What a DBN file says about itself before its records: schema, span, symbols."""

    schema: str
    start_ns: int | None
    end_ns: int | None
    requested: tuple[str, ...]
    symbology: symbology.Symbology


class DbnReader:
    """One DBN file read as ``RawBlock``s of MBP records, in file order (see the module docstring).

    ``blocks()`` may be called again; a file small enough is decoded once and served
    from memory after that (also to other readers of the same file in this process).
    """

    ids_are_real = True

    def __init__(self, path: str | os.PathLike, source: str | None = None) -> None:
        self.path = path
        self.source = str(path) if source is None else source
        self._dbn = _decoder_module(self.source)
        self.head: DbnHead | None = None
        self.levels = 0
        key = identity(path) if os.path.exists(path) else None
        self._key = key
        cached = _CACHE.get(key) if key is not None else None
        if cached is not None:
            _CACHE.move_to_end(key)
            self.head, self.levels, self._held = cached
        else:
            self._held = None
            self._open_head()

    @property
    def symbology(self) -> symbology.Symbology:
        return self.head.symbology

    def _open_head(self) -> None:
        # Decode just far enough to know the metadata and the record size.
        for _ in self._batches(head_only=True):
            break
        if self.head is None:
            raise FeedError(self.source, "not a readable DBN file: no metadata")

    def blocks(self) -> Iterator[RawBlock]:
        """Yield the file's MBP records as ``RawBlock``s, a decoder batch each."""
        if self._held is not None:
            yield from self._held
            return
        held: list[RawBlock] | None = []
        size = 0
        for block in self._batches():
            if held is not None:
                size += len(block) * (7 + 6 * max(self.levels, 1)) * 8
                held.append(block)
                if size > CACHE_BYTES:
                    held = None
            yield block
        if held is not None and self._key is not None:
            self._held = held
            _CACHE[self._key] = (self.head, self.levels, held)
            while len(_CACHE) > _CACHE_FILES:
                _CACHE.popitem(last=False)

    def _batches(self, head_only: bool = False) -> Iterator[RawBlock]:
        dbn = self._dbn
        mbp_types = (dbn.MBP1Msg, dbn.MBP10Msg)
        kind: type | None = None
        rows = 0
        try:
            with open_regular(self.path, self.source) as f:
                first = f.read(4)
                compression = dbn.Compression.ZSTD if first == _ZSTD_MAGIC else dbn.Compression.NONE
                decoder = dbn.DBNDecoder(compression=compression)
                chunk = first + f.read(_CHUNK)
                while chunk:
                    records = decoder.write_and_decode(chunk)
                    if records and isinstance(records[0], dbn.Metadata):
                        self._read_head(records[0])
                        if head_only:
                            return
                    mbp = [r for r in records if isinstance(r, mbp_types)]
                    if mbp:
                        types = {type(r) for r in mbp}
                        if kind is not None:
                            types.add(kind)
                        if len(types) > 1:
                            raise FeedError(self.source, "the file mixes MBP-1 and MBP-10 records")
                        kind = types.pop()
                        block = self._block(mbp, rows)
                        rows += len(block)
                        yield block
                    chunk = f.read(_CHUNK)
                leftover = len(decoder.buffer())
        except FeedError:
            raise
        except OSError as exc:
            raise FeedError(self.source, f"cannot read the file: {exc.strerror or exc}") from None
        except dbn.DBNError as exc:
            raise FeedError(self.source, f"not a readable DBN file: {_one_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - the decoder's other failures on corrupt input
            raise FeedError(
                self.source, f"not a readable DBN file: {type(exc).__name__}: {_one_line(exc)}"
            ) from None
        except BaseException as exc:
            # A Rust panic inside the decoder surfaces as a BaseException; anything else goes on.
            if type(exc).__name__ != "PanicException":
                raise
            raise FeedError(self.source, "not a readable DBN file: the decoder failed on it") from None
        if self.head is None:
            raise FeedError(self.source, "not a readable DBN file: no metadata")
        if leftover:
            raise FeedError(self.source, f"truncated: the last {leftover} bytes are not a whole record")
        if not rows and not head_only:
            raise FeedError(self.source, "no MBP-1 or MBP-10 records in the file")

    def _read_head(self, metadata) -> None:
        start = _ns_or_none(getattr(metadata, "start", None))
        end = _ns_or_none(getattr(metadata, "end", None))
        self.head = DbnHead(
            schema=str(getattr(metadata, "schema", "") or ""),
            start_ns=start,
            end_ns=end,
            requested=tuple(str(s) for s in (getattr(metadata, "symbols", None) or ())),
            symbology=symbology.for_dbn(metadata, self.path, start, end, self.source),
        )

    def _block(self, records: list, rows_before: int) -> RawBlock:
        raw = b"".join(map(bytes, records))
        levels = len(records[0].levels)
        dtype = record_dtype(levels)
        width = len(raw) // len(records)
        if width * len(records) != len(raw) or width < dtype.itemsize:
            raise FeedError(self.source, "not a readable DBN file: records of unexpected size")
        if width != dtype.itemsize:
            # Records with ts_out carry 8 more bytes at the end.
            dtype = np.dtype(
                {
                    "names": dtype.names,
                    "formats": [dtype.fields[n][0] for n in dtype.names],
                    "offsets": [dtype.fields[n][1] for n in dtype.names],
                    "itemsize": width,
                }
            )
        rec = np.frombuffer(raw, dtype=dtype)
        self.levels = levels
        n = rec.shape[0]
        row = np.arange(rows_before + 1, rows_before + n + 1, dtype=np.int64)
        ts_event, ts_recv = rec["ts_event"], rec["ts_recv"]
        undefined = (ts_event > _INT64_MAX) | (ts_recv > _INT64_MAX)
        if undefined.any():
            i = int(np.flatnonzero(undefined)[0])
            field = "ts_event" if ts_event[i] > _INT64_MAX else "ts_recv"
            # Databento's UNDEF_TIMESTAMP is uint64 max: no time for a snapshot.
            raise FeedError(self.source, "an undefined (uint64 max) timestamp", row=int(row[i]), field=field)
        lv = rec["levels"]
        bid_px, ask_px = lv["bid_px"].astype(np.int64), lv["ask_px"].astype(np.int64)
        price = rec["price"].astype(np.int64)
        side = rec["side"].astype(np.int64)
        if self.head.schema == "tbbo":
            side = infer_aggressor(
                side, price, bid_px[:, 0], ask_px[:, 0], lv["bid_sz"][:, 0], lv["ask_sz"][:, 0]
            )
        columns = {
            "ts_event": ts_event.astype(np.int64),
            "ts_recv": ts_recv.astype(np.int64),
            "venue": rec["publisher_id"].astype(np.int64),
            "action": rec["action"].astype(np.int64),
            "side": side,
            "price": np.where(price == UNDEF_PRICE, 0, price),
            "size": rec["size"].astype(np.int64),
            "bid_px": bid_px,
            "ask_px": ask_px,
            "bid_sz": lv["bid_sz"].astype(np.int64),
            "ask_sz": lv["ask_sz"].astype(np.int64),
            "bid_present": bid_px != UNDEF_PRICE,
            "ask_present": ask_px != UNDEF_PRICE,
        }
        return RawBlock(columns, row, rec["instrument_id"].astype(np.int64))

    def scan(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(instrument, venue)`` arrays per block: what a feed needs to know up front."""
        for block in self.blocks():
            yield block.instrument, block.columns["venue"]

    def default_symbol(self, instrument_ids: tuple[int, ...] | None) -> str:
        """Return the symbol to report when the file names none for the kept instrument."""
        if instrument_ids and len(instrument_ids) == 1 and instrument_ids[0] in self.symbology.symbols:
            return self.symbology.symbols[instrument_ids[0]]
        requested = self.head.requested
        return requested[0] if len(requested) == 1 else ",".join(requested)

    def fits_in_memory(self) -> bool:
        """Return whether the file's records fit the per-process cache (decoded, or at most 1/8 of it)."""
        return self._held is not None or os.path.getsize(self.path) * 8 <= CACHE_BYTES

    def meta(self) -> dict[str, object]:
        """Return what the file says about itself for the result's ``data`` block."""
        return {"schema": self.head.schema} if self.head.schema else {}


def _records(dbn, path: str | os.PathLike, source: str) -> Iterator:
    """Yield every decoded record of a DBN file, metadata first (``feeds.mbo`` reads MBO files so)."""
    try:
        with open_regular(path, source) as f:
            head = f.read(4)
            compression = dbn.Compression.ZSTD if head == _ZSTD_MAGIC else dbn.Compression.NONE
            decoder = dbn.DBNDecoder(compression=compression)
            chunk = head + f.read(_CHUNK)
            while chunk:
                yield from decoder.write_and_decode(chunk)
                chunk = f.read(_CHUNK)
            leftover = len(decoder.buffer())
    except OSError as exc:
        raise FeedError(source, f"cannot read the file: {exc.strerror or exc}") from None
    except dbn.DBNError as exc:
        raise FeedError(source, f"not a readable DBN file: {_one_line(exc)}") from None
    if leftover:
        raise FeedError(source, f"truncated: the last {leftover} bytes are not a whole record")


_CACHE: OrderedDict[tuple, tuple[DbnHead, int, list[RawBlock]]] = OrderedDict()


def _ns_or_none(value) -> int | None:
    if value is None:
        return None
    value = int(value)
    return None if value < 0 or value > _INT64_MAX else value


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def read_dbn(
    path: str | os.PathLike,
    start_ns: int | None = None,
    end_ns: int | None = None,
    *,
    symbol: str | None = None,
    instrument_id: int | None = None,
) -> MarketData:
    """Read a Databento MBP-1, MBP-10 or TBBO DBN file, plain or zstd-compressed.

    Parameters
    ----------
    path
        The ``.dbn`` or ``.dbn.zst`` file.
    start_ns, end_ns
        Optional window on ``ts_event`` (inclusive, integer ns UTC).
    symbol, instrument_id
        Which instrument to keep when the file holds several (see ``feeds.symbology``).

    Returns
    -------
    MarketData
        One row per kept snapshot with 1 (MBP-1, TBBO) or 10 (MBP-10) levels;
        ``symbol`` names the kept instrument, ``meta`` its ``instrument_id`` and the
        file's ``schema``.

    Raises
    ------
    MissingDependency
        When ``databento-dbn`` is not installed (the message says how to install
        it); it is both a ``FeedError`` and an ``ImportError``.
    FeedError
        When the file is missing, cannot be decoded, holds no MBP records, the
        instrument cannot be chosen, or it breaks a rule of ``feeds.pipeline``.
    """
    from feeds.file_feed import FileFeed

    feed = FileFeed(DbnReader(path), start=start_ns, end=end_ns, symbol=symbol, instrument_id=instrument_id)
    return feed.read_all()


__all__ = ["read_dbn", "DbnReader", "MissingDependency", "UNDEF_PRICE", "MBP1_DTYPE", "MBP10_DTYPE"]
