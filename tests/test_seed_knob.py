"""One seed knob: [run] seed / --seed also seeds a synthetic market, unless its source names a seed."""

from __future__ import annotations

from pathlib import Path

import attrs

from sim.runner import load_data
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]


def scenario(source: str, seed: int) -> Scenario:
    raw = {
        "data": {"source": source},
        "order": {"quantity": 500},
        "strategies": [{"name": "best_ask"}],
        "run": {"seed": seed},
    }
    return Scenario.from_dict(raw, "s.toml")


def test_the_run_seed_picks_the_synthetic_market():
    seven = load_data(scenario("synthetic:venues=2,seconds=5", 7))
    eight = load_data(scenario("synthetic:venues=2,seconds=5", 8))
    assert seven.source == "synthetic:venues=2,seconds=5,seed=7"
    assert eight.source == "synthetic:venues=2,seconds=5,seed=8"
    assert (seven.ask_px != eight.ask_px).any() or (seven.ts_event != eight.ts_event).any()


def test_a_source_that_names_its_seed_keeps_it_whatever_the_run_seed():
    a = load_data(scenario("synthetic:venues=2,seconds=5,seed=3", 7))
    b = load_data(scenario("synthetic:venues=2,seconds=5,seed=3", 8))
    assert a.source == b.source == "synthetic:venues=2,seconds=5,seed=3"
    assert (a.ask_px == b.ask_px).all() and (a.ts_event == b.ts_event).all()


def test_the_bare_synthetic_source_takes_the_run_seed():
    assert load_data(scenario("synthetic:", 4)).source == "synthetic:venues=3,seconds=522,seed=4"


def test_the_shipped_scenarios_take_their_market_seed_from_the_run_seed():
    for name in ("default.toml", "ck_queue.toml", "study_seeds.toml"):
        sc = Scenario.from_toml(ROOT / "scenarios" / name)
        assert "seed=" not in sc.data.source, name
        short = sc.data.source.replace("seconds=522", "seconds=2")
        moved = attrs.evolve(sc, seed=8, data=attrs.evolve(sc.data, source=short, start=None, end=None))
        assert load_data(moved).source == "synthetic:venues=3,seconds=2,seed=8", name
