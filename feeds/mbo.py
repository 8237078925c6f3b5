"""Read Databento market-by-order (MBO) events from DBN (plain or zstd) or Databento CSV.

An MBO file holds every order event of a venue, keyed by order id: ``A`` add,
``C`` cancel (all or part of an order), ``M`` modify (price and/or size), ``R``
clear the book, ``T`` trade (the aggressor's side), ``F`` fill (the resting
order's side) and ``N`` nothing. ``T`` and ``F`` do not change the book: the
shares a fill takes leave it by the ``C`` (or, for a partial fill on CME, the
``M``) that follows. The reader only turns records into columns and checks them;
``feeds.mbo_book`` builds the price-level book from them.

Checks (each a one-line ``FeedError`` naming the file, the record and the field):
the file exists and holds MBO records (a DBN file of another schema, or a CSV
without ``order_id`` or with ``rtype`` other than 160, is refused); ``action`` is
one of ``ACMRTFN`` and ``side`` one of ``ABN``; an ``A`` or ``M`` has a price
(not ``UNDEF_PRICE``) above zero and a side ``A`` or ``B``; timestamps are not
undefined; and ``ts_event`` never decreases over the live records. Records
flagged ``SNAPSHOT`` (the book as it stood when the file starts, in priority
order) may carry an earlier ``ts_event`` than the live ones but must come first.
"""

from __future__ import annotations

import os

import attrs
import numpy as np

from feeds import _cells
from feeds.databento_csv import UNDEF_PRICE, _header, _Parser
from feeds.dbn import _ZSTD_MAGIC, _decoder_module, _records
from feeds.errors import FeedError
from feeds.market import _int_array

#: Databento record flags (``flags`` field).
F_LAST, F_TOB, F_SNAPSHOT, F_MBP, F_BAD_TS_RECV = 0x80, 0x40, 0x20, 0x10, 0x08
ACTIONS = b"ACMRTFN"
SIDES = b"ABN"
_DBN_MAGIC = b"DBN"
_UNDEF_TS = 2**64 - 1
# The MBO record, 56 bytes, the same in DBN versions 1 to 3.
_MBO_DTYPE = np.dtype(
    [
        ("length", "u1"),
        ("rtype", "u1"),
        ("publisher_id", "u2"),
        ("instrument_id", "u4"),
        ("ts_event", "u8"),
        ("order_id", "u8"),
        ("price", "i8"),
        ("size", "u4"),
        ("flags", "u1"),
        ("channel_id", "u1"),
        ("action", "S1"),
        ("side", "S1"),
        ("ts_recv", "u8"),
        ("ts_in_delta", "i4"),
        ("sequence", "u4"),
    ]
)
_CSV_REQUIRED = ("ts_event", "action", "side", "price", "size", "order_id")
#: The column fields of ``MboEvents``, in order.
MBO_COLUMNS = (
    "ts_event",
    "ts_recv",
    "venue",
    "instrument_id",
    "action",
    "side",
    "price",
    "size",
    "order_id",
    "flags",
    "sequence",
)


@attrs.frozen(eq=False)
class MboEvents:
    """Databento MBO records as columns, one row per record in file order.

    Prices are integer 1e-9 dollars (0 where the record has none, e.g. ``R``),
    ``action`` and ``side`` ASCII codes (``ord("A")``), ``venue`` the Databento
    ``publisher_id``. ``symbol`` names the instrument when the file says.
    """

    ts_event: np.ndarray = attrs.field(converter=_int_array())
    ts_recv: np.ndarray = attrs.field(converter=_int_array())
    venue: np.ndarray = attrs.field(converter=_int_array())
    instrument_id: np.ndarray = attrs.field(converter=_int_array())
    action: np.ndarray = attrs.field(converter=_int_array())
    side: np.ndarray = attrs.field(converter=_int_array())
    price: np.ndarray = attrs.field(converter=_int_array())
    size: np.ndarray = attrs.field(converter=_int_array())
    order_id: np.ndarray = attrs.field(converter=_int_array())
    flags: np.ndarray = attrs.field(converter=_int_array())
    sequence: np.ndarray = attrs.field(converter=_int_array())
    source: str = ""
    symbol: str = ""

    def __len__(self) -> int:
        return int(self.ts_event.shape[0])

    @classmethod
    def joined(cls, parts: list[MboEvents], source: str = "") -> MboEvents:
        """Return the records of ``parts`` one after the other (e.g. several venues' events)."""
        cols = {name: np.concatenate([getattr(p, name) for p in parts]) for name in MBO_COLUMNS}
        return cls(**cols, source=source or parts[0].source, symbol=parts[0].symbol)

    @property
    def snapshot(self) -> np.ndarray:
        """Return a mask of the records flagged ``SNAPSHOT``."""
        return (self.flags & F_SNAPSHOT) != 0

    @classmethod
    def from_records(
        cls,
        records: list[tuple],
        *,
        source: str = "",
        symbol: str = "",
        venue: int = 1,
        instrument_id: int = 1,
    ) -> MboEvents:
        """Build events from ``(ts_event, action, side, price, size, order_id[, flags])`` tuples.

        ``action`` and ``side`` are one-letter strings; ``flags`` defaults to ``F_LAST``;
        ``sequence`` counts the records from 1. The result is checked like a file.
        """
        rows = [tuple(r) + ((F_LAST,) if len(r) == 6 else ()) for r in records]
        n = len(rows)
        cols = list(zip(*rows, strict=True)) if rows else [()] * 7
        events = cls(
            ts_event=np.array(cols[0], dtype=np.int64),
            ts_recv=np.array(cols[0], dtype=np.int64),
            venue=np.full(n, venue, dtype=np.int64),
            instrument_id=np.full(n, instrument_id, dtype=np.int64),
            action=np.array([ord(a) for a in cols[1]], dtype=np.int64),
            side=np.array([ord(s) for s in cols[2]], dtype=np.int64),
            price=np.array(cols[3], dtype=np.int64),
            size=np.array(cols[4], dtype=np.int64),
            order_id=np.array(cols[5], dtype=np.int64),
            flags=np.array(cols[6], dtype=np.int64),
            sequence=np.arange(1, n + 1, dtype=np.int64),
            source=source,
            symbol=symbol,
        )
        check(events)
        return events


