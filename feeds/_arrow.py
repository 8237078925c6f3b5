"""The fast path of the CSV reader: pyarrow splits a block into columns, exact numpy converters read them.

``pyarrow.csv`` splits a block of CSV rows into columns in C++ on every core and
converts integer cells to int64 (its integers are a strict subset of ours: no sign
``+``, no spaces). Prices and timestamps stay text, packed end to end in one buffer
per column, where cells of one shape (same length, same decimal point) form a
``(cells, length)`` byte matrix without any copying: a price is then the dot product
of its digits with powers of ten, exact in int64, and a canonical timestamp the same
with a date read once per block. No float is ever made.

The path is only taken where it gives exactly what ``feeds.databento_csv``'s numpy
parser gives; ``parse`` returns ``None`` for anything else and the block is parsed
again by that parser, which also writes every error message: a block with quotes
or carriage returns (pyarrow reads those its own way), any cell pyarrow will not
convert, a price with more than nine decimals (float noise is rounded by the numpy
parser, which counts it) or more than 18 digits, a sign other than one leading
``-``, an empty required cell, an empty size beside a price, and timestamps in any
form but ``YYYY-MM-DDTHH:MM:SS.fffffffffZ`` on one day or bare integer nanoseconds.
``tests/test_feeds_arrow.py`` checks that both paths agree.
"""

from __future__ import annotations

import numpy as np

from feeds.timeparse import NS_PER_SECOND, parse_ns

UNDEF_PRICE = 2**63 - 1
FIXED_POINT_THRESHOLD = 1_000_000
_POW10 = 10 ** np.arange(19, dtype=np.int64)

try:  # pragma: no cover - exercised wherever pyarrow is installed
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
except ImportError:  # pragma: no cover
    pa = None

AVAILABLE = pa is not None


class _Decline(Exception):
    """This block is for the numpy parser."""


def parse(
    body: bytes | bytearray | memoryview,
    header: list[str],
    columns: dict[str, int],
    levels: int,
    fixed_point: bool | None,
) -> tuple[dict[str, np.ndarray], bool | None, object, np.ndarray | None] | None:
    """Parse one block of rows; return ``None`` to leave it to the numpy parser.

    ``body`` holds whole rows with LF line ends and no header, quote or carriage return.

    Returns
    -------
    tuple or None
        ``(columns, rule, symbols, instrument_ids)``: the columns as
        ``feeds.databento_csv._Parser.parse`` makes them, the price rule used
        (``None``: still unsettled), the ``symbol`` cells as a pyarrow array (empty
        when the file has none) and the ``instrument_id`` column (``None`` when the
        file has none).
    """
    if pa is None:
        return None
    try:
        return _parse(body, header, columns, levels, fixed_point)
    except _Decline:
        return None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


