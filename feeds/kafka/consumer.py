"""Read one run of snapshots back from a Kafka topic, exactly as it was published.

A spec names the topic and optionally the run:
``kafka://127.0.0.1:9092/mock_l1_stream[?run=ID&wait=S&idle=S&connect=S]``.

Timeouts (seconds), each a query key with a default that ``defaults()`` (``sor run
--wait``) can change for specs that leave it out:

- ``connect`` (1.5): how long to keep trying to reach a broker before one line says none answers;
- ``wait`` (0): how long to wait for the topic and for a run to start (0: say at once
  which runs there are);
- ``idle`` (60): how long a run being read may stay silent before its end marker.

Rules, in the order they apply:

- Finding runs: through the topic's run index (``feeds.kafka.reader``), so a run is
  found without reading the runs before it; a topic without an index is scanned.
- Which run: the named one; else, for ``read_topic`` and ``open_feed``, the latest
  complete run (by its start marker's ``created_ns``), with a warning naming every
  newer run that is incomplete (a producer that crashed, or one still running);
  else the latest run in progress; else the first run that starts within ``wait``
  seconds. ``open_live`` follows the latest run in progress or waits for the next.
- A partition's span of the run goes from its start marker to its end marker.
  Messages of other runs in a span are skipped. A message in a span that is no
  valid message of any schema is counted as ``malformed_message`` and skipped.
- Snapshots come out in ``seq`` order, whatever the partition they came from; a
  ``seq`` seen twice (a retried send) is dropped and counted; when every partition
  has its end marker, a missing ``seq`` is an error naming it.

What was read is recorded in ``MarketData.meta`` (and a feed's ``FeedInfo.meta`` /
``FeedStats.meta``), which the result's ``data`` block carries: ``source``, the
Kafka address of the run read (``kafka://HOST:PORT/TOPIC?run=ID``), and ``kafka``:
``bootstrap``, ``topic``, ``run_id``, ``messages``, ``duplicates_dropped``,
``malformed``, ``skipped_incomplete_runs`` and ``origin`` (the source the producer
read). ``MarketData.source`` stays the producer's source, which venue defaults key on.
The run read, the warnings and what the consumer waits for are printed through a
``Notices`` (standard error by default).
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import attrs
import numpy as np

from feeds.errors import FeedError
from feeds.feed import DEFAULT_CHUNK_ROWS, FeedInfo, FeedStats, MemoryFeed
from feeds.kafka import schema
from feeds.kafka.assemble import SeqWindow
from feeds.kafka.client import CONNECT_TIMEOUT_S, DEFAULT_TOPIC
from feeds.kafka.defaults import IDLE_S, WAIT_S
from feeds.kafka.notices import Notices, Silent
from feeds.kafka.reader import Reader, RunInfo, Span
from feeds.market import BookSnapshot, MarketData
from feeds.timeparse import parse_window_bound

_KEYS = {"wait": "wait_s", "idle": "idle_s", "connect": "connect_timeout_s"}
_DEFAULTS: contextvars.ContextVar[tuple[tuple[str, float], ...]] = contextvars.ContextVar(
    "kafka_defaults", default=()
)


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
        return self.url(self.run)

    def url(self, run: str | None) -> str:
        """Return ``kafka://BOOTSTRAP/TOPIC[?run=RUN]``."""
        query = f"?run={run}" if run else ""
        return f"kafka://{self.bootstrap}/{self.topic}{query}"


@contextlib.contextmanager
def defaults(
    *, wait_s: float | None = None, idle_s: float | None = None, connect_timeout_s: float | None = None
):
    """Within the block, specs that do not say ``wait``/``idle``/``connect`` take these values."""
    given = {"wait_s": wait_s, "idle_s": idle_s, "connect_timeout_s": connect_timeout_s}
    for name, value in given.items():
        if value is not None and not value >= 0:
            raise ValueError(f"{name} must be >= 0 seconds, got {value!r}")
    merged = {**dict(_DEFAULTS.get()), **{k: float(v) for k, v in given.items() if v is not None}}
    token = _DEFAULTS.set(tuple(merged.items()))
    try:
        yield
    finally:
        _DEFAULTS.reset(token)


