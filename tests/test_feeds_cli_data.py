"""``sor data synth`` through click's CliRunner."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from feeds.databento_csv import read_csv
from feeds.synthetic import SynthConfig, generate
from sim.cli import main


def test_synth_writes_the_generated_market(tmp_path):
    out = tmp_path / "syn.csv"
    result = CliRunner().invoke(
        main, ["data", "synth", "--venues", "2", "--seconds", "20", "--seed", "3", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"wrote {out}: 2,000 rows")
    assert "venues [2, 5]" in lines[0]
    md = read_csv(out)
    expected = generate(SynthConfig(venues=2, seconds=20, seed=3))
    assert np.array_equal(md.ask_px, expected.ask_px) and np.array_equal(md.ts_event, expected.ts_event)


def test_bad_option_is_one_line_and_non_zero(tmp_path):
    result = CliRunner().invoke(main, ["data", "synth", "--venues", "99", "-o", str(tmp_path / "x.csv")])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.output.strip() == "Error: venues must be between 1 and 14, got 99"
    assert not (tmp_path / "x.csv").exists()


def test_bad_start_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["data", "synth", "--start", "noon", "-o", str(tmp_path / "x.csv")])
    assert result.exit_code != 0
    assert result.output.startswith("Error: ") and "noon" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unwritable_output_is_one_line(tmp_path):
    target = tmp_path / "missing-dir" / "x.csv"
    result = CliRunner().invoke(main, ["data", "synth", "--seconds", "1", "-o", str(target)])
    assert result.exit_code != 0
    assert result.output.startswith(f"Error: {target}: cannot write: No such file or directory")


def test_output_is_required():
    result = CliRunner().invoke(main, ["data", "synth"])
    assert result.exit_code != 0 and "--output" in result.output
