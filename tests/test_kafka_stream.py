"""Publish and read back runs through a real broker: identity, isolation, bad messages, live mode."""

from __future__ import annotations

import io
import threading
import time

import kafka_fixtures
import numpy as np
import pytest
from kafka_fixtures import RawRun, assert_same_market, make_market

from feeds.errors import FeedError
from feeds.kafka.client import StreamError
from feeds.kafka.consumer import iter_live, read_run, read_topic
from feeds.kafka.notices import Notices
from feeds.kafka.producer import publish

# The shared fixtures, by name (tests/conftest.py belongs to the whole suite).
kafka_broker = kafka_fixtures.kafka_broker
topic = kafka_fixtures.topic

pytestmark = [pytest.mark.kafka, pytest.mark.filterwarnings("ignore:(read|open)_text is deprecated")]


def _url(bootstrap: str, topic: str, query: str = "") -> str:
    return f"kafka://{bootstrap}/{topic}{'?' + query if query else ''}"


def test_published_market_reads_back_identical(kafka_broker, topic):
    md = make_market(3000)
    report = publish(md, topic=topic, bootstrap=kafka_broker)
    assert report.snapshots == 3000 and report.partitions == 3
    assert report.messages < 3000  # batched at max speed

    got = read_run(_url(kafka_broker, topic))

    assert got.run == report.run
    assert (got.count, got.malformed, got.duplicates) == (3000, 0, 0)
    assert_same_market(got.data, md)


def test_one_partition_and_single_snapshot_messages_read_back_identical(kafka_broker, topic):
    md = make_market(300, levels=1)
    publish(md, topic=topic, bootstrap=kafka_broker, partitions=1, batch_max=1)
    assert_same_market(read_topic(_url(kafka_broker, topic)), md)


def test_empty_market_reads_back_empty_with_its_levels(kafka_broker, topic):
    md = make_market(50).take(np.zeros(50, dtype=bool))
    publish(md, topic=topic, bootstrap=kafka_broker)
    got = read_topic(_url(kafka_broker, topic))
    assert len(got) == 0 and got.bid_px.shape == (0, 10)
    assert_same_market(got, md)


def test_each_run_on_a_shared_topic_reads_back_alone(kafka_broker, topic):
    first, second = make_market(400, seed=1, source="first"), make_market(500, seed=2, source="second")
    run1 = publish(first, topic=topic, bootstrap=kafka_broker).run
    run2 = publish(second, topic=topic, bootstrap=kafka_broker).run

    assert_same_market(read_topic(_url(kafka_broker, topic)), second)  # latest complete run by default
    assert_same_market(read_topic(_url(kafka_broker, topic, f"run={run1}")), first)
    assert_same_market(read_topic(_url(kafka_broker, topic, f"run={run2}")), second)


