"""Finding a run on a topic and reading its records: the consumer's machinery under ``consumer``.

- Connect: probe the broker first (``connect`` seconds), then one hand-assigned
  consumer (no group, no committed offsets).
- Find the runs: read the topic's run index (``schema.index_topic``), a few
  records per run, so the time to find a run does not grow with the runs kept on
  the topic. A topic without an index (written by an older producer or by hand)
  is scanned for its markers from offset 0 instead, and the user is told.
- Read a run: seek every partition to the run's start marker and read up to its
  end marker; records of other runs in between are skipped unread (a byte test on
  the run id), a record that is no valid message counts as malformed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import attrs

from feeds.errors import FeedError
from feeds.kafka import schema
from feeds.kafka.client import StreamError, broker_answers, broker_version, open_client, require_broker
from feeds.kafka.notices import Notices
from feeds.timeparse import format_ns

_POLL_MS = 200
#: A fetch brings at most this much per partition: enough for speed, and little read past a run's end.
_FETCH_PARTITION_BYTES = 2 * 1024 * 1024


@attrs.define
class RunInfo:
    """What is known of one run before reading it: its start marker, where it starts and ends."""

    start: schema.StartMarker
    starts: dict[int, int]
    order: int
    ends: dict[int, int] = attrs.field(factory=dict)
    messages: int = 0

    @property
    def run(self) -> str:
        return self.start.run

    @property
    def complete(self) -> bool:
        return len(self.ends) >= self.start.partitions

    def describe(self) -> str:
        s = self.start
        state = "complete" if self.complete else "incomplete"
        when = format_ns(s.created_ns)[:19] + "Z" if s.created_ns > 0 else "unknown time"
        return f"{s.run} ({s.count:,} snapshots, {state}, published {when})"


def describe_runs(runs: list[RunInfo], most: int = 5) -> str:
    """Name the latest ``most`` runs, newest first, and how many more there are."""
    if not runs:
        return "none"
    newest = sorted(runs, key=lambda r: (r.start.created_ns, r.order), reverse=True)
    text = ", ".join(r.describe() for r in newest[:most])
    return text + (f" and {len(runs) - most} older" if len(runs) > most else "")


class Reader:
    """One hand-assigned consumer on a topic and its run index, and the runs it knows of."""

    def __init__(self, spec: Any, notices: Notices):
        self.spec = spec
        self.notices = notices
        self.where = str(spec)
        require_broker(spec.bootstrap, spec.connect_timeout_s, self.where)
        from kafka import KafkaConsumer, TopicPartition

        self._tp = TopicPartition
        version = broker_version(spec.bootstrap, timeout_s=max(0.5, spec.connect_timeout_s))
        self.consumer = open_client(
            KafkaConsumer,
            spec.bootstrap,
            self.where,
            spec.connect_timeout_s,
            **({"api_version": version} if version else {}),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            allow_auto_create_topics=False,
            max_poll_records=10_000,
            max_partition_fetch_bytes=_FETCH_PARTITION_BYTES,
            fetch_max_bytes=4 * _FETCH_PARTITION_BYTES,
            reconnect_backoff_max_ms=1_000,
            request_timeout_ms=15_000,
        )
        self.runs: dict[str, RunInfo] = {}
        self.indexed = False
        self.records_seen = 0
        self.index_tp = None
        self._index_position = 0
        try:
            partitions = self._wait_for_topic()
            self.tps = [TopicPartition(spec.topic, p) for p in sorted(partitions)]
            self._load_runs()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.consumer.close(autocommit=False)

    # ------------------------------------------------------------ topic and runs

    def _wait_for_topic(self) -> set[int]:
        topic, wait_s = self.spec.topic, self.spec.wait_s
        began = time.monotonic()
        deadline = began + wait_s
        while True:
            partitions = self.consumer.partitions_for_topic(topic)
            if partitions:
                self.notices.done()
                return partitions
            if time.monotonic() >= deadline:
                break
            waited = time.monotonic() - began
            self.notices.status(f"waiting for topic {topic!r} to appear ({waited:.0f} of {wait_s:g} s)")
            time.sleep(0.5)
        self.notices.done()
        topics = self.consumer.topics()
        data = sorted(t for t in topics if not t.endswith(schema.INDEX_SUFFIX) and not t.startswith("__"))
        listing = ", ".join(data[:10]) + (f" and {len(data) - 10} more" if len(data) > 10 else "")
        waited = f" (waited {wait_s:g} s)" if wait_s else ""
        raise StreamError(
            self.where,
            f"topic {topic!r} does not exist at {self.spec.bootstrap}{waited}; topics there: "
            f"{listing or 'none'} (produce to it with `sor stream SOURCE --topic {topic}`, "
            "or wait for it with --wait SECONDS)",
        )

    def _assign(self, tps: list) -> None:
        self.consumer.assign(tps)

    def _read_to_end(self, tps: list, take) -> None:
        """Read ``tps`` from their current positions up to their end offsets now."""
        ends = self.consumer.end_offsets(tps)
        deadline = time.monotonic() + max(self.spec.idle_s, 10.0)
        todo = [tp for tp in tps if self.consumer.position(tp) < ends[tp]]
        while todo:
            got = False
            for tp, record in self.poll():
                got = True
                take(tp.partition, record)
            if got:
                deadline = time.monotonic() + max(self.spec.idle_s, 10.0)
            elif time.monotonic() >= deadline:
                raise StreamError(self.where, f"reading the topic stalled ({len(todo)} partition(s) unread)")
            todo = [tp for tp in todo if self.consumer.position(tp) < ends[tp]]

    def _load_runs(self) -> None:
        index = schema.index_topic(self.spec.topic)
        if self.consumer.partitions_for_topic(index):
            self.indexed = True
            self.index_tp = self._tp(index, 0)
            self._assign([self.index_tp])
            self.consumer.seek_to_beginning(self.index_tp)
            self._read_to_end([self.index_tp], self._take_index)
            self._index_position = self.consumer.position(self.index_tp)
            return
        self.notices.say(
            f"topic {self.spec.topic!r} has no run index (written by an older producer or by hand): "
            "reading it from the start to find its runs"
        )
        self._assign(self.tps)
        self.consumer.seek_to_beginning(*self.tps)
        self._read_to_end(self.tps, self._take_marker)

    def _take_index(self, _partition: int, record) -> None:
        try:
            entry = schema.decode_index(record.value)
        except schema.MalformedMessage:
            return
        info = self.runs.get(entry.start.run)
        if info is None:
            info = self.runs[entry.start.run] = RunInfo(entry.start, {}, len(self.runs))
        if entry.state == "start":
            info.starts = dict(enumerate(entry.offsets))
        else:
            if not info.starts:
                return  # an end without its start: the start entry is gone, so is the run's head
            info.ends = dict(enumerate(entry.offsets))
            info.messages = entry.messages

    def _take_marker(self, partition: int, record) -> None:
        if not schema.might_be_marker(record.value):
            return
        try:
            msg = schema.decode(record.value)
        except schema.MalformedMessage:
            return
        if isinstance(msg, schema.StartMarker):
            info = self.runs.get(msg.run)
            if info is None:
                info = self.runs[msg.run] = RunInfo(msg, {}, len(self.runs))
            info.starts.setdefault(partition, record.offset)
        elif isinstance(msg, schema.EndMarker) and msg.run in self.runs:
            self.runs[msg.run].ends.setdefault(partition, record.offset)

    def refresh(self) -> None:
        """Take what was added to the run index (or, unindexed, to the topic) since the last look."""
        if self.indexed:
            self._assign([self.index_tp])
            self.consumer.seek(self.index_tp, self._index_position)
            self._read_to_end([self.index_tp], self._take_index)
            self._index_position = self.consumer.position(self.index_tp)
        else:
            self._read_to_end(self.tps, self._take_marker)

    def poll(self) -> Iterator[tuple[Any, Any]]:
        """Yield ``(topic partition, record)`` for one poll, in offset order per partition."""
        for tp, records in self.consumer.poll(timeout_ms=_POLL_MS).items():
            self.records_seen += len(records)
            for record in records:
                yield tp, record

    # ------------------------------------------------------------ choosing

    def select(self, live: bool) -> tuple[RunInfo | None, list[RunInfo]]:
        """Pick the run to read by ``consumer``'s rules; also return the newer incomplete runs passed over."""
        if self.spec.run is not None:
            return self.runs.get(self.spec.run), []
        started = sorted(self.runs.values(), key=lambda r: (r.start.created_ns, r.order))
        if not live:
            complete = [r for r in started if r.complete]
            if complete:
                chosen = complete[-1]
                newer = [r for r in started[started.index(chosen) + 1 :] if not r.complete]
                return chosen, newer
        running = [r for r in started if not r.complete]
        return (running[-1] if running else None), []

    def wait_for_run(self, live: bool) -> tuple[RunInfo, list[RunInfo]]:
        """Return the run to read (and the runs skipped), waiting up to ``wait`` seconds for one to start."""
        chosen, skipped = self.select(live)
        if chosen is not None:
            return chosen, skipped
        wait_s = self.spec.wait_s
        began = time.monotonic()
        if wait_s > 0:
            self.notices.say(
                f"waiting up to {wait_s:g} s for {self._wanted(live)} on topic {self.spec.topic!r}"
            )
        while chosen is None:
            waited = time.monotonic() - began
            if waited >= wait_s:
                self.notices.done()
                raise StreamError(self.where, self._nothing_found(live))
            self.notices.status(f"waiting for {self._wanted(live)} ({waited:.0f} of {wait_s:g} s)")
            time.sleep(0.2)
            self.refresh()
            chosen, skipped = self.select(live)
        self.notices.done()
        return chosen, skipped

    def _wanted(self, live: bool) -> str:
        if self.spec.run is not None:
            return f"run {self.spec.run}"
        return "a run to start" if live else "a run"

    def _nothing_found(self, live: bool) -> str:
        wait = f" within {self.spec.wait_s:g} s" if self.spec.wait_s else ""
        hint = "; wait for it with --wait SECONDS" if not self.spec.wait_s else ""
        runs = list(self.runs.values())
        if self.spec.run is not None:
            return (
                f"run {self.spec.run} not found on topic {self.spec.topic!r}{wait} "
                f"(runs there: {describe_runs(runs)}){hint}"
            )
        if live and runs:
            latest = max(runs, key=lambda r: (r.start.created_ns, r.order))
            return (
                f"no run in progress on topic {self.spec.topic!r}{wait} "
                f"(latest complete run: {latest.run}; read it with ?run={latest.run}){hint}"
            )
        held = (
            f"it holds {self.records_seen} message(s) but no sor run" if self.records_seen else "it is empty"
        )
        return (
            f"no run on topic {self.spec.topic!r}{wait}: {held} "
            f"(start the producer with `sor stream SOURCE --topic {self.spec.topic}`){hint}"
        )


