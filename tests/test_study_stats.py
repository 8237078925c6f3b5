"""Statistics of per-market savings: a hand-worked cell, Student's t, the power line, the bootstrap rule."""

from __future__ import annotations

import math
import statistics
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.study import stats
from sim.study.stats import bootstrap_interval, markets_for_power, savings_cell
from sim.study.tdist import t_cdf, t_quantile


def cell(values, samples=1000, seed=0, **kw):
    kw.setdefault("incomplete", 0)
    kw.setdefault("avg_px_basis", 0)
    return savings_cell([D(v) for v in values], bootstrap_samples=samples, bootstrap_seed=seed, **kw)


def test_four_markets_worked_by_hand():
    # mean = (1 - 2 + 3.5 + 0) / 4 = 0.625; deviations 0.375, -2.625, 2.875, -0.625;
    # squares sum to 15.6875, so var = 15.6875 / 3 = 5.229166..., sd = 2.286737...,
    # se = sd / 2 = 1.143368...; t(0.975, 3) = 3.182446 gives a half-width of 3.638712.
    c = cell(["1", "-2", "3.5", "0"], incomplete=1, avg_px_basis=2)
    assert c["n"] == 4
    assert c["mean_bps"] == D("0.6250")
    assert c["sd_bps"] == D("2.2867")
    assert c["se_bps"] == D("1.1434")
    assert (c["ci95_low_bps"], c["ci95_high_bps"]) == (D("-3.0137"), D("4.2637"))
    assert c["median_bps"] == D("0.5")  # (0 + 1) / 2
    assert (c["wins"], c["ties"], c["win_rate"]) == (2, 1, D("0.5"))
    assert (c["incomplete"], c["avg_px_basis"]) == (1, 2)


def test_one_market_has_a_mean_but_no_spread_and_none_is_all_null():
    one = cell(["-1.25"])
    assert (one["n"], one["mean_bps"], one["median_bps"], one["win_rate"]) == (1, D("-1.25"), D("-1.25"), 0)
    assert one["sd_bps"] is None and one["ci95_low_bps"] is None and one["bootstrap_ci95_low_bps"] is None
    assert one["markets_for_80pct_power"] is None
    none = cell([], incomplete=3)
    assert none["n"] == 0 and none["incomplete"] == 3
    assert all(none[k] is None for k in ("mean_bps", "sd_bps", "median_bps", "win_rate"))


def test_identical_savings_have_zero_spread_and_a_point_interval():
    c = cell(["2", "2", "2"])
    assert c["sd_bps"] == 0 and c["ci95_low_bps"] == c["ci95_high_bps"] == D("2")
    assert c["bootstrap_ci95_low_bps"] == c["bootstrap_ci95_high_bps"] == D("2")
    assert c["markets_for_80pct_power"] == 2


def test_savings_with_more_than_four_decimals_are_refused():
    with pytest.raises(ValueError, match="more than 4 decimals"):
        cell(["0.00001"])


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.7062),  # printed t tables
        (0.975, 2, 4.3027),
        (0.975, 10, 2.2281),
        (0.975, 30, 2.0423),
        (0.975, 39, 2.0227),
        (0.975, 10**7, 1.9600),
        (0.80, 1, 1.3764),
        (0.80, 10, 0.8791),
        (0.025, 5, -2.5706),
    ],
)
def test_t_quantiles_match_printed_tables(p, df, expected):
    assert round(t_quantile(p, df), 4) == expected


@given(st.floats(min_value=0.001, max_value=0.999))
def test_t_quantile_matches_the_closed_forms_of_one_and_two_degrees_of_freedom(p):
    # df = 1 is the Cauchy distribution; df = 2 has t = (2p - 1) / sqrt(2 p (1 - p)).
    assert math.isclose(t_quantile(p, 1), math.tan(math.pi * (p - 0.5)), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(
        t_quantile(p, 2), (2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel_tol=1e-9, abs_tol=1e-9
    )


@given(st.floats(min_value=-50, max_value=50), st.integers(min_value=1, max_value=500))
def test_t_cdf_is_symmetric(t, df):
    assert math.isclose(t_cdf(t, df) + t_cdf(-t, df), 1.0, abs_tol=1e-12)


def test_power_line_for_a_third_of_an_sd():
    # Normal approximation: (1.95996 + 0.84162)^2 * (3.2 / 1)^2 = 80.4; with t quantiles at
    # n = 83, (1.98932 + 0.84640)^2 * 10.24 = 82.3 <= 83, and at n = 82 it is 82.4 > 82.
    assert markets_for_power(1.0, 3.2) == 83
    assert markets_for_power(-1.0, 3.2) == 83
    assert markets_for_power(0.0, 3.2) is None


def test_bootstrap_bounds_are_order_statistics_of_the_resampled_sums():
    # Two markets, 0 and 10 bps: a resample's mean is 0, 5 or 10 with chances 1/4, 1/2, 1/4, so
    # the 250th smallest of 10,000 is 0 and the 9,750th is 10 (each end holds ~2,500 draws).
    c = cell(["0", "10"], samples=10_000)
    assert (c["bootstrap_ci95_low_bps"], c["bootstrap_ci95_high_bps"]) == (0, 10)


def test_bootstrap_does_not_depend_on_how_resamples_are_chunked(monkeypatch):
    units = [3, -7, 12, 0, 5, -1, 9]
    whole = bootstrap_interval(units, 5000, 11)
    monkeypatch.setattr(stats, "_CHUNK", 10)
    assert bootstrap_interval(units, 5000, 11) == whole


def test_bootstrap_is_seeded():
    units = list(range(-20, 21, 3))
    assert bootstrap_interval(units, 2000, 1) == bootstrap_interval(units, 2000, 1)
    assert bootstrap_interval(units, 2000, 1) != bootstrap_interval(units, 2000, 2)


savings = st.lists(st.integers(min_value=-2_000_000, max_value=2_000_000), min_size=2, max_size=40)


@given(savings)
def test_cell_agrees_with_the_statistics_module(units):
    values = [D(u).scaleb(-4) for u in units]
    c = savings_cell(values, incomplete=0, avg_px_basis=0, bootstrap_samples=200, bootstrap_seed=0)
    tol = D("0.0001")
    assert abs(c["mean_bps"] - statistics.mean(values)) <= tol / 2
    assert abs(c["median_bps"] - statistics.median(values)) <= tol / 2
    assert abs(c["sd_bps"] - statistics.stdev(values)) <= tol
    assert abs(c["se_bps"] - statistics.stdev(values) / D(len(values)).sqrt()) <= tol
    assert c["ci95_low_bps"] <= c["mean_bps"] <= c["ci95_high_bps"]
    assert min(values) <= c["bootstrap_ci95_low_bps"] <= c["bootstrap_ci95_high_bps"] <= max(values)
    assert c["wins"] == sum(v > 0 for v in values) and c["ties"] == sum(v == 0 for v in values)
