"""The `[queue] model` names of a scenario reach every venue's resting book, the new ones included."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sim.runner import resting_factory
from sim.scenario import QUEUE_MODELS, Scenario, ScenarioError
from venues.queue_models import LogProbability, RiskAverse
from venues.queue_truth import MODELS

BASE = """
[data]
source = "synthetic:venues=2,seconds=30,seed=1"
[order]
quantity = 100
[[strategies]]
name = "best_ask"
"""


def _load(tmp_path, text: str) -> Scenario:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return Scenario.from_toml(path)


@pytest.mark.parametrize(("name", "cls"), [("risk_averse", RiskAverse), ("log_probability", LogProbability)])
def test_hftbacktest_reference_models_can_be_chosen_by_name(tmp_path, name, cls):
    scenario = _load(tmp_path, BASE + f'\n[queue]\nmodel = "{name}"\n')
    book = resting_factory(scenario)(SimpleNamespace(feed=None, view=SimpleNamespace(_md=None)))
    assert type(book.queue_model) is cls
    # The queue-truth report scores the same model under the same name.
    assert MODELS[name] == cls()


def test_power_still_belongs_to_the_probabilistic_model_only(tmp_path):
    with pytest.raises(ScenarioError, match="only the 'probabilistic' model takes a power"):
        _load(tmp_path, BASE + '\n[queue]\nmodel = "risk_averse"\npower = 2\n')
    assert "risk_averse" in QUEUE_MODELS and "log_probability" in QUEUE_MODELS
