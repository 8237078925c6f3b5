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
# Price and size columns parsed per numpy pass (see ``_Parser._groups``).
_GROUP_COLUMNS = 6
# Bytes of CSV text parsed per slice (see ``read_csv``).
_SLICE_BYTES = 4 * 2**20


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
    # A long file is parsed in slices of whole rows: the per-cell temporaries of one numpy
    # pass are several times the text it covers, and past the CPU caches and a few hundred
    # MB they make parsing slower per row and set the process's peak memory. Slices are
    # parsed alike and joined; only the per-file price rule needs the whole file, and it
    # is settled by the first slice whenever that slice holds a decimal price (a
    # decimal-dollar file); otherwise the file is parsed in one piece. Quoted cells and
    # NUL bytes take the one-piece path too, where ``_cells.split`` deals with them.
    bounds = [(body_start, end)]
    if data.find(b'"', body_start, end) < 0 and data.find(b"\x00", body_start, end) < 0:
        bounds = _slices(data, body_start, end, _SLICE_BYTES)
    parts: list[dict[str, np.ndarray]] = []
    rows_before = 0
    symbols: dict[bytes, str] = {}
    fixed_point: bool | None = None
    for lo, hi in bounds:
        cells = _split(data, lo, hi, len(header), source, rows_before)
        parser = _Parser(cells, columns, levels, source, rows_before)
        part, fixed_point = parser.parse(fixed_point)
        if fixed_point is not False and len(bounds) > 1:
            # An all-integer first slice cannot settle the price rule: parse the file whole.
            return _whole(data, body_start, end, header, columns, levels, source, start_ns, end_ns)
        parser.raise_problem()
        parts.append(part)
        for name in parser.symbols():
            symbols.setdefault(name.encode("utf-8")[:MAX_CELL], name)
        rows_before += cells.n_rows
    return _assemble(_joined(parts, rows_before), ",".join(symbols.values()), source, start_ns, end_ns)


def _whole(data, body_start, end, header, columns, levels, source, start_ns, end_ns) -> MarketData:
    cells = _split(data, body_start, end, len(header), source, 0)
    parser = _Parser(cells, columns, levels, source, 0)
    part, _ = parser.parse(None)
    parser.raise_problem()
    return _assemble(_joined([part], cells.n_rows), ",".join(parser.symbols()), source, start_ns, end_ns)


def _joined(parts: list[dict[str, np.ndarray]], rows: int) -> dict[str, np.ndarray]:
    # Join the slices' columns, book columns turned row-major (``(rows, levels)``, C order):
    # the snapshot rule gathers whole rows, which in the parsers' column-major layout
    # means ``levels`` far-apart reads per row, slow once the arrays outgrow the caches.
    out: dict[str, np.ndarray] = {}
    for key, first in parts[0].items():
        if first.ndim == 1:
            out[key] = np.concatenate([part[key] for part in parts]) if len(parts) > 1 else first
            continue
        joined = np.empty((rows, first.shape[0]), dtype=first.dtype)
        row = 0
        for part in parts:
            block = part[key]
            joined[row : row + block.shape[1]] = block.T
            row += block.shape[1]
        out[key] = joined
    return out


def _slices(data: bytearray, start: int, end: int, size: int) -> list[tuple[int, int]]:
    # ``[lo, hi)`` spans of whole rows of about ``size`` bytes; each ``hi`` but the last
    # is a row's newline, which ``_cells.split`` needs as the spare byte after a body.
    bounds = []
    lo = start
    while end - lo > size:
        hi = data.find(b"\n", lo + size, end)
        if hi < 0:
            break
        bounds.append((lo, hi))
        lo = hi + 1
    bounds.append((lo, end))
    return bounds


def _split(data: bytearray, lo: int, hi: int, n_cols: int, source: str, rows_before: int) -> Cells:
    try:
        return _cells.split(data, lo, hi, n_cols, source)
    except FeedError as exc:
        if exc.row is None or not rows_before:
            raise
        raise FeedError(exc.source, exc.message, row=exc.row + rows_before, field=exc.field) from None


def _assemble(
    part: dict[str, np.ndarray], symbol: str, source: str, start_ns: int | None, end_ns: int | None
) -> MarketData:
    # part holds exactly the parsed columns assemble takes (see _Parser.parse).
    return assemble(source=source, symbol=symbol, start_ns=start_ns, end_ns=end_ns, **part)


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


def _fixed_point_evidence(numbers: Scan) -> tuple[bool, bool]:
    # (every cell is an integer literal or empty, some cell is beyond FIXED_POINT_THRESHOLD):
    # the file is fixed-point when the first holds for all its price cells and the second for any.
    integral = ~numbers.dotted & (
        (numbers.status == OK) | (numbers.status == EMPTY) | (numbers.status == OUT_OF_RANGE)
    )
    if not integral.all():
        return False, False
    return True, bool(((numbers.status == OUT_OF_RANGE) | (numbers.magnitude > FIXED_POINT_THRESHOLD)).any())