def test_runs_published_at_the_same_time_do_not_mix(kafka_broker, topic):
    markets = [make_market(800, seed=s, source=f"m{s}") for s in (4, 5)]
    reports = [None, None]

    def send(k: int) -> None:
        reports[k] = publish(markets[k], topic=topic, bootstrap=kafka_broker, speed=40.0)

    threads = [threading.Thread(target=send, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    for k in (0, 1):
        assert_same_market(read_topic(_url(kafka_broker, topic, f"run={reports[k].run}")), markets[k])


def test_interleaved_runs_and_leftovers_are_ignored(kafka_broker, topic):
    old, a, b = (
        make_market(30, seed=7),
        make_market(40, seed=8, source="a"),
        make_market(40, seed=9, source="b"),
    )
    raw = RawRun(kafka_broker, topic)
    try:
        raw.start(old, "old", created_ns=1)
        raw.rows(old, "old", range(20))  # an abandoned run: never ended
        raw.start(a, "a", created_ns=2)
        raw.start(b, "b", created_ns=3)
        for i in range(40):
            raw.rows(a, "a", [i])
            raw.rows(b, "b", [i])
        raw.end(a, "a")
        raw.end(b, "b")
        raw.flush()
    finally:
        raw.close()

    assert_same_market(read_topic(_url(kafka_broker, topic)), b)
    assert_same_market(read_topic(_url(kafka_broker, topic, "run=a")), a)


def test_malformed_message_inside_a_run_is_counted_and_skipped(kafka_broker, topic):
    md = make_market(60)
    raw = RawRun(kafka_broker, topic)
    try:
        raw.start(md, "r1", created_ns=1)
        raw.rows(md, "r1", range(30))
        raw.send(b"not json at all", partition=0)
        raw.send(b'{"schema": "sor.snapshot/1", "run": "r1", "seq": 3}', partition=1)
        raw.rows(md, "r1", range(30, 60))
        raw.end(md, "r1")
        raw.send(b"garbage after the run", partition=0)  # outside every span: not counted
        raw.flush()
    finally:
        raw.close()

    got = read_run(_url(kafka_broker, topic))

    assert got.malformed == 2
    assert got.data.dropped == {**md.dropped, "malformed_message": 2}
    assert_same_market(got.data.take(np.arange(60), dropped=dict(md.dropped)), md)


def test_a_snapshot_sent_twice_is_kept_once(kafka_broker, topic):
    md = make_market(50)
    raw = RawRun(kafka_broker, topic)
    try:
        raw.start(md, "r", created_ns=1)
        raw.rows(md, "r", range(50))
        raw.rows(md, "r", [17, 3])  # what a retried send would leave behind
        raw.end(md, "r")
        raw.flush()
    finally:
        raw.close()

    got = read_run(_url(kafka_broker, topic))

    assert got.duplicates == 2
    assert_same_market(got.data, md)


def test_a_missing_snapshot_is_a_sequence_gap_error(kafka_broker, topic):
    md = make_market(50)
    raw = RawRun(kafka_broker, topic)
    try:
        raw.start(md, "r", created_ns=1)
        raw.rows(md, "r", [i for i in range(50) if i != 23])
        raw.end(md, "r")
        raw.flush()
    finally:
        raw.close()

    with pytest.raises(FeedError, match="sequence gap: 1 of 50 snapshot.s. missing, first missing seq 23"):
        read_run(_url(kafka_broker, topic))


def test_a_run_without_its_end_marker_times_out_with_what_it_got(kafka_broker, topic):
    md = make_market(20)
    raw = RawRun(kafka_broker, topic)
    try:
        raw.start(md, "cut", created_ns=1)
        raw.rows(md, "cut", range(12))
        raw.flush()
    finally:
        raw.close()

    began = time.monotonic()
    with pytest.raises(StreamError, match=r"run cut: no end-of-stream marker after 1 s .*12 of 20 snapshots"):
        read_run(_url(kafka_broker, topic, "idle=1&wait=1"))
    assert time.monotonic() - began < 10


def test_consumer_started_before_the_producer_waits_for_the_run(kafka_broker, topic):
    md = make_market(500)
    result = {}
    reader = threading.Thread(
        target=lambda: result.setdefault("md", read_topic(_url(kafka_broker, topic, "wait=30")))
    )
    reader.start()
    time.sleep(1.5)  # the topic does not exist yet
    publish(md, topic=topic, bootstrap=kafka_broker, speed=50.0)
    reader.join(timeout=60)
    assert_same_market(result["md"], md)


def test_window_cuts_rows_like_every_feed(kafka_broker, topic):
    md = make_market(400)
    publish(md, topic=topic, bootstrap=kafka_broker)
    lo, hi = int(md.ts_event[100]), int(md.ts_event[300])
    got = read_topic(_url(kafka_broker, topic), start=lo, end=str(hi))
    assert_same_market(got, md.window(lo, hi))
    assert got.dropped["outside_window"] == len(md) - len(got)


def test_live_mode_yields_each_snapshot_in_order_with_its_lag(kafka_broker, topic):
    md = make_market(300)
    live = []

    def follow() -> None:
        live.extend(iter_live(_url(kafka_broker, topic, "wait=30")))

    reader = threading.Thread(target=follow)
    reader.start()
    time.sleep(1.0)
    publish(md, topic=topic, bootstrap=kafka_broker, speed=20.0)
    reader.join(timeout=60)

    assert [s.seq for s in live] == list(range(300))
    assert all(s.snapshot == md.snapshot(s.seq) for s in live)
    assert all(s.lag_messages >= 0 and s.lag_ms >= 0 for s in live)


def test_missing_topic_says_so(kafka_broker, topic):
    with pytest.raises(StreamError, match=f"topic '{topic}' does not exist .*waited 1 s"):
        read_run(_url(kafka_broker, topic, "wait=1"))


def test_topic_without_runs_says_nothing_was_produced(kafka_broker, topic):
    raw = RawRun(kafka_broker, topic)
    raw.close()
    with pytest.raises(StreamError, match="no run on topic .* within 1 s: it is empty"):
        read_run(_url(kafka_broker, topic, "wait=1"))


def test_unknown_run_lists_the_runs_there(kafka_broker, topic):
    run = publish(make_market(10), topic=topic, bootstrap=kafka_broker).run
    with pytest.raises(
        StreamError, match=f"run nope not found .*runs there: {run} \\(10 snapshots, complete, published 20"
    ):
        read_run(_url(kafka_broker, topic, "run=nope&wait=1"))


def test_a_topic_without_run_index_is_scanned_and_the_user_told(kafka_broker, topic):
    md = make_market(80)
    raw = RawRun(kafka_broker, topic, index=False)
    try:
        raw.start(md, "old-producer", created_ns=5)
        raw.rows(md, "old-producer", range(80))
        raw.end(md, "old-producer")
        raw.flush()
    finally:
        raw.close()
    said = io.StringIO()

    got = read_run(_url(kafka_broker, topic), Notices(said))

    assert_same_market(got.data, md)
    assert "has no run index (written by an older producer or by hand)" in said.getvalue()


def test_reading_a_run_fetches_none_of_the_runs_before_it(kafka_broker, topic):
    # One snapshot per message, so the records of each run are easy to count.
    runs = [
        publish(make_market(300, seed=s), topic=topic, bootstrap=kafka_broker, batch_max=1) for s in (1, 2, 3)
    ]
    on_topic = sum(r.messages for r in runs)

    latest = read_run(_url(kafka_broker, topic))
    middle = read_run(_url(kafka_broker, topic, f"run={runs[1].run}"))

    assert latest.run == runs[2].run
    # 300 snapshots + 3 start + 3 end markers, and nothing else fetched.
    assert latest.messages == runs[2].messages == 306
    assert latest.fetched == 306
    # The middle run starts past the first run; what it fetches beyond its end is read-ahead.
    assert middle.messages == 306
    assert 306 <= middle.fetched < on_topic - runs[0].messages + 1
