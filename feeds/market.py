"""Market data as columns: the form every feed produces and the engine replays.

Prices are integers in units of 1e-9 dollars (Databento's fixed-point scale),
sizes are integer shares, timestamps are integer nanoseconds since the Unix
epoch (UTC). An empty book level has price 0 and size 0.
"""

from __future__ import annotations

from decimal import Decimal

import attrs
import numpy as np

PRICE_SCALE = 1_000_000_000
LEVELS = 10


def price_to_units(text: str | Decimal | int) -> int:
    """Convert a decimal dollar price (``"222.81"``) to integer 1e-9 units, exactly.

    Raises ``ValueError`` when the value has more than nine decimals or is not a number.
    """
    value = Decimal(str(text)) if not isinstance(text, Decimal) else text
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    units = value * PRICE_SCALE
    if units != units.to_integral_value():
        raise ValueError(f"more than 9 decimals: {text!r}")
    return int(units)


def units_to_decimal(units: int) -> Decimal:
    """Convert integer 1e-9 units to an exact ``Decimal`` number of dollars, in plain notation.

    Trailing zeros are dropped (``222810000000`` -> ``Decimal("222.81")``) without ever
    switching to exponent form, so the value prints as a JSON number a person can read.
    """
    text = format(Decimal(int(units)).scaleb(-9), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal(text)


@attrs.frozen
class BookSnapshot:
    """One venue's displayed book at one instant: a single row of a feed.

    ``action``/``side``/``price``/``size`` describe the message that produced the
    snapshot (Databento MBP semantics: action ``T`` is a trade at ``price`` for
    ``size``, with ``side`` the aggressor); the level tuples hold the book after it.
    """

    ts_event: int
    ts_recv: int
    venue: int
    action: str
    side: str
    price: int
    size: int
    bid_px: tuple[int, ...]
    bid_sz: tuple[int, ...]
    ask_px: tuple[int, ...]
    ask_sz: tuple[int, ...]


def _int_array(ndim: int = 1):
    def convert(value):
        arr = np.ascontiguousarray(value, dtype=np.int64)
        if arr.ndim != ndim:
            raise ValueError(f"expected a {ndim}-d array, got shape {arr.shape}")
        return arr

    return convert


@attrs.frozen(eq=False)
class MarketData:
    """A time-ordered stream of per-venue book snapshots, held as numpy columns.

    Row ``i`` is one snapshot: venue ``venue[i]`` (the Databento ``publisher_id``)
    showed levels ``bid_px[i, :]`` .. ``ask_sz[i, :]`` at ``ts_event[i]``. Rows are
    sorted by ``ts_event`` and there is at most one row per ``(ts_event, venue)``
    (the trial's snapshot rule). ``action`` and ``side`` hold ASCII codes
    (``ord("T")``), so the whole stream is a handful of flat arrays.

    ``rows_read`` counts the rows of the source before any rule or window;
    ``dropped`` counts rows left out, by reason (``duplicate_ts_venue``,
    ``outside_window``, ``crossed_book``, ``nonpositive_price``, ...).
    ``meta`` holds what a source knows about itself beyond that (e.g. ``instrument_id``,
    a Kafka run's ``kafka`` block); the result's ``data`` block carries every entry.
    """

    ts_event: np.ndarray = attrs.field(converter=_int_array())
    ts_recv: np.ndarray = attrs.field(converter=_int_array())
    venue: np.ndarray = attrs.field(converter=_int_array())
    action: np.ndarray = attrs.field(converter=_int_array())
    side: np.ndarray = attrs.field(converter=_int_array())
    price: np.ndarray = attrs.field(converter=_int_array())
    size: np.ndarray = attrs.field(converter=_int_array())
    bid_px: np.ndarray = attrs.field(converter=_int_array(2))
    bid_sz: np.ndarray = attrs.field(converter=_int_array(2))
    ask_px: np.ndarray = attrs.field(converter=_int_array(2))
    ask_sz: np.ndarray = attrs.field(converter=_int_array(2))
    source: str = ""
    symbol: str = ""
    rows_read: int = 0
    dropped: dict[str, int] = attrs.field(factory=dict)
    meta: dict[str, object] = attrs.field(factory=dict)

    def __len__(self) -> int:
        return int(self.ts_event.shape[0])

    @property
    def levels(self) -> int:
        return int(self.bid_px.shape[1])

    @property
    def venues(self) -> tuple[int, ...]:
        """Return the distinct venue ids, ascending."""
        return tuple(int(v) for v in np.unique(self.venue))

    def snapshot(self, i: int) -> BookSnapshot:
        """Return row ``i`` as a value object."""
        return BookSnapshot(
            ts_event=int(self.ts_event[i]),
            ts_recv=int(self.ts_recv[i]),
            venue=int(self.venue[i]),
            action=chr(int(self.action[i])),
            side=chr(int(self.side[i])),
            price=int(self.price[i]),
            size=int(self.size[i]),
            bid_px=tuple(int(x) for x in self.bid_px[i]),
            bid_sz=tuple(int(x) for x in self.bid_sz[i]),
            ask_px=tuple(int(x) for x in self.ask_px[i]),
            ask_sz=tuple(int(x) for x in self.ask_sz[i]),
        )

    def take(self, index: np.ndarray, **changes) -> MarketData:
        """Return the rows selected by ``index`` (a boolean mask or positions)."""
        cols = {name: getattr(self, name)[index] for name in _COLUMNS}
        meta = {
            "source": self.source,
            "symbol": self.symbol,
            "rows_read": self.rows_read,
            "dropped": dict(self.dropped),
            "meta": dict(self.meta),
        }
        meta.update(changes)
        return MarketData(**cols, **meta)

    def window(self, start_ns: int | None, end_ns: int | None) -> MarketData:
        """Keep rows with ``start_ns <= ts_event <= end_ns``; count the rest as ``outside_window``."""
        mask = np.ones(len(self), dtype=bool)
        if start_ns is not None:
            mask &= self.ts_event >= start_ns
        if end_ns is not None:
            mask &= self.ts_event <= end_ns
        dropped = dict(self.dropped)
        outside = int(len(self) - mask.sum())
        if outside:
            dropped["outside_window"] = dropped.get("outside_window", 0) + outside
        return self.take(mask, dropped=dropped)

    @classmethod
    def from_snapshots(cls, snapshots: list[BookSnapshot], levels: int = LEVELS, **meta) -> MarketData:
        """Build columns from value objects (used by streaming feeds and tests)."""
        n = len(snapshots)
        book = {
            name: np.zeros((n, levels), dtype=np.int64) for name in ("bid_px", "bid_sz", "ask_px", "ask_sz")
        }
        for i, s in enumerate(snapshots):
            for name in book:
                vals = getattr(s, name)
                book[name][i, : len(vals)] = vals
        return cls(
            ts_event=[s.ts_event for s in snapshots],
            ts_recv=[s.ts_recv for s in snapshots],
            venue=[s.venue for s in snapshots],
            action=[ord(s.action) for s in snapshots],
            side=[ord(s.side) for s in snapshots],
            price=[s.price for s in snapshots],
            size=[s.size for s in snapshots],
            **book,
            **meta,
        )


_COLUMNS = (
    "ts_event",
    "ts_recv",
    "venue",
    "action",
    "side",
    "price",
    "size",
    "bid_px",
    "bid_sz",
    "ask_px",
    "ask_sz",
)
