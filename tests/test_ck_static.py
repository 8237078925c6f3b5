"""The trial's static allocator: the fast exact solver against the brute force, and in the engine."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from conftest import SEC, T0, book_row, make_md, run_engine, venue
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.market import PRICE_SCALE
from feeds.market import price_to_units as usd
from strategies.base import ParameterError
from strategies.ck_static import CkStatic, allocate, allocate_lanes

STEP = 100


def brute_allocate(remaining, ask_px, ask_sz, fee, rebate, lambda_over, lambda_under, theta_queue):
    """The trial's enumeration, verbatim in meaning: venue 0 outermost, quantities ascending.

    Money is exact: cash in 1e-9 dollars as Python ints, the penalties (dollars per
    share) as exact fractions scaled to the same units; a strict ``<`` keeps the
    first split found on a tie.
    """
    splits = [[]]
    for v in range(len(ask_px)):
        grown = []
        for alloc in splits:
            cap = min(remaining - sum(alloc), ask_sz[v])
            for q in range(0, cap + 1, STEP):
                grown.append(alloc + [q])
        splits = grown
    best, best_cost = None, None
    for alloc in splits:
        if sum(alloc) != remaining:
            continue
        cost = split_cost(
            alloc, remaining, ask_px, ask_sz, fee, rebate, lambda_over, lambda_under, theta_queue
        )
        if best_cost is None or cost < best_cost:
            best, best_cost = alloc, cost
    return best


def split_cost(alloc, target, ask_px, ask_sz, fee, rebate, lambda_over, lambda_under, theta_queue):
    cash = 0
    executed_total = 0
    for q, px, sz, f, r in zip(alloc, ask_px, ask_sz, fee, rebate, strict=True):
        executed = min(q, sz)
        executed_total += executed
        cash += executed * (px + f)
        cash -= max(q - executed, 0) * r
    under = max(target - executed_total, 0)
    over = max(executed_total - target, 0)
    penalty = (
        Fraction(theta_queue) * (under + over) + Fraction(lambda_under) * under + Fraction(lambda_over) * over
    )
    return Fraction(cash) + penalty * PRICE_SCALE


def random_book(rng: np.random.Generator, k: int):
    # Few distinct prices and fees, so that ask + fee ties are frequent, also across
    # different (price, fee) pairs: 10.00 + 0.01 == 10.01 + 0.
    ask_px = [usd(rng.choice(["10.00", "10.01", "10.02"])) for _ in range(k)]
    fee = [usd(rng.choice(["0", "0.003", "0.01"])) for _ in range(k)]
    rebate = [usd(rng.choice(["0", "0.002"])) for _ in range(k)]
    pool = [0, 0, 50, 99, 100, 150, 200, 250, 300, 399, 400, 500, 1000]
    ask_sz = [int(rng.choice(pool)) if rng.random() < 0.7 else int(rng.integers(0, 700)) for _ in range(k)]
    return ask_px, ask_sz, fee, rebate


def random_remaining(rng: np.random.Generator, k: int) -> int:
    top = {1: 20, 2: 20, 3: 14, 4: 10, 5: 8}[k]
    if rng.random() < 0.15:
        return int(rng.integers(0, top * STEP))  # mostly not a multiple of 100: infeasible
    return int(rng.integers(0, top + 1)) * STEP


def as_list(split):
    return None if split is None else [int(x) for x in split]


def test_fast_allocator_matches_brute_force_on_random_books():
    rng = np.random.default_rng(20240801)
    feasible = ties = 0
    for _ in range(4000):
        k = int(rng.integers(1, 6))
        ask_px, ask_sz, fee, rebate = random_book(rng, k)
        remaining = random_remaining(rng, k)
        expected = brute_allocate(remaining, ask_px, ask_sz, fee, rebate, 0.4, 0.6, 0.3)
        got = as_list(allocate(remaining, ask_px, ask_sz, fee, rebate, 0.4, 0.6, 0.3))
        assert got == expected, (remaining, ask_px, ask_sz, fee)
        if expected is not None:
            feasible += 1
            costs = [p + f for p, f in zip(ask_px, fee, strict=True)]
            ties += len(set(costs)) < len(costs)
    # The sample must exercise both outcomes and many ties, or the comparison proves little.
    assert feasible > 1500
    assert ties > 800


@settings(max_examples=600, deadline=None)
@given(
    data=st.data(),
    k=st.integers(1, 5),
    lambda_over=st.floats(0, 1e6),
    lambda_under=st.floats(0, 1e6),
    theta_queue=st.floats(0, 1e6),
)
def test_fast_allocator_matches_brute_force_hypothesis(data, k, lambda_over, lambda_under, theta_queue):
    top = {1: 20, 2: 20, 3: 12, 4: 9, 5: 7}[k]
    px = st.sampled_from([usd("10.00"), usd("10.01"), usd("10.02")])
    ask_px = data.draw(st.lists(px, min_size=k, max_size=k))
    fee = data.draw(st.lists(st.sampled_from([0, usd("0.003"), usd("0.01")]), min_size=k, max_size=k))
    rebate = data.draw(st.lists(st.sampled_from([0, usd("0.002")]), min_size=k, max_size=k))
    ask_sz = data.draw(st.lists(st.integers(0, top * STEP + 50), min_size=k, max_size=k))
    remaining = data.draw(st.integers(0, top).map(lambda n: n * STEP) | st.integers(0, top * STEP))
    args = (remaining, ask_px, ask_sz, fee, rebate, lambda_over, lambda_under, theta_queue)
    assert as_list(allocate(*args)) == brute_allocate(*args)


def test_parameters_never_change_the_decision():
    rng = np.random.default_rng(7)
    for _ in range(400):
        k = int(rng.integers(1, 5))
        ask_px, ask_sz, fee, rebate = random_book(rng, k)
        remaining = random_remaining(rng, k)
        base = brute_allocate(remaining, ask_px, ask_sz, fee, rebate, 0, 0, 0)
        for _ in range(3):
            lo, lu, th = (float(x) for x in rng.uniform(0, 100, size=3))
            # The doc's cost with the penalties, exactly: the same split wins...
            assert brute_allocate(remaining, ask_px, ask_sz, fee, rebate, lo, lu, th) == base
            # ...and the fast allocator, given them, agrees.
            assert as_list(allocate(remaining, ask_px, ask_sz, fee, rebate, lo, lu, th)) == base


def test_tie_at_marginal_cost_fills_later_venue_first():
    # Venues 0 and 2 both cost 10.00 + 0.003; venue 1 costs 10.01. Need 500 = 5 lots from
    # the 3 + 4 tied lots: enumeration meets (100, 0, 400) first, before (200, 0, 300)...
    ask_px = [usd("10.00"), usd("10.01"), usd("10.00")]
    fee = [usd("0.003"), 0, usd("0.003")]
    split = allocate(500, ask_px, [300, 200, 400], fee, [0, 0, 0], 0.4, 0.6, 0.3)
    assert as_list(split) == [100, 0, 400]


def test_no_split_when_lots_cannot_sum_to_what_remains():
    px, fee, rebate = [usd("10.00")] * 3, [0] * 3, [0] * 3
    # 199 + 100 + 150 shows 399 shares but only 1 + 1 + 1 whole lots: 300 < 400.
    assert allocate(400, px, [199, 100, 150], fee, rebate, 0.4, 0.6, 0.3) is None
    # Not a multiple of 100: no split of lots sums to it, however much is shown.
    assert allocate(250, px, [1000, 1000, 1000], fee, rebate, 0.4, 0.6, 0.3) is None
    # Exactly coverable: every lot is used.
    assert as_list(allocate(300, px, [199, 100, 150], fee, rebate, 0.4, 0.6, 0.3)) == [100, 100, 100]


def test_lanes_allocate_independently():
    ask_px = np.array([usd("10.00"), usd("10.01"), usd("10.00")])
    fee = np.array([usd("0.003"), 0, usd("0.003")])
    need = np.array([500, 500, 700, 250, 0])
    offered = np.array([[300, 200, 400], [300, 200, 0], [300, 200, 400], [300, 200, 400], [300, 200, 400]])
    split, feasible = allocate_lanes(need, ask_px, offered, fee)
    # lane 1: venue 2 shows nothing for it -> 300 @ venue 0, 200 @ venue 1.
    # lane 2: 7 tied lots cover 700 exactly. lane 3: 250 is not a lot multiple.
    assert feasible.tolist() == [True, True, True, False, True]
    assert split.tolist() == [[100, 0, 400], [300, 200, 0], [300, 0, 400], [0, 0, 0], [0, 0, 0]]


def test_bad_parameters_are_rejected():
    md = make_md([book_row(T0, 1, asks=[("10.00", 100)])])
    with pytest.raises(ParameterError):
        run_engine(md, [venue(1)], CkStatic, params=({"lambda_over": float("nan")},), target=100)
    with pytest.raises(ParameterError):
        run_engine(md, [venue(1)], CkStatic, params=({"lambda_ovr": 0.4},), target=100)


# -- in the engine ----------------------------------------------------------------------------


def fees_abc():
    return [venue(1, fee="0.003"), venue(2, fee="0"), venue(3, fee="0.003")]


def waits_then_splits_market():
    # Fees: A 0.003, B 0, C 0.003. Target 1000 (10 lots).
    # t0: A 10.00x300, B 10.01x250 -> lots 3 + 2 = 5 < 10: nothing.
    # t1: C 10.00x450              -> lots 3 + 2 + 4 = 9 < 10: nothing.
    # t2: B 9.99x650               -> lots 3 + 6 + 4 = 13 >= 10: feasible.
    #     B costs 9.99 (6 lots, all taken: 600); A and C tie at 10.003 for the last
    #     4 lots; the enumeration meets A = 0 first -> C 400. Split (0, 600, 400).
    # t3: C 9.00x5000: target done, nothing.
    return make_md(
        [
            book_row(T0, 1, asks=[("10.00", 300)]),
            book_row(T0, 2, asks=[("10.01", 250)]),
            book_row(T0 + SEC, 3, asks=[("10.00", 450)]),
            book_row(T0 + 2 * SEC, 2, asks=[("9.99", 650)]),
            book_row(T0 + 3 * SEC, 3, asks=[("9.00", 5000)]),
        ]
    )


def test_ck_static_waits_until_lots_cover_remaining_then_splits_exactly():
    _, ledger = run_engine(waits_then_splits_market(), fees_abc(), CkStatic, target=1000)
    # 600 x 9.99 = 5994.00; 400 x 10.00 = 4000.00; fees 400 x 0.003 = 1.20.
    assert int(ledger.filled[0]) == 1000
    assert [int(x) for x in ledger.venue_shares[0]] == [0, 600, 400]
    assert int(ledger.notional[0]) == usd("9994.00")
    assert int(ledger.fees[0]) == usd("1.20")
    assert int(ledger.cash[0]) == usd("9995.20")
    assert int(ledger.catch_up[0]) == 0
    assert {f.ts for f in ledger.fills} == {T0 + 2 * SEC}


def test_ck_static_lanes_with_different_parameters_trade_identically():
    params = ({"lambda_over": 0.2, "lambda_under": 1.1, "theta_queue": 0.9}, {}, {"lambda_over": 1000.0})
    _, ledger = run_engine(waits_then_splits_market(), fees_abc(), CkStatic, params=params, target=1000)
    assert ledger.cash.tolist() == [usd("9995.20")] * 3
    assert ledger.venue_shares.tolist() == [[0, 600, 400]] * 3


def test_ck_static_buys_nothing_when_infeasible_and_catch_up_buys_all():
    md = make_md(
        [
            # t0: A 10.00x300, B 10.01x150 -> lots 3 + 1 = 4 < 5: nothing.
            book_row(T0, 1, asks=[("10.00", 300)]),
            book_row(T0, 2, asks=[("10.01", 150)]),
            # t1: C 10.02x50 (0 lots) then 10.03x500 -> level 0 lots still 4 < 5: nothing.
            book_row(T0 + SEC, 3, asks=[("10.02", 50), ("10.03", 500)]),
        ]
    )
    venues = [venue(1, fee="0.003"), venue(2), venue(3)]
    _, ledger = run_engine(md, venues, CkStatic, target=500)
    # Catch-up sweeps the last books cheapest first: 300 @ 10.00 + 150 @ 10.01 + 50 @ 10.02
    # = 3000 + 1501.50 + 501 = 5002.50; fee 300 x 0.003 = 0.90.
    assert int(ledger.filled[0]) == 500
    assert int(ledger.catch_up[0]) == 500
    assert int(ledger.notional[0]) == usd("5002.50")
    assert int(ledger.cash[0]) == usd("5003.40")


def test_ck_static_never_trades_a_remaining_that_is_not_a_lot_multiple():
    md = make_md([book_row(T0, 1, asks=[("10.00", 5000)]), book_row(T0 + SEC, 1, asks=[("10.00", 5000)])])
    _, ledger = run_engine(md, [venue(1)], CkStatic, target=250)
    # 250 is not a multiple of 100: no split, ever; the catch-up buys 250 @ 10.00.
    assert int(ledger.catch_up[0]) == 250
    assert int(ledger.cash[0]) == usd("2500")


def test_ck_static_rolls_unfilled_quantity_forward_to_next_update():
    md = make_md(
        [
            # t0: A 10.00x300 (fee 0.003 -> 10.003), B 10.01x200 -> 5 lots for 500: A 300, B 200.
            #     A (no latency) fills at t0; B's order is 1 s away.
            book_row(T0, 1, asks=[("10.00", 300)]),
            book_row(T0, 2, asks=[("10.01", 200)]),
            # t0+0.5s: B's ask moves up to 10.02x100; open = 500 - 300 - 200 in flight = 0.
            book_row(T0 + SEC // 2, 2, asks=[("10.02", 100)]),
            # t0+1s: B's order lands, limit 10.01 < 10.02: nothing fills, 200 open again.
            # t0+2s: C 10.03x100. Offered: A 0 (its 300 are ours), B 100, C 100 -> 2 lots = 200:
            #     B 100 @ 10.02 (lands t0+3s), C 100 @ 10.03.
            book_row(T0 + 2 * SEC, 3, asks=[("10.03", 100)]),
        ]
    )
    venues = [venue(1, fee="0.003"), venue(2, latency_ns=SEC), venue(3)]
    _, ledger = run_engine(md, venues, CkStatic, target=500)
    # 300 x 10.003 = 3000.90; 100 x 10.02 = 1002; 100 x 10.03 = 1003 -> 5005.90.
    assert [int(x) for x in ledger.venue_shares[0]] == [300, 100, 100]
    assert int(ledger.cash[0]) == usd("5005.90")
    assert int(ledger.catch_up[0]) == 0
    assert sorted((f.ts, f.venue) for f in ledger.fills) == [(T0, 0), (T0 + 2 * SEC, 2), (T0 + 3 * SEC, 1)]
