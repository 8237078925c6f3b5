"""Read one run of snapshots back from a Kafka topic, exactly as it was published.

A spec names the topic and optionally the run:
``kafka://127.0.0.1:9092/mock_l1_stream[?run=ID&wait=30&idle=60]``.

Rules, in the order they apply:

- Offsets: every partition is assigned by hand and read from the beginning; no
  consumer group, no committed offset, so a topic's history never hides a run.
- Which run: the named one; else, for ``read_topic``, the latest complete run
  (start markers ordered by their ``created_ns``), else the latest run in
  progress, else the first run that starts within ``wait`` seconds. ``iter_live``
  follows the latest run in progress or waits for the next one.
- A partition's span of the run goes from its start marker to its end marker.
  Messages of other runs in a span are ignored. A message in a span that is no
  valid message of any schema is counted as ``malformed_message`` and skipped.
  Messages outside every span of the run are not looked at.
- Snapshots come out in ``seq`` order, whatever the partition they came from; a
  ``seq`` seen twice (a retried send) is dropped; when every partition has its
  end marker, a missing ``seq`` is an error naming it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import attrs
import numpy as np

from feeds.errors import FeedError
from feeds.kafka import schema
from feeds.kafka.client import CONNECT_TIMEOUT_S, DEFAULT_TOPIC, StreamError, broker_answers, open_client
from feeds.market import BookSnapshot, MarketData
from feeds.timeparse import parse_window_bound

WAIT_S = 30.0
IDLE_S = 60.0
_POLL_MS = 200


@attrs.frozen(kw_only=True)
class KafkaSpec:
    """A parsed ``kafka://`` source: where the broker is, which topic and run, how long to wait."""

    bootstrap: str
    topic: str = DEFAULT_TOPIC
    run: str | None = None
    wait_s: float = WAIT_S
    idle_s: float = IDLE_S
    connect_timeout_s: float = CONNECT_TIMEOUT_S

    def __str__(self) -> str:
        query = f"?run={self.run}" if self.run else ""
        return f"kafka://{self.bootstrap}/{self.topic}{query}"


def parse_spec(spec: str) -> KafkaSpec:
    """Parse ``kafka://HOST:PORT/TOPIC[?run=ID&wait=S&idle=S&connect=S]``; raise ``FeedError`` if bad."""
    parts = urlsplit(spec)
    if parts.scheme != "kafka" or not parts.netloc:
        raise FeedError(spec, "not a kafka source: want kafka://HOST:PORT/TOPIC[?run=ID]")
    topic = parts.path.strip("/") or DEFAULT_TOPIC
    if "/" in topic:
        raise FeedError(spec, f"bad topic {topic!r}: a topic name has no '/'")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"run", "wait", "idle", "connect"}
    if unknown:
        raise FeedError(spec, f"unknown query key(s) {sorted(unknown)}: want run, wait, idle, connect")

    def seconds(key: str, default: float) -> float:
        if key not in query:
            return default
        try:
            value = float(query[key][-1])
        except ValueError:
            raise FeedError(spec, f"{key}={query[key][-1]!r} is not a number of seconds") from None
        if not value >= 0:
            raise FeedError(spec, f"{key} must be >= 0 seconds")
        return value

    run = query["run"][-1] if "run" in query else None
    if run is not None:
        try:
            schema.check_run_id(run)
        except ValueError as exc:
            raise FeedError(spec, str(exc)) from None
    return KafkaSpec(
        bootstrap=parts.netloc,
        topic=topic,
        run=run,
        wait_s=seconds("wait", WAIT_S),
        idle_s=seconds("idle", IDLE_S),
        connect_timeout_s=seconds("connect", CONNECT_TIMEOUT_S),
    )


@attrs.frozen
class LiveSnapshot:
    """One snapshot as it arrives, with how far the consumer is behind the producer."""

    seq: int
    snapshot: BookSnapshot
    lag_messages: int
    lag_ms: float


@attrs.frozen
class RunRead:
    """A run read back in full, with what the reader saw on the way."""

    data: MarketData
    run: str
    count: int
    malformed: int
    duplicates: int
    seconds: float


