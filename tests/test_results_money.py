"""Savings in bps and average prices: exact arithmetic, the right denominator."""

from __future__ import annotations

from decimal import Decimal

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


def test_best_sweep_row_prefers_complete_then_cheapest_then_first():
    rows = [
        {"filled_shares": 90, "total_cash": Decimal("1"), "avg_fill_px": Decimal("0.01")},
        {"filled_shares": 100, "total_cash": Decimal("1000"), "avg_fill_px": Decimal("10")},
        {"filled_shares": 100, "total_cash": Decimal("999"), "avg_fill_px": Decimal("9.99")},
        {"filled_shares": 100, "total_cash": Decimal("999"), "avg_fill_px": Decimal("9.99")},
    ]
    assert choose_best(rows, 100) == 2
    short = [dict(r, filled_shares=50) for r in rows[1:]]
    assert choose_best(short, 100) == 1


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
