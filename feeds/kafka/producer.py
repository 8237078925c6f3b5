"""Publish a ``MarketData`` to a Kafka topic as one run of snapshot messages.

A run is: a start marker on every partition, the snapshots in ``seq`` order
(keyed by venue, paced by ``ts_event`` deltas over a speed factor), then an
end-of-stream marker on every partition. Once the start markers are
acknowledged, their offsets go to the topic's run index (``schema.index_topic``),
and the end markers' offsets once those are, so a consumer seeks to a run instead
of reading the topic from its start. The producer is idempotent with
``acks=all``, so a broker restart mid-run neither loses nor duplicates a message;
it counts the records it had to resend and the longest wait for an
acknowledgement (the longest outage it rode through).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import attrs

from feeds.kafka import schema
from feeds.kafka.client import (
    CONNECT_TIMEOUT_S,
    DEFAULT_BOOTSTRAP,
    DEFAULT_TOPIC,
    StreamError,
    broker_answers,
    ensure_topic,
    open_client,
)
from feeds.market import MarketData

# At --speed max the Python client costs ~30 us per message whatever its size, so
# snapshots of one venue travel together, up to this many per message.
BATCH_MAX = 64
#: A paced snapshot may wait this long for the ones due after it, to leave in one message:
#: the client lingers as long before sending a request anyway.
LINGER_S = 0.005


@attrs.frozen
class StreamReport:
    """What one published run amounted to."""

    run: str
    topic: str
    bootstrap: str
    partitions: int
    snapshots: int
    messages: int
    bytes: int
    seconds: float
    retries: int = 0
    longest_outage_s: float = 0.0

    @property
    def snapshots_per_s(self) -> float:
        return self.snapshots / self.seconds if self.seconds > 0 else float("inf")

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("inf")


def new_run_id() -> str:
    """Return a fresh run id (a uuid4 in hex): it labels messages, never a result."""
    return uuid.uuid4().hex


class _Sender:
    """Sends values; counts messages, bytes and resent records; times the longest wait for an ack.

    The wait for an acknowledgement runs from the moment something is in flight (or
    the previous ack) to the next ack: milliseconds normally, the length of the
    outage when the broker went away and came back. Callbacks run on the client's
    I/O thread, hence the lock.
    """

    def __init__(self, producer, topic: str, clock: Callable[[], float] = time.monotonic):
        self.producer = producer
        self.topic = topic
        self.clock = clock
        self.messages = 0
        self.bytes = 0
        self.failures = 0
        self.retries = 0
        self.longest_stall_s = 0.0
        self.first_error: BaseException | None = None
        self._lock = threading.Lock()
        self._in_flight = 0
        self._since = 0.0
        sensors = getattr(getattr(producer, "_sender", None), "_sensors", None)
        if sensors is not None and hasattr(sensors, "record_retries"):
            # kafka-python keeps only a rate of resent records; count them as they happen.
            original = sensors.record_retries

            def counted(topic: str, count: int) -> None:
                self.retries += count
                original(topic, count)

            sensors.record_retries = counted

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self.failures += 1
            self._in_flight -= 1
            if self.first_error is None:
                self.first_error = exc

    def _acked(self, _meta) -> None:
        now = self.clock()
        with self._lock:
            self.longest_stall_s = max(self.longest_stall_s, now - self._since)
            self._since = now
            self._in_flight -= 1

    def send(self, value: bytes, key: bytes | None = None, partition: int | None = None, topic: str = ""):
        """Hand one value to the client; return its future (``.get()`` gives the offset)."""
        with self._lock:
            if self._in_flight == 0:
                self._since = self.clock()
            self._in_flight += 1
        future = self.producer.send(topic or self.topic, value, key=key, partition=partition)
        future.add_callback(self._acked)
        future.add_errback(self._failed)
        if not topic:
            self.messages += 1
            self.bytes += len(value)
        return future


def publish(
    data: MarketData,
    *,
    topic: str = DEFAULT_TOPIC,
    bootstrap: str = DEFAULT_BOOTSTRAP,
    speed: float | None = None,
    partitions: int = 3,
    run: str | None = None,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    delivery_timeout_s: float = 60.0,
    batch_max: int = BATCH_MAX,
    linger_s: float = LINGER_S,
    on_progress: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> StreamReport:
    """Publish ``data`` to ``topic`` as one run and wait until the broker has acknowledged all of it.

    Parameters
    ----------
    data
        The snapshots to send, in ``ts_event`` order; row ``i`` is sent with ``seq = i``.
    speed
        Replay speed factor: snapshot ``i`` leaves ``(ts_event[i] - ts_event[0]) / speed``
        after the first. ``None`` sends as fast as the broker takes them.
    partitions
        Partition count used when the topic has to be created; an existing topic keeps its own.
    run
        Run id; a fresh uuid4 when ``None``.
    delivery_timeout_s
        How long a message may be retried (a broker restart, say) before the run fails.
    linger_s
        When paced, how long a snapshot may wait for those due after it so they leave
        in one message (per venue); 0 sends each instant as soon as it is due.
    on_progress
        Called with the number of snapshots handed to the client so far.

    Returns
    -------
    StreamReport

    Raises
    ------
    StreamError
        When no broker answers within ``connect_timeout_s``, the topic cannot be
        created, or a message is not acknowledged within ``delivery_timeout_s``.
    """
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.errors import KafkaError

    if speed is not None and not speed > 0:
        raise ValueError(f"speed must be positive or None (max), got {speed!r}")
    run = schema.check_run_id(run or new_run_id())
    where = f"kafka://{bootstrap}/{topic}"
    admin = open_client(KafkaAdminClient, bootstrap, where, connect_timeout_s)
    try:
        partitions, _created = ensure_topic(admin, topic, partitions, where)
        ensure_topic(admin, schema.index_topic(topic), 1, where)
    finally:
        admin.close()

    delivery_ms = int(delivery_timeout_s * 1000)
    request_ms = min(30_000, max(1_000, delivery_ms // 4))
    producer = open_client(
        KafkaProducer,
        bootstrap,
        where,
        connect_timeout_s,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        batch_size=512 * 1024,
        max_request_size=4 * 1024 * 1024,
        delivery_timeout_ms=delivery_ms,
        request_timeout_ms=request_ms,
        max_block_ms=delivery_ms,
        reconnect_backoff_max_ms=1_000,
        retry_backoff_ms=200,
    )
    sender = _Sender(producer, topic, clock)
    n = len(data)
    levels = data.levels if data.bid_px.ndim == 2 else 0
    marker = {
        "run": run,
        "partitions": partitions,
        "count": n,
        "levels": max(levels, 1),
        "source": data.source,
        "symbol": data.symbol,
    }
    started = clock()
    start = schema.StartMarker(
        partition=0,
        created_ns=time.time_ns(),
        venues=data.venues,
        first_ts=int(data.ts_event[0]) if n else 0,
        last_ts=int(data.ts_event[-1]) if n else 0,
        **marker,
    )
    index = schema.index_topic(topic)
    wait_s = delivery_timeout_s + 5
    try:
        futures = [
            sender.send(schema.encode_start(attrs.evolve(start, partition=p)), partition=p)
            for p in range(partitions)
        ]
        offsets = tuple(f.get(timeout=wait_s).offset for f in futures)
        sender.send(
            schema.encode_index(schema.IndexEntry("start", start, offsets)), run.encode(), topic=index
        )
        _send_rows(data, run, sender, speed, batch_max, on_progress, clock, sleep, linger_s)
        futures = []
        for p in range(partitions):
            end = schema.EndMarker(
                partition=p, rows_read=data.rows_read, dropped=dict(data.dropped), **marker
            )
            futures.append(sender.send(schema.encode_end(end), partition=p))
        offsets = tuple(f.get(timeout=wait_s).offset for f in futures)
        entry = schema.IndexEntry("end", start, offsets, messages=sender.messages)
        sender.send(schema.encode_index(entry), run.encode(), topic=index)
        producer.flush(timeout=wait_s)
    except KafkaError as exc:
        _close(producer, 0.0)
        raise StreamError(where, _incomplete(run, bootstrap, delivery_timeout_s, exc)) from None
    except BaseException:
        _close(producer, 0.0)  # interrupted: what is queued is dropped, the run has no end marker
        raise
    _close(producer, 5.0)
    seconds = clock() - started
    if sender.failures:
        raise StreamError(where, _incomplete(run, bootstrap, delivery_timeout_s, sender.first_error))
    return StreamReport(
        run=run,
        topic=topic,
        bootstrap=bootstrap,
        partitions=partitions,
        snapshots=n,
        messages=sender.messages,
        bytes=sender.bytes,
        seconds=seconds,
        retries=sender.retries,
        longest_outage_s=sender.longest_stall_s,
    )


def _incomplete(run: str, bootstrap: str, delivery_timeout_s: float, exc: BaseException | None) -> str:
    down = "" if broker_answers(bootstrap) else f"the broker at {bootstrap} is down; "
    return (
        f"run {run} is incomplete: {down}messages not acknowledged within {delivery_timeout_s:g} s "
        f"({type(exc).__name__})"
    )


def _close(producer, timeout_s: float) -> None:
    from kafka.errors import KafkaError

    try:
        producer.close(timeout=timeout_s)
    except KafkaError:
        # close() flushes first and gives up on undelivered messages by raising;
        # stop the client's sender thread so nothing retries behind our back.
        sender = getattr(producer, "_sender", None)
        if sender is not None:
            sender.force_close()


def _send_rows(
    data: MarketData,
    run: str,
    sender: _Sender,
    speed: float | None,
    batch_max: int,
    on_progress: Callable[[int], None] | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    linger_s: float = 0.0,
) -> None:
    encoder = schema.RowEncoder(data, run)
    ts = data.ts_event.tolist()
    keys: dict[int, bytes] = {}
    pending: dict[int, list[int]] = {}
    sent = 0

    def flush(venue: int) -> None:
        nonlocal sent
        rows = pending.pop(venue)
        key = keys.get(venue) or keys.setdefault(venue, str(venue).encode())
        sender.send(encoder.encode(rows), key=key)
        sent += len(rows)

    def flush_all() -> None:
        for venue in list(pending):
            flush(venue)
        if on_progress is not None:
            on_progress(sent)

    t0 = clock()
    ts0 = ts[0] if ts else 0
    next_report = 4096
    oldest_due = 0.0
    for i in range(len(ts)):
        if speed is not None:
            due = t0 + (ts[i] - ts0) / 1e9 / speed
            if due > clock():
                # Before sleeping, send what would otherwise wait longer than the linger.
                if pending and due > oldest_due + linger_s:
                    flush_all()
                wait = due - clock()
                if wait > 0:
                    sleep(wait)
            if not pending:
                oldest_due = due
        venue = encoder.venue(i)
        rows = pending.setdefault(venue, [])
        rows.append(i)
        if len(rows) >= batch_max:
            flush(venue)
            if on_progress is not None and sent >= next_report:
                on_progress(sent)
                next_report = sent + 4096
    flush_all()