@attrs.define
class _Run:
    # What the markers seen so far say about one run.
    run: str
    created_ns: int
    order: int
    partitions: int
    count: int
    starts: dict[int, int] = attrs.field(factory=dict)
    ends: dict[int, schema.EndMarker] = attrs.field(factory=dict)
    start: schema.StartMarker | None = None

    @property
    def complete(self) -> bool:
        return len(self.ends) >= self.partitions

    def describe(self) -> str:
        state = "complete" if self.complete else f"{len(self.ends)}/{self.partitions} partitions ended"
        return f"{self.run} ({self.count} snapshots, {state})"


class _Reader:
    """One hand-assigned consumer over every partition of a topic, and the runs it has seen."""

    def __init__(self, spec: KafkaSpec):
        from kafka import KafkaConsumer, TopicPartition

        self.spec = spec
        self.where = str(spec)
        self.consumer = open_client(
            KafkaConsumer,
            spec.bootstrap,
            self.where,
            spec.connect_timeout_s,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            allow_auto_create_topics=False,
            max_poll_records=5000,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            reconnect_backoff_max_ms=1_000,
            request_timeout_ms=15_000,
        )
        self.runs: dict[str, _Run] = {}
        self.messages_seen = 0
        try:
            partitions = self._wait_for_topic()
            self.tps = [TopicPartition(spec.topic, p) for p in sorted(partitions)]
            self.consumer.assign(self.tps)
            self.consumer.seek_to_beginning(*self.tps)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.consumer.close(autocommit=False)

    def _wait_for_topic(self) -> set[int]:
        deadline = time.monotonic() + self.spec.wait_s
        while True:
            partitions = self.consumer.partitions_for_topic(self.spec.topic)
            if partitions:
                return partitions
            if time.monotonic() >= deadline:
                raise StreamError(
                    self.where,
                    f"topic {self.spec.topic!r} does not exist at {self.spec.bootstrap} "
                    f"(waited {self.spec.wait_s:g} s; produce to it with `sor stream SOURCE --topic "
                    f"{self.spec.topic}`)",
                )
            time.sleep(0.5)

    def poll(self):
        """Yield ``(partition, record)`` for one poll, in offset order per partition."""
        batches = self.consumer.poll(timeout_ms=_POLL_MS)
        for tp, records in batches.items():
            self.messages_seen += len(records)
            for record in records:
                yield tp.partition, record

    def note_marker(self, partition: int, record) -> schema.Message | None:
        """Record a start or end marker in ``runs``; return it, or None for any other message."""
        if not schema.might_be_marker(record.value):
            return None
        try:
            msg = schema.decode(record.value)
        except schema.MalformedMessage:
            return None
        if isinstance(msg, schema.StartMarker):
            info = self.runs.get(msg.run)
            if info is None:
                info = self.runs[msg.run] = _Run(
                    msg.run, msg.created_ns, len(self.runs), msg.partitions, msg.count
                )
            info.starts.setdefault(partition, record.offset)
            if info.start is None:
                info.start = msg
            return msg
        if isinstance(msg, schema.EndMarker):
            info = self.runs.get(msg.run)
            if info is not None:
                info.ends[partition] = msg
            return msg
        return None

    def scan(self) -> None:
        """Read every partition up to its end offset now, noting the runs' markers."""
        ends = self.consumer.end_offsets(self.tps)
        todo = {tp: ends[tp] for tp in self.tps}
        deadline = time.monotonic() + max(self.spec.idle_s, 10.0)
        while True:
            # Positions, not record offsets: a log may end in records we never see.
            todo = {tp: end for tp, end in todo.items() if self.consumer.position(tp) < end}
            if not todo:
                return
            got = False
            for partition, record in self.poll():
                got = True
                self.note_marker(partition, record)
            if got:
                deadline = time.monotonic() + max(self.spec.idle_s, 10.0)
            elif time.monotonic() >= deadline:
                raise StreamError(self.where, f"reading the topic stalled ({len(todo)} partition(s) unread)")

    def select(self, live: bool) -> _Run | None:
        """Pick the run to read among those seen, by the module's rules; None when there is none yet."""
        if self.spec.run is not None:
            return self.runs.get(self.spec.run)
        started = sorted(self.runs.values(), key=lambda r: (r.created_ns, r.order))
        if not live:
            complete = [r for r in started if r.complete]
            if complete:
                return complete[-1]
        running = [r for r in started if not r.complete]
        return running[-1] if running else None

    def wait_for_run(self, live: bool) -> _Run:
        """Return the run to read, polling for its start marker for up to ``wait_s``."""
        chosen = self.select(live)
        deadline = time.monotonic() + self.spec.wait_s
        while chosen is None:
            if time.monotonic() >= deadline:
                raise StreamError(self.where, self._nothing_found(live))
            for partition, record in self.poll():
                self.note_marker(partition, record)
            chosen = self.select(live)
        return chosen

    def _nothing_found(self, live: bool) -> str:
        wait = f"within {self.spec.wait_s:g} s"
        if self.spec.run is not None:
            known = ", ".join(r.describe() for r in self.runs.values()) or "none"
            return f"run {self.spec.run} not found on topic {self.spec.topic!r} {wait} (runs there: {known})"
        if live and self.runs:
            latest = max(self.runs.values(), key=lambda r: (r.created_ns, r.order))
            return (
                f"no run in progress on topic {self.spec.topic!r} {wait} "
                f"(latest complete run: {latest.run}; read it with ?run={latest.run})"
            )
        held = (
            f"it holds {self.messages_seen} message(s) but no sor run"
            if self.messages_seen
            else "it is empty"
        )
        return (
            f"no run started on topic {self.spec.topic!r} {wait}: {held} "
            f"(start the producer with `sor stream SOURCE --topic {self.spec.topic}`)"
        )