def parse_spec(spec: str) -> KafkaSpec:
    """Parse ``kafka://HOST:PORT/TOPIC[?run=ID&wait=S&idle=S&connect=S]``; raise ``FeedError`` if bad."""
    parts = urlsplit(spec)
    if parts.scheme != "kafka" or not parts.netloc:
        raise FeedError(spec, "not a kafka source: want kafka://HOST:PORT/TOPIC[?run=ID]")
    topic = parts.path.strip("/") or DEFAULT_TOPIC
    if "/" in topic:
        raise FeedError(spec, f"bad topic {topic!r}: a topic name has no '/'")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"run", *_KEYS}
    if unknown:
        raise FeedError(spec, f"unknown query key(s) {sorted(unknown)}: want run, wait, idle, connect")
    given = dict(_DEFAULTS.get())

    def seconds(key: str, default: float) -> float:
        if key not in query:
            return given.get(_KEYS[key], default)
        try:
            value = float(query[key][-1])
        except ValueError:
            raise FeedError(spec, f"{key}={query[key][-1]!r} is not a number of seconds") from None
        if not 0 <= value < 1e9:
            raise FeedError(spec, f"{key} must be between 0 and 1e9 seconds")
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


def _spec(spec: str | KafkaSpec) -> KafkaSpec:
    return parse_spec(spec) if isinstance(spec, str) else spec


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
    messages: int = 0
    skipped: tuple[str, ...] = ()
    fetched: int = 0


def kafka_meta(
    spec: KafkaSpec, info: RunInfo, skipped: list[RunInfo], *, messages: int, duplicates: int, malformed: int
) -> dict[str, object]:
    """Return the ``meta`` entries a run read leaves in the result's ``data`` block."""
    return {
        "source": spec.url(info.run),
        "kafka": {
            "bootstrap": spec.bootstrap,
            "topic": spec.topic,
            "run_id": info.run,
            "messages": int(messages),
            "duplicates_dropped": int(duplicates),
            "malformed": int(malformed),
            "skipped_incomplete_runs": [r.run for r in skipped],
            "origin": info.start.source,
        },
    }


class _Session:
    """One read of one run: the reader, the run chosen, the span, and what to say about them."""

    def __init__(self, spec: KafkaSpec, notices: Notices | None, live: bool):
        self.spec = spec
        self.notices = notices if notices is not None else Notices()
        self.began = time.monotonic()
        self.reader = Reader(spec, self.notices)
        try:
            self.info, self.skipped = self.reader.wait_for_run(live)
            self._announce(live)
        except BaseException:
            self.reader.close()
            raise

    def _announce(self, live: bool) -> None:
        info, say = self.info, self.notices
        for r in self.skipped:
            say.warn(
                f"skipped newer incomplete run {r.describe()}: its producer stopped before the end "
                f"(or is still running); reading run {info.run}. Name a run with ?run=ID"
            )
        state = "" if info.complete else ", in progress"
        say.say(
            f"{'following' if live else 'reading'} run {info.run} ({info.start.count:,} snapshots{state}) "
            f"from {self.spec.url(info.run)}"
        )

    def span(self, progress=None) -> Span:
        return Span(self.reader, self.info, progress)

    def meta(self, span: Span, duplicates: int) -> dict[str, object]:
        return kafka_meta(
            self.spec,
            self.info,
            self.skipped,
            messages=span.records,
            duplicates=duplicates,
            malformed=span.malformed,
        )

    def finish(self, span: Span, duplicates: int) -> None:
        took = time.monotonic() - self.began
        self.notices.say(
            f"read run {self.info.run}: {self.info.start.count:,} snapshots in {span.records:,} messages, "
            f"{duplicates} duplicate(s) dropped, {span.malformed} malformed, in {took:.2f} s"
        )

    def close(self) -> None:
        self.reader.close()


def _bad_seq(where: str, run: str, count: int, seqs: np.ndarray) -> FeedError:
    # ``seqs``: the distinct sequence numbers received, sorted.
    if len(seqs) and seqs[-1] >= count:
        return FeedError(where, f"run {run}: seq {int(seqs[-1])} is beyond the run's count {count}")
    missing = np.setdiff1d(np.arange(count), seqs, assume_unique=True)
    return FeedError(
        where,
        f"run {run}: sequence gap: {len(missing)} of {count} snapshot(s) missing, "
        f"first missing seq {int(missing[0])}",
    )


