"""Golden run: a checked-in scenario must give its checked-in result, byte for byte."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sim.cli import main

GOLDEN = Path(__file__).resolve().parent / "golden"


def test_golden_scenario_reproduces_its_result_byte_for_byte(tmp_path):
    out = tmp_path / "small.json"
    result = CliRunner().invoke(main, ["run", str(GOLDEN / "small.toml"), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    expected = (GOLDEN / "small.json").read_text()
    assert out.read_text() == expected, (
        "the golden result changed: if the change in behaviour is intended, regenerate with "
        "`sor run tests/golden/small.toml --out tests/golden/small.json --quiet` and explain it in the commit"
    )