class _Follower:
    """Reads one run's spans: whole (``collect``) or snapshot by snapshot in ``seq`` order (``stream``)."""

    def __init__(self, reader: _Reader, run: _Run, live: bool):
        self.reader = reader
        self.run = run
        self.live = live
        self.in_span: set[int] = set()
        self.done: dict[int, schema.EndMarker] = {}
        self.chunks: list[schema.Snapshots] = []
        # Live mode only: seq -> (chunk, row, record timestamp in ms) until its turn comes.
        self.buffer: dict[int, tuple[schema.Snapshots, int, int]] = {}
        self.next_seq = 0
        self.malformed = 0
        self.duplicates = 0
        self.last_progress = time.monotonic()
        for tp in reader.tps:
            if tp.partition in run.starts:
                reader.consumer.seek(tp, run.starts[tp.partition])

    def _take(self, partition: int, record) -> None:
        try:
            msg = schema.decode(record.value)
        except schema.MalformedMessage:
            if partition in self.in_span:
                self.malformed += 1
            return
        if isinstance(msg, schema.StartMarker):
            self.reader.note_marker(partition, record)
            if msg.run == self.run.run:
                self.in_span.add(partition)
            return
        if msg.run != self.run.run or partition not in self.in_span:
            return
        self.last_progress = time.monotonic()
        if isinstance(msg, schema.EndMarker):
            self.reader.note_marker(partition, record)
            self.done[partition] = msg
            self.in_span.discard(partition)
            self.reader.consumer.pause(*[tp for tp in self.reader.tps if tp.partition == partition])
        elif not self.live:
            self.chunks.append(msg)
        else:
            for j, seq in enumerate(msg.seq.tolist()):
                if seq < self.next_seq or seq in self.buffer:
                    self.duplicates += 1
                else:
                    self.buffer[seq] = (msg, j, record.timestamp)

    def _finished(self) -> bool:
        return len(self.done) >= min(max(self.run.partitions, 1), len(self.reader.tps))

    def _pump(self) -> None:
        """Take one poll's records; raise when the run has been silent for ``idle`` seconds."""
        for partition, record in self.reader.poll():
            self._take(partition, record)
        idle_s = self.reader.spec.idle_s
        if not self._finished() and time.monotonic() - self.last_progress > idle_s:
            got = self.next_seq + len(self.buffer) if self.live else sum(map(len, self.chunks))
            bootstrap = self.reader.spec.bootstrap
            cause = (
                "is the producer running?"
                if broker_answers(bootstrap)
                else f"the broker at {bootstrap} is down"
            )
            raise StreamError(
                self.reader.where,
                f"run {self.run.run}: no end-of-stream marker after {idle_s:g} s of silence "
                f"({got} of {self.run.count} snapshots received, "
                f"{len(self.done)}/{self.run.partitions} partitions ended; {cause})",
            )

    def end_marker(self) -> schema.EndMarker:
        """Return the run's end marker, once every partition has one that agrees on the count."""
        counts = {m.count for m in self.done.values()}
        if len(counts) != 1:
            raise FeedError(
                self.reader.where, f"run {self.run.run}: end markers disagree on the count ({sorted(counts)})"
            )
        return next(iter(self.done.values()))

    def _bad_seq(self, count: int, seqs: np.ndarray) -> FeedError:
        # ``seqs``: the distinct sequence numbers received, sorted.
        where, run = self.reader.where, self.run.run
        if len(seqs) and seqs[-1] >= count:
            return FeedError(where, f"run {run}: seq {int(seqs[-1])} is beyond the run's count {count}")
        missing = np.setdiff1d(np.arange(count), seqs, assume_unique=True)
        return FeedError(
            where,
            f"run {run}: sequence gap: {len(missing)} of {count} snapshot(s) missing, "
            f"first missing seq {int(missing[0])}",
        )

    def collect(self) -> dict[str, np.ndarray]:
        """Read to the end of the run; return its columns in ``seq`` order, duplicates dropped."""
        while not self._finished():
            self._pump()
        end = self.end_marker()
        if not self.chunks:
            if end.count:
                raise self._bad_seq(end.count, np.zeros(0, dtype=np.int64))
            return {
                name: np.zeros((0, end.levels) if name in schema.BOOK else 0, np.int64)
                for name in schema.FIELDS
            }
        seq = np.concatenate([chunk.seq for chunk in self.chunks])
        order = np.argsort(seq, kind="stable")
        seq = seq[order]
        first = np.ones(len(seq), dtype=bool)
        first[1:] = seq[1:] != seq[:-1]
        # A retried send can land twice; the first copy wins.
        self.duplicates = int(len(seq) - first.sum())
        seq = seq[first]
        if len(seq) != end.count or seq[-1] != end.count - 1:
            raise self._bad_seq(end.count, seq)
        keep = order[first]
        return {
            name: _concat([c.columns[name] for c in self.chunks], end.levels)[keep] for name in schema.FIELDS
        }

    def stream(self) -> Iterator[LiveSnapshot]:
        """Yield the run's snapshots in ``seq`` order as they arrive, with the consumer's lag."""
        while True:
            finished = self._finished()
            if self.next_seq in self.buffer:
                lag = self._lag_messages()
                now_ms = time.time() * 1000
                while self.next_seq in self.buffer:
                    chunk, j, ts_ms = self.buffer.pop(self.next_seq)
                    yield LiveSnapshot(self.next_seq, chunk.snapshot(j), lag, max(0.0, now_ms - ts_ms))
                    self.next_seq += 1
            if finished:
                break
            self._pump()
        count = self.end_marker().count
        if self.buffer or self.next_seq != count:
            got = np.array(sorted([*range(self.next_seq), *self.buffer]), dtype=np.int64)
            raise self._bad_seq(count, got)

    def _lag_messages(self) -> int:
        consumer = self.reader.consumer
        lag = 0
        for tp in self.reader.tps:
            if tp.partition in self.done:
                continue
            high = consumer.highwater(tp)
            if high is not None:
                lag += max(0, high - consumer.position(tp))
        return lag


