"""The market sampler against a slow reference: the same grid and prices, however the feed is chunked."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.feed import MemoryFeed
from feeds.market import MarketData, units_to_decimal
from feeds.synthetic import SynthConfig, generate
from sim.market import MarketSampler

MARKET_POINTS = 2000


def market_series(md: MarketData, start_ns: int, end_ns: int, points: int = MARKET_POINTS) -> dict[str, list]:
    """The whole data at once: each grid point reads every venue's last row at or before it."""
    if len(md) == 0 or end_ns <= start_ns:
        return {"ts_ns": [], "best_bid": [], "best_ask": []}
    n = min(points, max(2, len(md)))
    span = end_ns - start_ns
    grid = np.array([start_ns + span * i // (n - 1) for i in range(n)], dtype=np.int64)
    best_ask = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    best_bid = np.zeros(n, dtype=np.int64)
    for v in md.venues:
        rows = np.flatnonzero(md.venue == v)
        pos = np.searchsorted(md.ts_event[rows], grid, side="right") - 1
        ok = pos >= 0
        r = rows[np.clip(pos, 0, None)]
        ask = np.where(ok & (md.ask_sz[r, 0] > 0), md.ask_px[r, 0], np.iinfo(np.int64).max)
        bid = np.where(ok & (md.bid_sz[r, 0] > 0), md.bid_px[r, 0], 0)
        best_ask = np.minimum(best_ask, ask)
        best_bid = np.maximum(best_bid, bid)
    none = np.iinfo(np.int64).max
    return {
        "ts_ns": [int(t) for t in grid],
        "best_bid": [units_to_decimal(int(b)) if b > 0 else None for b in best_bid],
        "best_ask": [units_to_decimal(int(a)) if a != none else None for a in best_ask],
    }


@settings(max_examples=40, deadline=None)
@given(
    seconds=st.sampled_from([0.05, 1, 5, 30]),
    seed=st.integers(0, 50),
    chunk=st.integers(1, 5000),
    trim=st.integers(0, 10**9),
)
def test_sampler_matches_the_whole_data_reference_for_any_chunking(seconds, seed, chunk, trim):
    md = generate(SynthConfig(seconds=seconds, seed=seed, venues=3))
    start, end = int(md.ts_event[0]) + trim % 1000, int(md.ts_event[-1]) - trim % 777
    sampler = MarketSampler(start, end)
    for part in MemoryFeed(md, chunk_rows=chunk).chunks():
        sampler.observe(part)
    assert sampler.series() == market_series(md, start, end)


def test_a_short_feed_gets_one_point_per_row_and_an_empty_side_is_none():
    # Three rows, so three grid points; venue 2's ask side is empty.
    from tests.conftest import T0, book_row, make_md

    md = make_md(
        [
            book_row(T0, 1, asks=[("10.02", 5)], bids=[("10.00", 5)]),
            book_row(T0 + 10, 2, bids=[("10.01", 5)]),
            book_row(T0 + 20, 1, asks=[("10.03", 5)], bids=[("9.99", 5)]),
        ]
    )
    sampler = MarketSampler(T0, T0 + 20)
    sampler.observe(md)
    got = sampler.series()
    # Exact to the nanosecond: a float grid would round these 10 ns steps away at 1.7e18 ns.
    assert got["ts_ns"] == [T0, T0 + 10, T0 + 20]
    assert [str(x) for x in got["best_bid"]] == ["10", "10.01", "10.01"]
    assert [str(x) for x in got["best_ask"]] == ["10.02", "10.02", "10.03"]
