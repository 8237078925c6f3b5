"""The wire format of a snapshot stream on Kafka: versioned JSON, integers only.

Every message value is one UTF-8 JSON object whose ``schema`` field names its
kind and version. Prices are integers in 1e-9 dollar units, sizes integer shares,
timestamps integer nanoseconds, exactly as in ``MarketData``: nothing is rounded.

``sor.start/1``
    Opens a run on every partition: ``run``, ``partition``, ``partitions``,
    ``count`` (snapshots to come), ``levels``, ``source``, ``symbol``, ``created_ns``,
    and, so a live consumer can set up before the first snapshot, ``venues``
    (the distinct venue ids) and ``first_ts``/``last_ts`` (the ``ts_event`` span);
    these three are optional (an older producer leaves them out).
``sor.snapshot/1``
    One snapshot: ``run``, ``seq`` (0-based position in the run, global across
    partitions), ``ts_event``, ``ts_recv``, ``venue``, ``action`` and ``side``
    (one character each), ``price``, ``size``, and the book levels ``bid_px``,
    ``bid_sz``, ``ask_px``, ``ask_sz`` (lists of ``levels`` integers).
``sor.batch/1``
    Several snapshots of one venue, in ``seq`` order, as columns: ``run``,
    ``venue`` (one integer), then the other ``sor.snapshot/1`` fields from
    ``seq`` on, each a list with one entry per snapshot (the book fields a list
    of level lists), except ``action`` and ``side``: one string holding a
    character per snapshot. Sent when the producer runs ahead of the clock
    (``--speed max``): the Python client costs ~30 us per message whatever its
    size, and columns encode and decode in a few C calls.
``sor.end/1``
    Closes a run on every partition: the start fields plus ``rows_read`` and
    ``dropped`` (the source's counts), so a consumer rebuilds ``MarketData``
    with the source's metadata.

Snapshot and batch messages are keyed by the venue id (decimal text), so one
venue's snapshots stay in order in one partition. Unknown fields are ignored;
an incompatible change gets a new schema name.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs
import numpy as np

from feeds.market import BookSnapshot, MarketData

SNAPSHOT = "sor.snapshot/1"
BATCH = "sor.batch/1"
START = "sor.start/1"
END = "sor.end/1"

BOOK = ("bid_px", "bid_sz", "ask_px", "ask_sz")
# The snapshot fields after ``seq``, in wire order.
FIELDS = ("ts_event", "ts_recv", "venue", "action", "side", "price", "size", *BOOK)
_CODES = ("action", "side")
_RUN_ID = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")


class MalformedMessage(ValueError):
    """A message value that is no valid message of a known schema; says why."""


@attrs.frozen
class StartMarker:
    """The opening message of a run on one partition."""

    run: str
    partition: int
    partitions: int
    count: int
    levels: int
    source: str
    symbol: str
    created_ns: int
    venues: tuple[int, ...] = attrs.field(default=(), converter=tuple)
    first_ts: int = 0
    last_ts: int = 0


@attrs.frozen
class EndMarker:
    """The closing message of a run on one partition, carrying the source's metadata."""

    run: str
    partition: int
    partitions: int
    count: int
    levels: int
    source: str
    symbol: str
    rows_read: int
    dropped: dict[str, int] = attrs.field(factory=dict)


@attrs.frozen(eq=False)
class Snapshots:
    """The snapshots of one data message as int64 columns; row ``j`` has sequence number ``seq[j]``.

    ``columns`` holds ``seq`` and every name of ``FIELDS``: 1-d arrays, except
    the book fields, which are ``(rows, levels)``; ``action``/``side`` hold ASCII codes.
    """

    run: str
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.columns["seq"].shape[0])

    @property
    def seq(self) -> np.ndarray:
        return self.columns["seq"]

    def snapshot(self, j: int) -> BookSnapshot:
        """Return row ``j`` as a value object."""
        c = self.columns
        return BookSnapshot(
            ts_event=int(c["ts_event"][j]),
            ts_recv=int(c["ts_recv"][j]),
            venue=int(c["venue"][j]),
            action=chr(int(c["action"][j])),
            side=chr(int(c["side"][j])),
            price=int(c["price"][j]),
            size=int(c["size"][j]),
            **{name: tuple(c[name][j].tolist()) for name in BOOK},
        )