def read_mbo(path: str | os.PathLike) -> MboEvents:
    """Read a Databento MBO file: DBN (``.dbn``, ``.dbn.zst``) or CSV, told apart by its first bytes.

    Raises
    ------
    FeedError
        When the file is missing, is not MBO, or breaks a check of the module docstring.
    MissingDependency
        When a DBN file is read without the optional ``databento-dbn`` package.
    """
    source = str(path)
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except FileNotFoundError:
        raise FeedError(source, "no such file") from None
    except OSError as exc:
        raise FeedError(source, f"cannot read the file: {exc.strerror or exc}") from None
    if head == _ZSTD_MAGIC or head[:3] == _DBN_MAGIC:
        return read_mbo_dbn(path)
    return read_mbo_csv(path)


def read_mbo_dbn(path: str | os.PathLike) -> MboEvents:
    """Read the MBO records of a DBN file, plain or zstd-compressed (see ``read_mbo``)."""
    source = str(path)
    dbn = _decoder_module(source)
    chunks: list[bytes] = []
    schema = None
    symbols: list[str] = []
    others = 0
    for r in _records(dbn, path, source):
        if isinstance(r, dbn.MBOMsg):
            chunks.append(bytes(r))
        elif isinstance(r, dbn.Metadata):
            schema = r.schema
            symbols = [str(s) for s in r.symbols]
        elif not isinstance(r, dbn.SymbolMappingMsg | dbn.SystemMsg | dbn.ErrorMsg):
            others += 1
    if not chunks:
        kind = f"schema {schema.name.lower()}" if schema is not None else "no MBO records"
        raise FeedError(source, f"not an MBO file ({kind})")
    if others:
        raise FeedError(source, f"the file mixes MBO with {others} records of another schema")
    raw = np.frombuffer(b"".join(chunks), dtype=_MBO_DTYPE)
    bad_ts = (raw["ts_event"] == _UNDEF_TS) | (raw["ts_event"] > np.uint64(2**63 - 1))
    if bad_ts.any():
        raise FeedError(
            source, "undefined timestamp", row=int(np.flatnonzero(bad_ts)[0]) + 1, field="ts_event"
        )
    ts_recv = np.where(raw["ts_recv"] > np.uint64(2**63 - 1), raw["ts_event"], raw["ts_recv"])
    if (raw["order_id"] > np.uint64(2**63 - 1)).any():
        row = int(np.flatnonzero(raw["order_id"] > np.uint64(2**63 - 1))[0]) + 1
        raise FeedError(source, "order id beyond int64", row=row, field="order_id")
    price = raw["price"].astype(np.int64)
    events = MboEvents(
        ts_event=raw["ts_event"].astype(np.int64),
        ts_recv=ts_recv.astype(np.int64),
        venue=raw["publisher_id"].astype(np.int64),
        instrument_id=raw["instrument_id"].astype(np.int64),
        action=raw["action"].view(np.uint8).astype(np.int64),
        side=raw["side"].view(np.uint8).astype(np.int64),
        price=np.where(price == UNDEF_PRICE, 0, price),
        size=raw["size"].astype(np.int64),
        order_id=raw["order_id"].astype(np.int64),
        flags=raw["flags"].astype(np.int64),
        sequence=raw["sequence"].astype(np.int64),
        source=source,
        symbol=",".join(symbols),
    )
    check(events, undefined_price=price == UNDEF_PRICE)
    return events


