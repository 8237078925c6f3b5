"""The bid-queue outflow estimator on hand-built feeds, every number worked out by hand."""

from __future__ import annotations

import numpy as np
from conftest import SEC, T0, book_row, make_md

from strategies.outflow import OutflowEstimator


def replay(rows, estimator):
    """Feed ``rows`` to ``estimator`` one ``ts_event`` group at a time (the engine may batch more)."""
    md = make_md(rows)
    index = {1: 0, 2: 1}
    venue_index = np.array([index[int(v)] for v in md.venue], dtype=np.int64)
    ts = md.ts_event
    start = 0
    while start < len(md):
        stop = start + 1
        while stop < len(md) and ts[stop] == ts[start]:
            stop += 1
        estimator.update(md.take(slice(start, stop)), venue_index[start:stop])
        start = stop
    return md


def bids(px, sz):
    return dict(bids=[(px, sz)], asks=[("10.05", 100)])


def test_outflow_counts_size_falls_at_same_bid_and_whole_queue_when_level_goes():
    est = OutflowEstimator((1, 2), horizon_ns=2 * SEC, history_ns=10 * SEC, step_ns=SEC, origin_ns=T0)
    rows = [
        book_row(T0, 1, **bids("10.00", 500)),
        book_row(T0, 2, **bids("10.00", 300)),
        # bucket [T0, T0+1s): venue 1 falls 500 -> 350 (150), rises to 400 (0), falls to 380 (20).
        book_row(T0 + SEC // 4, 1, **bids("10.00", 350)),
        book_row(T0 + SEC // 2, 1, **bids("10.00", 400)),
        book_row(T0 + 3 * SEC // 4, 1, **bids("10.00", 380)),
        # bucket [T0+1s, T0+2s): venue 1's level is taken out (380), the new best 9.99 x 700;
        # venue 2 improves to 10.01 (nothing), then falls 200 -> 120 (80).
        book_row(T0 + SEC, 1, **bids("9.99", 700)),
        book_row(T0 + SEC + 1, 2, **bids("10.01", 200)),
        book_row(T0 + SEC + 2, 2, **bids("10.01", 120)),
        # bucket [T0+2s, T0+3s): venue 2's bid side empties (120 out).
        book_row(T0 + 2 * SEC + 5, 2, bids=[], asks=[("10.05", 100)]),
        # a row in bucket [T0+4s, ...) closes buckets 2 and 3 (3 is empty).
        book_row(T0 + 4 * SEC, 1, **bids("9.99", 600)),
    ]
    replay(rows, est)
    # Finished buckets at T0+4s: [170, 0], [380, 80], [0, 120], [0, 0].
    assert est.n_buckets(T0 + 4 * SEC) == 4
    samples = est.samples(T0 + 4 * SEC)
    assert samples.tolist() == [[550, 80], [380, 200], [0, 120]]
    # At T0 + 5 s the bucket holding venue 1's fall of 100 (700 -> 600 at 9.99) is finished too.
    assert est.samples(T0 + 5 * SEC).tolist()[-1] == [100, 0]


def test_no_sample_before_one_whole_horizon_and_none_from_the_future():
    est = OutflowEstimator((1, 2), horizon_ns=2 * SEC, history_ns=10 * SEC, step_ns=SEC, origin_ns=T0)
    rows = [
        book_row(T0, 1, **bids("10.00", 500)),
        book_row(T0 + SEC // 2, 1, **bids("10.00", 400)),
    ]
    replay(rows, est)
    assert not est.ready(T0 + SEC)
    assert est.samples(T0 + SEC).shape == (0, 2)
    assert est.ready(T0 + 2 * SEC)
    assert est.samples(T0 + 2 * SEC).tolist() == [[100, 0]]


def test_rolling_window_forgets_old_buckets():
    est = OutflowEstimator((1, 2), horizon_ns=SEC, history_ns=3 * SEC, step_ns=SEC, origin_ns=T0)
    rows = [book_row(T0, 1, **bids("10.00", 1000))]
    rows += [book_row(T0 + i * SEC + 1, 1, **bids("10.00", 1000 - 10 * (i + 1))) for i in range(6)]
    replay(rows, est)
    # Each bucket after the first has 10 out; only the last 3 finished buckets are kept.
    assert est.samples(T0 + 6 * SEC).tolist() == [[10, 0], [10, 0], [10, 0]]


def test_update_is_cheap_per_book_update():
    import time

    rng = np.random.default_rng(0)
    n = 20_000
    rows = [
        book_row(T0 + i * 10_000_000, 1 + (i % 2), **bids("10.00", int(rng.integers(100, 1000))))
        for i in range(n)
    ]
    est = OutflowEstimator((1, 2), horizon_ns=10 * SEC, history_ns=120 * SEC, origin_ns=T0)
    started = time.perf_counter()
    replay(rows, est)
    per_update = (time.perf_counter() - started) / n
    assert per_update < 50e-6
    assert est.samples(T0 + 200 * SEC).shape[1] == 2
