"""A strategy's result does not depend on which other strategies the run holds.

Each strategy has its own session at each venue (its own wire and its own latency
draws) and its own random streams, keyed by its name: adding a baseline, dropping
one or reordering them leaves every other strategy's fills as they were, even
with random latencies. Checked against runs of each strategy alone.
"""

from __future__ import annotations

import pytest

from sim.runner import run_scenario
from sim.scenario import Scenario

STRATEGIES = {
    "best_ask": {"name": "best_ask"},
    "twap": {"name": "twap", "params": {"bucket_s": 5}},
    "cont_kukanov": {
        "name": "cont_kukanov",
        "params": {"horizon_s": 3, "estimation_s": 10, "sa_samples": 50},
    },
}


LATENCY = {"model": "lognormal", "median_us": 3000, "sigma": 1.5, "response_median_us": 2000}


def _run(names: list[str], queue: str = "probabilistic") -> dict:
    raw = {
        "data": {"source": "synthetic:venues=3,seconds=40"},
        "order": {"quantity": 1500},
        "venues": {
            "default": {
                "latency": LATENCY,
                "queue": {"model": queue},
            }
        },
        "strategies": [STRATEGIES[n] for n in names],
        "run": {"seed": 3},
    }
    result = run_scenario(Scenario.from_dict(raw, "independence.toml"))
    return {name: result["strategies"][name] for name in names}


def _fills(lane: dict) -> list:
    return [(f["ts_ns"], f["venue"], f["price"], f["size"], f["liquidity"]) for f in lane["fills"]]


@pytest.mark.parametrize("queue", ["probabilistic", "risk_averse"])
def test_each_strategy_fills_alike_alone_and_beside_the_others(queue):
    together = _run(["best_ask", "twap", "cont_kukanov"], queue)
    reordered = _run(["cont_kukanov", "twap"], queue)
    for name in STRATEGIES:
        alone = _run([name], queue)[name]
        assert _fills(alone), name  # each traded, so the comparison means something
        assert _fills(together[name]) == _fills(alone), name
        assert together[name]["total_cash"] == alone["total_cash"], name
        if name in reordered:
            assert _fills(reordered[name]) == _fills(alone), name