def read_mbo_csv(path: str | os.PathLike) -> MboEvents:
    """Read a Databento MBO CSV (decimal or fixed-point prices, ISO or integer timestamps).

    Columns are found by name; ``ts_event, action, side, price, size, order_id`` are
    required, ``ts_recv``, ``publisher_id``, ``instrument_id``, ``flags``, ``sequence``
    and ``symbol`` are read when present (``ts_recv`` defaults to ``ts_event``, the
    numbers to 0). An empty price is no price (``R``, ``T`` without one).
    """
    source = str(path)
    data, start, end = _cells.read_padded(path, source)
    header, body_start = _header(data, start, end, source)
    columns = {name: i for i, name in enumerate(header) if name}
    if "bid_px_00" in columns:
        raise FeedError(source, "not an MBO file: it has price levels (bid_px_00), not order events")
    if "order_id" not in columns:
        raise FeedError(source, "not an MBO file: no order_id column")
    missing = [name for name in _CSV_REQUIRED if name not in columns]
    if missing:
        raise FeedError(source, f"missing required column{'s' * (len(missing) > 1)}: {', '.join(missing)}")
    cells = _cells.split(data, body_start, end, len(header), source)
    parser = _Parser(cells, columns, 0, source)
    n = cells.n_rows

    def ints(name: str) -> np.ndarray:
        return parser.integers(name) if name in columns else np.zeros(n, dtype=np.int64)

    ts_event = parser.timestamps("ts_event")
    ts_recv = parser.timestamps("ts_recv") if "ts_recv" in columns else ts_event
    rtype = ints("rtype") if "rtype" in columns else np.full(n, 160, dtype=np.int64)
    action = parser.characters("action")
    side = parser.characters("side")
    units, present, _ = parser.prices(["price"])
    size = parser.integers("size")
    order_id = parser.integers("order_id")
    venue, instrument_id, flags, sequence = (
        ints(name) for name in ("publisher_id", "instrument_id", "flags", "sequence")
    )
    parser.raise_problem()
    not_mbo = np.flatnonzero(rtype != 160)
    if not_mbo.size:
        row = int(not_mbo[0]) + 1
        raise FeedError(source, f"rtype {int(rtype[row - 1])} is not MBO (160)", row=row, field="rtype")
    events = MboEvents(
        ts_event=ts_event,
        ts_recv=ts_recv,
        venue=venue,
        instrument_id=instrument_id,
        action=action,
        side=side,
        price=units[0],
        size=size,
        order_id=order_id,
        flags=flags,
        sequence=sequence,
        source=source,
        symbol=",".join(parser.symbols()),
    )
    check(events, undefined_price=~present[0])
    return events


def check(events: MboEvents, undefined_price: np.ndarray | None = None) -> None:
    """Raise ``FeedError`` for the first record that breaks a rule of the module docstring."""
    source = events.source or "MBO events"
    n = len(events)
    if n == 0:
        raise FeedError(source, "no MBO records")
    problems: list[tuple[int, str, str]] = []

    def first(mask: np.ndarray, field: str, message) -> None:
        hits = np.flatnonzero(mask)
        if hits.size:
            i = int(hits[0])
            problems.append((i, field, message(i)))

    action, side = events.action, events.side
    first(~np.isin(action, list(ACTIONS)), "action", lambda i: f"unknown action {chr(action[i])!r}")
    first(~np.isin(side, list(SIDES)), "side", lambda i: f"unknown side {chr(side[i])!r}")
    priced = (action == ord("A")) | (action == ord("M"))
    no_price = events.price <= 0 if undefined_price is None else undefined_price | (events.price <= 0)
    first(priced & no_price, "price", lambda i: f"action {chr(action[i])} needs a price above zero")
    first(priced & (side == ord("N")), "side", lambda i: f"action {chr(action[i])} needs side A or B")
    first(events.size < 0, "size", lambda i: f"negative size {int(events.size[i])}")
    snap = events.snapshot
    live = np.flatnonzero(~snap)
    if live.size and snap[live[0] :].any():
        first(
            np.r_[np.zeros(live[0], dtype=bool), snap[live[0] :]],
            "flags",
            lambda i: "SNAPSHOT record after live ones",
        )
    ts = events.ts_event[live]
    back = np.flatnonzero(ts[1:] < ts[:-1])
    if back.size:
        i = int(live[back[0] + 1])
        problems.append((i, "ts_event", "ts_event goes back in time (records must be in time order)"))
    if problems:
        i, field, message = min(problems)
        raise FeedError(source, message, row=i + 1, field=field)


__all__ = [
    "MBO_COLUMNS",
    "MboEvents",
    "read_mbo",
    "read_mbo_dbn",
    "read_mbo_csv",
    "check",
    "F_LAST",
    "F_SNAPSHOT",
]
