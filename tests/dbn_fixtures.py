"""Build small DBN files record by record with databento_dbn, for the reader tests."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from types import SimpleNamespace

import databento_dbn as dbn

UNDEF = 2**63 - 1
DAY = dt.date(2024, 8, 1)
ONE_DAY = dt.timedelta(days=1)
DAY_NS = 1_722_470_400_000_000_000  # 2024-08-01T00:00:00Z


def metadata(
    schema=dbn.Schema.MBP_1,
    symbols: list[str] | None = None,
    mappings: dict[str, int] | None = None,
    start: int = 0,
    end: int | None = None,
) -> bytes:
    """Encode DBN metadata; ``mappings`` gives each raw symbol's instrument id on ``DAY``."""
    intervals = [
        SimpleNamespace(
            raw_symbol=name,
            intervals=[
                SimpleNamespace(start_date=DAY, end_date=DAY + dt.timedelta(days=1), symbol=str(ident))
            ],
        )
        for name, ident in (mappings or {}).items()
    ]
    meta = dbn.Metadata(
        dataset="DBEQ.BASIC",
        schema=schema,
        start=start,
        end=end,
        stype_in=dbn.SType.RAW_SYMBOL,
        stype_out=dbn.SType.INSTRUMENT_ID,
        symbols=symbols if symbols is not None else ["AAPL"],
        partial=[],
        not_found=[],
        mappings=intervals,
    )
    return bytes(meta.encode())


def mbp1(
    ts: int,
    venue: int,
    bid: int,
    ask: int,
    bid_sz: int = 100,
    ask_sz: int = 200,
    action=None,
    price: int | None = None,
    size: int = 0,
    recv: int | None = None,
    instrument: int = 38,
    side=None,
) -> bytes:
    """Encode one MBP-1 record (a TBBO record when ``action`` is a trade)."""
    record = dbn.MBP1Msg(
        publisher_id=venue,
        instrument_id=instrument,
        ts_event=ts,
        price=UNDEF if price is None else price,
        size=size,
        action=action or dbn.Action.ADD,
        side=side or dbn.Side.BID,
        depth=0,
        ts_recv=ts + 1000 if recv is None else recv,
        flags=0,
        levels=dbn.BidAskPair(bid_px=bid, ask_px=ask, bid_sz=bid_sz, ask_sz=ask_sz, bid_ct=1, ask_ct=1),
    )
    return bytes(record)


def write(path: Path, *records: bytes, compress: bool = False, head: bytes | None = None) -> Path:
    """Write metadata (``head``, else an MBP-1 default) and records to ``path``, zstd if asked."""
    raw = (metadata() if head is None else head) + b"".join(records)
    if compress:
        out = io.BytesIO()
        transcoder = dbn.Transcoder(out, dbn.Encoding.DBN, dbn.Compression.ZSTD)
        transcoder.write(raw)
        transcoder.flush()
        raw = out.getvalue()
    path.write_bytes(raw)
    return path
