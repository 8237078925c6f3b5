"""A user-written venue model plugs in through its entry point, is listed, and changes a run."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main
from venues.models import LATENCY

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "spiky_latency.py"


@pytest.fixture
def installed_model(tmp_path, monkeypatch):
    """Install the README's example as a distribution with an entry point (a dist-info on sys.path)."""
    shutil.copy(EXAMPLE, tmp_path / "spiky_latency.py")
    info = tmp_path / "spiky_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: spiky-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[sor.latency_models]\nspiky = spiky_latency:SpikyLatency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("spiky_latency", None)


def scenario(tmp_path, table: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(
        '[data]\nsource = "synthetic:venues=3,seconds=20,seed=2"\n[order]\nquantity = 3000\n'
        '[[strategies]]\nname = "best_ask"\n' + table
    )
    return path


def run(tmp_path, table: str) -> dict:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["run", str(scenario(tmp_path, table)), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def test_a_user_latency_model_is_listed_and_changes_when_orders_land(installed_model, tmp_path):
    assert LATENCY.available()["spiky"] == "spiky_latency:SpikyLatency"
    listed = CliRunner().invoke(main, ["models"])
    assert listed.exit_code == 0 and "spiky" in listed.output and "spike_us=5000.0" in listed.output
    # Every message spikes by 1 s: each fill lands at least 1.0001 s after the decision that sent it.
    spiky = run(
        tmp_path, '[venues.default.latency]\nmodel = "spiky"\nbase_us = 100\nspike_us = 1000000\np = 1.0\n'
    )
    plain = run(tmp_path, "")
    first = lambda r: min(f["ts_ns"] for f in r["strategies"]["best_ask"]["fills"])  # noqa: E731
    assert first(spiky) - first(plain) >= 1_000_000_000 - 600_000
    assert spiky["venues"]["2"]["models"]["latency"] == {
        "model": "spiky",
        "base_us": 100,
        "spike_us": 1000000,
        "p": 1.0,
    }


def test_a_user_model_parameter_out_of_range_is_named(installed_model, tmp_path):
    path = scenario(tmp_path, '[venues.default.latency]\nmodel = "spiky"\np = 2\n')
    result = CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code != 0
    assert "[venues.default].latency (spiky): p: must be in [0, 1], got 2" in result.output