def _concat(parts: list[np.ndarray], levels: int) -> np.ndarray:
    if parts[0].ndim == 1:
        return np.concatenate(parts)
    # Books narrower than the run's levels (another producer's): pad with empty levels.
    width = max(levels, *(p.shape[1] for p in parts))
    return np.concatenate(
        [p if p.shape[1] == width else np.pad(p, ((0, 0), (0, width - p.shape[1]))) for p in parts]
    )


def read_run(spec: str | KafkaSpec) -> RunRead:
    """Read one whole run (see the module's rules) and return it with the reader's counts.

    Raises
    ------
    StreamError
        When no broker answers, the topic is missing, no run shows up within
        ``wait`` seconds, or the run stalls for ``idle`` seconds before its end.
    FeedError
        When the run has a sequence gap or its end markers disagree.
    """
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    started = time.monotonic()
    reader = _Reader(spec)
    try:
        reader.scan()
        run = reader.wait_for_run(live=False)
        follower = _Follower(reader, run, live=False)
        columns = follower.collect()
    finally:
        reader.close()
    end = follower.end_marker()
    dropped = dict(end.dropped)
    if follower.malformed:
        dropped["malformed_message"] = dropped.get("malformed_message", 0) + follower.malformed
    data = MarketData(
        **columns,
        source=end.source,
        symbol=end.symbol,
        rows_read=end.rows_read,
        dropped=dropped,
    )
    return RunRead(
        data=data,
        run=run.run,
        count=end.count,
        malformed=follower.malformed,
        duplicates=follower.duplicates,
        seconds=time.monotonic() - started,
    )