class Span:
    """Reads one run's records, from its start markers to its end markers, as decoded messages.

    ``messages()`` yields ``(partition, Snapshots)`` in arrival order and ends once every
    partition has delivered its end marker (kept in ``ends``). Raises when the run is
    silent for ``idle`` seconds, or when the index points where the run is not.
    """

    def __init__(self, reader: Reader, info: RunInfo, describe_progress=None):
        self.reader = reader
        self.info = info
        self.run = info.run
        self.ends: dict[int, schema.EndMarker] = {}
        self.malformed = 0
        self.records = 0  # records of the run
        self.fetched = 0  # records of the topic received, the run's and others'
        self.describe_progress = describe_progress or (lambda: "")
        self._tag = b'"run":"' + self.run.encode() + b'"'
        consumer = reader.consumer
        parts = min(info.start.partitions, len(reader.tps))
        self.tps = [tp for tp in reader.tps if tp.partition in info.starts][:parts]
        if len(self.tps) < parts:
            raise FeedError(reader.where, f"run {self.run}: its start marker is missing on some partitions")
        watch = [*self.tps, reader.index_tp] if reader.index_tp is not None else self.tps
        reader._assign(watch)
        first = consumer.beginning_offsets(self.tps)
        for tp in self.tps:
            at = info.starts[tp.partition]
            if at < first[tp]:
                raise FeedError(
                    reader.where,
                    f"run {self.run} is no longer on topic {reader.spec.topic!r}: partition {tp.partition} "
                    f"now starts at offset {first[tp]}, after the run's start ({at}); retention deleted it",
                )
            consumer.seek(tp, at)
        if reader.index_tp is not None:
            consumer.seek(reader.index_tp, reader._index_position)
        self._in_span: set[int] = set()
        self._checked: set[int] = set()

    def _classify(self, partition: int, record) -> schema.Message | bytes | None:
        """Return a marker of the run, the raw value of one of its data messages, or None (not ours)."""
        value = record.value
        head = value[:160] if value is not None else b""
        if self._tag in head and not schema.might_be_marker(value):
            return value  # decoded with the others of this poll, in one go
        if self._tag not in head and b'"run":"' in head:
            return None  # another run's message: not ours to decode
        try:
            msg = schema.decode(value)
        except schema.MalformedMessage:
            if partition in self._in_span:
                self.malformed += 1
            return None
        if msg.run != self.run:
            return None
        return value if isinstance(msg, schema.Snapshots) else msg

    def _check_start(self, tp, record, msg) -> None:
        self._checked.add(tp.partition)
        at = self.info.starts[tp.partition]
        if record.offset != at or not isinstance(msg, schema.StartMarker):
            raise FeedError(
                self.reader.where,
                f"the run index of topic {self.reader.spec.topic!r} puts run {self.run}'s start at offset "
                f"{at} of partition {tp.partition}, but no start marker of it is there (was the topic "
                "deleted and made again? delete its index topic too)",
            )

    def _take_index(self, record) -> None:
        self.reader._take_index(0, record)
        self.reader._index_position = record.offset + 1

    def messages(self) -> Iterator[tuple[int, schema.Snapshots]]:
        """Yield ``(partition, rows)`` as they arrive: per poll, the run's data messages of a partition."""
        spec = self.reader.spec
        consumer = self.reader.consumer
        last_progress = time.monotonic()
        while len(self.ends) < len(self.tps):
            pending: dict[int, list[bytes]] = {}
            ended: dict[int, schema.EndMarker] = {}
            for tp, record in self.reader.poll():
                if tp.topic != spec.topic:
                    self._take_index(record)
                    continue
                self.fetched += 1
                got = self._classify(tp.partition, record)
                if tp.partition not in self._checked:
                    self._check_start(tp, record, got)
                if got is None:
                    continue
                last_progress = time.monotonic()
                self.records += 1
                if isinstance(got, schema.StartMarker):
                    self._in_span.add(tp.partition)
                elif tp.partition not in self._in_span:
                    continue
                elif isinstance(got, schema.EndMarker):
                    ended[tp.partition] = got
                    self._in_span.discard(tp.partition)
                    consumer.pause(tp)
                else:
                    pending.setdefault(tp.partition, []).append(got)
            for partition, values in pending.items():
                rows, malformed = schema.decode_many(values, self.run)
                self.malformed += malformed
                if rows is not None:
                    yield partition, rows
            # A partition counts as ended once its rows before the end marker are out.
            self.ends.update(ended)
            idle = time.monotonic() - last_progress
            if len(self.ends) < len(self.tps):
                self.reader.notices.status(
                    f"run {self.run}: {self.describe_progress()}{len(self.ends)}/{len(self.tps)} partitions "
                    f"ended; waiting for more ({idle:.0f} s quiet, gives up after {spec.idle_s:g} s)"
                )
            if idle > spec.idle_s:
                self.reader.notices.done()
                cause = (
                    "is the producer running?"
                    if broker_answers(spec.bootstrap)
                    else f"the broker at {spec.bootstrap} is down"
                )
                raise StreamError(
                    self.reader.where,
                    f"run {self.run}: no end-of-stream marker after {spec.idle_s:g} s of silence "
                    f"({self.describe_progress()}{len(self.ends)}/{self.info.start.partitions} partitions "
                    f"ended; {cause})",
                )
        self.reader.notices.done()

    def end_marker(self) -> schema.EndMarker:
        """Return the run's end marker, once every partition has one that agrees on the count."""
        counts = {m.count for m in self.ends.values()}
        if len(counts) != 1:
            raise FeedError(
                self.reader.where, f"run {self.run}: end markers disagree on the count ({sorted(counts)})"
            )
        return next(iter(self.ends.values()))

    def lag_messages(self) -> int:
        """Return how many records of the run's partitions are on the broker and not read yet."""
        consumer = self.reader.consumer
        lag = 0
        for tp in self.tps:
            if tp.partition in self.ends:
                continue
            high = consumer.highwater(tp)
            if high is not None:
                lag += max(0, high - consumer.position(tp))
        return lag
