"""Publish a ``MarketData`` to a Kafka topic as one run of snapshot messages.

A run is: a start marker on every partition, the snapshots in ``seq`` order
(keyed by venue, paced by ``ts_event`` deltas over a speed factor), then an
end-of-stream marker on every partition. The producer is idempotent with
``acks=all``, so a broker restart mid-run neither loses nor duplicates a message.
"""

from __future__ import annotations

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
    """Sends values, remembers the first delivery failure, counts messages and bytes."""

    def __init__(self, producer, topic: str):
        self.producer = producer
        self.topic = topic
        self.messages = 0
        self.bytes = 0
        self.failures = 0
        self.first_error: BaseException | None = None

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        if self.first_error is None:
            self.first_error = exc

    def send(self, value: bytes, key: bytes | None = None, partition: int | None = None) -> None:
        future = self.producer.send(self.topic, value, key=key, partition=partition)
        future.add_errback(self._failed)
        self.messages += 1
        self.bytes += len(value)


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
    sender = _Sender(producer, topic)
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
    try:
        for p in range(partitions):
            sender.send(
                schema.encode_start(
                    schema.StartMarker(
                        partition=p,
                        created_ns=time.time_ns(),
                        venues=data.venues,
                        first_ts=int(data.ts_event[0]) if n else 0,
                        last_ts=int(data.ts_event[-1]) if n else 0,
                        **marker,
                    )
                ),
                partition=p,
            )
        _send_rows(data, run, sender, speed, batch_max, on_progress, clock, sleep)
        for p in range(partitions):
            end = schema.EndMarker(
                partition=p, rows_read=data.rows_read, dropped=dict(data.dropped), **marker
            )
            sender.send(schema.encode_end(end), partition=p)
        producer.flush(timeout=delivery_timeout_s + 5)
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
    for i in range(len(ts)):
        if speed is not None:
            due = t0 + (ts[i] - ts0) / 1e9 / speed
            if due > clock():
                # Everything due is out before we sleep: batching never delays a paced snapshot.
                flush_all()
                wait = due - clock()
                if wait > 0:
                    sleep(wait)
        venue = encoder.venue(i)
        rows = pending.setdefault(venue, [])
        rows.append(i)
        if len(rows) >= batch_max:
            flush(venue)
            if on_progress is not None and sent >= next_report:
                on_progress(sent)
                next_report = sent + 4096
    flush_all()
