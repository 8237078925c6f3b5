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

Beside the topic, a one-partition *run index* topic (``index_topic(topic)``) holds
``sor.run/1`` records keyed by run id: one when a run has started (its start
marker's fields and the ``offsets`` of its start markers, one per partition) and
one when it has ended (``state`` ``"end"``, the ``offsets`` of its end markers
and the run's ``messages``). A consumer reads the index, a few records per run,
and seeks straight to the run it wants instead of reading the topic from offset 0.
"""

from __future__ import annotations

import gc
import itertools
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
RUN = "sor.run/1"
#: Appended to a topic's name to name its run index topic.
INDEX_SUFFIX = ".runs"

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


@attrs.frozen
class IndexEntry:
    """One record of a run index: a run has started (with where) or ended (with where and how big).

    ``offsets[p]`` is the offset of the run's start marker (``state == "start"``) or end
    marker (``"end"``) on partition ``p``. ``start`` holds the start marker's fields
    (on both kinds, so either alone describes the run); ``messages`` counts the run's
    records on the topic, markers included (0 on a start entry).
    """

    state: str
    start: StartMarker
    offsets: tuple[int, ...] = attrs.field(converter=tuple)
    messages: int = 0


def index_topic(topic: str) -> str:
    """Return the name of ``topic``'s run index topic."""
    return topic + INDEX_SUFFIX


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


def encode_index(entry: IndexEntry) -> bytes:
    """Encode a run index record."""
    start = attrs.asdict(entry.start)
    del start["partition"]
    return _dumps(
        {
            "schema": RUN,
            "state": entry.state,
            **start,
            "offsets": list(entry.offsets),
            "messages": entry.messages,
        }
    )


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
    if not -(2**63) <= value < 2**63:
        raise MalformedMessage(f"field {key!r} must fit in 64 bits, got {value}")
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


def decode_index(value: bytes | None) -> IndexEntry:
    """Decode a run index record; raise ``MalformedMessage`` saying why when it is not valid."""
    try:
        obj = json.loads(value) if value is not None else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessage(f"not JSON: {exc}") from None
    if not isinstance(obj, dict) or obj.get("schema") != RUN:
        raise MalformedMessage("not a sor.run/1 record")
    state = obj.get("state")
    if state not in ("start", "end"):
        raise MalformedMessage(f"field 'state' must be 'start' or 'end', got {state!r:.40}")
    start = decode(_dumps({**obj, "schema": START, "partition": 0}))
    offsets = obj.get("offsets")
    if (
        not isinstance(offsets, list)
        or len(offsets) != start.partitions
        or not all(type(o) is int and o >= 0 for o in offsets)
    ):
        raise MalformedMessage("field 'offsets' must list one offset per partition")
    return IndexEntry(
        state, start, tuple(offsets), _int(obj, "messages", minimum=0) if "messages" in obj else 0
    )


def decode_many(values: list[bytes], run: str) -> tuple[Snapshots | None, int]:
    """Decode the data messages of one run at once: their rows as one ``Snapshots``, and the malformed count.

    Equal to decoding each value with ``decode`` (rows in the given order; a value that
    is no valid message, or a message of another run or kind, is left out and counted),
    but the columns are built with one numpy call per field for all the values, which
    is what makes many small messages (a paced run) cheap to read.
    """
    if not values:
        return None, 0
    for fast_path in (_decode_many_text, _decode_many_fast):
        try:
            fast = fast_path(values, run)
        except (MalformedMessage, ValueError, TypeError, KeyError, AttributeError):
            fast = None
        if fast is not None:
            return fast, 0
    parts, malformed = [], 0
    for value in values:
        try:
            msg = decode(value)
        except MalformedMessage:
            malformed += 1
            continue
        if isinstance(msg, Snapshots) and msg.run == run:
            parts.append(msg)
        elif not isinstance(msg, Snapshots):
            malformed += 1  # a marker among data messages: not data, not counted as ours
    if not parts:
        return None, malformed
    if len(parts) == 1:
        return parts[0], malformed
    width = max(p.columns["bid_px"].shape[1] for p in parts)

    def joined(name: str) -> np.ndarray:
        cols = [p.columns[name] for p in parts]
        if name in BOOK:
            cols = [c if c.shape[1] == width else np.pad(c, ((0, 0), (0, width - c.shape[1]))) for c in cols]
        return np.concatenate(cols)

    return Snapshots(run=run, columns={name: joined(name) for name in ("seq", *FIELDS)}), malformed


# The canonical form ``_dumps`` writes: compact, keys in this order. Values in another
# form (spaces, other key order, escapes in action/side) take the JSON paths instead.
_LETTERS = b"abcdefghijklmnopqrstuvwxyz_"
_NOT_NUMBER = bytes(range(256)).translate(None, b"0123456789-,")
_INT64_EDGES = (np.iinfo(np.int64).max, np.iinfo(np.int64).min)
_SKELETONS: dict[tuple[bool, int, int], bytes] = {}


def _skeleton(batch: bool, k: int, levels: int) -> bytes:
    """Return what a canonical message's head and tail (``|``-joined) leave once digits and '-' go."""
    key = (batch, k, levels)
    found = _SKELETONS.get(key)
    if found is not None:
        return found
    row = b"[" + b"," * (levels - 1) + b"]"
    if batch:
        many = b"[" + b"," * (k - 1) + b"]"
        head = b'"venue":,"seq":' + many + b',"ts_event":' + many + b',"ts_recv":' + many
        book = b"[" + b",".join([row] * k) + b"]"
        tail = b'"price":' + many + b',"size":' + many
    else:
        head = b'"seq":,"ts_event":,"ts_recv":,"venue":'
        book = row
        tail = b'"price":,"size":'
    tail += b"".join(b',"' + name.encode() + b'":' + book for name in BOOK) + b"}"
    if len(_SKELETONS) < 4096:
        _SKELETONS[key] = head + b"|" + tail
    return head + b"|" + tail


def _json_integers(text: bytes) -> bool:
    """Return whether ``text`` (digits, '-' and ',') is comma-separated JSON integers: no '-' alone,
    none inside a number, no leading zero. numpy's reader would take those; JSON does not."""
    arr = np.frombuffer(text, dtype=np.uint8)
    if not len(arr):
        return False
    digit = (arr >= 48) & (arr <= 57)
    minus = arr == 45
    if minus[-1] or (minus[:-1] & ~digit[1:]).any() or (digit[:-1] & minus[1:]).any():
        return False
    starts = np.concatenate([[True], (arr[:-1] == 44) | minus[:-1]])
    return not ((arr[:-1] == 48) & digit[1:] & starts[:-1]).any()


def _decode_many_text(values: list[bytes], run: str) -> Snapshots | None:
    # Our producer's messages, parsed as text: the numbers of all the values go through
    # one C call (numpy's text reader) instead of a Python int each. Every value must be
    # in the exact canonical form (checked against its skeleton), or None sends the whole
    # group down the JSON path.
    tag = b'","run":"' + run.encode() + b'",'
    single_prefix = b'{"schema":"' + SNAPSHOT.encode() + tag
    batch_prefix = b'{"schema":"' + BATCH.encode() + tag
    levels = 0
    numbers: list[bytes] = []
    actions: list[bytes] = []
    sides: list[bytes] = []
    kinds: list[bool] = []
    ks: list[int] = []
    for v in values:
        batch = v.startswith(batch_prefix)
        if not batch and not v.startswith(single_prefix):
            return None
        a = v.find(b',"action":"')
        b = v.find(b',"price":', a)
        if a < 0 or b < 0:
            return None
        mid = v[a + 11 : b - 1]  # X","side":"Y
        j = mid.find(b'","side":"')
        act, side = mid[:j], mid[j + 10 :]
        k = len(act)
        if j < 0 or b"\\" in mid or b'"' in act or b'"' in side or len(side) != k or k == 0:
            return None
        head = v[len(batch_prefix if batch else single_prefix) : a]
        tail = v[b + 1 :]
        if not levels:
            first = tail.find(b'"bid_px":[') + 10 + batch
            levels = tail.count(b",", first, tail.find(b"]", first)) + 1
        text = head + b"|" + tail
        if text.translate(None, b"0123456789-") != _skeleton(batch, k, levels) or (not batch and k != 1):
            return None
        numbers.append(head.translate(None, _NOT_NUMBER) + b"," + tail.translate(None, _NOT_NUMBER))
        actions.append(act)
        sides.append(side)
        kinds.append(batch)
        ks.append(k)
    joined = b",".join(numbers)
    if not _json_integers(joined):
        return None
    flat = np.fromstring(joined, dtype=np.int64, sep=",")
    is_batch = np.array(kinds, dtype=bool)
    k = np.array(ks, dtype=np.int64)
    sizes = np.where(is_batch, 1 + 5 * k + 4 * k * levels, 6 + 4 * levels)
    # numpy's reader saturates at the int64 edges: leave any value there to the exact JSON path.
    if (
        flat.shape[0] != int(sizes.sum())
        or (flat == _INT64_EDGES[0]).any()
        or (flat == _INT64_EDGES[1]).any()
    ):
        return None
    o = np.cumsum(sizes) - sizes
    rows = int(k.sum())
    row_msg = np.repeat(np.arange(len(values)), k)
    r = np.arange(rows) - np.repeat(np.cumsum(k) - k, k)
    kb = np.where(is_batch, k, 0)
    base = {
        "venue": np.where(is_batch, o, o + 3),
        "seq": np.where(is_batch, o + 1, o),
        "ts_event": np.where(is_batch, o + 1 + kb, o + 1),
        "ts_recv": np.where(is_batch, o + 1 + 2 * kb, o + 2),
        "price": np.where(is_batch, o + 1 + 3 * kb, o + 4),
        "size": np.where(is_batch, o + 1 + 4 * kb, o + 5),
    }
    columns = {"seq": flat[base["seq"][row_msg] + r]}
    stride_l = np.arange(levels)
    for name in FIELDS:
        if name in _CODES:
            text = b"".join(actions if name == "action" else sides)
            if not text.isascii():
                return None
            columns[name] = np.frombuffer(text, dtype=np.uint8).astype(np.int64)
        elif name in BOOK:
            jb = BOOK.index(name)
            start = np.where(is_batch, o + 1 + 5 * k + jb * k * levels, o + 6 + jb * levels)
            columns[name] = flat[(start[row_msg] + r * levels)[:, None] + stride_l[None, :]]
        elif name == "venue":
            columns[name] = flat[base["venue"][row_msg]]
        else:
            columns[name] = flat[base[name][row_msg] + r]
    return Snapshots(run=run, columns=_check_book(columns))


def _decode_many_fast(values: list[bytes], run: str) -> Snapshots | None:
    # Only our canonical messages take this path: no JSON booleans, one run, known kinds.
    if any(b"true" in v or b"false" in v for v in values):
        return None
    # Thousands of small lists alive at once would set off the cycle collector again and
    # again, each pass walking all of them; JSON values hold no cycles.
    enabled = gc.isenabled()
    gc.disable()
    try:
        objs = [json.loads(v) for v in values]
    finally:
        if enabled:
            gc.enable()
    if not all(o["run"] == run and o["schema"] in (SNAPSHOT, BATCH) for o in objs):
        return None
    # A single snapshot is a batch of one, its fields wrapped in lists, so rows keep their order.
    rows = [
        o if o["schema"] == BATCH else {k: [v] for k, v in o.items() if k in FIELDS or k == "seq"}
        for o in objs
    ]
    for o in objs:
        if o["schema"] == BATCH:
            o["venue"] = [o["venue"]] * len(o["seq"])
    sizes = [len(o["seq"]) for o in rows]
    n = sum(sizes)
    if not all(sizes):
        return None
    for name in FIELDS:
        if not all(len(o[name]) == k for o, k in zip(rows, sizes, strict=True)):
            return None

    def chained(name: str) -> list:
        return list(itertools.chain.from_iterable(o[name] for o in rows))

    columns = {"seq": _column("seq", chained("seq"), n, 1, False)}
    for name in FIELDS:
        if name in _CODES:
            text = "".join(itertools.chain.from_iterable(o[name] for o in rows))
            columns[name] = _codes({name: text}, name, n)
        else:
            columns[name] = _column(name, chained(name), n, 2 if name in BOOK else 1, False)
    return Snapshots(run=run, columns=_check_book(columns))


def might_be_marker(value: bytes | None) -> bool:
    """Return False when ``value`` certainly is no start or end marker (a cheap byte test).

    Lets a consumer skip decoding the data messages of runs it is not reading.
    """
    return value is not None and (b'"sor.start/' in value or b'"sor.end/' in value)