def _parse(body, header, columns, levels, fixed_point):
    px_names = ["price"] + [f"{s}_px_{k:02d}" for s in ("bid", "ask") for k in range(levels)]
    sz_names = [f"{s}_sz_{k:02d}" for s in ("bid", "ask") for k in range(levels)]
    ints = ["publisher_id", "size"] + (["instrument_id"] if "instrument_id" in columns else [])
    texts = ["ts_recv", "ts_event", "action", "side"] + (["symbol"] if "symbol" in columns else [])
    key = {name: f"c{columns[name]}" for name in [*px_names, *sz_names, *ints, *texts]}
    types = {key[n]: pa.int64() for n in ints + sz_names}
    # Fixed-point prices are plain integers; decimal ones are read as text (see the docstring).
    types.update({key[n]: pa.int64() if fixed_point else pa.binary() for n in px_names})
    types.update({key[n]: pa.binary() for n in texts})
    table = pacsv.read_csv(
        pa.py_buffer(body),
        read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(len(header))], use_threads=True),
        parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            include_columns=list(types),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    n = table.num_rows
    col = {name: _one_chunk(table.column(key[name])) for name in key}
    _no_loose_numbers(body, [col[name] for name in texts])
    ts_recv = _timestamps(col["ts_recv"], n)
    ts_event = _timestamps(col["ts_event"], n)
    found = {}
    for name in ints:
        values, valid = _integers(col[name])
        if valid is not None:
            raise _Decline
        found[name] = values
    action = _characters(col["action"], n)
    side = _characters(col["side"], n)
    # Prices and sizes go straight into (column, row) arrays; the book is their transpose.
    units = np.empty((len(px_names), n), dtype=np.int64)
    present = np.ones((len(px_names), n), dtype=bool)
    if fixed_point:
        rule = True
        for j, name in enumerate(px_names):
            _fixed_into(col[name], units[j], present[j])
    else:
        shapes = [_decimal_into(_Text(col[name]), units[j], present[j]) for j, name in enumerate(px_names)]
        rule = fixed_point if fixed_point is not None else _rule(shapes, units, present)
        for j, column_shapes in enumerate(shapes):
            _scale(units[j], present[j], column_shapes, rule)
    sizes = np.empty((len(sz_names), n), dtype=np.int64)
    for j, name in enumerate(sz_names):
        values, valid = _integers(col[name])
        if valid is not None and bool((present[1 + j] & ~valid).any()):
            raise _Decline  # an empty size next to a price: the numpy parser names it
        sizes[j] = values
    lv = levels
    result = {
        "ts_event": ts_event,
        "ts_recv": ts_recv,
        "venue": found["publisher_id"],
        "action": action,
        "side": side,
        "price": np.where(present[0], units[0], 0),
        "size": found["size"],
        "bid_px": units[1 : 1 + lv].T,
        "ask_px": units[1 + lv :].T,
        "bid_sz": sizes[:lv].T,
        "ask_sz": sizes[lv:].T,
        "bid_present": present[1 : 1 + lv].T,
        "ask_present": present[1 + lv :].T,
    }
    symbols = col["symbol"] if "symbol" in col else pa.array([], pa.binary())
    return result, rule, symbols, found.get("instrument_id")


def keys(
    body, header: list[str], columns: dict[str, int]
) -> tuple[np.ndarray, object, np.ndarray | None] | None:
    """Read only a block's venues and instrument columns (for a feed's first pass); ``None``: declined.

    Returns ``(venues, symbols, instrument_ids)`` as ``parse`` gives them. Cells are not
    checked beyond what the conversion refuses: the full read reports any problem.
    """
    if pa is None:
        return None
    wanted = {"publisher_id": pa.int64(), "instrument_id": pa.int64(), "symbol": pa.binary()}
    types = {f"c{columns[name]}": kind for name, kind in wanted.items() if name in columns}
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(
                column_names=[f"c{i}" for i in range(len(header))], use_threads=True
            ),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types=types, include_columns=list(types), null_values=[""]
            ),
        )
        venues, _ = _integers(_one_chunk(table.column(f"c{columns['publisher_id']}")))
        ids = None
        if "instrument_id" in columns:
            ids, _ = _integers(_one_chunk(table.column(f"c{columns['instrument_id']}")))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    symbols = (
        _one_chunk(table.column(f"c{columns['symbol']}"))
        if "symbol" in columns
        else pa.array([], pa.binary())
    )
    return venues, symbols, ids


# pyarrow's CSV integers also take surrounding spaces and tabs and hex ("0x1f"); ours do not.
_LOOSE = (ord(" "), ord("\t"), ord("x"), ord("X"))


def _no_loose_numbers(body, texts: list) -> None:
    # Every space, tab, x or X of the block must be in a text column (a symbol), or decline.
    raw = np.frombuffer(body, dtype=np.uint8)
    total = sum(int(np.count_nonzero(raw == c)) for c in _LOOSE)
    if not total:
        return
    inside = 0
    for arr in texts:
        cells = _Text(arr).raw
        inside += sum(int(np.count_nonzero(cells == c)) for c in _LOOSE)
    if inside != total:
        raise _Decline