def read_topic(spec: str, start: str | int | None = None, end: str | int | None = None) -> MarketData:
    """Read one run from ``kafka://HOST:PORT/TOPIC[?run=ID]`` into ``MarketData``, then apply the window.

    The result equals the published ``MarketData``: the same arrays, ``source``,
    ``symbol``, ``rows_read`` and ``dropped``, except that ``dropped`` gains
    ``malformed_message`` when foreign messages were skipped, and
    ``outside_window`` when ``start``/``end`` cut rows (as every feed does).
    ``start``/``end`` take what ``feeds.timeparse.parse_window_bound`` takes.
    """
    data = read_run(spec).data
    if start is None and end is None:
        return data
    day = int(data.ts_event[0]) if len(data) else None
    try:
        start_ns = None if start is None else parse_window_bound(start, day)
        end_ns = None if end is None else parse_window_bound(end, day)
    except ValueError as exc:
        raise FeedError(spec, str(exc)) from None
    return data.window(start_ns, end_ns)


@attrs.define(eq=False)
class LiveRun:
    """A run being followed live: its start marker (venues, span, count), its snapshots as they come,
    and, once they are exhausted, its end marker (the source's ``rows_read`` and ``dropped``)."""

    start: schema.StartMarker
    snapshots: Iterator[LiveSnapshot]
    end: schema.EndMarker | None = None


def open_live(spec: str | KafkaSpec) -> LiveRun:
    """Wait for the run to follow (like ``iter_live``) and return its start marker with the stream.

    The caller must exhaust or close ``snapshots`` (closing it closes the consumer).
    """
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    reader = _Reader(spec)
    try:
        reader.scan()
        run = reader.wait_for_run(live=True)
    except BaseException:
        reader.close()
        raise

    def follow() -> Iterator[LiveSnapshot]:
        try:
            follower = _Follower(reader, run, live=True)
            yield from follower.stream()
            live.end = follower.end_marker()
        finally:
            reader.close()

    live = LiveRun(start=run.start, snapshots=follow())
    return live


def iter_live(spec: str | KafkaSpec) -> Iterator[LiveSnapshot]:
    """Yield the snapshots of a run in progress as they arrive, in ``seq`` order, with the lag.

    Follows the named run, else the latest run in progress, else waits up to
    ``wait`` seconds for the next run to start. Ends after the run's end marker;
    raises like ``read_run`` on faults.
    """
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    reader = _Reader(spec)
    try:
        reader.scan()
        run = reader.wait_for_run(live=True)
        yield from _Follower(reader, run, live=True).stream()
    finally:
        reader.close()
