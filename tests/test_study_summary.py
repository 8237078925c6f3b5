"""Assembling a study from market rows: paired savings cells, incomplete markets, out-of-sample lanes."""

from __future__ import annotations

from decimal import Decimal as D

from sim.results import compare
from sim.scenario import Scenario
from sim.study.markets import expand_markets
from sim.study.selection import choose_out_of_sample, folds_of
from sim.study.summary import study_result

SCENARIO = {
    "data": {"source": "synthetic:venues=2,seconds=20"},
    "order": {"quantity": 100},
    "strategies": [{"name": "best_ask"}, {"name": "cont_kukanov"}],
    "sweep": {"strategy": "cont_kukanov", "grid": {"lambda_over": [0.01, 0.02, 0.03]}},
    "study": {"seeds": [1, 3], "bootstrap_samples": 1000},
}


def money(cash: str, shares: int = 100) -> dict:
    c = D(cash)
    return {
        "total_cash": c,
        "cash_at_target": c,
        "avg_fill_px": c / shares,
        "filled_shares": shares,
        "overfill_shares": 0,
        "maker_shares": 0,
        "complete": shares >= 100,
    }


def row(
    seed: int, best_ask: str, lanes: list[str], *, shares: list[int] | None = None, session=None, side="buy"
) -> dict:
    """A market row as a worker makes it; cont_kukanov is its best complete lane (in-sample)."""
    shares = shares or [100] * len(lanes)
    complete = [i for i, s in enumerate(shares) if s >= 100]
    sign = 1 if side == "buy" else -1
    chosen = min(complete, key=lambda i: (sign * D(lanes[i]), i))
    strategies = {"best_ask": money(best_ask), "cont_kukanov": money(lanes[chosen], shares[chosen])}
    return {
        "id": f"seed={seed}",
        "session": session or f"seed={seed}",
        "quantity": 100,
        "side": side,
        "baselines": {"best_ask": "best_ask"},
        "strategies": strategies,
        "savings_bps": {
            "cont_kukanov": {"best_ask": compare(strategies["cont_kukanov"], strategies["best_ask"])[0]}
        },
        "sweep": {
            "strategy": "cont_kukanov",
            "chosen": chosen,
            "total_cash": [D(x) for x in lanes],
            "cash_at_target": [D(x) for x in lanes],
            "filled_shares": shares,
            "overfill_shares": [0] * len(lanes),
        },
    }


# Lane costs above each market's best lane, in bps of the best (regrets):
#   market A: 0, 10, 5     market B: 20, 0, 10     market C: 0, 30, 2
A = row(1, "100.05", ["100.00", "100.10", "100.05"])
B = row(2, "100.00", ["100.20", "100.00", "100.10"])
C = row(3, "100.10", ["100.00", "100.30", "100.02"])


def test_leave_one_out_picks_the_lane_with_the_lowest_mean_regret_elsewhere():
    # Without A: lane means (20+0)/2=10, (0+30)/2=15, (10+2)/2=6 -> lane 2.
    # Without B: 0, 20, 3.5 -> lane 0.  Without C: 10, 5, 7.5 -> lane 1.
    assert choose_out_of_sample([A, B, C], None) == [2, 0, 1]


def test_a_lane_that_left_a_market_unfilled_loses_to_any_lane_that_filled_every_one():
    # In D, lane 0 bought 90 of 100 shares at $0.9444 (555.6 bps under the best lane's $1.00, so
    # on regret alone it would win: (20 + 0 - 555.6) / 3 < 0); lane 1 is 1 bps dearer than lane 2.
    # Choosing for A on B, C, D: lane 0 missed D, so lane 1 (mean regret (0 + 30 + 1) / 3) and
    # lane 2 ((10 + 2 + 0) / 3) compete and lane 2 wins.
    d = row(4, "100.00", ["85.00", "100.01", "100.00"], shares=[90, 100, 100])
    assert choose_out_of_sample([A, B, C, d], None)[0] == 2


def test_a_sell_chooses_the_lane_that_received_most_elsewhere():
    # Proceeds per lane: A 100.00, 100.10; B 100.20, 100.00. Selling, A's lane is chosen on B
    # (lane 0 received most there) and B's on A (lane 1); buying, the cheapest lanes, reversed.
    sells = [
        row(1, "100", ["100.00", "100.10"], side="sell"),
        row(2, "100", ["100.20", "100.00"], side="sell"),
    ]
    buys = [row(1, "100", ["100.00", "100.10"]), row(2, "100", ["100.20", "100.00"])]
    assert choose_out_of_sample(sells, None) == [0, 1]
    assert choose_out_of_sample(buys, None) == [1, 0]


def test_folds_are_contiguous_blocks_of_sessions_and_windows_stay_with_their_session():
    assert folds_of(["s1", "s2", "s3", "s4"], 2) == [0, 0, 1, 1]
    assert folds_of(["s1", "s1", "s2", "s2", "s3"], None) == [0, 0, 1, 1, 2]
    assert folds_of(["a", "b", "c"], 3) == [0, 1, 2]


def test_windows_of_one_session_are_chosen_for_together():
    # A and B are one session: their lane is chosen on C alone (lane 0, regret 0); C's on A and B
    # (lane means 10, 5, 7.5 -> lane 1).
    a, b = dict(A, session="day"), dict(B, session="day")
    assert choose_out_of_sample([a, b, C], None) == [0, 0, 1]


