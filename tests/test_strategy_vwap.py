"""VWAP: the proportional split with its remainder rule, by hand and in the engine."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from conftest import SEC, T0, book_row, make_md, run_engine, venue

from feeds.market import price_to_units as usd
from strategies.vwap import Vwap, proportional_split


def split(remaining, sizes):
    return proportional_split(remaining, np.array(sizes)).tolist()


def test_proportional_split_gives_leftover_to_largest_remainder():
    # S = 600, R = 500: 500*300/600 = 250, 500*200/600 = 166 r 400/600, 500*100/600 = 83 r 200/600.
    # Sum 499, leftover 1 -> venue 1 (largest remainder) -> 250, 167, 83.
    assert split(500, [300, 200, 100]) == [250, 167, 83]


def test_proportional_split_breaks_remainder_ties_by_lower_venue_index():
    # S = 300: R = 100 -> 33 r 1/3 each, leftover 1 -> venue 0.
    assert split(100, [100, 100, 100]) == [34, 33, 33]
    # R = 200 -> 66 r 2/3 each, leftover 2 -> venues 0 and 1.
    assert split(200, [100, 100, 100]) == [67, 67, 66]
    # Venue 0 is empty: R = 1 over [0, 5, 5] -> 0 r 0, 0 r 1/2, 0 r 1/2 -> venue 1.
    assert split(1, [0, 5, 5]) == [0, 1, 0]


def test_proportional_split_takes_everything_when_remaining_covers_it():
    assert split(600, [300, 200, 100]) == [300, 200, 100]
    assert split(5000, [300, 200, 100]) == [300, 200, 100]
    assert split(100, [0, 0, 0]) == [0, 0, 0]
    assert split(0, [300, 200, 100]) == [0, 0, 0]


def reference_split(remaining, sizes):
    """The rule with exact fractions, written independently of the implementation."""
    total = sum(sizes)
    if total == 0 or remaining <= 0:
        return [0] * len(sizes)
    if remaining >= total:
        return list(sizes)
    shares = [Fraction(remaining * s, total) for s in sizes]
    out = [int(x) for x in shares]  # floor: all non-negative
    order = sorted(range(len(sizes)), key=lambda k: (-(shares[k] - out[k]), k))
    for k in order[: remaining - sum(out)]:
        out[k] += 1
    return out


def test_proportional_split_matches_exact_reference_on_random_books():
    rng = np.random.default_rng(3)
    for _ in range(3000):
        k = int(rng.integers(1, 6))
        sizes = [int(x) for x in rng.choice([0, 1, 7, 50, 100, 150, 333, 1000], size=k)]
        remaining = int(rng.integers(0, sum(sizes) + 50))
        got = split(remaining, sizes)
        assert got == reference_split(remaining, sizes)
        assert sum(got) == min(remaining, sum(sizes))
        assert all(0 <= q <= s for q, s in zip(got, sizes, strict=True))


def three_venue_market():
    # Fees A 0.003, B 0.001, C 0. Target 1000.
    # t0: A 10.00x300, B 10.01x200, C 10.02x100 -> S = 600 <= R = 1000: take all 600.
    # t1: A 10.00x550, B 10.01x550 -> offered A 550-300 = 250, B 550-200 = 350, C 0 (ours); S = 600.
    #     R = 400: A 400*250/600 = 166 r 400, B 400*350/600 = 233 r 200 -> 399, leftover 1 -> A.
    #     A 167, B 233.
    # t2: C 9.50x1000: target done, nothing.
    # t3: A 9.00x1000: nothing.
    return make_md(
        [
            book_row(T0, 1, asks=[("10.00", 300)]),
            book_row(T0, 2, asks=[("10.01", 200)]),
            book_row(T0, 3, asks=[("10.02", 100)]),
            book_row(T0 + SEC, 1, asks=[("10.00", 550)]),
            book_row(T0 + SEC, 2, asks=[("10.01", 550)]),
            book_row(T0 + 2 * SEC, 3, asks=[("9.50", 1000)]),
            book_row(T0 + 3 * SEC, 1, asks=[("9.00", 1000)]),
        ]
    )


def test_vwap_splits_by_offered_size_with_remainder_rule():
    venues = [venue(1, fee="0.003"), venue(2, fee="0.001"), venue(3)]
    _, ledger = run_engine(three_venue_market(), venues, Vwap, target=1000)
    fills = sorted((f.ts, f.venue, int(f.qty[0])) for f in ledger.fills)
    assert fills == [(T0, 0, 300), (T0, 1, 200), (T0, 2, 100), (T0 + SEC, 0, 167), (T0 + SEC, 1, 233)]
    # Notional: 3000 + 2002 + 1002 + 1670 + 2332.33 = 10006.33.
    # Fees: A 467 x 0.003 = 1.401; B 433 x 0.001 = 0.433 -> 1.834. Cash 10008.164.
    assert int(ledger.filled[0]) == 1000
    assert int(ledger.notional[0]) == usd("10006.33")
    assert int(ledger.fees[0]) == usd("1.834")
    assert int(ledger.cash[0]) == usd("10008.164")
    assert int(ledger.catch_up[0]) == 0


def test_vwap_catch_up_buys_the_rest_from_the_last_books():
    # t0: A 10.00x300, B 10.01x200 (10.05x1000 behind) -> S = 500 <= R = 1000: take 500.
    # t1: A shows the same 300 (ours): offered 0 everywhere, nothing. Window ends.
    # Catch-up: the level-0 sizes are ours; B's 10.05 level gives 500 -> 5025.
    md = make_md(
        [
            book_row(T0, 1, asks=[("10.00", 300)]),
            book_row(T0, 2, asks=[("10.01", 200), ("10.05", 1000)]),
            book_row(T0 + SEC, 1, asks=[("10.00", 300)]),
        ]
    )
    _, ledger = run_engine(md, [venue(1), venue(2)], Vwap, target=1000)
    assert int(ledger.filled[0]) == 1000
    assert int(ledger.catch_up[0]) == 500
    assert int(ledger.cash[0]) == usd("3000") + usd("2002") + usd("5025")