def _one_chunk(chunked):
    return chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()


def _integers(arr) -> tuple[np.ndarray, np.ndarray | None]:
    # int64 values (0 where empty) and which cells held one (None: all of them).
    if arr.null_count == 0:
        return arr.to_numpy(zero_copy_only=False).astype(np.int64, copy=False), None
    valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)
    return arr.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False), valid


def _fixed_into(arr, out: np.ndarray, present: np.ndarray) -> None:
    values, valid = _integers(arr)
    out[:] = values
    if valid is not None:
        present &= valid
    undefined = out == UNDEF_PRICE
    if undefined.any():
        present &= ~undefined
        out[undefined] = 0


class _Text:
    """A binary column's cells as one byte buffer, each cell's start and length."""

    def __init__(self, arr) -> None:
        n = len(arr)
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=n + 1, offset=4 * arr.offset)
        first = int(offsets[0]) if n else 0
        size = int(offsets[-1]) - first if n else 0
        data = arr.buffers()[2]
        self.raw = (
            np.frombuffer(data, dtype=np.uint8, count=size, offset=first) if size else np.zeros(0, np.uint8)
        )
        self.starts = offsets[:-1] - first
        self.lengths = np.diff(offsets)
        self.n = n

    def matrix(self, rows: np.ndarray | None, width: int) -> np.ndarray:
        """Return the cells ``rows`` (all when ``None``), each ``width`` long, as a byte matrix."""
        if rows is None:
            return self.raw.reshape(self.n, width)
        return self.raw[self.starts[rows, None] + np.arange(width)]


def _decimal_into(text: _Text, out: np.ndarray, present: np.ndarray) -> list[tuple[np.ndarray | None, int]]:
    """Write each price cell's digits, as one integer, into ``out``; return its shapes.

    A shape is ``(rows, decimals)`` (``rows`` None: every cell; ``decimals`` -1: no
    point). Cells of one length with the point in one place form a byte matrix read
    column by column. Empty cells are marked absent in ``present``.
    """
    n = text.n
    lengths = text.lengths
    if n == 0:
        return []
    if bool(np.all(lengths == lengths[0])) and lengths[0] > 0:
        length = int(lengths[0])
        m = text.matrix(None, length)
        dot = bytes(m[0]).find(b".")
        if dot < 0 or bool(np.all(m[:, dot] == 46)):
            value = _read_matrix(m, dot)
            if value is not None:
                out[:] = value
                return [(None, -1 if dot < 0 else length - 1 - dot)]
    return _decimal_groups(text, out, present)


def _decimal_groups(text: _Text, out: np.ndarray, present: np.ndarray) -> list[tuple[np.ndarray | None, int]]:
    # The general case: cells grouped by length, then by where the point is.
    shapes = []
    for length in np.unique(text.lengths).tolist():
        rows = np.flatnonzero(text.lengths == length)
        if length == 0:
            present[rows] = False
            out[rows] = 0
            continue
        m = text.matrix(rows, length)
        is_dot = m == 46
        if bool((is_dot.sum(axis=1) > 1).any()):
            raise _Decline
        at = np.where(is_dot.any(axis=1), is_dot.argmax(axis=1), -1)
        for position in np.unique(at).tolist():
            pick = at == position
            value = _read_matrix(m[pick], position)
            if value is None:
                raise _Decline
            out[rows[pick]] = value
            shapes.append((rows[pick], -1 if position < 0 else length - 1 - position))
    return shapes


def _read_matrix(m: np.ndarray, dot: int) -> np.ndarray | None:
    # The digits of equal-shaped cells as integers, or None if a cell holds anything else.
    length = m.shape[1]
    digits = length - (dot >= 0)
    if digits == 0 or digits > 18:
        raise _Decline
    d = m - np.uint8(48)
    if dot >= 0:
        d[:, dot] = 0
    if int(d.max()) > 9:
        return None  # a sign, a letter, a space, a second point
    value = d[:, length - 1].astype(np.int64)
    power = 1
    for j in range(length - 2, -1, -1):
        if j != dot:
            value += d[:, j] * _POW10[power]
            power += 1
    return value


