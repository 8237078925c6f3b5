"""Read Databento Binary Encoding (``.dbn``, ``.dbn.zst``) MBP-1 / MBP-10 files into ``MarketData``.

Decoding uses the optional ``databento-dbn`` package (``pip install 'sor[dbn]'``),
imported only when a DBN file is read. Zstandard compression is recognised by
the file's magic bytes, whatever its name. Records other than MBP-1/MBP-10
(symbol mappings, system messages) are skipped; a file mixing MBP-1 and MBP-10
records is refused. A price of ``UNDEF_PRICE`` (int64 max) is an empty level
(a message price of ``UNDEF_PRICE`` becomes 0). The rows then go through the same
checks, snapshot rule and window as the CSV reader (``feeds.snapshot_rule``),
so ``ts_event`` must not decrease in file order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from feeds.errors import FeedError
from feeds.market import MarketData
from feeds.snapshot_rule import assemble

UNDEF_PRICE = 2**63 - 1
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20
INSTALL_HINT = "pip install 'sor[dbn]'"


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


def read_dbn(path: str | os.PathLike, start_ns: int | None = None, end_ns: int | None = None) -> MarketData:
    """Read a Databento MBP-1 or MBP-10 DBN file, plain or zstd-compressed.

    Parameters
    ----------
    path
        The ``.dbn`` or ``.dbn.zst`` file.
    start_ns, end_ns
        Optional window on ``ts_event`` (inclusive, integer ns UTC).

    Returns
    -------
    MarketData
        One row per kept snapshot with 1 (MBP-1) or 10 (MBP-10) levels;
        ``symbol`` is the file's requested symbols joined by commas.

    Raises
    ------
    MissingDependency
        When ``databento-dbn`` is not installed (the message says how to install
        it); it is both a ``FeedError`` and an ``ImportError``.
    FeedError
        When the file is missing, cannot be decoded, holds no MBP records or
        breaks a rule of ``feeds.snapshot_rule``.
    """
    source = str(path)
    dbn = _decoder_module(source)
    mbp_types = (dbn.MBP1Msg, dbn.MBP10Msg)
    heads: list[tuple[int, ...]] = []
    books: list[int] = []
    kinds: set[type] = set()
    symbols: list[str] = []
    # Convert record by record as the decoder yields them; the records themselves are not kept.
    for r in _records(dbn, path, source):
        if isinstance(r, mbp_types):
            kinds.add(type(r))
            heads.append(
                (
                    r.ts_event,
                    r.ts_recv,
                    r.publisher_id,
                    ord(r.action.value),
                    ord(r.side.value),
                    r.price,
                    r.size,
                )
            )
            for lv in r.levels:
                books += (lv.bid_px, lv.ask_px, lv.bid_sz, lv.ask_sz)
        elif isinstance(r, dbn.Metadata):
            symbols = [str(s) for s in r.symbols]
    if not heads:
        raise FeedError(source, "no MBP-1 or MBP-10 records in the file")
    if len(kinds) > 1:
        raise FeedError(source, "the file mixes MBP-1 and MBP-10 records")
    n = len(heads)
    try:
        header = np.array(heads, dtype=np.int64)
    except OverflowError:
        # Databento's UNDEF_TIMESTAMP is uint64 max: no time for a snapshot.
        raise FeedError(source, "a record has an undefined (uint64 max) timestamp") from None
    book = np.array(books, dtype=np.int64).reshape(n, -1)
    bid_px, ask_px = book[:, 0::4], book[:, 1::4]
    bid_sz, ask_sz = book[:, 2::4], book[:, 3::4]
    price = np.where(header[:, 5] == UNDEF_PRICE, 0, header[:, 5])
    return assemble(
        source=source,
        symbol=",".join(symbols),
        ts_event=header[:, 0],
        ts_recv=header[:, 1],
        venue=header[:, 2],
        action=header[:, 3],
        side=header[:, 4],
        price=price,
        size=header[:, 6],
        bid_px=bid_px,
        bid_sz=bid_sz,
        ask_px=ask_px,
        ask_sz=ask_sz,
        bid_present=bid_px != UNDEF_PRICE,
        ask_present=ask_px != UNDEF_PRICE,
        start_ns=start_ns,
        end_ns=end_ns,
    )


def _records(dbn, path: str | os.PathLike, source: str) -> Iterator:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            compression = dbn.Compression.ZSTD if head == _ZSTD_MAGIC else dbn.Compression.NONE
            decoder = dbn.DBNDecoder(compression=compression)
            chunk = head + f.read(_CHUNK)
            while chunk:
                yield from decoder.write_and_decode(chunk)
                chunk = f.read(_CHUNK)
            leftover = len(decoder.buffer())
    except FileNotFoundError:
        raise FeedError(source, "no such file") from None
    except OSError as exc:
        raise FeedError(source, f"cannot read the file: {exc.strerror or exc}") from None
    except dbn.DBNError as exc:
        raise FeedError(source, f"not a readable DBN file: {exc}") from None
    if leftover:
        raise FeedError(source, f"truncated: the last {leftover} bytes are not a whole record")
