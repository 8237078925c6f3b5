"""Read Databento MBP-1 / MBP-10 CSV exports into ``MarketData``.

What is accepted
----------------
- Columns are found by NAME, in any order. Columns with an empty name (the
  leading index column some exports write) and columns the reader does not
  use (``rtype``, ``order_id``, ``bid_ct_00``, ...) are ignored and not checked.
- Required: ``ts_recv, ts_event, publisher_id, action, side, price, size`` and,
  for every level the file has, ``bid_px_NN, ask_px_NN, bid_sz_NN, ask_sz_NN``.
  Levels run from ``00`` up to the last consecutive level present (1 for MBP-1,
  10 for MBP-10); the output has that many levels. ``symbol`` is optional.
- Timestamps: ISO-8601 with up to nine fractional digits (``...32.491911683Z``)
  or integer nanoseconds, cell by cell (see ``feeds.timeparse``).
- Prices, decided once per file over ``price`` and every ``*_px_NN`` column:
  if every non-empty price cell is an integer literal and at least one exceeds
  1e6 in magnitude, the file is fixed-point (integers of 1e-9 dollars, as
  Databento writes without ``pretty_px``) and the cell ``9223372036854775807``
  (Databento's UNDEF_PRICE) means "no price"; otherwise prices are decimal
  dollars with at most nine decimals, converted exactly.
- An empty price cell is an empty level (price 0, size 0); an empty ``price``
  (the message's own price) becomes 0. Line ends may be LF or CRLF; a UTF-8
  BOM is skipped; quoted cells are allowed.

Bad input
---------
Rows are numbered from 1 after the header. ``FeedError`` (file, row, field)
is raised for:

- an empty file, or a header without data rows;
- missing required columns (all of them named in one message), a column name
  given twice;
- a row with the wrong number of fields, or a NUL byte;
- a malformed cell in a used column: an unparseable number, ``NaN``, ``inf``,
  an exponent, more than nine decimals, a number beyond int64, a number or
  timestamp cell longer than 40 characters, an empty
  ``ts_event``/``ts_recv``/``publisher_id``/``size``/``action``/``side``, an
  ``action``/``side`` that is not one ASCII character, or an empty level size
  next to a price. When several cells are bad the earliest row wins, then
  the leftmost column;
- ``ts_event`` earlier than the previous row's (checked once the cells parse).

Rows whose book cannot be real are dropped and counted in ``dropped`` instead:
``nonpositive_price``, ``size_without_price``, ``nonpositive_size``,
``crossed_book`` (best bid >= best ask, both present); then the snapshot rule
counts ``duplicate_ts_venue`` and the window ``outside_window``
(see ``feeds.snapshot_rule``).
"""

from __future__ import annotations

import csv
import os

import numpy as np

from feeds import _cells
from feeds._cells import (
    EMPTY,
    MAX_CELL,
    OK,
    OUT_OF_RANGE,
    Cells,
    Scan,
    describe,
    gather,
    parse_fixed,
    scan,
    to_units,
)
from feeds.errors import FeedError
from feeds.market import MarketData
from feeds.snapshot_rule import assemble
from feeds.timeparse import parse_ns, parse_ns_matrix

REQUIRED = ("ts_recv", "ts_event", "publisher_id", "action", "side", "price", "size")
LEVEL_FIELDS = ("bid_px", "ask_px", "bid_sz", "ask_sz")
UNDEF_PRICE = 2**63 - 1
# The largest magnitude a decimal-dollar file's integer prices may have (see the module docstring).
FIXED_POINT_THRESHOLD = 1_000_000


def read_csv(path: str | os.PathLike, start_ns: int | None = None, end_ns: int | None = None) -> MarketData:
    """Read a Databento MBP-1 or MBP-10 CSV file.

    Parameters
    ----------
    path
        The CSV file.
    start_ns, end_ns
        Optional window on ``ts_event`` (inclusive, integer ns UTC); rows
        outside are counted as ``outside_window``.

    Returns
    -------
    MarketData
        One row per kept snapshot, in ``ts_event`` order, with as many levels
        as the file has; ``source`` is ``str(path)``.

    Raises
    ------
    FeedError
        On unreadable or malformed input, naming the file, row and field (the
        rules are in the module docstring).
    """
    source = str(path)
    data, start, end = _cells.read_padded(path, source)
    header, body_start = _header(data, start, end, source)
    columns = _locate(header, source)
    levels = _count_levels(columns)
    cells = _cells.split(data, body_start, end, len(header), source)
    return _Parser(cells, columns, levels, source).market_data(start_ns, end_ns)