def _rule(shapes: list, units: np.ndarray, present: np.ndarray) -> bool | None:
    # feeds.databento_csv's price rule on these cells: a point anywhere means dollars, an
    # integer beyond 1e6 (with no point anywhere) fixed-point, and otherwise not settled.
    if any(decimals >= 0 for column in shapes for _, decimals in column):
        return False
    if bool((np.where(present, units, 0) > FIXED_POINT_THRESHOLD).any()):
        return True
    return None


def _scale(out: np.ndarray, present: np.ndarray, shapes: list, rule: bool | None) -> None:
    if rule:
        if any(decimals >= 0 for _, decimals in shapes):
            raise _Decline  # a point in a fixed-point file: the numpy parser says where
        undefined = out == UNDEF_PRICE
        if undefined.any():
            present &= ~undefined
            out[undefined] = 0
        return
    for rows, decimals in shapes:
        places = max(decimals, 0)
        if places > 9:
            raise _Decline
        factor = _POW10[9 - places]
        target = out if rows is None else out[rows]
        if bool((target > (2**63 - 1) // factor).any()):
            raise _Decline
        if rows is None:
            out *= factor
        else:
            out[rows] = target * factor
    out[~present] = 0


def _characters(arr, n: int) -> np.ndarray:
    text = _Text(arr)
    if text.raw.shape[0] != n or not bool(np.all(text.lengths == 1)):
        raise _Decline
    if bool((text.raw >= 128).any()):
        raise _Decline
    return text.raw.astype(np.int64)


# Digit columns of YYYY-MM-DDTHH:MM:SS.fffffffffZ after the date, and their weights in ns.
_TIME_COLS = [11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28]
_TIME_WEIGHTS = np.array(
    [36_000, 3_600, 600, 60, 10, 1] + [0] * 9, dtype=np.int64
) * NS_PER_SECOND + np.array([0] * 6 + [10**k for k in range(8, -1, -1)], dtype=np.int64)
_TIME_SEPARATORS = {10: ord("T"), 13: ord(":"), 16: ord(":"), 19: ord("."), 29: ord("Z")}


def _timestamps(arr, n: int) -> np.ndarray:
    text = _Text(arr)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if text.raw.shape[0] == 30 * n and bool(np.all(text.lengths == 30)):
        return _canonical(text.matrix(None, 30))
    if bool((text.lengths == 0).any()) or int(text.lengths.max()) > 19:
        raise _Decline
    # Integer nanoseconds: bare digits (no sign, unlike other integers).
    if bool(((text.raw < 48) | (text.raw > 57)).any()):
        raise _Decline
    return pc.cast(arr.cast(pa.string()), pa.int64()).to_numpy(zero_copy_only=False).astype(np.int64)


def _canonical(m: np.ndarray) -> np.ndarray:
    # YYYY-MM-DDTHH:MM:SS.fffffffffZ, every row on the first row's date.
    if not bool(np.all(m[:, :10] == m[0, :10])):
        raise _Decline
    for col, char in _TIME_SEPARATORS.items():
        if not bool(np.all(m[:, col] == char)):
            raise _Decline
    digits = m[:, _TIME_COLS] - np.uint8(48)
    if bool((digits > 9).any()):
        raise _Decline
    hour = digits[:, 0].astype(np.int16) * 10 + digits[:, 1]
    if bool((hour > 23).any()) or bool((digits[:, 2] > 5).any()) or bool((digits[:, 4] > 5).any()):
        raise _Decline
    try:
        day = parse_ns(bytes(m[0, :10]).decode("ascii") + "T00:00:00Z")
    except (ValueError, UnicodeDecodeError):
        raise _Decline from None
    return day + digits.astype(np.int64) @ _TIME_WEIGHTS