Message = StartMarker | EndMarker | Snapshots


def check_run_id(run: str) -> str:
    """Return ``run`` when it is a valid run id (1-64 of ``[0-9A-Za-z_.-]``); raise ``ValueError`` if not."""
    if not isinstance(run, str) or not _RUN_ID.match(run):
        raise ValueError(f"bad run id {run!r}: use 1-64 characters of [0-9A-Za-z_.-]")
    return run


# ---------------------------------------------------------------- encoding


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def encode_start(marker: StartMarker) -> bytes:
    """Encode a start marker."""
    return _dumps({"schema": START, **attrs.asdict(marker)})


def encode_end(marker: EndMarker) -> bytes:
    """Encode an end-of-stream marker."""
    return _dumps({"schema": END, **attrs.asdict(marker)})


class RowEncoder:
    """Encodes rows of one ``MarketData`` as the data messages of one run; a row's index is its ``seq``.

    One row becomes a ``sor.snapshot/1``; several rows of one venue become a
    ``sor.batch/1``, whose columns go through the C JSON encoder in one call.
    """

    def __init__(self, data: MarketData, run: str):
        self.run = check_run_id(run)
        self._data = data
        self._venues = data.venue.tolist()

    def venue(self, i: int) -> int:
        """Return the venue id of row ``i``."""
        return self._venues[i]

    def encode(self, rows: list[int]) -> bytes:
        """Encode rows (all of one venue, in ``seq`` order) as one message."""
        idx = np.asarray(rows, dtype=np.intp)
        cols: dict[str, Any] = {}
        for name in FIELDS:
            column = getattr(self._data, name)[idx]
            cols[name] = "".join(map(chr, column.tolist())) if name in _CODES else column.tolist()
        if len(rows) == 1:
            row = {name: cols[name][0] for name in FIELDS}
            return _dumps({"schema": SNAPSHOT, "run": self.run, "seq": rows[0], **row})
        batch = {"schema": BATCH, "run": self.run, "venue": self._venues[rows[0]], "seq": idx.tolist()}
        batch.update((name, cols[name]) for name in FIELDS if name != "venue")
        return _dumps(batch)


# ---------------------------------------------------------------- decoding


def _int(obj: dict, key: str, minimum: int | None = None) -> int:
    value = obj.get(key)
    # bool is an int subclass in Python, but true/false in JSON is no number.
    if type(value) is not int:
        raise MalformedMessage(f"field {key!r} must be an integer, got {value!r:.40}")
    if minimum is not None and value < minimum:
        raise MalformedMessage(f"field {key!r} must be >= {minimum}, got {value}")
    return value