def _header(data: bytearray, start: int, end: int, source: str) -> tuple[list[str], int]:
    newline = data.find(b"\n", start, end)
    first_line = data[start : end if newline < 0 else newline]
    if not first_line.strip():
        if not data[start:end].strip():
            raise FeedError(source, "empty file: no header and no data rows")
        raise FeedError(source, "the first line, the header, is blank")
    if newline < 0:
        raise FeedError(source, "no data rows: the file holds only a header")
    try:
        line = first_line.decode("utf-8")
    except UnicodeDecodeError:
        raise FeedError(source, "the header is not UTF-8 text") from None
    names = next(csv.reader([line])) if '"' in line else line.split(",")
    return [name.strip() for name in names], newline + 1


def _locate(header: list[str], source: str) -> dict[str, int]:
    columns: dict[str, int] = {}
    for position, name in enumerate(header):
        if not name:
            continue
        if name in columns:
            raise FeedError(source, f"column {name!r} appears twice in the header")
        columns[name] = position
    levels = _count_levels(columns)
    wanted = list(REQUIRED) + [f"{f}_{k:02d}" for k in range(max(levels, 1)) for f in LEVEL_FIELDS]
    missing = [name for name in wanted if name not in columns]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise FeedError(source, f"missing required column{plural}: {', '.join(missing)}")
    return columns


def _count_levels(columns: dict[str, int]) -> int:
    levels = 0
    while any(f"{f}_{levels:02d}" in columns for f in LEVEL_FIELDS):
        levels += 1
    return levels


def _is_fixed_point(numbers: Scan) -> bool:
    # The per-file price rule of the module docstring.
    integral = ~numbers.dotted & (
        (numbers.status == OK) | (numbers.status == EMPTY) | (numbers.status == OUT_OF_RANGE)
    )
    if not integral.all():
        return False
    return bool(((numbers.status == OUT_OF_RANGE) | (numbers.magnitude > FIXED_POINT_THRESHOLD)).any())


