"""A third-party strategy plugs in through the `sor.strategies` entry point and runs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main
from strategies import registry

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "cheap_venue.py"


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """Install the README's example as a distribution with an entry point (a dist-info on sys.path)."""
    shutil.copy(EXAMPLE, tmp_path / "cheap_venue.py")
    info = tmp_path / "cheap_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cheap-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[sor.strategies]\ncheap_venue = cheap_venue:CheapVenue\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("cheap_venue", None)


def test_plugin_is_listed_and_runs_in_a_scenario(installed_plugin, tmp_path):
    assert registry.available()["cheap_venue"] == "cheap_venue:CheapVenue"
    listed = CliRunner().invoke(main, ["strategies"])
    assert "cheap_venue" in listed.output and "clip=300" in listed.output
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        '[data]\nsource = "synthetic:venues=3,seconds=20,seed=2"\n[order]\nquantity = 1000\n'
        '[[strategies]]\nname = "best_ask"\n'
        '[[strategies]]\nname = "mine"\nkind = "cheap_venue"\nparams = { venue_id = 5, clip = 100 }\n'
    )
    out = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    mine = json.loads(out.read_text())["strategies"]["mine"]
    assert mine["filled_shares"] == 1000
    in_window = [f for f in mine["fills"] if not f["catch_up"]]
    assert in_window and all(f["venue"] == 5 and f["size"] <= 100 for f in in_window)


def test_a_plugin_parameter_typo_is_named(installed_plugin, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        '[data]\nsource = "synthetic:venues=3,seconds=5,seed=2"\n[order]\nquantity = 100\n'
        '[[strategies]]\nname = "mine"\nkind = "cheap_venue"\nparams = { clips = 100 }\n'
    )
    result = CliRunner().invoke(main, ["run", str(scenario)])
    assert result.exit_code != 0
    assert "unknown parameter 'clips' (known: clip, venue_id)" in result.output
