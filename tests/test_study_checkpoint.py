"""The --resume folder: rows kept whole, read back exactly, and never mixed with another study's."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from sim.scenario import Scenario, ScenarioError
from sim.study.checkpoint import Checkpoints, canonical
from sim.study.markets import expand_markets

RAW = {
    "data": {"source": "synthetic:venues=2,seconds=20"},
    "order": {"quantity": 100},
    "strategies": [{"name": "best_ask"}],
    "study": {"seeds": [1, 3]},
}


def study(seeds=(1, 3)):
    sc = Scenario.from_dict({**RAW, "study": {"seeds": list(seeds)}}, "s.toml")
    return sc, expand_markets(sc)


def test_a_saved_row_reads_back_equal_and_only_finished_markets_are_loaded(tmp_path):
    sc, markets = study()
    row = {"id": "seed=2", "total_cash": D("100.1000"), "avg": D("-0.0"), "n": 3, "none": None}
    first = Checkpoints(tmp_path / "ck", sc, markets)
    first.save(1, canonical(row))
    again = Checkpoints(tmp_path / "ck", sc, markets)
    assert again.load() == {1: canonical(row)}
    assert canonical(row) == {"id": "seed=2", "total_cash": D("100.1"), "avg": 0, "n": 3, "none": None}


def test_leftover_temporary_files_are_ignored(tmp_path):
    sc, markets = study()
    ck = Checkpoints(tmp_path / "ck", sc, markets)
    (tmp_path / "ck" / "markets" / ".000000.json.123.tmp").write_text('{"id": "seed=1", "trunc')
    assert ck.load() == {}


def test_a_folder_of_another_study_is_refused(tmp_path):
    sc, markets = study()
    Checkpoints(tmp_path / "ck", sc, markets)
    other, other_markets = study((1, 4))
    with pytest.raises(ScenarioError, match="holds checkpoints of another study"):
        Checkpoints(tmp_path / "ck", other, other_markets)


def test_a_damaged_checkpoint_is_named(tmp_path):
    sc, markets = study()
    Checkpoints(tmp_path / "ck", sc, markets)
    bad = tmp_path / "ck" / "markets" / "000002.json"
    bad.write_text("{not json")
    with pytest.raises(ScenarioError, match=r"000002.json: unreadable checkpoint"):
        Checkpoints(tmp_path / "ck", sc, markets).load()
    bad.write_text(json.dumps({"id": "seed=1"}))
    with pytest.raises(ScenarioError, match=r"000002.json: checkpoint is not of market 'seed=3'"):
        Checkpoints(tmp_path / "ck", sc, markets).load()
