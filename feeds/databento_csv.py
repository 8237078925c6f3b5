"""Read Databento MBP-1 / MBP-10 / TBBO CSV exports, streamed in blocks of rows.

What is accepted
----------------
- Columns are found by NAME, in any order. Columns with an empty name (the
  leading index column some exports write) and columns the reader does not
  use (``rtype``, ``order_id``, ``bid_ct_00``, ...) are ignored and not checked.
- Required: ``ts_recv, ts_event, publisher_id, action, side, price, size`` and,
  for every level the file has, ``bid_px_NN, ask_px_NN, bid_sz_NN, ask_sz_NN``.
  Levels run from ``00`` up to the last consecutive level present (1 for MBP-1,
  10 for MBP-10); the output has that many levels. ``symbol`` and
  ``instrument_id`` are optional; they say which instrument a row belongs to
  (the id when present, else the symbol; see ``feeds.symbology``).
- Timestamps: ISO-8601 with up to nine fractional digits (``...32.491911683Z``)
  or integer nanoseconds, cell by cell (see ``feeds.timeparse``).
- Prices, decided once per file over ``price`` and every ``*_px_NN`` column:
  if every price cell is an integer literal and one exceeds 1e6 in magnitude,
  the file is fixed-point (integers of 1e-9 dollars, as Databento writes without
  ``pretty_px``) and the cell ``9223372036854775807`` (Databento's UNDEF_PRICE)
  means "no price"; otherwise prices are decimal dollars with at most nine
  decimals, converted exactly. A decimal price within float noise of the 1e-9
  grid (``222.82000000000002``, as float arithmetic and pandas write prices; see
  ``feeds._cells.NOISE_BITS``) is rounded to it and counted in
  ``meta["rounded_prices"]``; one further off is an error. The file is read in
  blocks, so the rule is settled by the first block that shows a decimal point
  (decimal) or an integer beyond 1e6 (fixed-point); blocks before it are held
  until then (a file with neither in its first 64 MiB is read as decimal). A
  decimal point after the file was settled as fixed-point is an error naming its
  row.
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
- a row with the wrong number of fields, a NUL byte, bytes that are not UTF-8,
  a line longer than 16 MiB;
- a malformed cell in a used column: an unparseable number, ``NaN``, ``inf``,
  an exponent, more than nine decimals (beyond float noise), a number beyond
  int64, a number or timestamp cell longer than 40 characters, an empty
  ``ts_event``/``ts_recv``/``publisher_id``/``size``/``action``/``side``, an
  ``action``/``side`` that is not one ASCII character, or an empty level size
  next to a price. Within a block of rows the earliest row wins, then the
  leftmost column; blocks are read in order, each checked before the next;
- ``ts_event`` earlier than the same venue's previous row's, or more than the
  reorder window before an earlier row (checked once a block's cells parse;
  see ``feeds.pipeline``).

Rows whose book cannot be real are dropped and counted instead (see
``feeds.pipeline``).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator

import numpy as np

from feeds import _arrow, _cells, symbology, tbbo
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
    to_units_rounding,
)
from feeds.errors import FeedError
from feeds.files import check_regular, open_regular
from feeds.market import MarketData
from feeds.pipeline import RawBlock
from feeds.timeparse import parse_ns, parse_ns_matrix

REQUIRED = ("ts_recv", "ts_event", "publisher_id", "action", "side", "price", "size")
LEVEL_FIELDS = ("bid_px", "ask_px", "bid_sz", "ask_sz")
UNDEF_PRICE = 2**63 - 1
# The largest magnitude a decimal-dollar file's integer prices may have (see the module docstring).
FIXED_POINT_THRESHOLD = 1_000_000
# Price and size columns parsed per numpy pass (see ``_Parser._groups``).
_GROUP_COLUMNS = 6
#: Bytes of CSV text parsed per block. The per-cell temporaries of one numpy pass are several
#: times the text it covers; past the CPU caches they make parsing slower per row.
BLOCK_BYTES = 4 * 2**20
#: A file up to this size is parsed once and kept when a feed must scan it first.
HOLD_BYTES = 64 * 2**20
#: Blocks held while the price rule is unsettled, at most (then the file is decimal).
UNSETTLED_BYTES = 64 * 2**20
MAX_LINE_BYTES = 16 * 2**20
_BOM = b"\xef\xbb\xbf"


def read_csv(
    path: str | os.PathLike,
    start_ns: int | None = None,
    end_ns: int | None = None,
    *,
    symbol: str | None = None,
    instrument_id: int | None = None,
) -> MarketData:
    """Read a Databento MBP-1, MBP-10 or TBBO CSV file.

    Parameters
    ----------
    path
        The CSV file.
    start_ns, end_ns
        Optional window on ``ts_event`` (inclusive, integer ns UTC); rows
        outside are counted as ``outside_window``.
    symbol, instrument_id
        Which instrument to keep when the file holds several (see ``feeds.symbology``).

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
    from feeds.file_feed import FileFeed

    feed = FileFeed(CsvReader(path), start=start_ns, end=end_ns, symbol=symbol, instrument_id=instrument_id)
    return feed.read_all()


