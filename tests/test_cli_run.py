"""`sor run` end to end: the table, the JSON, determinism, and one-line errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

SMALL = """
[data]
source = "synthetic:venues=3,seconds=60,seed=11"
[order]
quantity = 2000
[[strategies]]
name = "best_ask"
[[strategies]]
name = "twap"
params = { bucket_s = 20 }
[[strategies]]
name = "vwap"
[[strategies]]
name = "ck_static"
[sweep]
strategy = "ck_static"
[sweep.grid]
lambda_over = [0.2, 1.0]
lambda_under = [0.3, 1.1]
theta_queue = [0.1, 0.9]
[run]
seed = 3
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def test_run_prints_table_and_writes_valid_json(small, tmp_path):
    out = tmp_path / "r.json"
    result = run("run", small, "--out", out)
    assert result.exit_code == 0, result.output
    assert "| best_ask" in result.output and "degenerate" in result.output
    data = json.loads(out.read_text(), parse_float=Decimal)
    for name in ("best_ask", "twap", "vwap", "ck_static"):
        s = data["strategies"][name]
        assert s["filled_shares"] == 2000
        assert s["total_cash"] == s["notional"] + s["fees"] - s["rebates"]
        assert sum(f["size"] for f in s["fills"]) == 2000
        assert s["catch_up_shares"] == sum(f["size"] for f in s["fills"] if f["catch_up"])
        assert Decimal(s["avg_fill_px"]) == (Decimal(s["total_cash"]) / 2000).quantize(Decimal("0.000000001"))
    opt = Decimal(data["optimized"]["total_cash"])
    for label, base in data["baselines"].items():
        expected = ((Decimal(base["total_cash"]) - opt) / Decimal(base["total_cash"]) * 10000).quantize(
            Decimal("0.0001")
        )
        assert data["savings_vs_baselines_bps"][label] == expected
    assert len(data["sweep"]["rows"]) == 8
    assert data["sweep"]["degenerate"] is True
    assert data["best_parameters"] == {
        "lambda_over": Decimal("0.2"),
        "lambda_under": Decimal("0.3"),
        "theta_queue": Decimal("0.1"),
    }
    assert "NaN" not in out.read_text() and "Infinity" not in out.read_text()


def test_same_scenario_and_seed_give_byte_identical_json(small, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run("run", small, "--out", a, "--quiet").exit_code == 0
    assert run("run", small, "--out", b, "--quiet").exit_code == 0
    assert a.read_bytes() == b.read_bytes()


def test_data_override_reads_a_csv(small, tmp_path):
    # The ARL file is one illiquid venue on another day: the window keys must go.
    text = SMALL.replace('source = "synthetic:venues=3,seconds=60,seed=11"', 'source = "x.csv"')
    path = tmp_path / "arl.toml"
    path.write_text(text)
    out = tmp_path / "arl.json"
    result = run(
        "run",
        path,
        "--data",
        SHARED / "other_trial_mbp10_ARL_2025-07-17__Hemanth-Kumar-04_mbp.csv",
        "--out",
        out,
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["data"]["venues"] == [2]
    assert data["data"]["rows_read"] == 3928
    for s in data["strategies"].values():
        assert s["filled_shares"] <= 2000


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('name = "vwap"', 'name = "vwap"\nkind = "vwapp"'), "unknown strategy 'vwapp'"),
        (("quantity = 2000", "quantity = 0"), "quantity"),
        (("seed = 3", "seed = 3\nspeed = 1"), "unknown key 'speed'"),
        (("seconds=60", "secs=60"), "secs"),
    ],
)
def test_bad_scenarios_fail_with_one_line(small, tmp_path, edit, message):
    small.write_text(SMALL.replace(*edit))
    out = tmp_path / "r.json"
    result = run("run", small, "--out", out)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_missing_data_file_is_named(small, tmp_path):
    result = run("run", small, "--data", tmp_path / "nope.csv")
    assert result.exit_code != 0
    assert "nope.csv" in result.output and "Traceback" not in result.output


def test_malformed_csv_row_is_named_and_nothing_written(small, tmp_path):
    src = (SHARED / "l1_day_excerpt_first5rows__Avni2000_sample.csv").read_text().splitlines()
    src[3] = src[3].replace("222.83", "NaN", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(src) + "\n")
    out = tmp_path / "r.json"
    out.write_text("previous result")
    result = run("run", small, "--data", bad, "--out", out)
    assert result.exit_code != 0
    assert "bad.csv" in result.output and "row 3" in result.output
    assert out.read_text() == "previous result"


def test_strategies_lists_the_built_ins():
    result = run("strategies")
    assert result.exit_code == 0
    for name in ("best_ask", "twap", "vwap", "ck_static", "cont_kukanov"):
        assert name in result.output


def test_run_with_plot_writes_the_figures_and_the_page(small, tmp_path):
    out, plots = tmp_path / "r.json", tmp_path / "plots"
    result = run("run", small, "--out", out, "--plot", plots, "--quiet")
    assert result.exit_code == 0, result.output
    for name in ("results.png", "fills_by_venue.png", "sweep.png", "report.html"):
        assert (plots / name).stat().st_size > 1000
    page = (plots / "report.html").read_text()
    assert "best_ask" in page and "Degenerate sweep" in page


def test_data_override_reads_a_dbn_file(small, tmp_path):
    pytest.importorskip("databento_dbn")
    out = tmp_path / "dbn.json"
    result = run("run", small, "--data", SHARED / "databento_test_data.mbp-10.dbn", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["data"]["rows_read"] == 2 and data["data"]["source"].endswith(".dbn")
