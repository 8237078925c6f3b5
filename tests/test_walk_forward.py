"""Walk-forward: windows cut without overlap, tuned in-sample, tested out-of-sample."""

from __future__ import annotations

import pytest

from feeds.synthetic import SynthConfig, generate
from feeds.timeparse import parse_ns
from sim.runner import run_scenario
from sim.scenario import Scenario
from sim.walk_forward import run_walk_forward, split_windows


def test_split_windows_is_consecutive_equal_and_disjoint():
    assert split_windows(0, 89, 3) == [(0, 28), (29, 58), (59, 89)]
    windows = split_windows(1_000, 1_000 + 522_000_000_000, 3)
    for (_, end), (start, _) in zip(windows, windows[1:], strict=False):
        assert start == end + 1
    lengths = [end - start for start, end in windows]
    assert max(lengths) - min(lengths) <= 1
    with pytest.raises(ValueError):
        split_windows(0, 1, 3)


def scenario(windows=3):
    return Scenario.from_dict(
        {
            "data": {"source": "synthetic:venues=2,seconds=90,seed=3"},
            "order": {"quantity": 1000},
            "strategies": [
                {"name": "best_ask"},
                {"name": "twap", "params": {"bucket_s": 10}},
                {"name": "cont_kukanov", "params": {"horizon_s": 3, "estimation_s": 9, "sa_samples": 100}},
            ],
            "sweep": {
                "strategy": "cont_kukanov",
                "method": "grid",
                "grid": {"lambda_under": [0.002, 0.05], "theta": [0.0001, 0.002]},
            },
            "walk_forward": {"windows": windows},
        }
    )


def test_walk_forward_tunes_in_sample_and_tests_on_the_next_window():
    sc = scenario()
    md = generate(SynthConfig(venues=2, seconds=90, seed=3))
    result = run_walk_forward(sc, md)
    windows = result["windows"]
    assert len(windows) == 2
    for w in windows:
        assert parse_ns(w["tune"]["end"]) < parse_ns(w["test"]["start"])  # no overlap
        assert set(w["best_parameters"]) == {"lambda_under", "theta"}
        assert set(w["in_sample_bps"]) == set(w["out_of_sample_bps"]) == {"best_ask", "twap"}
        for part in ("in_sample", "out_of_sample"):
            assert set(w[part]) == {"best_ask", "twap", "cont_kukanov"}
            ck = w[part]["cont_kukanov"]
            # Complete; any shares past the target are fills that beat a cancel, and reported.
            assert ck["filled_shares"] - ck["overfill_shares"] == 1000
    # Window i's test is window i + 1's tune.
    assert windows[0]["test"] == windows[1]["tune"]
    assert parse_ns(windows[0]["tune"]["start"]) == int(md.ts_event[0])
    assert parse_ns(windows[-1]["test"]["end"]) == int(md.ts_event[-1])
    # The out-of-sample run used the in-sample choice.
    assert windows[0]["out_of_sample"]["cont_kukanov"] != windows[0]["in_sample"]["cont_kukanov"]


def test_run_scenario_fills_walk_forward_when_asked():
    md = generate(SynthConfig(venues=2, seconds=90, seed=3))
    result = run_scenario(scenario(windows=2), md)
    assert len(result["walk_forward"]["windows"]) == 1
