"""The feed contract: chunks of whole instants, and a feed read back whole equals its data."""

from __future__ import annotations

import numpy as np

from feeds.feed import MemoryFeed, collect, instant_cuts
from feeds.synthetic import SynthConfig, generate
from tests.conftest import T0, book_row, make_md


def test_cuts_never_split_an_instant():
    ts = np.array([1, 1, 2, 2, 2, 3, 4, 4])
    # Asked for 2-row chunks: the cut after row 2 moves past the instant ts=2.
    assert instant_cuts(ts, 2) == [0, 2, 5, 8]
    assert instant_cuts(ts, 100) == [0, 8]
    assert instant_cuts(ts[:0], 4) == [0]


def test_memory_feed_reads_back_identically_in_small_chunks():
    md = generate(SynthConfig(seconds=5, seed=3))
    feed = MemoryFeed(md, chunk_rows=37)
    chunks = list(feed.chunks())
    assert len(chunks) > 1
    assert all(c.ts_event[-1] < d.ts_event[0] for c, d in zip(chunks, chunks[1:], strict=False))
    back = collect(MemoryFeed(md, chunk_rows=37))
    for name in ("ts_event", "venue", "price", "bid_px", "ask_sz"):
        assert np.array_equal(getattr(back, name), getattr(md, name))
    assert feed.info.venues == md.venues
    assert feed.stats().snapshots == len(md)


def test_info_and_stats_carry_the_sources_meta():
    md = make_md([book_row(T0, 2, asks=[("10.00", 100)], bids=[("9.99", 100)])])
    md = md.take(slice(0, 1), meta={"instrument_id": 7})
    feed = MemoryFeed(md)
    assert feed.info.meta == {"instrument_id": 7}
    assert collect(feed).meta == {"instrument_id": 7}