def _str(obj: dict, key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise MalformedMessage(f"field {key!r} must be a string, got {value!r:.40}")
    return value


def _codes(obj: dict, key: str, n: int) -> np.ndarray:
    value = _str(obj, key)
    if len(value) != n or not value.isascii():
        what = "one ASCII character" if n == 1 else f"{n} ASCII characters, one per snapshot"
        raise MalformedMessage(f"field {key!r} must be {what}, got {value[:40]!r}")
    return np.frombuffer(value.encode("ascii"), dtype=np.uint8).astype(np.int64)


def _flat(value: Any):
    for item in value:
        if isinstance(item, list):
            yield from item
        else:
            yield item


def _column(key: str, value: Any, n: int, ndim: int, exact: bool) -> np.ndarray:
    # numpy infers int64 only when every entry is an integer within int64 (floats,
    # strings, ragged rows and out-of-range numbers give another dtype), except that
    # it folds booleans into integers: ``exact`` re-checks entry by entry for those.
    try:
        arr = np.array(value)
    except (ValueError, TypeError):
        arr = None
    ok = arr is not None and arr.dtype == np.int64 and arr.ndim == ndim and arr.shape[0] == n
    if ok and ndim == 2:
        ok = arr.shape[1] >= 1
    if ok and exact:
        ok = all(type(x) is int for x in _flat(value))
    if not ok:
        shape = f"{n} list(s) of integers" if ndim == 2 else f"{n} integer(s)"
        raise MalformedMessage(f"field {key!r} must hold {shape}")
    return arr


def _check_book(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if len({columns[name].shape for name in BOOK}) != 1:
        raise MalformedMessage("bid_px, bid_sz, ask_px and ask_sz must have the same number of levels")
    if columns["seq"].min() < 0:
        raise MalformedMessage("field 'seq' must be >= 0")
    return columns


def _single(obj: dict, exact: bool) -> dict[str, np.ndarray]:
    columns = {"seq": np.array([_int(obj, "seq", minimum=0)], dtype=np.int64)}
    for name in FIELDS:
        if name in _CODES:
            columns[name] = _codes(obj, name, 1)
        elif name in BOOK:
            columns[name] = _column(name, [obj.get(name)], 1, 2, exact)
        else:
            columns[name] = np.array([_int(obj, name)], dtype=np.int64)
    return _check_book(columns)


def _batch(obj: dict, exact: bool) -> dict[str, np.ndarray]:
    seq = obj.get("seq")
    if not isinstance(seq, list) or not seq:
        raise MalformedMessage("field 'seq' must be a non-empty list")
    n = len(seq)
    columns = {"seq": _column("seq", seq, n, 1, exact)}
    columns["venue"] = np.full(n, _int(obj, "venue"), dtype=np.int64)
    for name in FIELDS:
        if name in _CODES:
            columns[name] = _codes(obj, name, n)
        elif name != "venue":
            columns[name] = _column(name, obj.get(name), n, 2 if name in BOOK else 1, exact)
    return _check_book(columns)


def _run(obj: dict) -> str:
    run = _str(obj, "run")
    if not _RUN_ID.match(run):
        raise MalformedMessage(f"bad run id {run[:70]!r}")
    return run


def _marker_fields(obj: dict) -> dict[str, Any]:
    return {
        "run": _run(obj),
        "partition": _int(obj, "partition", minimum=0),
        "partitions": _int(obj, "partitions", minimum=1),
        "count": _int(obj, "count", minimum=0),
        "levels": _int(obj, "levels", minimum=1),
        "source": _str(obj, "source"),
        "symbol": _str(obj, "symbol"),
    }


def _dropped(obj: dict) -> dict[str, int]:
    value = obj.get("dropped", {})
    if not isinstance(value, dict) or not all(type(v) is int and v >= 0 for v in value.values()):
        raise MalformedMessage("field 'dropped' must map reasons to non-negative integers")
    return dict(value)


def decode(value: bytes | None) -> Message:
    """Decode one message value; raise ``MalformedMessage`` saying why when it is not valid."""
    if value is None:
        raise MalformedMessage("empty message (null value)")
    try:
        obj = json.loads(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessage(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MalformedMessage("not a JSON object")
    kind = obj.get("schema")
    if kind in (SNAPSHOT, BATCH):
        # Our messages never hold a JSON boolean; only when the bytes might, check entries one by one.
        exact = b"true" in value or b"false" in value
        columns = _single(obj, exact) if kind == SNAPSHOT else _batch(obj, exact)
        return Snapshots(run=_run(obj), columns=columns)
    if kind == START:
        venues = obj.get("venues", [])
        if not isinstance(venues, list) or not all(type(v) is int and v >= 0 for v in venues):
            raise MalformedMessage("field 'venues' must be a list of venue ids")
        return StartMarker(
            **_marker_fields(obj),
            created_ns=_int(obj, "created_ns"),
            venues=tuple(venues),
            first_ts=_int(obj, "first_ts", minimum=0) if "first_ts" in obj else 0,
            last_ts=_int(obj, "last_ts", minimum=0) if "last_ts" in obj else 0,
        )
    if kind == END:
        fields = _marker_fields(obj)
        return EndMarker(**fields, rows_read=_int(obj, "rows_read", minimum=0), dropped=_dropped(obj))
    raise MalformedMessage(f"unknown schema {kind!r:.60}")


def might_be_marker(value: bytes | None) -> bool:
    """Return False when ``value`` certainly is no start or end marker (a cheap byte test).

    Lets a consumer skip decoding the data messages of runs it is not reading.
    """
    return value is not None and (b'"sor.start/' in value or b'"sor.end/' in value)
