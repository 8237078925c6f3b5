"""Fixtures for the Kafka tests: a live broker check, unique topics, a small seeded market.

Import the fixtures by name into a test module (``from tests.kafka_fixtures import
kafka_broker, topic``); ``tests/conftest.py`` belongs to the whole suite.

The broker is ``$SOR_KAFKA_BOOTSTRAP`` (127.0.0.1:9092 by default): ``tests/run.sh``
starts one of its own on free ports, with its own state folder (``$SOR_STATE_DIR``),
and exports both, so the tests never touch a broker the user runs.
"""

from __future__ import annotations

import os
import socket
import uuid

import attrs
import numpy as np
import pytest

from feeds.kafka.client import broker_answers
from feeds.market import MarketData

BOOTSTRAP = os.environ.get("SOR_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
T0 = 1_722_519_392_000_000_000  # 2024-08-01T13:36:32Z
VENUES = (2, 5, 38)


@pytest.fixture(scope="session")
def kafka_broker() -> str:
    """Return the bootstrap address of a broker that answers; fail on CI without one, else skip."""
    if broker_answers(BOOTSTRAP, timeout_s=3.0):
        return BOOTSTRAP
    reason = f"no Kafka broker answers at {BOOTSTRAP} (start one with `sor kafka up`)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + "; CI must run the Kafka tests")
    pytest.skip(reason)


@pytest.fixture
def topic(request):
    """Yield a topic name no other test uses; delete the topic afterwards if it was made."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[:60]
    name = f"t-{name}-{uuid.uuid4().hex[:8]}"
    yield name
    drop_topics(BOOTSTRAP, [name])


def drop_topics(bootstrap: str, names: list[str]) -> None:
    """Delete topics and their run indexes, each on its own (one never made must not keep the others)."""
    if not broker_answers(bootstrap, timeout_s=1.0):
        return
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from feeds.kafka.schema import index_topic

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    except KafkaError:
        return
    try:
        for name in [*names, *(index_topic(n) for n in names)]:
            try:
                admin.delete_topics([name])
            except KafkaError:
                pass  # never made, or already gone: nothing to tidy
    finally:
        admin.close()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_market(n: int = 600, levels: int = 10, seed: int = 3, source: str = "test:kafka") -> MarketData:
    """Build a seeded ``n``-row market over three venues, with the edge cases a codec can get wrong.

    Prices near the int64 edge and with all nine decimals, empty levels (0/0),
    several venues at one ``ts_event``, and action/side codes other than letters.
    """
    rng = np.random.default_rng(seed)
    steps = rng.integers(0, 40_000_000, n)
    steps[rng.random(n) < 0.2] = 0  # several venues share a timestamp
    ts = T0 + np.cumsum(steps)
    venue = np.array(VENUES)[rng.integers(0, len(VENUES), n)]
    mid = 222_810_000_000 + rng.integers(-50_000_000, 50_000_000, n)
    tick = 10_000_000 * (1 + np.arange(levels))
    ask_px = mid[:, None] + tick[None, :] + rng.integers(0, 999, (n, levels))
    bid_px = mid[:, None] - tick[None, :] - rng.integers(0, 999, (n, levels))
    ask_sz = rng.integers(1, 5_000, (n, levels))
    bid_sz = rng.integers(1, 5_000, (n, levels))
    empty = rng.random((n, levels)) < 0.1
    ask_px[empty] = 0
    ask_sz[empty] = 0
    price = ask_px[:, 0].copy()
    price[0] = 9_223_372_036_854_775_807  # int64 max survives the trip
    return MarketData(
        ts_event=ts,
        ts_recv=ts + rng.integers(1_000, 90_000, n),
        venue=venue,
        action=np.array([ord(c) for c in "TAMC\x7f"])[rng.integers(0, 5, n)],
        side=np.array([ord(c) for c in 'ABN"'])[rng.integers(0, 4, n)],
        price=price,
        size=rng.integers(0, 1_000, n),
        bid_px=bid_px,
        bid_sz=bid_sz,
        ask_px=ask_px,
        ask_sz=ask_sz,
        source=source,
        symbol="AAPL",
        rows_read=n + 17,
        dropped={"duplicate_ts_venue": 12, "crossed_book": 5},
    )


def assert_same_market(got: MarketData, want: MarketData) -> None:
    """Assert two markets hold the same arrays and metadata."""
    for name in ("ts_event", "ts_recv", "venue", "action", "side", "price", "size"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    for name in ("bid_px", "bid_sz", "ask_px", "ask_sz"):
        assert getattr(got, name).shape == getattr(want, name).shape, name
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    assert (got.source, got.symbol, got.rows_read, got.dropped) == (
        want.source,
        want.symbol,
        want.rows_read,
        want.dropped,
    )


class RawRun:
    """Writes a run message by message, in the order a test needs (gaps, copies, garbage, interleaving).

    Messages go through one producer and are flushed on ``flush``, so within a
    partition they land in the order written. With ``index`` (the default) the run
    index gets a record for each ``start`` and ``end``, as the real producer writes
    them; without, the topic looks like one written by an older producer.
    """

    def __init__(self, bootstrap: str, topic: str, partitions: int = 2, index: bool = True):
        from kafka import KafkaAdminClient, KafkaProducer

        from feeds.kafka.client import ensure_topic
        from feeds.kafka.schema import index_topic

        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            self.partitions, _ = ensure_topic(admin, topic, partitions, topic)
            if index:
                ensure_topic(admin, index_topic(topic), 1, topic)
        finally:
            admin.close()
        self.topic = topic
        self.index = index
        self.starts: dict[str, object] = {}
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)

    def send(self, value: bytes, partition: int | None = None, key: bytes | None = None):
        return self.producer.send(self.topic, value, partition=partition, key=key)

    def _index(self, state: str, run: str, futures) -> None:
        from feeds.kafka import schema

        if not self.index:
            return
        offsets = tuple(f.get(timeout=30).offset for f in futures)
        entry = schema.IndexEntry(state, self.starts[run], offsets)
        self.producer.send(schema.index_topic(self.topic), schema.encode_index(entry), key=run.encode())

    def start(self, md: MarketData, run: str, created_ns: int, venues: tuple[int, ...] | None = None) -> None:
        from feeds.kafka import schema

        n = len(md)
        first = schema.StartMarker(
            run,
            0,
            self.partitions,
            n,
            md.levels,
            md.source,
            md.symbol,
            created_ns,
            md.venues if venues is None else venues,
            int(md.ts_event[0]) if n else 0,
            int(md.ts_event[-1]) if n else 0,
        )
        self.starts[run] = first
        futures = [
            self.send(schema.encode_start(attrs.evolve(first, partition=p)), partition=p)
            for p in range(self.partitions)
        ]
        self._index("start", run, futures)

    def rows(self, md: MarketData, run: str, rows) -> None:
        from feeds.kafka import schema

        encoder = schema.RowEncoder(md, run)
        for i in rows:
            self.send(encoder.encode([i]), key=str(int(md.venue[i])).encode())

    def end(self, md: MarketData, run: str, count: int | None = None) -> None:
        from feeds.kafka import schema

        futures = []
        for p in range(self.partitions):
            marker = schema.EndMarker(
                run,
                p,
                self.partitions,
                len(md) if count is None else count,
                md.levels,
                md.source,
                md.symbol,
                md.rows_read,
                dict(md.dropped),
            )
            futures.append(self.send(schema.encode_end(marker), partition=p))
        self._index("end", run, futures)

    def flush(self) -> None:
        self.producer.flush(timeout=30)

    def close(self) -> None:
        self.producer.close(timeout=5)