class CsvReader:
    """One CSV file read as ``RawBlock``s of about ``BLOCK_BYTES`` of text each, in file order.

    The header is read when the reader is made; ``blocks()`` and ``scan()`` read the
    file again from its start each time (``scan`` keeps the parsed blocks of a file
    up to ``HOLD_BYTES``, for the ``blocks()`` call that follows).
    """

    def __init__(self, path: str | os.PathLike, source: str | None = None) -> None:
        self.path = path
        self.source = str(path) if source is None else source
        self.size = check_regular(path, self.source).st_size
        self.header, self.columns = self._read_header()
        self.levels = _count_levels(self.columns)
        self.ids_are_real = "instrument_id" in self.columns
        self.schema = tbbo.schema_of_name(path)
        # Instrument key -> symbol, filled as rows are parsed; symbols are numbered in order
        # of first appearance when the file has no instrument_id column.
        self._names: dict[int, str] = {}
        self._codes: dict[bytes, int] = {}
        self._code_names: dict[int, str] = {}
        self._held: list[RawBlock] | None = None
        self._first_text = BLOCK_BYTES

    @property
    def symbology(self) -> symbology.Symbology:
        return symbology.Symbology(dict(self._names), "the CSV symbol column")

    def default_symbol(self, instrument_ids: tuple[int, ...] | None) -> str:
        """Return the symbol to report when the kept rows name none."""
        return ""

    def fits_in_memory(self) -> bool:
        """Return whether the file is at most ``HOLD_BYTES`` (read whole when a feed must know it first)."""
        return self.size <= HOLD_BYTES

    def expected_rows(self, first_block_rows: int) -> int:
        """Estimate the file's rows from its size and its first block (to size the output once)."""
        per_row = max(self._first_text / max(first_block_rows, 1), 1.0)
        return int(self.size / per_row)

    def meta(self) -> dict[str, object]:
        """Return what the file says about itself beyond its rows: its schema, when its name says TBBO."""
        return {"schema": self.schema} if self.schema else {}

    # ------------------------------------------------------------ text

    def _read_header(self) -> tuple[list[str], dict[str, int]]:
        with open_regular(self.path, self.source) as f:
            head = f.read(BLOCK_BYTES)
            # Enough to hold the header line and a sign of a data row after it.
            while len(head) < MAX_LINE_BYTES and not _header_and_more(head):
                more = f.read(BLOCK_BYTES)
                if not more:
                    break
                head += more
        text = head[3:] if head.startswith(_BOM) else head
        newline = text.find(b"\n")
        if b"\x00" in (text if newline < 0 else text[:newline]):
            raise FeedError(self.source, "NUL byte in the header: not a CSV text file")
        first_line = text if newline < 0 else text[:newline]
        if not first_line.strip():
            if not text.strip() and len(head) < BLOCK_BYTES:
                raise FeedError(self.source, "empty file: no header and no data rows")
            raise FeedError(self.source, "the first line, the header, is blank")
        if newline < 0 and len(text) >= MAX_LINE_BYTES:
            raise FeedError(self.source, "the header is longer than 16 MiB: not a CSV header")
        if newline < 0 or not text[newline + 1 :].strip(b"\r\n"):
            raise FeedError(self.source, "no data rows: the file holds only a header")
        line = first_line.rstrip(b"\r")
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError:
            raise FeedError(self.source, "the header is not UTF-8 text") from None
        try:
            names = next(csv.reader([decoded])) if '"' in decoded else decoded.split(",")
        except csv.Error as exc:
            raise FeedError(self.source, f"cannot read the header: {exc}") from None
        header = [name.strip() for name in names]
        return header, _locate(header, self.source)

    def _bodies(self, rows: list[int]) -> Iterator[_Text]:
        """Yield the data rows in blocks of whole rows (LF line ends, no header, no final newline).

        Each ``_Text`` views one reused buffer and is valid until the next is asked for.
        ``rows[0]`` is kept by the caller at the number of rows before the block, for
        messages about the text itself.
        """
        with open_regular(self.path, self.source) as f:
            buf = bytearray(2 * BLOCK_BYTES)
            filled = 0
            in_header = True
            eof = False
            while True:
                if not eof:
                    if len(buf) - filled < BLOCK_BYTES:
                        # A row longer than the buffer: a larger one (the old may still be viewed).
                        bigger = bytearray(2 * len(buf))
                        bigger[:filled] = buf[:filled]
                        buf = bigger
                    got = f.readinto(memoryview(buf)[filled : filled + BLOCK_BYTES])
                    eof = not got
                    filled += got
                if buf.find(b"\r", 0, filled) >= 0:
                    text = bytes(buf[:filled]).replace(b"\r\n", b"\n")
                    buf = bytearray(text) + bytearray(max(BLOCK_BYTES, len(text)))
                    filled = len(text)
                if in_header:
                    start = 3 if buf.startswith(_BOM) else 0
                    newline = buf.find(b"\n", start, filled)
                    if newline < 0 and not eof:
                        continue
                    skip = newline + 1 if newline >= 0 else filled
                    buf[: filled - skip] = buf[skip:filled]
                    filled -= skip
                    in_header = False
                if eof:
                    end = filled
                    while end and buf[end - 1] == 10:
                        end -= 1
                    if end:
                        yield _Text(buf, end)
                    return
                cut = _row_cut(buf, filled)
                if cut < 0:
                    if filled > MAX_LINE_BYTES:
                        raise FeedError(self.source, "a line longer than 16 MiB", row=rows[0] + 1)
                    continue
                yield _Text(buf, cut)
                rest = filled - cut - 1
                buf[:rest] = buf[cut + 1 : filled]
                filled = rest

    def _check_text(self, text: _Text, rows_before: int) -> None:
        buf, end = text.buf, text.end
        nul = buf.find(b"\x00", 0, end)
        if nul >= 0:
            row = rows_before + buf.count(b"\n", 0, nul) + 1
            raise FeedError(self.source, "NUL byte in the data", row=row)
        if not end or int(np.frombuffer(buf, dtype=np.uint8, count=end).max()) < 128:
            return
        try:
            text.view().tobytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            row = rows_before + buf.count(b"\n", 0, exc.start) + 1
            raise FeedError(self.source, "bytes that are not UTF-8 text", row=row) from None

    # ------------------------------------------------------------ blocks

    def blocks(self) -> Iterator[RawBlock]:
        """Yield the data rows parsed, block by block (see the module docstring for the price rule)."""
        if self._held is not None:
            held, self._held = self._held, None
            yield from held
            return
        rule: bool | None = None
        unsettled: list[tuple[bytes, int, RawBlock]] = []
        unsettled_bytes = 0
        rows = [0]
        for text in self._bodies(rows):
            self._check_text(text, rows[0])
            if not rows[0]:
                self._first_text = text.end
            if rule is not None:
                block, _ = self._parse(text, rows[0], rule)
                rows[0] += len(block)
                yield block
                continue
            copy = text.view().tobytes()
            block, decided = self._parse(text, rows[0], None)
            before = rows[0]
            rows[0] += len(block)
            if decided is None:
                unsettled.append((copy, before, block))
                unsettled_bytes += len(copy)
                if unsettled_bytes <= UNSETTLED_BYTES:
                    continue
                # Held long enough: no price beyond 1e6 and no decimal point, so dollars.
                rule = False
                yield from (parsed for _, _, parsed in unsettled)
                unsettled = []
                continue
            rule = decided
            for held, at, parsed in unsettled:
                yield self._parse(_Text.of(held), at, True)[0] if rule else parsed
            unsettled = []
            yield block
        yield from (parsed for _, _, parsed in unsettled)
        if rows[0] == 0:
            raise FeedError(self.source, "no data rows: the file holds only a header")

    def _parse(self, text: _Text, rows_before: int, fixed_point: bool | None) -> tuple[RawBlock, bool | None]:
        block, decided = self._parse_text(text, rows_before, fixed_point)
        if self.schema == "tbbo":
            c = block.columns
            bid, ask = (c["bid_px"][:, 0], c["bid_sz"][:, 0]), (c["ask_px"][:, 0], c["ask_sz"][:, 0])
            c["side"] = tbbo.infer_aggressor(c["side"], c["price"], bid[0], ask[0], bid[1], ask[1])
        return block, decided

    def _parse_text(
        self, text: _Text, rows_before: int, fixed_point: bool | None
    ) -> tuple[RawBlock, bool | None]:
        fast = None
        if text.plain():
            fast = _arrow.parse(text.view(), self.header, self.columns, self.levels, fixed_point)
        if fast is not None:
            columns, decided, symbols, ids = fast
            n = columns["ts_event"].shape[0]
            row = np.arange(rows_before + 1, rows_before + n + 1, dtype=np.int64)
            return RawBlock(columns, row, self._arrow_keys(symbols, ids, n)), decided
        return self._parse_numpy(text, rows_before, fixed_point)

    def _parse_numpy(
        self, text: _Text, rows_before: int, fixed_point: bool | None
    ) -> tuple[RawBlock, bool | None]:
        # The reference parser: every rule and every message (the fast path defers to it).
        cells = _split(text.padded(), 0, text.end, len(self.header), self.source, rows_before)
        parser = _Parser(cells, self.columns, self.levels, self.source, rows_before)
        columns, decided, rounded = parser.parse(fixed_point)
        keys = self._keys(parser)
        parser.raise_problem()
        row = np.arange(rows_before + 1, rows_before + cells.n_rows + 1, dtype=np.int64)
        return RawBlock(columns, row, keys, rounded), decided

    def _keys(self, parser: _Parser) -> np.ndarray:
        # Each row's instrument key: its instrument_id when the file has them, else its symbol's number.
        codes = parser.symbol_codes(self._codes, self._code_names)
        if not self.ids_are_real:
            for code in np.unique(codes).tolist():
                self._names.setdefault(code, self._code_names[code])
            return codes
        ids = parser.integers("instrument_id")
        unique, index = np.unique(ids, return_index=True)
        for ident, i in zip(unique.tolist(), index.tolist(), strict=True):
            if ident not in self._names:
                self._names[ident] = self._code_names[int(codes[i])]
        return ids

    def _arrow_keys(self, symbols, ids: np.ndarray | None, n: int) -> np.ndarray:
        # As _keys, from the fast path's symbol cells (pyarrow numbers them in order of appearance).
        if len(symbols) == 0:
            names = np.full(n, self._code_for(b""), dtype=np.int64)
        else:
            encoded = symbols.dictionary_encode()
            table = [
                self._code_for((value or b"")[:MAX_CELL], value) for value in encoded.dictionary.to_pylist()
            ]
            if encoded.indices.null_count:
                table.append(self._code_for(b""))
            indices = encoded.indices.fill_null(len(table) - 1).to_numpy(zero_copy_only=False)
            names = np.array(table, dtype=np.int64)[indices]
        if not self.ids_are_real:
            for code in np.unique(names).tolist():
                self._names.setdefault(code, self._code_names[code])
            return names
        unique, index = np.unique(ids, return_index=True)
        for ident, i in zip(unique.tolist(), index.tolist(), strict=True):
            if ident not in self._names:
                self._names[ident] = self._code_names[int(names[i])]
        return ids

    def _code_for(self, key: bytes, full: bytes | None = None) -> int:
        # The number of a symbol (its first MAX_CELL bytes), numbering a new one.
        if key not in self._codes:
            self._codes[key] = len(self._codes)
            self._code_names[self._codes[key]] = (full or key).decode("utf-8", "replace")
        return self._codes[key]

    def scan(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(instrument keys, venues)`` per block; a small file is parsed whole and kept.

        A problem in the file ends the scan quietly: reading the blocks reports it.
        """
        try:
            if self.size <= HOLD_BYTES:
                held = list(self.blocks())
                self._held = held
                for block in held:
                    yield block.instrument, block.columns["venue"]
                return
            rows = [0]
            for text in self._bodies(rows):
                fast = _arrow.keys(text.view(), self.header, self.columns) if text.plain() else None
                if fast is not None:
                    venues, symbols, ids = fast
                    rows[0] += venues.shape[0]
                    yield self._arrow_keys(symbols, ids, venues.shape[0]), venues
                    continue
                cells = _split(text.padded(), 0, text.end, len(self.header), self.source, rows[0])
                parser = _Parser(cells, self.columns, self.levels, self.source, rows[0])
                venues = parser.integers("publisher_id")
                keys = self._keys(parser)
                rows[0] += cells.n_rows
                yield keys, venues
        except FeedError:
            return


def _header_and_more(head: bytes) -> bool:
    newline = head.find(b"\n")
    return newline >= 0 and bool(head[newline + 1 :].strip(b"\r\n"))


class _Text:
    """Whole rows of CSV text: the first ``end`` bytes of a (reused) buffer."""

    def __init__(self, buf: bytearray, end: int) -> None:
        self.buf = buf
        self.end = end

    @classmethod
    def of(cls, data: bytes) -> _Text:
        return cls(bytearray(data), len(data))

    def view(self) -> memoryview:
        return memoryview(self.buf)[: self.end]

    def plain(self) -> bool:
        """Return whether the text has no quotes and no carriage returns (the fast path's terms)."""
        return self.buf.find(b'"', 0, self.end) < 0 and self.buf.find(b"\r", 0, self.end) < 0

    def padded(self) -> bytearray:
        """Return a copy with the spare bytes after the text that ``_cells.split`` needs."""
        out = bytearray(self.end + _cells._PAD + 1)
        out[: self.end] = self.buf[: self.end]
        return out


def _row_cut(data: bytearray, end: int) -> int:
    # The last newline before ``end`` outside a quoted cell (even quotes before it), or -1.
    cut = data.rfind(b"\n", 0, end)
    if cut < 0 or data.find(b'"', 0, end) < 0:
        return cut
    odd = data.count(b'"', 0, cut) % 2
    while odd and cut >= 0:
        earlier = data.rfind(b"\n", 0, cut)
        if earlier < 0:
            return -1
        odd ^= data.count(b'"', earlier, cut) % 2
        cut = earlier
    return cut


def _split(data: bytearray, lo: int, hi: int, n_cols: int, source: str, rows_before: int) -> Cells:
    try:
        return _cells.split(data, lo, hi, n_cols, source)
    except FeedError as exc:
        if exc.row is None or not rows_before:
            raise
        raise FeedError(exc.source, exc.message, row=exc.row + rows_before, field=exc.field) from None


def _header(data: bytearray, start: int, end: int, source: str) -> tuple[list[str], int]:
    # The header of text held whole (``feeds.mbo`` reads MBO CSVs this way): names, body start.
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
        names = next(csv.reader([line])) if '"' in line else line.split(",")
    except UnicodeDecodeError:
        raise FeedError(source, "the header is not UTF-8 text") from None
    except csv.Error as exc:
        raise FeedError(source, f"cannot read the header: {exc}") from None
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
        #: Price cells per row rounded onto the grid by the last ``prices`` call (None: none).
        self.rounded: np.ndarray | None = None

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
    ) -> tuple[np.ndarray, np.ndarray, bool | None]:
        """Parse price columns; return ``(units, present, rule)``, arrays ``(len(names), n)``.

        ``fixed_point`` is the file's price rule when already known; else it is decided
        on these cells: ``True`` (fixed-point), ``False`` (decimal) or ``None`` (only
        integers up to 1e6: unsettled, parsed as decimal). ``self.rounded`` then counts
        the cells per row rounded onto the grid (``None`` when there were none).
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
        rule = fixed_point
        if rule is None:
            rule = None if integral and not large else integral and large
        scale = 0 if rule else 9
        units = np.empty((len(names), self.n), dtype=np.int64)
        present = np.empty((len(names), self.n), dtype=bool)
        rounded: np.ndarray | None = None
        text = self.cells.text
        for (first, group), numbers in zip(self._groups(names), scans, strict=True):
            if rule:
                values, status = to_units(numbers, scale)
            else:
                values, status, near = to_units_rounding(numbers, scale)
                if near.any():
                    per_row = near.reshape(len(group), self.n).sum(axis=0)
                    rounded = per_row if rounded is None else rounded + per_row
            ok = status == OK
            if rule:
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
        self.rounded = rounded
        return units, present, rule

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

    def symbol_codes(self, codes: dict[bytes, int], names: dict[int, str]) -> np.ndarray:
        """Return each row's symbol number, numbering new symbols in order of first appearance.

        ``codes`` (symbol bytes -> number) and ``names`` (number -> symbol) carry the
        numbering across blocks; a file without a ``symbol`` column is one symbol, ``""``.
        """
        if "symbol" not in self.columns:
            names.setdefault(codes.setdefault(b"", 0), "")
            return np.zeros(self.n, dtype=np.int64)
        starts, lengths = self.cells.spans(self._cols(["symbol"]))
        # Distinct by the first MAX_CELL bytes (symbols are short).
        m = gather(self.cells.buffer, starts, np.minimum(lengths, MAX_CELL))
        if m.shape[1] == 0:
            names.setdefault(codes.setdefault(b"", len(codes)), "")
            return np.full(self.n, codes[b""], dtype=np.int64)
        raw = np.ascontiguousarray(m).view(f"S{m.shape[1]}").ravel()
        unique, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
        lut = np.empty(unique.shape[0], dtype=np.int64)
        for j in np.argsort(first, kind="stable").tolist():
            key = bytes(unique[j])
            if key not in codes:
                codes[key] = len(codes)
                names[codes[key]] = self.cells.text(starts, lengths, int(first[j]))
            lut[j] = codes[key]
        return lut[inverse.ravel()]

    def symbols(self) -> list[str]:
        """Return the distinct non-empty symbols, in order of first appearance."""
        codes: dict[bytes, int] = {}
        names: dict[int, str] = {}
        self.symbol_codes(codes, names)
        return [names[c] for c in sorted(names) if names[c]]

    def parse(
        self, fixed_point: bool | None = None
    ) -> tuple[dict[str, np.ndarray], bool | None, np.ndarray | None]:
        """Parse every used column: return them (book ``(n, levels)``), the price rule, rounded counts.

        Bad cells are remembered, not raised: see ``raise_problem``.
        """
        ts_recv = self.timestamps("ts_recv")
        ts_event = self.timestamps("ts_event")
        venue = self.integers("publisher_id")
        action = self.characters("action")
        side = self.characters("side")
        size = self.integers("size")
        book = [f"{f}_{k:02d}" for f in ("bid_px", "ask_px") for k in range(self.levels)]
        units, present, rule = self.prices(["price", *book], fixed_point)
        rounded = self.rounded
        size_names = [f"{f}_{k:02d}" for f in ("bid_sz", "ask_sz") for k in range(self.levels)]
        sizes = self.sizes(size_names, present[1:])
        lv = self.levels
        # Book columns row-major ((rows, levels), C order): the rules gather whole rows.
        columns = {
            "ts_event": ts_event,
            "ts_recv": ts_recv,
            "venue": venue,
            "action": action,
            "side": side,
            "price": units[0],
            "size": size,
            "bid_px": np.ascontiguousarray(units[1 : 1 + lv].T),
            "ask_px": np.ascontiguousarray(units[1 + lv :].T),
            "bid_sz": np.ascontiguousarray(sizes[:lv].T),
            "ask_sz": np.ascontiguousarray(sizes[lv:].T),
            "bid_present": np.ascontiguousarray(present[1 : 1 + lv].T),
            "ask_present": np.ascontiguousarray(present[1 + lv :].T),
        }
        return columns, rule, rounded

    def raise_problem(self) -> None:
        """Raise ``FeedError`` for the earliest bad cell seen, if any (rows counted across the file)."""
        if self._problem is not None:
            index, _, name, message = self._problem
            raise FeedError(self.source, message, row=self.rows_before + index + 1, field=name)


__all__ = ["read_csv", "CsvReader", "UNDEF_PRICE", "FIXED_POINT_THRESHOLD"]
