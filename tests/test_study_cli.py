"""`sor study` end to end on real local Dask workers: the table, the JSON, determinism, one-line errors."""

from __future__ import annotations

import json
import socket
import time
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from feeds.csv_writer import write_csv
from feeds.synthetic import SynthConfig, generate
from sim.cli import main
from sim.runner import run_scenario
from sim.scenario import Scenario

STUDY = """
[data]
source = "synthetic:venues=2,seconds=20"
[order]
quantity = 1000
[[strategies]]
name = "best_ask"
[[strategies]]
name = "twap"
params = { bucket_s = 5 }
[[strategies]]
name = "cont_kukanov"
params = { horizon_s = 2, estimation_s = 4, sa_samples = 50 }
[sweep]
strategy = "cont_kukanov"
[sweep.grid]
lambda_over = [0.002, 0.05]
lambda_under = [0.002, 0.05]
theta = [0.0005]
[run]
seed = 3
[study]
seeds = [1, 4]
bootstrap_samples = 1000
"""

FILES = """
[data]
source = "a.csv"
[order]
quantity = 300
[[strategies]]
name = "best_ask"
[[strategies]]
name = "twap"
params = { bucket_s = 2 }
[study]
files = ["data/*.csv"]
on_error = "{on_error}"
bootstrap_samples = 200
"""


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def read(path: Path) -> dict:
    return json.loads(path.read_text(), parse_float=Decimal)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The tiny study run once with 2 local workers and once with 1."""
    tmp = tmp_path_factory.mktemp("study")
    scenario = tmp / "tiny.toml"
    scenario.write_text(STUDY)
    outs = {}
    for workers in (2, 1):
        outs[workers] = tmp / f"w{workers}.json"
        done = run("study", scenario, "--workers", workers, "--out", outs[workers])
        assert done.exit_code == 0, done.output
        outs[f"output{workers}"] = done.output
    return {"scenario": scenario, **outs}


def test_study_prints_the_table_and_the_counts(study):
    out = study["output2"]
    assert "| cont_kukanov (in-sample best) | best_ask" in out
    assert "| cont_kukanov (out of sample)  | twap" in out
    assert "95% CI (t)" in out and "95% CI (bootstrap)" in out and "win rate" in out
    assert "4 of 4 markets (0 skipped, 0 from checkpoints)" in out
    assert "leave one session out (4 sessions)" in out
    assert "consolidated quotes over 4 markets: crossed at " in out


def test_the_json_is_byte_identical_with_one_or_two_workers(study):
    assert study[1].read_bytes() == study[2].read_bytes()


def test_rows_are_in_market_order_and_each_is_the_run_of_its_seed(study):
    result = read(study[2])
    rows = result["study"]["markets"]
    assert [r["id"] for r in rows] == ["seed=1", "seed=2", "seed=3", "seed=4"]
    scenario = Scenario.from_toml(study["scenario"])
    direct = run_scenario(attrs.evolve(scenario, seed=3))  # `sor run tiny.toml --seed 3`
    three = rows[2]
    assert three["source"] == direct["data"]["source"] == "synthetic:venues=2,seconds=20,seed=3"
    for name, s in direct["strategies"].items():
        assert three["strategies"][name]["total_cash"] == s["total_cash"], name
        assert three["strategies"][name]["filled_shares"] == s["filled_shares"], name
    assert three["sweep"]["total_cash"] == [r["total_cash"] for r in direct["sweep"]["rows"]]
    assert three["savings_bps"]["cont_kukanov"] == direct["savings_vs_baselines_bps"]
    assert three["quotes"]["consolidated"] == direct["data"]["consolidated"]
    totals = result["study"]["quotes"]
    assert totals["markets"] == 4
    assert totals["instants"] == sum(r["quotes"]["consolidated"]["instants"] for r in rows) > 0
    assert totals["crossed"] == sum(r["quotes"]["consolidated"]["crossed"] for r in rows)


def test_summary_cells_have_the_documented_shape_and_no_nan(study):
    text = study[2].read_text()
    assert "NaN" not in text and "Infinity" not in text
    study_block = read(study[2])["study"]
    cell = study_block["summary"]["cont_kukanov"]["twap"]
    for key in ("n", "mean_bps", "sd_bps", "se_bps", "ci95_low_bps", "ci95_high_bps", "median_bps"):
        assert key in cell
    assert cell["n"] == 4 and cell["incomplete"] == 0
    values = sorted(r["savings_bps"]["cont_kukanov"]["twap"] for r in study_block["markets"])
    # The median of four is the mean of the middle two, rounded half-even to 0.0001 bps.
    middle = ((values[1] + values[2]) / 2).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    assert cell["median_bps"] == middle
    assert cell["wins"] == sum(v > 0 for v in values)
    assert set(study_block["out_of_sample"]) == {"cont_kukanov"}


def test_plot_draws_the_study_figure_and_report_reads_the_file_back(study, tmp_path):
    pytest.importorskip("matplotlib")
    done = run("report", study[2], "--out", tmp_path)
    assert done.exit_code == 0, done.output
    assert (tmp_path / "study_savings.png").stat().st_size > 10_000
    page = (tmp_path / "report.html").read_text()
    assert "cont_kukanov (out of sample)" in page and "leave one session out" in page


def test_a_running_scheduler_gives_the_same_json(study, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        out = tmp_path / "c.json"
        done = run("study", study["scenario"], "--cluster", cluster.scheduler_address, "--out", out)
    assert done.exit_code == 0, done.output
    assert out.read_bytes() == study[1].read_bytes()


def test_a_cluster_address_where_nothing_listens_fails_in_one_line_within_five_seconds(study, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "kept.json"
    out.write_text("earlier result\n")
    started = time.monotonic()
    done = run("study", study["scenario"], "--cluster", f"tcp://127.0.0.1:{port}", "--out", out)
    assert time.monotonic() - started < 5
    assert done.exit_code == 1
    assert done.output.strip().count("\n") == 0
    assert f"--cluster tcp://127.0.0.1:{port}: no Dask scheduler answers there" in done.output
    assert out.read_text() == "earlier result\n"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("bootstrap_samples = 1000", "bootstrap_sample = 1000"), "[study]: unknown key 'bootstrap_sample'"),
        (("seeds = [1, 4]", "seeds = [4, 1]"), "[study] seeds: empty range 4..1"),
        (("seeds = [1, 4]", 'files = ["nowhere/*.dbn.zst"]'), "'nowhere/*.dbn.zst' matches no file"),
        (("lambda_over = [0.002, 0.05]", "lambda_ovr = [0.002, 0.05]"), "lambda_ovr"),
        (("[study]\nseeds = [1, 4]\nbootstrap_samples = 1000", ""), "no [study] table"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path, edit, message):
    scenario = tmp_path / "bad.toml"
    scenario.write_text(STUDY.replace(*edit))
    done = run("study", scenario, "--out", tmp_path / "s.json")
    assert done.exit_code == 1
    assert message in done.output
    assert done.output.strip().count("\n") == 0
    assert not (tmp_path / "s.json").exists()


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Three markets as CSV files, the middle one with a malformed timestamp on row 5."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    for i, name in enumerate(("a.csv", "b.csv", "c.csv")):
        write_csv(generate(SynthConfig(venues=2, seconds=4, seed=i + 1)), tmp_path / "data" / name)
    lines = (tmp_path / "data" / "b.csv").read_text().splitlines()
    lines[5] = lines[5].replace(",", ",x", 1)
    (tmp_path / "data" / "b.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_a_failing_market_stops_the_study_by_default_naming_it(files):
    (files / "s.toml").write_text(FILES.replace("{on_error}", "stop"))
    done = run("study", "s.toml", "--workers", 1, "--out", "s.json")
    assert done.exit_code == 1
    announced, line = done.output.strip().split("\n")
    assert announced == "study: 3 markets to run on 1 local worker"
    assert line.startswith("Error: market file=data/b.csv: data/b.csv, row 5, field 'ts_event'")
    assert 'the study stops: [study] on_error = "stop"' in line
    assert not (files / "s.json").exists()


def test_on_error_skip_names_counts_and_leaves_out_the_failing_market(files):
    (files / "s.toml").write_text(FILES.replace("{on_error}", "skip"))
    done = run("study", "s.toml", "--workers", 1, "--out", "s.json")
    assert done.exit_code == 0, done.output
    assert "skipped market file=data/b.csv: data/b.csv, row 5" in done.output
    study_block = read(files / "s.json")["study"]
    assert [r["id"] for r in study_block["markets"]] == ["file=data/a.csv", "file=data/c.csv"]
    assert (study_block["markets_planned"], study_block["markets_run"], study_block["markets_skipped"]) == (
        3,
        2,
        1,
    )
    assert study_block["skipped"][0]["id"] == "file=data/b.csv"
    assert study_block["summary"]["best_ask"]["twap"]["n"] == 2
    assert study_block["out_of_sample"] == {}
    assert "no [sweep]" in study_block["method"]["out_of_sample"]


def test_windows_cut_each_session_into_adjacent_markets(tmp_path):
    scenario = tmp_path / "w.toml"
    scenario.write_text(STUDY.replace("seeds = [1, 4]", "seeds = [1, 2]\nwindows = 2"))
    out = tmp_path / "w.json"
    done = run("study", scenario, "--workers", 2, "--out", out)
    assert done.exit_code == 0, done.output
    rows = read(out)["study"]["markets"]
    assert [r["id"] for r in rows] == [
        "seed=1 window=1/2",
        "seed=1 window=2/2",
        "seed=2 window=1/2",
        "seed=2 window=2/2",
    ]
    first, second = rows[0]["window"], rows[1]["window"]
    assert (first["number"], first["of"], second["number"]) == (1, 2, 2)
    assert first["end"] < second["start"]
    assert "leave one session out (2 sessions)" in read(out)["study"]["method"]["out_of_sample"]