class _Parser:
    """Turns the used columns of one file into arrays, remembering the first bad cell."""

    def __init__(self, cells: Cells, columns: dict[str, int], levels: int, source: str) -> None:
        self.cells = cells
        self.columns = columns
        self.levels = levels
        self.source = source
        self.n = cells.n_rows
        self._problem: tuple[int, int, str, str] | None = None

    def _offer(self, index: int, name: str, message: str) -> None:
        # Keep the problem with the earliest row, then the leftmost column.
        key = (index, self.columns[name], name, message)
        if self._problem is None or key[:2] < self._problem[:2]:
            self._problem = key

    def _offer_bad(self, names: list[str], bad: np.ndarray, explain) -> None:
        for k, name in enumerate(names):
            block = bad[k * self.n : (k + 1) * self.n]
            hits = np.flatnonzero(block)
            if hits.size:
                i = int(hits[0])
                self._offer(i, name, explain(k * self.n + i))

    def _cols(self, names: list[str]) -> list[int]:
        return [self.columns[name] for name in names]

    def integers(self, name: str) -> np.ndarray:
        starts, lengths = self.cells.spans(self._cols([name]))
        values, status = parse_fixed(self.cells.buffer, starts, lengths, 0)
        text = self.cells.text
        self._offer_bad([name], status != OK, lambda i: describe(status[i], text(starts, lengths, i), 0))
        return values

    def timestamps(self, name: str) -> np.ndarray:
        starts, lengths = self.cells.spans(self._cols([name]))
        short = np.where(lengths > MAX_CELL, 0, lengths)
        values, ok = parse_ns_matrix(gather(self.cells.buffer, starts, short), short)
        rest = np.flatnonzero(~ok)
        if rest.size == 0:
            return values
        sub_starts, sub_lengths = starts[rest], lengths[rest]
        ints, status = parse_fixed(self.cells.buffer, sub_starts, sub_lengths, 0)
        first = self.cells.buffer[sub_starts]
        # parse_fixed allows a sign; integer nanoseconds are bare digits.
        done = (status == OK) & (first >= ord("0")) & (first <= ord("9"))
        values[rest[done]] = ints[done]
        bad = np.zeros(self.n, dtype=bool)
        messages: dict[int, str] = {}
        for i in rest[~done].tolist():
            text = self.cells.text(starts, lengths, i)
            if not text:
                bad[i], messages[i] = True, "empty value where one is required"
                continue
            try:
                values[i] = parse_ns(text)
            except ValueError as exc:
                bad[i], messages[i] = True, str(exc)
                # Only the first bad cell of a column is ever reported.
                break
        self._offer_bad([name], bad, lambda i: messages[i])
        return values

    def characters(self, name: str) -> np.ndarray:
        starts, lengths = self.cells.spans(self._cols([name]))
        code = self.cells.buffer[starts].astype(np.int64)
        bad = (lengths != 1) | (code >= 128)

        def explain(i: int) -> str:
            if lengths[i] == 0:
                return "empty value where one is required"
            return f"expected one ASCII character, got {self.cells.text(starts, lengths, i)!r}"

        self._offer_bad([name], bad, explain)
        return np.where(lengths == 1, code, 0)

    def prices(self, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Parse price columns stacked; return ``(units, present)`` of shape ``(len(names), n)``."""
        starts, lengths = self.cells.spans(self._cols(names))
        numbers = scan(self.cells.buffer, starts, lengths)
        fixed_point = _is_fixed_point(numbers)
        scale = 0 if fixed_point else 9
        values, status = to_units(numbers, scale)
        present = status == OK
        if fixed_point:
            present &= values != UNDEF_PRICE
            values = np.where(present, values, 0)
        bad = (status != OK) & (status != EMPTY)
        text = self.cells.text
        self._offer_bad(names, bad, lambda i: describe(status[i], text(starts, lengths, i), scale))
        return values.reshape(len(names), self.n), present.reshape(len(names), self.n)

    def sizes(self, names: list[str], present: np.ndarray) -> np.ndarray:
        starts, lengths = self.cells.spans(self._cols(names))
        values, status = parse_fixed(self.cells.buffer, starts, lengths, 0)
        # An empty size is fine only beside an empty price: the level is just absent.
        bad = (status != OK) & ~((status == EMPTY) & ~present.ravel())
        text = self.cells.text
        self._offer_bad(names, bad, lambda i: describe(status[i], text(starts, lengths, i), 0))
        return values.reshape(len(names), self.n)

    def symbol(self) -> str:
        if "symbol" not in self.columns:
            return ""
        starts, lengths = self.cells.spans(self._cols(["symbol"]))
        # Distinct by the first MAX_CELL bytes (symbols are short), in order of appearance.
        m = gather(self.cells.buffer, starts, np.minimum(lengths, MAX_CELL))
        if m.shape[1] == 0:
            return ""
        raw = np.ascontiguousarray(m).view(f"S{m.shape[1]}").ravel()
        _, first = np.unique(raw, return_index=True)
        names = (self.cells.text(starts, lengths, int(i)) for i in np.sort(first))
        return ",".join(name for name in names if name)

    def market_data(self, start_ns: int | None, end_ns: int | None) -> MarketData:
        ts_recv = self.timestamps("ts_recv")
        ts_event = self.timestamps("ts_event")
        venue = self.integers("publisher_id")
        action = self.characters("action")
        side = self.characters("side")
        size = self.integers("size")
        book = [f"{f}_{k:02d}" for f in ("bid_px", "ask_px") for k in range(self.levels)]
        units, present = self.prices(["price", *book])
        price = units[0]
        bid_px, ask_px = units[1 : 1 + self.levels], units[1 + self.levels :]
        bid_present, ask_present = present[1 : 1 + self.levels], present[1 + self.levels :]
        size_names = [f"{f}_{k:02d}" for f in ("bid_sz", "ask_sz") for k in range(self.levels)]
        sizes = self.sizes(size_names, np.concatenate((bid_present, ask_present)))
        bid_sz, ask_sz = sizes[: self.levels], sizes[self.levels :]
        if self._problem is not None:
            index, _, name, message = self._problem
            raise FeedError(self.source, message, row=index + 1, field=name)
        return assemble(
            source=self.source,
            symbol=self.symbol(),
            ts_event=ts_event,
            ts_recv=ts_recv,
            venue=venue,
            action=action,
            side=side,
            price=price,
            size=size,
            bid_px=bid_px.T,
            bid_sz=bid_sz.T,
            ask_px=ask_px.T,
            ask_sz=ask_sz.T,
            bid_present=bid_present.T,
            ask_present=ask_present.T,
            start_ns=start_ns,
            end_ns=end_ns,
        )


__all__ = ["read_csv", "UNDEF_PRICE", "FIXED_POINT_THRESHOLD"]