def test_study_result_pairs_each_market_and_lists_rows_in_market_order():
    scenario = Scenario.from_dict(SCENARIO, "s.toml")
    markets = expand_markets(scenario)
    rows = {2: C, 0: A, 1: B}  # finished in any order
    result = study_result(scenario, markets, rows, [])
    study = result["study"]
    assert [r["id"] for r in study["markets"]] == ["seed=1", "seed=2", "seed=3"]
    # In-sample cont_kukanov vs best_ask: A (100.05-100)/100.05, B 0, C (100.10-100)/100.10 x 10,000.
    cell = study["summary"]["cont_kukanov"]["best_ask"]
    assert cell["n"] == 3
    assert cell["wins"] == 2 and cell["ties"] == 1
    # 4.9975 + 0 + 9.9900 = 14.9875 -> mean 4.9958 (half-even from 4.99583...)
    assert cell["mean_bps"] == D("4.9958")
    assert "best_ask" not in study["summary"]["best_ask"]
    # Out of sample: A runs lane 2 (100.05: 0 bps), B lane 0 (100.20: -20 bps), C lane 1 (100.30:
    # (100.10 - 100.30) / 100.10 = -19.9800 bps).
    oos = [r["out_of_sample"] for r in study["markets"]]
    assert [o["lane"] for o in oos] == [2, 0, 1]
    assert [o["savings_bps"]["best_ask"] for o in oos] == [D("0"), D("-20"), D("-19.9800")]
    out = study["out_of_sample"]["cont_kukanov"]["best_ask"]
    assert out["n"] == 3 and out["wins"] == 0 and out["mean_bps"] == D("-13.3267")
    assert "leave one session out (3 sessions)" in study["method"]["out_of_sample"]
    assert study["sweep"]["sets"] == [{"lambda_over": 0.01}, {"lambda_over": 0.02}, {"lambda_over": 0.03}]
    assert (study["markets_planned"], study["markets_run"], study["markets_skipped"]) == (3, 3, 0)
    assert result["order"] == {"side": "buy", "quantity": 100}


def test_incomplete_markets_are_counted_and_compared_on_average_price():
    scenario = Scenario.from_dict(SCENARIO, "s.toml")
    markets = expand_markets(scenario)
    short = row(2, "100.00", ["99.00", "100.00", "100.10"], shares=[100, 100, 100])
    short["strategies"]["best_ask"] = money("90.00", 90)  # best_ask bought 90 of 100 at $1.00
    skipped = [{"id": "seed=3", "error": "bad data"}]
    study = study_result(scenario, markets, {0: A, 1: short}, skipped)["study"]
    cell = study["summary"]["cont_kukanov"]["best_ask"]
    # seed=2: cont_kukanov 99.00 for 100 ($0.99) vs best_ask $1.00 a share: +100 bps on price.
    assert (cell["n"], cell["incomplete"], cell["avg_px_basis"]) == (2, 1, 1)
    assert study["markets"][1]["out_of_sample"]["savings_basis"]["best_ask"] == "avg_fill_px"
    assert (study["markets_run"], study["markets_skipped"], study["skipped"]) == (2, 1, skipped)


def test_the_study_sums_each_markets_crossed_and_locked_counts():
    scenario = Scenario.from_dict(SCENARIO, "s.toml")
    markets = expand_markets(scenario)
    fresh = {"crossed": 1, "locked": 4, "instants_with_a_stale_venue": 90}
    a = {
        **A,
        "quotes": {
            "consolidated": {"instants": 100, "crossed": 30, "locked": 7, "with_stale_quotes_dropped": fresh}
        },
    }
    c = {
        **C,
        "quotes": {
            "consolidated": {
                "instants": 50,
                "crossed": 2,
                "locked": 0,
                "with_stale_quotes_dropped": {**fresh, "locked": 1},
            }
        },
    }
    result = study_result(scenario, markets, {0: a, 1: c}, [])
    # 100 + 50 instants; 30 + 2 crossed; 7 + 0 locked; fresh 1 + 1, 4 + 1, 90 + 90.
    assert result["study"]["quotes"] == {
        "markets": 2,
        "instants": 150,
        "crossed": 32,
        "locked": 7,
        "with_stale_quotes_dropped": {"crossed": 2, "locked": 5, "instants_with_a_stale_venue": 180},
    }
    # A market without the stale-quote rule leaves those columns out of the total.
    c_plain = {**C, "quotes": {"consolidated": {"instants": 50, "crossed": 2, "locked": 0}}}
    totals = study_result(scenario, markets, {0: a, 1: c_plain}, [])["study"]["quotes"]
    assert totals == {"markets": 2, "instants": 150, "crossed": 32, "locked": 7}
    assert study_result(scenario, markets, {0: A, 1: C}, [])["study"]["quotes"] is None


def test_an_order_sized_by_volume_fraction_says_so_at_the_top():
    scenario = Scenario.from_dict({**SCENARIO, "order": {"volume_fraction": 0.01}}, "s.toml")
    markets = expand_markets(scenario)
    order = study_result(scenario, markets, {0: A, 1: {**C, "quantity": 250}}, [])["order"]
    assert order == {"side": "buy", "quantity": None, "basis": "volume_fraction", "volume_fraction": 0.01}
    fixed = Scenario.from_dict(SCENARIO, "s.toml")
    assert study_result(fixed, markets, {0: A, 1: C}, [])["order"] == {"side": "buy", "quantity": 100}
