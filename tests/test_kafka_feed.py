"""A Kafka run as a chunked feed (feeds.feed.Feed): whole instants, bounded window, equal to read_topic."""

from __future__ import annotations

import kafka_fixtures
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka_fixtures import VENUES, assert_same_market, make_market

from feeds.feed import FeedInfo, collect
from feeds.kafka import schema
from feeds.kafka.assemble import SeqWindow
from feeds.kafka.consumer import open_feed, read_topic
from feeds.kafka.notices import Silent
from feeds.kafka.producer import publish

kafka_broker = kafka_fixtures.kafka_broker
topic = kafka_fixtures.topic


def _rows(seqs: list[int]) -> schema.Snapshots:
    seq = np.array(seqs, dtype=np.int64)
    cols = {"seq": seq, **{n: seq * 10 for n in schema.FIELDS if n not in schema.BOOK}}
    cols |= {n: np.stack([seq, seq + 1], axis=1) for n in schema.BOOK}
    return schema.Snapshots("r", cols)


def test_window_puts_rows_in_seq_order_counts_copies_and_hands_out_the_ready_prefix():
    w = SeqWindow(capacity=4, levels=2)
    w.place(_rows([1, 3]))
    assert w.ready == 0  # seq 0 missing
    w.place(_rows([0, 1]))  # 1 again: a copy
    assert (w.ready, w.duplicates, w.received) == (2, 1, 3)
    first = w.take(2)
    assert first["price"].tolist() == [0, 10] and first["ask_px"].tolist() == [[0, 1], [1, 2]]
    assert w.base == 2 and not w.fits(_rows([6])) and w.fits(_rows([5]))
    w.place(_rows([2, 0]))  # 0 is behind the window now: a copy
    assert (w.ready, w.duplicates) == (2, 2)
    w.grow(8)
    w.place(_rows([9, 4]))
    assert w.take(10)["ts_event"].tolist() == [20, 30, 40] and w.seen().tolist() == [9]


@settings(deadline=None)
@given(st.lists(st.integers(0, 59), min_size=1, max_size=200), st.integers(1, 7))
def test_window_of_any_arrival_order_gives_each_seq_once_in_order(arrivals, per_message):
    # Every seq of 0..59 arrives at least once, in any order, some more than once.
    seqs = [*arrivals, *range(60)]
    w = SeqWindow(capacity=60, levels=2)
    for k in range(0, len(seqs), per_message):
        w.place(_rows(seqs[k : k + per_message]))
    assert w.ready == 60 and w.duplicates == len(seqs) - 60
    assert w.take(60)["price"].tolist() == [10 * s for s in range(60)]


@pytest.mark.kafka
def test_feed_chunks_hold_whole_instants_and_collect_to_what_read_topic_gives(kafka_broker, topic):
    md = make_market(3000)  # a fifth of the rows share their instant with the row before
    publish(md, topic=topic, bootstrap=kafka_broker, batch_max=7)
    spec = f"kafka://{kafka_broker}/{topic}"

    feed = open_feed(spec, chunk_rows=100, notices=Silent())
    info = feed.info
    chunks = list(feed.chunks())
    stats = feed.stats()

    assert (info.source, info.venues, info.levels, info.symbol) == ("test:kafka", VENUES, 10, "AAPL")
    assert isinstance(info, FeedInfo) and info.meta["kafka"]["run_id"] == stats.meta["kafka"]["run_id"]
    assert sum(len(c) for c in chunks) == 3000 == stats.snapshots
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.ts_event[-1] < b.ts_event[0]  # no instant split across two chunks
    assert all(100 <= len(c) <= 110 for c in chunks[:-1])
    assert feed.peak_window_rows <= 4 * 100  # the reorder window never grew: memory bounded by it
    whole = read_topic(spec, notices=Silent())
    got = collect(open_feed(spec, chunk_rows=100, notices=Silent()))
    assert_same_market(got, md)
    assert_same_market(got, whole)
    assert got.meta == whole.meta and stats.meta == whole.meta


@pytest.mark.kafka
def test_feed_window_cuts_rows_like_read_topic(kafka_broker, topic):
    md = make_market(500)
    publish(md, topic=topic, bootstrap=kafka_broker)
    spec = f"kafka://{kafka_broker}/{topic}"
    lo, hi = int(md.ts_event[120]), int(md.ts_event[380])
    got = collect(open_feed(spec, lo, hi, chunk_rows=64, notices=Silent()))
    want = read_topic(spec, lo, hi, notices=Silent())
    assert_same_market(got, want)
    assert got.dropped["outside_window"] == len(md) - len(want) > 0