class _Parser:
    """Turns the used columns of one file into arrays, remembering the first bad cell."""

    def __init__(
        self, cells: Cells, columns: dict[str, int], levels: int, source: str, rows_before: int = 0
    ) -> None:
        self.cells = cells
        self.columns = columns
        self.levels = levels
        self.source = source
        self.n = cells.n_rows
        #: Data rows of the file before these cells (they are one slice of it).
        self.rows_before = rows_before
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

    def _groups(self, names: list[str]) -> list[tuple[int, list[str]]]:
        # Column groups parsed together: enough cells per numpy pass to be fast, few enough
        # that the per-cell temporaries of a 20-column stack never exist all at once (they
        # set the reader's peak memory).
        return [(i, names[i : i + _GROUP_COLUMNS]) for i in range(0, len(names), _GROUP_COLUMNS)]

    def prices(
        self, names: list[str], fixed_point: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Parse price columns; return ``(units, present, fixed_point)``, arrays ``(len(names), n)``.

        ``fixed_point`` is the file's price rule when already known, else decided on these cells.
        """
        scans = []
        integral, large = True, False
        for _, group in self._groups(names):
            starts, lengths = self.cells.spans(self._cols(group))
            numbers = scan(self.cells.buffer, starts, lengths)
            scans.append(numbers)
            if fixed_point is None:
                group_integral, group_large = _fixed_point_evidence(numbers)
                integral &= group_integral
                large |= group_large
        if fixed_point is None:
            fixed_point = integral and large
        scale = 0 if fixed_point else 9
        units = np.empty((len(names), self.n), dtype=np.int64)
        present = np.empty((len(names), self.n), dtype=bool)
        text = self.cells.text
        for (first, group), numbers in zip(self._groups(names), scans, strict=True):
            values, status = to_units(numbers, scale)
            ok = status == OK
            if fixed_point:
                ok &= values != UNDEF_PRICE
                values = np.where(ok, values, 0)
            units[first : first + len(group)] = values.reshape(len(group), self.n)
            present[first : first + len(group)] = ok.reshape(len(group), self.n)
            bad = (status != OK) & (status != EMPTY)
            if bad.any():
                starts, lengths = self.cells.spans(self._cols(group))
                self._offer_bad(
                    group, bad, lambda i, s=status, a=starts, b=lengths: describe(s[i], text(a, b, i), scale)
                )
        return units, present, fixed_point

    def sizes(self, names: list[str], present: np.ndarray) -> np.ndarray:
        out = np.empty((len(names), self.n), dtype=np.int64)
        text = self.cells.text
        for first, group in self._groups(names):
            starts, lengths = self.cells.spans(self._cols(group))
            values, status = parse_fixed(self.cells.buffer, starts, lengths, 0)
            # An empty size is fine only beside an empty price: the level is just absent.
            beside = present[first : first + len(group)].ravel()
            bad = (status != OK) & ~((status == EMPTY) & ~beside)
            self._offer_bad(
                group, bad, lambda i, s=status, a=starts, b=lengths: describe(s[i], text(a, b, i), 0)
            )
            out[first : first + len(group)] = values.reshape(len(group), self.n)
        return out

    def symbols(self) -> list[str]:
        """Return the distinct non-empty symbols, in order of first appearance."""
        if "symbol" not in self.columns:
            return []
        starts, lengths = self.cells.spans(self._cols(["symbol"]))
        # Distinct by the first MAX_CELL bytes (symbols are short), in order of appearance.
        m = gather(self.cells.buffer, starts, np.minimum(lengths, MAX_CELL))
        if m.shape[1] == 0:
            return []
        raw = np.ascontiguousarray(m).view(f"S{m.shape[1]}").ravel()
        _, first = np.unique(raw, return_index=True)
        names = (self.cells.text(starts, lengths, int(i)) for i in np.sort(first))
        return [name for name in names if name]

    def parse(self, fixed_point: bool | None = None) -> tuple[dict[str, np.ndarray], bool]:
        """Parse every used column; return them (book columns ``(levels, n)``) and the price rule used.

        Bad cells are remembered, not raised: see ``raise_problem``.
        """
        ts_recv = self.timestamps("ts_recv")
        ts_event = self.timestamps("ts_event")
        venue = self.integers("publisher_id")
        action = self.characters("action")
        side = self.characters("side")
        size = self.integers("size")
        book = [f"{f}_{k:02d}" for f in ("bid_px", "ask_px") for k in range(self.levels)]
        units, present, fixed_point = self.prices(["price", *book], fixed_point)
        bid_present, ask_present = present[1 : 1 + self.levels], present[1 + self.levels :]
        size_names = [f"{f}_{k:02d}" for f in ("bid_sz", "ask_sz") for k in range(self.levels)]
        sizes = self.sizes(size_names, present[1:])
        columns = {
            "ts_event": ts_event,
            "ts_recv": ts_recv,
            "venue": venue,
            "action": action,
            "side": side,
            "price": units[0],
            "size": size,
            "bid_px": units[1 : 1 + self.levels],
            "ask_px": units[1 + self.levels :],
            "bid_sz": sizes[: self.levels],
            "ask_sz": sizes[self.levels :],
            "bid_present": bid_present,
            "ask_present": ask_present,
        }
        return columns, fixed_point

    def raise_problem(self) -> None:
        """Raise ``FeedError`` for the earliest bad cell seen, if any (rows counted across the file)."""
        if self._problem is not None:
            index, _, name, message = self._problem
            raise FeedError(self.source, message, row=self.rows_before + index + 1, field=name)


__all__ = ["read_csv", "UNDEF_PRICE", "FIXED_POINT_THRESHOLD"]
