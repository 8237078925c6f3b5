"""Nothing from a file reaches the terminal raw: control characters are shown as escapes, on one line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.terminal import clean

SCENARIO = """
[data]
source = "synthetic:venues=2,seconds=5,seed=1"
[order]
quantity = 100
[[strategies]]
name = "NAME"
kind = "best_ask"
[[strategies]]
name = "ck_static"
"""
# Clear the screen, retitle the window, ring the bell; CSI as one C1 byte; a right-to-left override.
HOSTILE = "a\x1b[2J\x1b]0;owned\x07\x9b31m\u202eb"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_no_raw_controls(text: str) -> None:
    assert not any(ch in text for ch in "\x1b\x07\x9b\u202e"), repr(text)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("caf\u00e9 \u65e5\u672c $\\frac{a}{$", "caf\u00e9 \u65e5\u672c $\\frac{a}{$"),
        ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("\x7f\x9b\x00", "\\x7f\\x9b\\x00"),
        ("\u202eevil\u2066\u200b\u2028\ufeff", "\\u202eevil\\u2066\\u200b\\u2028\\ufeff"),
    ],
)
def test_clean_escapes_exactly_the_characters_that_change_the_display(raw, shown):
    assert clean(raw) == shown


def test_a_name_with_escape_codes_reaches_the_table_escaped_and_the_json_exact(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        SCENARIO.replace("NAME", HOSTILE.encode("unicode_escape").decode().replace("\\x", "\\u00"))
    )
    out = tmp_path / "r.json"
    result = run("run", path, "--out", out)
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.output)
    assert "| a\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\u202eb |" in result.output
    assert HOSTILE in json.loads(out.read_text())["strategies"]


def test_an_error_naming_a_hostile_file_name_is_escaped_and_one_line(tmp_path):
    path = tmp_path / f"{HOSTILE}\nsecond line.toml"
    path.write_text("[data\n")
    result = run("run", path)
    assert result.exit_code == 1
    assert_no_raw_controls(result.output)
    assert len(result.output.strip().splitlines()) == 1
    assert "\\x1b[2J" in result.output and "\\nsecond line.toml: not valid TOML" in result.output


def test_an_error_naming_a_hostile_data_path_is_escaped(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO.replace("NAME", "x"))
    result = run("run", path, "--data", tmp_path / f"{HOSTILE}.csv")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert_no_raw_controls(result.output)
    assert "no such file" in result.output


def test_a_report_error_naming_a_hostile_strategy_is_escaped(tmp_path):
    from test_report import hand_built_result

    result = hand_built_result()
    result["strategies"][HOSTILE] = result["strategies"].pop("twap")
    result["strategies"][HOSTILE]["fills"][0]["size"] = "lots"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(result))
    done = run("report", path, "--out", tmp_path)
    assert done.exit_code == 1 and len(done.output.strip().splitlines()) == 1
    assert_no_raw_controls(done.output)
    assert ".fills[0].size': must be an integer, got a string" in done.output


@pytest.mark.parametrize(
    "args",
    [["run"], ["run", "s.toml", "--bogus"], ["bogus"], ["run", "s.toml", "--seed", "-1"], ["data", "synth"]],
)
def test_usage_errors_are_one_line_pointing_at_help(args):
    result = run(*args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "--help')" in lines[0]
