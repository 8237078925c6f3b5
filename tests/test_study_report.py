"""The study's figure and page: the numbers drawn, the table shown, and one-line errors on a bad file."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from test_study_summary import SCENARIO, A, B, C

from sim.jsonio import dumps
from sim.report import ReportError, load_result, validate_result, write_report
from sim.report.study_figure import study_savings
from sim.report.study_page import render_study_page
from sim.scenario import Scenario
from sim.study.markets import expand_markets
from sim.study.summary import study_result


@pytest.fixture
def result():
    scenario = Scenario.from_dict(SCENARIO, "s.toml")
    rows = {0: json.loads(dumps(A), parse_float=D), 1: json.loads(dumps(B), parse_float=D)}
    rows[2] = json.loads(dumps(C), parse_float=D)
    return study_result(scenario, expand_markets(scenario), rows, [{"id": "seed=9", "error": "bad row"}])


def test_the_figure_draws_every_market_and_the_cells_intervals(result):
    data = study_savings(result)
    assert data.baselines == ("best_ask",) and data.markets == 3
    in_sample, out_of_sample = data.columns["best_ask"]
    assert in_sample.label == "cont_kukanov\n(in-sample)"
    # cont_kukanov's cheapest lane vs best_ask per market: A 4.9975, B 0, C 9.9900 bps.
    assert in_sample.values == (D("4.9975"), D("0"), D("9.99"))
    cell = result["study"]["summary"]["cont_kukanov"]["best_ask"]
    assert in_sample.mean == cell["mean_bps"]
    assert in_sample.ci == (cell["ci95_low_bps"], cell["ci95_high_bps"])
    assert out_of_sample.label == "cont_kukanov\n(out of sample)"
    assert out_of_sample.values == (D("0"), D("-20"), D("-19.98"))


def test_write_report_on_a_study_writes_its_figure_and_page(result, tmp_path):
    pytest.importorskip("matplotlib")
    paths = write_report(result, tmp_path, source="s.json")
    assert [p.name for p in paths] == ["study_savings.png", "report.html"]
    assert paths[0].stat().st_size > 5_000


def test_the_page_shows_each_cell_the_method_and_the_skipped_markets(result):
    page = render_study_page(result, None, "s.json")
    assert "cont_kukanov (in-sample best)" in page and "cont_kukanov (out of sample)" in page
    assert "+4.9958" in page  # the in-sample mean, as the result states it
    assert "leave one session out (3 sessions)" in page
    assert "seed=9: bad row" in page
    assert "Markets: 3 run of 3 (1 skipped)" in page


def test_a_study_file_is_read_back_and_checked(result, tmp_path):
    path = tmp_path / "s.json"
    path.write_text(dumps(result) + "\n")
    assert load_result(path)["study"]["summary"]["cont_kukanov"]["best_ask"]["n"] == 3


@pytest.mark.parametrize(
    ("damage", "field"),
    [
        (lambda s: s.pop("markets"), "study.markets"),
        (lambda s: s["summary"]["cont_kukanov"]["best_ask"].pop("ci95_low_bps"), "ci95_low_bps"),
        (lambda s: s["summary"]["cont_kukanov"]["best_ask"].update(mean_bps="1.2"), "mean_bps"),
        (lambda s: s["markets"][1]["out_of_sample"].pop("savings_bps"), "markets[1]"),
    ],
)
def test_a_damaged_study_is_refused_in_one_line_naming_the_field(result, damage, field):
    damage(result["study"])
    with pytest.raises(ReportError) as err:
        validate_result(result, "s.json")
    assert field in str(err.value) and str(err.value).startswith("s.json")
    assert "\n" not in str(err.value)
