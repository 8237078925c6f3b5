"""Savings in bps and average prices: exact arithmetic, the right denominator."""

from __future__ import annotations

from decimal import Decimal

import attrs

from sim.jsonio import dumps
from sim.results import avg_price, choose_best, compare, savings_bps


def test_savings_bps_uses_the_baseline_as_denominator():
    # The trial README's example: 250,000 vs 248,750 is 50 bps, not 5.0.
    assert savings_bps(Decimal(250000), Decimal(248750)) == Decimal("50.0000")
    # (251200 - 248750) / 251200 * 1e4 = 97.5318...
    assert savings_bps(Decimal(251200), Decimal(248750)) == Decimal("97.5318")
    # a worse strategy saves a negative amount
    assert savings_bps(Decimal(100), Decimal(101)) == Decimal("-100.0000")


def test_average_price_is_exact_to_a_nano_dollar():
    # 3 shares for $10.00 -> 3.333333333 (half-even at the 9th decimal)
    assert avg_price(10_000_000_000, 3) == Decimal("3.333333333")
    assert avg_price(1_114_050_000_000_000, 5000) == Decimal("222.810000000")
    assert avg_price(123, 0) is None


def test_compare_uses_cash_on_equal_quantity_and_average_price_otherwise():
    a = {"filled_shares": 100, "total_cash": Decimal("1000"), "avg_fill_px": Decimal("10")}
    b = {"filled_shares": 100, "total_cash": Decimal("1010"), "avg_fill_px": Decimal("10.1")}
    assert compare(a, b) == (Decimal("99.0099"), "total_cash")
    c = {"filled_shares": 50, "total_cash": Decimal("505"), "avg_fill_px": Decimal("10.1")}
    assert compare(a, c) == (Decimal("99.0099"), "avg_fill_px")
    none = {"filled_shares": 0, "total_cash": Decimal("0"), "avg_fill_px": None}
    assert compare(a, none) == (None, "avg_fill_px")


def _row(filled, cash, avg, at_target=None):
    return {
        "filled_shares": filled,
        "total_cash": Decimal(cash),
        "avg_fill_px": Decimal(avg),
        "cash_at_target": Decimal(at_target if at_target is not None else cash),
    }


def test_best_sweep_row_prefers_complete_then_cheapest_then_first():
    rows = [
        _row(90, "1", "0.01"),
        _row(100, "1000", "10"),
        _row(100, "999", "9.99"),
        _row(100, "999", "9.99"),
    ]
    assert choose_best(rows, 100) == 2
    short = [dict(r, filled_shares=50) for r in rows[1:]]
    assert choose_best(short, 100) == 1
    # A sell wants the most proceeds, and the best average price is the highest.
    assert choose_best(rows, 100, "sell") == 1
    assert choose_best(short, 100, "sell") == 0


def test_an_overfilled_row_competes_on_what_the_target_cost():
    # Row 0 bought 120 for $1,180 (the 20 extra worth $10 each at the closing mid: $980 for
    # the target); row 1 bought exactly 100 for $990. Row 0 is the cheaper way to 100.
    rows = [_row(120, "1180", "9.8333", at_target="980"), _row(100, "990", "9.9")]
    assert choose_best(rows, 100) == 0


def test_savings_of_a_sell_are_on_proceeds_mirrored():
    # Selling for $1,010 against a baseline's $1,000 is 100 bps better.
    assert savings_bps(Decimal(1000), Decimal(1010), "sell") == Decimal("100.0000")
    a = {
        "filled_shares": 100,
        "total_cash": Decimal("1010"),
        "avg_fill_px": Decimal("10.1"),
        "overfill_shares": 0,
    }
    b = {
        "filled_shares": 100,
        "total_cash": Decimal("1000"),
        "avg_fill_px": Decimal("10"),
        "overfill_shares": 0,
    }
    assert compare(a, b, "sell", 100) == (Decimal("100.0000"), "total_cash")


def test_compare_values_overfill_at_the_closing_mid():
    # Strategy bought 110 for $1,105 with the mid at $10: $1,005 for the target. The baseline
    # paid $1,000 for 100: the strategy is (1000 - 1005) / 1000 = -50 bps.
    a = _row(110, "1105", "10.0455", at_target="1005") | {"overfill_shares": 10}
    b = _row(100, "1000", "10") | {"overfill_shares": 0}
    assert compare(a, b, "buy", 100) == (Decimal("-50.0000"), "cash_at_target")


def test_json_never_writes_nan_and_keeps_money_exact():
    text = dumps({"cash": Decimal("1114380.500000000"), "px": None, "x": [Decimal("0.000000005")]})
    assert '"cash": 1114380.5' in text and '"px": null' in text and "0.000000005" in text
    import pytest

    with pytest.raises(ValueError):
        dumps({"x": float("nan")})
    with pytest.raises(ValueError):
        dumps({"x": Decimal("Infinity")})


def test_savings_from_a_result_read_back_with_integer_cash():
    # A whole-dollar total reads back from JSON as an int: the arithmetic must stay exact.
    assert savings_bps(250000, Decimal("248750")) == Decimal("50.0000")


def test_a_fourteen_billion_dollar_order_is_exact_to_the_cent():
    # 20,000 shares of a $700,000 stock: $14,000,000,000 of notional, past int64's $9.2 billion
    # in 1e-9 units. Fee $0.003 a share: $60. Cash paid: $14,000,000,060 exactly.
    from conftest import T0, book_row, make_md, run_engine, venue

    from feeds.market import price_to_units
    from sim.result import LaneResult
    from sim.result_json import lane_json
    from strategies.best_ask import BestAsk

    md = make_md([book_row(T0, 1, asks=[("700000.00", 12000), ("700000.01", 8000)], bids=[("699999.99", 5)])])
    _, ledger = run_engine(md, [venue(1, fee="0.003")], BestAsk, target=20000)
    # 12,000 at the best ask, then the catch-up sweeps 8,000 at 700,000.01 (+ $80 of the cent).
    expected = 12000 * price_to_units("700000.00") + 8000 * price_to_units("700000.01") + price_to_units("60")
    assert int(ledger.cash[0]) == expected == 14_000_000_140 * 10**9
    lane = LaneResult.from_ledger(
        ledger, 0, kind="best_ask", parameters={}, venue_ids=(1,), target=20000, unwind_px=None
    )
    out = lane_json(lane)
    assert out["total_cash"] == Decimal("14000000140") and out["avg_fill_px"] == Decimal("700000.007")
    assert "14000000140" in dumps(out)


def test_cash_at_target_sells_a_buys_excess_back_at_the_unwind_price():
    # 110 shares bought for $1,105.00 of a 100-share order; the closing best bid is $9.98:
    # the 10 extra shares fetch $99.80, so the target cost $1,105.00 - $99.80 = $1,005.20.
    from feeds.market import price_to_units
    from sim.result import LaneResult

    lane = LaneResult(
        kind="k",
        parameters={},
        target=100,
        filled_shares=110,
        cash=price_to_units("1105"),
        notional=price_to_units("1105"),
        fees=0,
        rebates=0,
        catch_up_shares=0,
        maker_shares=0,
        unwind_px=price_to_units("9.98"),
        by_venue={},
    )
    assert lane.cash_at_target == Decimal("1005.20")
    # With no price to unwind into, the excess goes at the lane's own average, $10.045454545...
    no_touch = attrs.evolve(lane, unwind_px=None)
    assert no_touch.cash_at_target_units == price_to_units("1105") - 10 * price_to_units("1105") // 110