def _beyond(where: str, run: str, msg: schema.Snapshots, count: int) -> FeedError:
    return FeedError(where, f"run {run}: seq {int(msg.seq.max())} is beyond the run's count {count}")


def read_run(spec: str | KafkaSpec, notices: Notices | None = None) -> RunRead:
    """Read one whole run (see the module's rules) and return it with the reader's counts.

    Raises
    ------
    StreamError
        When no broker answers, the topic is missing, no run shows up within
        ``wait`` seconds, or the run stalls for ``idle`` seconds before its end.
    FeedError
        When the run has a sequence gap or its end markers disagree.
    """
    spec = _spec(spec)
    session = _Session(spec, notices, live=False)
    try:
        start = session.info.start
        count = start.count
        window = SeqWindow(count, start.levels)
        span = session.span(lambda: f"{window.received:,} of {count:,} snapshots, ")
        for _partition, msg in span.messages():
            if not window.fits(msg):
                raise _beyond(session.reader.where, start.run, msg, count)
            window.place(msg)
        end = span.end_marker()
    finally:
        session.close()
    if window.received != end.count or end.count != count:
        raise _bad_seq(session.reader.where, start.run, end.count, window.seen())
    columns = window.take(count) if count else {k: v[:0] for k, v in window.columns.items()}
    dropped = dict(end.dropped)
    if span.malformed:
        dropped["malformed_message"] = dropped.get("malformed_message", 0) + span.malformed
    data = MarketData(
        **columns,
        source=end.source,
        symbol=end.symbol,
        rows_read=end.rows_read,
        dropped=dropped,
        meta=session.meta(span, window.duplicates),
    )
    session.finish(span, window.duplicates)
    return RunRead(
        data=data,
        run=start.run,
        count=end.count,
        malformed=span.malformed,
        duplicates=window.duplicates,
        seconds=time.monotonic() - session.began,
        messages=span.records,
        skipped=tuple(r.run for r in session.skipped),
        fetched=span.fetched,
    )


def _bounds(spec: str, day: int | None, start, end) -> tuple[int | None, int | None]:
    try:
        start_ns = None if start is None else parse_window_bound(start, day)
        end_ns = None if end is None else parse_window_bound(end, day)
    except ValueError as exc:
        raise FeedError(spec, str(exc)) from None
    return start_ns, end_ns


def read_topic(
    spec: str, start: str | int | None = None, end: str | int | None = None, notices: Notices | None = None
) -> MarketData:
    """Read one run from ``kafka://HOST:PORT/TOPIC[?run=ID]`` into ``MarketData``, then apply the window.

    The result equals the published ``MarketData``: the same arrays, ``source``,
    ``symbol``, ``rows_read`` and ``dropped``, except that ``dropped`` gains
    ``malformed_message`` when foreign messages were skipped, and
    ``outside_window`` when ``start``/``end`` cut rows (as every feed does);
    ``meta`` says what was read (see the module docstring).
    ``start``/``end`` take what ``feeds.timeparse.parse_window_bound`` takes.
    """
    data = read_run(spec, notices).data
    if start is None and end is None:
        return data
    day = int(data.ts_event[0]) if len(data) else None
    return data.window(*_bounds(str(spec), day, start, end))


