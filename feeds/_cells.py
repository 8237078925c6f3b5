"""CSV text as cell offsets into one byte buffer, and exact number parsing on them, in numpy.

``split`` finds every cell of a CSV body as a ``(start, length)`` pair into a
``uint8`` buffer. Parsers then walk all cells of a column group at once, one
character position per step, so a 60,000-row file costs a few dozen array
passes instead of millions of Python calls. Nothing here knows the Databento
schema.
"""

from __future__ import annotations

import csv
import io
import os
from typing import NamedTuple

import numpy as np

from feeds.errors import FeedError

# Status codes of one parsed cell.
OK, EMPTY, MALFORMED, OUT_OF_RANGE, TOO_PRECISE = 0, 1, 2, 3, 4

_INT64_MAX = 2**63 - 1
_POW10 = 10 ** np.arange(19, dtype=np.int64)
_NEWLINE, _COMMA = 10, 44
_BOM = b"\xef\xbb\xbf"
# Zero bytes after the last cell let a parser read a few positions past it.
_PAD = 64
#: Longer cells cannot be a number or a timestamp; parsers refuse them unread, so
#: one absurd cell cannot make every cell of its column that wide in memory.
MAX_CELL = 40


class Cells:
    """The cells of a CSV body: a byte buffer and where each cell ends in it.

    ``ends`` holds, row after row, the position of the separator that closes
    each cell; the next cell starts one byte later (the very first one at
    ``first``). Every cell is thus followed in ``buffer`` by a byte that is not
    part of it.
    """

    def __init__(self, buffer: np.ndarray, ends: np.ndarray, n_cols: int, first: int = 0) -> None:
        self.buffer = buffer
        self.ends = ends
        self.n_cols = n_cols
        self.first = first
        self.n_rows = int(ends.shape[0] // n_cols)

    def _column(self, col: int) -> tuple[np.ndarray, np.ndarray]:
        ends = self.ends[col :: self.n_cols]
        if col > 0:
            starts = self.ends[col - 1 :: self.n_cols] + 1
        else:
            starts = np.empty_like(ends)
            starts[0] = self.first
            starts[1:] = self.ends[self.n_cols - 1 :: self.n_cols][:-1] + 1
        return starts, ends - starts

    def spans(self, cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(starts, lengths)`` of the given columns stacked column after column."""
        pairs = [self._column(c) for c in cols]
        if len(pairs) == 1:
            return pairs[0]
        return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])

    def text(self, starts: np.ndarray, lengths: np.ndarray, i: int) -> str:
        """Return cell ``i`` of a stacked span as text, for messages."""
        s = int(starts[i])
        return bytes(self.buffer[s : s + int(lengths[i])]).decode("utf-8", "replace")


def read_padded(path: str | os.PathLike, source: str) -> tuple[bytearray, int, int]:
    """Read a text file into a zero-padded buffer, with BOM, CRLF and trailing newlines dealt with.

    Returns
    -------
    tuple
        ``(data, start, end)``: the text is ``data[start:end]`` (LF line ends,
        no trailing newline), and ``data`` has room for a newline and
        ``_PAD`` more bytes after ``end``.
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            data = bytearray(size + _PAD + 1)
            got = f.readinto(data)
            if got == len(data):
                # The file grew while being read: take it all.
                data += f.read() + bytes(_PAD + 1)
                got = len(data) - _PAD - 1
    except FileNotFoundError:
        raise FeedError(source, "no such file") from None
    except OSError as exc:
        raise FeedError(source, f"cannot read the file: {exc.strerror or exc}") from None
    end = got
    if data.find(b"\r", 0, end) >= 0:
        text = bytes(data[:end]).replace(b"\r\n", b"\n")
        end = len(text)
        data = bytearray(text) + bytearray(_PAD + 1)
    start = 3 if data.startswith(_BOM) else 0
    while end > start and data[end - 1] == _NEWLINE:
        end -= 1
    return data, start, end


def split(data: bytearray, start: int, end: int, n_cols: int, source: str) -> Cells:
    """Split ``data[start:end]`` (CSV rows without the header, LF line ends) into cells.

    ``data`` must have a spare byte at ``end`` and ``_PAD`` more after it, as
    ``read_padded`` leaves it. Raises ``FeedError`` naming the first row whose
    field count is not ``n_cols`` or that holds a NUL byte.
    """
    nul = data.find(b"\x00", start, end)
    if nul >= 0:
        raise FeedError(source, "NUL byte in the data", row=data.count(b"\n", start, nul) + 1)
    if data.find(b'"', start, end) >= 0:
        return _split_quoted(bytes(data[start:end]), n_cols, source)
    data[end] = _NEWLINE
    buf = np.frombuffer(data, dtype=np.uint8)
    text = buf[start : end + 1]
    separators = np.flatnonzero((text == _COMMA) | (text == _NEWLINE))
    line_ends = np.flatnonzero(text[separators] == _NEWLINE)
    n = line_ends.shape[0]
    # Row i is well formed when its newline is separator number (i + 1) * n_cols - 1.
    expected = np.arange(1, n + 1) * n_cols - 1
    if separators.shape[0] != n * n_cols or not np.array_equal(line_ends, expected):
        fields = np.diff(line_ends, prepend=-1)
        row = int(np.flatnonzero(fields != n_cols)[0])
        raise FeedError(source, f"expected {n_cols} fields, found {int(fields[row])}", row=row + 1)
    # int32 offsets halve the memory traffic of every later gather.
    dtype = np.int32 if buf.shape[0] < 2**31 else np.int64
    return Cells(buf, (separators + start).astype(dtype), n_cols, first=start)


def _split_quoted(body: bytes, n_cols: int, source: str) -> Cells:
    # Quoting is rare in market data; the csv module handles it correctly, slowly,
    # and the cells are re-packed one separator apart so the parsers stay the same.
    try:
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FeedError(source, f"cannot split the CSV: {exc}") from None
    for i, row in enumerate(rows):
        if len(row) != n_cols:
            raise FeedError(source, f"expected {n_cols} fields, found {len(row)}", row=i + 1)
    encoded = [cell.encode("utf-8") for row in rows for cell in row]
    lengths = np.array([len(c) for c in encoded], dtype=np.int64)
    ends = np.cumsum(lengths + 1) - 1
    buf = np.frombuffer(b"\n".join(encoded) + b"\n" + bytes(_PAD), dtype=np.uint8)
    return Cells(buf, ends, n_cols)


def gather(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Copy cells into a ``(cells, width)`` ``uint8`` matrix, zero-padded after each cell."""
    return _columns_of(buf, starts, lengths).T


def _columns_of(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    # Row k holds character k of every cell (0 past a cell's end). Each cell is read as
    # whole 8-byte words from wherever it starts: one random access per word instead
    # of one per character.
    n = starts.shape[0]
    width = int(lengths.max()) if lengths.size else 0
    if width == 0:
        return np.zeros((0, n), dtype=np.uint8)
    if width <= _PAD:
        words = np.ndarray(shape=(buf.shape[0] - 7,), dtype="V8", buffer=buf, strides=(1,))
        parts = [words[starts + 8 * j].view(np.uint8).reshape(n, 8) for j in range((width + 7) // 8)]
        raw = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        out = np.ascontiguousarray(raw[:, :width].T)
    else:
        last = buf.shape[0] - 1
        out = np.stack([buf[np.minimum(starts + k, last)] for k in range(width)])
    for k in range(width):
        out[k][lengths <= k] = 0
    return out


class Scan(NamedTuple):
    """Numbers read from cells, before any scale is applied."""

    magnitude: np.ndarray  # int64: all digits as one integer, the dot ignored
    negative: np.ndarray  # bool
    dotted: np.ndarray  # bool: the cell has a decimal point
    decimals: np.ndarray  # int64: digits after the point
    status: np.ndarray  # int8: OK, EMPTY, MALFORMED or OUT_OF_RANGE


def scan(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> Scan:
    """Read decimal numbers from cells exactly: an optional sign, digits, at most one point.

    ``NaN``, ``inf``, exponents, spaces, digit separators and cells longer than
    ``MAX_CELL`` are ``MALFORMED``; more digits than int64 holds is ``OUT_OF_RANGE``.
    """
    n = starts.shape[0]
    too_long = lengths > MAX_CELL
    lengths = np.where(too_long, 0, lengths)
    chars = _columns_of(buf, starts, lengths)
    width = chars.shape[0]
    first = chars[0] if width else np.zeros(n, dtype=np.uint8)
    negative = (first == ord("-")) & (lengths > 0)
    signed = negative | ((first == ord("+")) & (lengths > 0))
    value = np.zeros(n, dtype=np.uint64)
    digits = np.zeros(n, dtype=np.int16)
    dots = np.zeros(n, dtype=np.int16)
    dot_at = np.zeros(n, dtype=np.int64)
    stray = np.zeros(n, dtype=bool)
    shifted = np.empty(n, dtype=np.uint64)
    ten = np.uint64(10)
    for k in range(width):
        byte = chars[k]
        digit = byte - np.uint8(48)
        is_digit = digit < 10
        is_dot = byte == ord(".")
        # Anything inside the cell that is neither digit nor dot is stray, but a leading sign.
        odd = (byte != 0) ^ (is_digit | is_dot)
        if k == 0:
            odd &= ~signed
        stray |= odd
        dots += is_dot
        np.copyto(dot_at, k, where=is_dot)
        digits += is_digit
        np.multiply(value, ten, out=shifted)
        np.add(shifted, digit, out=shifted, casting="unsafe")
        np.copyto(value, shifted, where=is_digit)
    status = np.full(n, OK, dtype=np.int8)
    empty = (lengths == 0) & ~too_long
    malformed = too_long | (~empty & (stray | (dots > 1) | (digits == 0)))
    dotted = dots > 0
    decimals = np.where(dotted, lengths - 1 - dot_at, 0)
    # Past 19 digits uint64 wraps; those rare cells are re-read exactly in Python.
    many_digits = np.flatnonzero(~malformed & (digits > 19))
    for i in many_digits.tolist():
        text = bytes(buf[starts[i] : starts[i] + lengths[i]]).decode("ascii")
        exact = int(text.replace(".", "").lstrip("+-"))
        value[i] = exact if exact <= _INT64_MAX else np.uint64(_INT64_MAX) + np.uint64(1)
    big = value > np.uint64(_INT64_MAX)
    status[empty] = EMPTY
    status[malformed] = MALFORMED
    status[~empty & ~malformed & big] = OUT_OF_RANGE
    magnitude = np.where(status == OK, value, 0).astype(np.int64)
    return Scan(magnitude, negative, dotted, decimals, status)


def to_units(numbers: Scan, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Scale scanned numbers to integers of ``10**-scale`` units.

    Returns
    -------
    tuple of numpy.ndarray
        ``(values, status)``: int64 values (0 unless ``status == OK``) and a
        status per cell: the scan's, or ``TOO_PRECISE`` (more than ``scale``
        decimals; any point at all when ``scale == 0``) or ``OUT_OF_RANGE``.
    """
    status = numbers.status.copy()
    good = status == OK
    too_precise = good & ((numbers.decimals > scale) | (numbers.dotted if scale == 0 else False))
    status[too_precise] = MALFORMED if scale == 0 else TOO_PRECISE
    factor = _POW10[np.clip(scale - numbers.decimals, 0, 18)]
    overflow = (status == OK) & (numbers.magnitude > _INT64_MAX // factor)
    status[overflow] = OUT_OF_RANGE
    scaled = np.where(status == OK, numbers.magnitude, 0) * factor
    return np.where(numbers.negative, -scaled, scaled), status


#: A cell with more decimals than the scale is float noise, and rounded, when it lies within
#: ``|value| / 2**NOISE_BITS`` of the grid: a few dozen units in the last place of a double
#: (``222.82000000000002`` is 222.82 plus 2e-14, as float arithmetic and pandas write it).
NOISE_BITS = 48


def to_units_rounding(numbers: Scan, scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale like ``to_units``, rounding cells that are float noise away from the ``10**-scale`` grid.

    Returns
    -------
    tuple of numpy.ndarray
        ``(values, status, rounded)``: as ``to_units``, with the cells within
        ``|value| / 2**NOISE_BITS`` of the grid rounded to its nearest point (status
        ``OK``) and marked in ``rounded``; cells further off stay ``TOO_PRECISE``.
    """
    values, status = to_units(numbers, scale)
    rounded = np.zeros(status.shape[0], dtype=bool)
    hits = np.flatnonzero(status == TOO_PRECISE)
    if hits.size == 0:
        return values, status, rounded
    magnitude = numbers.magnitude[hits]
    extra = numbers.decimals[hits] - scale
    # Past 18 extra digits a 19-digit magnitude is below one grid unit: only zero is on it.
    step = _POW10[np.clip(extra, 1, 18)]
    quotient, remainder = np.divmod(magnitude, step)
    distance = np.minimum(remainder, step - remainder)
    near = np.where(extra > 18, magnitude == 0, distance <= (magnitude >> NOISE_BITS))
    units = np.where(extra > 18, 0, quotient + (2 * remainder >= step))
    signed = np.where(numbers.negative[hits], -units, units)
    take = hits[near]
    values[take] = signed[near]
    status[take] = OK
    rounded[take] = True
    return values, status, rounded


def parse_fixed(
    buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, scale: int
) -> tuple[np.ndarray, np.ndarray]:
    """Parse decimal numbers exactly into integers of ``10**-scale`` units.

    ``scale=0`` accepts only integers (a decimal point is ``MALFORMED``).
    See ``scan`` and ``to_units`` for the statuses.
    """
    return to_units(scan(buf, starts, lengths), scale)


def describe(status: int, cell: str, scale: int) -> str:
    """Say in a few words why a cell with this status is bad."""
    shown = cell if len(cell) <= 40 else cell[:37] + "..."
    if status == EMPTY:
        return "empty value where one is required"
    if status == OUT_OF_RANGE:
        return f"number out of range: {shown!r}"
    if status == TOO_PRECISE:
        return f"more than {scale} decimals: {shown!r}"
    kind = "an integer" if scale == 0 else "a decimal number"
    return f"not {kind}: {shown!r}"
