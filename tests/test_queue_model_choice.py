"""The `[queue] model` names: the hftbacktest references are built in, under the report's names."""

from __future__ import annotations

import pytest

from sim.scenario import Scenario, ScenarioError
from venues.models import QUEUE
from venues.queue_models import LogProbability, ProbabilisticQueue, RiskAverse
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
    assert _load(tmp_path, BASE + f'\n[queue]\nmodel = "{name}"\n').queue == cls()
    # The queue-truth report scores the same model under the same name, and results name it so.
    assert MODELS[name] == cls() and QUEUE.name_of(cls()) == name


def test_every_model_of_the_report_has_its_registered_name():
    for name, model in MODELS.items():
        registered = QUEUE.name_of(model)
        assert registered == name or (registered == "probabilistic" and isinstance(model, ProbabilisticQueue))


def test_the_new_models_take_no_parameters(tmp_path):
    with pytest.raises(ScenarioError, match=r"\(risk_averse\): unknown parameter 'power'"):
        _load(tmp_path, BASE + '\n[queue]\nmodel = "risk_averse"\npower = 2\n')