class KafkaFeed:
    """A run on a Kafka topic as a ``feeds.feed.Feed``: chunks of whole instants as the run is read.

    Memory is bounded by the reorder window (``4 * chunk_rows`` rows), not the run:
    a partition whose rows run ahead of the window is paused until the others catch
    up (the window grows only when every partition would wait). ``info`` comes from
    the run's start marker, before any row is read.
    """

    def __init__(self, session: _Session, start_ns: int | None, end_ns: int | None, chunk_rows: int):
        self._session = session
        marker = session.info.start
        self._start_ns, self._end_ns = start_ns, end_ns
        self.chunk_rows = max(1, int(chunk_rows))
        self._info = FeedInfo(
            source=marker.source,
            venues=tuple(sorted(marker.venues)),
            levels=marker.levels,
            symbol=marker.symbol,
            meta=kafka_meta(
                session.spec, session.info, session.skipped, messages=0, duplicates=0, malformed=0
            ),
        )
        self._stats: FeedStats | None = None
        self._used = False
        self.peak_window_rows = 0

    @property
    def info(self) -> FeedInfo:
        return self._info

    def chunks(self) -> Iterator[MarketData]:
        if self._used:
            raise RuntimeError("a KafkaFeed's chunks() can be called once")
        self._used = True
        session = self._session
        marker = session.info.start
        where, count = session.reader.where, marker.count
        window = SeqWindow(min(max(count, 1), 4 * self.chunk_rows), marker.levels)
        self.peak_window_rows = window.capacity
        span = session.span(lambda: f"{window.received:,} of {count:,} snapshots, ")
        consumer = session.reader.consumer
        held: dict[int, list[schema.Snapshots]] = {}
        self._outside = 0
        try:
            for partition, msg in span.messages():
                if int(msg.seq.max()) >= count:
                    raise _beyond(where, marker.run, msg, count)
                rest = msg if partition in held else window.place_fitting(msg)
                if rest is not None:
                    if partition not in held:
                        consumer.pause(*[tp for tp in span.tps if tp.partition == partition])
                    held.setdefault(partition, []).append(rest)
                yield from self._settle(window, held, span)
            end = span.end_marker()
            yield from self._settle(window, held, span)
            if window.received != end.count or end.count != count:
                raise _bad_seq(where, marker.run, end.count, window.seen())
            yield from self._drain(window, final=True)
        finally:
            session.close()
        dropped = dict(end.dropped)
        if span.malformed:
            dropped["malformed_message"] = dropped.get("malformed_message", 0) + span.malformed
        if self._outside:
            dropped["outside_window"] = dropped.get("outside_window", 0) + self._outside
        self._stats = FeedStats(
            rows_read=end.rows_read,
            snapshots=end.count - self._outside,
            dropped=dropped,
            meta=session.meta(span, window.duplicates),
        )
        session.finish(span, window.duplicates)

    def _settle(
        self, window: SeqWindow, held: dict[int, list[schema.Snapshots]], span: Span
    ) -> Iterator[MarketData]:
        """Place held rows and hand out chunks until neither moves; grow the window only when stuck."""
        consumer = span.reader.consumer
        while True:
            moved = False
            for partition in list(held):
                msgs = held[partition]
                while msgs:
                    before = window.received + window.duplicates
                    rest = window.place_fitting(msgs[0])
                    moved |= window.received + window.duplicates != before
                    if rest is not None:
                        msgs[0] = rest
                        break
                    msgs.pop(0)
                if not msgs:
                    del held[partition]
                    consumer.resume(*[tp for tp in span.tps if tp.partition == partition])
            for chunk in self._drain(window):
                moved = True
                yield chunk
            if moved or not held:
                if not moved:
                    return
                continue
            unended = [tp.partition for tp in span.tps if tp.partition not in span.ends]
            if any(p not in held for p in unended):
                return  # a partition still reading may fill the gap
            # Every partition that could fill the gap waits behind rows beyond the window: grow it.
            window.grow(2 * window.capacity)
            self.peak_window_rows = max(self.peak_window_rows, window.capacity)

    def _drain(self, window: SeqWindow, final: bool = False) -> Iterator[MarketData]:
        """Yield chunks of whole instants from the ready rows (all of them when ``final``)."""
        while window.ready and (final or window.ready >= self.chunk_rows):
            ts = window.columns["ts_event"]
            ready = window.ready
            at = min(self.chunk_rows, ready)
            # Extend the chunk to the end of the instant its last row belongs to.
            at = int(np.searchsorted(ts[:ready], ts[at - 1], side="right"))
            if at == ready and not final:
                if ready < window.capacity:
                    return  # the instant may go on in rows not here yet
                window.grow(2 * window.capacity)
                self.peak_window_rows = max(self.peak_window_rows, window.capacity)
                return
            chunk = self._clip(
                MarketData(**window.take(at), source=self._info.source, symbol=self._info.symbol)
            )
            if len(chunk):
                yield chunk

    def _clip(self, chunk: MarketData) -> MarketData:
        if self._start_ns is None and self._end_ns is None:
            return chunk
        mask = np.ones(len(chunk), dtype=bool)
        if self._start_ns is not None:
            mask &= chunk.ts_event >= self._start_ns
        if self._end_ns is not None:
            mask &= chunk.ts_event <= self._end_ns
        if mask.all():
            return chunk
        self._outside += int(len(chunk) - mask.sum())
        return chunk.take(mask)

    def stats(self) -> FeedStats:
        if self._stats is None:
            raise RuntimeError("stats() is known once chunks() is exhausted")
        return self._stats


