"""`sor queue-truth` end to end: the table, the JSON, determinism, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main
from tests.test_queue_truth import ESH4, ESH4_FIGURES, HAND, needs_esh4

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ARL_MBP = DATA / "other_trial_mbp10_ARL_2025-07-17__Hemanth-Kumar-04_mbp.csv"


@pytest.fixture
def hand_csv(tmp_path: Path) -> Path:
    """The hand-made day of test_queue_truth as a Databento MBO CSV (prices in dollars, times in ns)."""
    lines = ["ts_event,action,side,price,size,order_id,flags"]
    for ts, action, side, price, size, oid, *flags in HAND:
        lines.append(f"{ts},{action},{side},{price},{size},{oid},{flags[0] if flags else 128}")
    path = tmp_path / "hand.mbo.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["queue-truth", *args])
    return result.exit_code, result.output


HAND_ARGS = ("--start", "1000000000", "--end", "2000000000", "--every", "1", "--horizons", "3,6", "--quiet")


def test_hand_day_writes_the_figures_and_a_table(hand_csv, tmp_path):
    out = tmp_path / "q.json"
    code, text = run(str(hand_csv), *HAND_ARGS, "--models", "front_first,risk_averse", "--out", str(out))
    assert code == 0, text
    report = json.loads(out.read_text())
    assert list(report["models"]) == ["front_first", "risk_averse"]
    assert report["models"]["front_first"]["agreement"] == {"3": 0.5, "6": 1.0}
    assert report["models"]["risk_averse"]["fill_time_error_s"]["median"] == 0.0
    assert report["settings"]["tick"] == 1  # dollars: the CSV prices are whole dollars
    lines = text.splitlines()
    assert lines[0].startswith("hand.mbo.csv: 2 virtual orders of 1, 1970-01-01T00:00:01.000000000Z")
    assert "truly filled within 3 s: 0, 6 s: 2" in lines[0]
    assert lines[1].split("|")[1].strip() == "model" and "same outcome 6 s" in lines[1]
    assert "risk_averse (default, best)" in text and f"wrote {out}" in text


def test_same_input_gives_byte_identical_json(hand_csv, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run(str(hand_csv), *HAND_ARGS, "--out", str(a))[0] == 0
    assert run(str(hand_csv), *HAND_ARGS, "--out", str(b))[0] == 0
    assert a.read_bytes() == b.read_bytes()


@needs_esh4
def test_esh4_from_the_command_line(tmp_path):
    out = tmp_path / "q.json"
    code, text = run(
        str(ESH4),
        "--start",
        "23:00",
        "--end",
        "24:00",
        "--models",
        "proportional,risk_averse",
        "--out",
        str(out),
        "--quiet",
    )
    assert code == 0, text
    report = json.loads(out.read_text())
    assert report["settings"]["end"] == "2023-12-26T00:00:00.000000000Z"
    for name in ("proportional", "risk_averse"):
        agreement, _, ahead = ESH4_FIGURES[name]
        assert tuple(report["models"][name]["agreement"].values()) == agreement
        assert report["models"][name]["queue_ahead_error"] == ahead


def _one_line_error(code: int, text: str, match: str) -> None:
    assert code != 0
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and match in errors[0], text


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("--start", "noon"), "--start: cannot read window bound 'noon'"),
        (("--start", "10", "--end", "5"), "is not after start"),
        (("--every", "0"), "--every must be a number of seconds above zero"),
        (("--every", "ten"), "--every must be a number of seconds, got 'ten'"),
        (("--horizons", "60,-1"), "--horizons must be a number of seconds above zero"),
        (("--qty", "0"), "qty must be above zero"),
        (("--models", "magic"), "--models: unknown magic; known: front_first"),
        (("--start", "100000000000", "--end", "200000000000"), "no order can be placed between"),
    ],
)
def test_bad_arguments_end_in_one_line(hand_csv, args, match):
    _one_line_error(*run(str(hand_csv), "--quiet", *args), match)


def test_missing_file_is_one_line(tmp_path):
    _one_line_error(*run(str(tmp_path / "none.dbn.zst")), "none.dbn.zst: no such file")


@pytest.mark.skipif(not ARL_MBP.exists(), reason="shared data files not present")
def test_price_level_file_is_not_mbo():
    _one_line_error(*run(str(ARL_MBP)), "not an MBO file: it has price levels")


def test_unwritable_output_is_one_line(hand_csv, tmp_path):
    _one_line_error(
        *run(str(hand_csv), *HAND_ARGS, "--out", str(tmp_path / "no" / "q.json")), "No such file or directory"
    )


def test_progress_lines_go_to_stderr(hand_csv):
    result = CliRunner().invoke(main, ["queue-truth", str(hand_csv), *HAND_ARGS[:-1]])
    assert result.exit_code == 0
    assert "truth: 2 virtual orders" in result.stderr and "truth:" not in result.stdout