def open_feed(
    spec: str | KafkaSpec,
    start: str | int | None = None,
    end: str | int | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    notices: Notices | None = None,
):
    """Open the run ``spec`` names (by the module's rules) as a ``Feed`` read chunk by chunk.

    ``start``/``end`` cut rows to ``[start, end]`` (counted ``outside_window``); a time
    of day is taken on the UTC day of the run's first ``ts_event``. A run whose start
    marker does not announce its venues (an older producer) is read whole and served
    from memory. Connection, topic and run faults raise here, before the first chunk.
    """
    spec = _spec(spec)
    session = _Session(spec, notices, live=False)
    marker = session.info.start
    if not marker.venues or (marker.count and not marker.last_ts):
        session.close()
        md = read_run(spec, Silent()).data
        day = int(md.ts_event[0]) if len(md) else None
        if start is not None or end is not None:
            md = md.window(*_bounds(str(spec), day, start, end))
        return MemoryFeed(md, chunk_rows)
    try:
        start_ns, end_ns = _bounds(str(spec), marker.first_ts or None, start, end)
    except BaseException:
        session.close()
        raise
    return KafkaFeed(session, start_ns, end_ns, chunk_rows)


@attrs.define(eq=False)
class LiveRun:
    """A run being followed live: its start marker (venues, span, count), its snapshots as they come,
    and, once they are exhausted, its end marker (the source's ``rows_read`` and ``dropped``) and
    ``meta`` (what was read, as for ``read_topic``)."""

    start: schema.StartMarker
    snapshots: Iterator[LiveSnapshot]
    end: schema.EndMarker | None = None
    meta: dict[str, object] = attrs.field(factory=dict)


def _follow(session: _Session, live: LiveRun | None) -> Iterator[LiveSnapshot]:
    marker = session.info.start
    where, count = session.reader.where, marker.count
    buffer: dict[int, tuple[schema.Snapshots, int, int]] = {}
    next_seq = duplicates = 0
    span = session.span(lambda: f"{next_seq + len(buffer):,} of {count:,} snapshots, ")
    try:
        for _partition, msg in span.messages():
            ts_ms = int(time.time() * 1000)
            for j, seq in enumerate(msg.seq.tolist()):
                if seq < next_seq or seq in buffer:
                    duplicates += 1
                else:
                    buffer[seq] = (msg, j, ts_ms)
            if next_seq in buffer:
                lag = span.lag_messages()
                now_ms = time.time() * 1000
                while next_seq in buffer:
                    chunk, j, got_ms = buffer.pop(next_seq)
                    yield LiveSnapshot(next_seq, chunk.snapshot(j), lag, max(0.0, now_ms - got_ms))
                    next_seq += 1
        end = span.end_marker()
        if buffer or next_seq != end.count:
            got = np.array(sorted([*range(next_seq), *buffer]), dtype=np.int64)
            raise _bad_seq(where, marker.run, end.count, got)
    finally:
        session.close()
    session.finish(span, duplicates)
    if live is not None:
        live.end = end
        live.meta = session.meta(span, duplicates)


def open_live(spec: str | KafkaSpec, notices: Notices | None = None) -> LiveRun:
    """Wait for the run to follow (the named one, else the latest in progress, else the next to start).

    Returns its start marker with the stream of its snapshots; the caller must
    exhaust or close ``snapshots`` (closing it closes the consumer).
    """
    session = _Session(_spec(spec), notices, live=True)
    live = LiveRun(start=session.info.start, snapshots=iter(()))
    live.snapshots = _follow(session, live)
    return live


def iter_live(spec: str | KafkaSpec, notices: Notices | None = None) -> Iterator[LiveSnapshot]:
    """Yield the snapshots of a run in progress as they arrive, in ``seq`` order, with the lag.

    Follows the run ``open_live`` picks. Ends after the run's end marker; raises like
    ``read_run`` on faults.
    """
    return open_live(spec, notices).snapshots
