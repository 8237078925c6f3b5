"""``sor report`` and ``write_report`` on small hand-built results.

Every expected number below is summed by hand from the fills written in
``hand_built_result``; the figures are checked through the data they return,
not their pixels.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal as D
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.commands.report import report
from sim.report import FIGURE_FILES, ReportError, draw_report, load_result, write_report

pytest.importorskip("matplotlib", reason="the report figures need matplotlib (pip install 'sor[plot]')")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
T0 = 1_722_519_392_000_000_000  # 2024-08-01T13:36:32Z
SECOND = 1_000_000_000


def fill(dt_s, venue, price, size, liquidity="taker", fee=0, rebate=0, catch_up=False):
    ts_ns = T0 + int(dt_s * SECOND)
    return {
        "ts": f"ts_ns={ts_ns}",
        "ts_ns": ts_ns,
        "venue": venue,
        "price": price,
        "size": size,
        "liquidity": liquidity,
        "fee": fee,
        "rebate": rebate,
        "catch_up": catch_up,
        "queue_ahead": None,
    }


def strategy(kind, fills, total_cash, avg, fees, rebates, catch_up, maker, parameters=None):
    return {
        "kind": kind,
        "parameters": parameters or {},
        "filled_shares": sum(f["size"] for f in fills),
        "total_cash": total_cash,
        "avg_fill_px": avg,
        "fees": fees,
        "rebates": rebates,
        "catch_up_shares": catch_up,
        "maker_shares": maker,
        "taker_shares": sum(f["size"] for f in fills) - maker,
        "complete": True,
        "fills": fills,
    }


SWEEP_COSTS = [66860.0, 66858.5, 66857.25, 66856.0, 66855.1, 66853.4, 66854.75, 66859.99]


def sweep_rows(costs):
    rows = []
    for i, over in enumerate((0.1, 0.2)):
        for j, under in enumerate((0.3, 0.4)):
            for k, theta in enumerate((0.05, 0.1)):
                params = {"lambda_over": over, "lambda_under": under, "theta_queue": theta}
                rows.append(
                    {"parameters": params, "total_cash": costs[4 * i + 2 * j + k], "filled_shares": 300}
                )
    return rows


def hand_built_result():
    """Return a three-strategy buy of 300 shares with a 2x2x2 sweep and two walk-forward windows."""
    best = {"lambda_over": 0.2, "lambda_under": 0.3, "theta_queue": 0.1}
    ck = [
        fill(1, 2, 222.83, 100, fee=0.3),
        fill(3, 5, 222.8, 100, "maker", rebate=0.2),
        fill(9, 2, 222.9, 100, fee=0.3, catch_up=True),
    ]
    best_ask = [fill(0.5, 2, 222.83, 200, fee=0.6), fill(2, 38, 222.85, 100, fee=0.3)]
    twap = [
        fill(2, 5, 222.84, 150, fee=0.45),
        fill(6, 38, 222.86, 100, "maker", rebate=0.25),
        fill(9.5, 5, 222.95, 50, fee=0.15, catch_up=True),
    ]
    market_ts = [T0 + i * SECOND // 2 for i in range(21)]
    bids = [round(222.78 + 0.01 * (i % 4), 2) for i in range(21)]
    bids[7] = None  # an instant with an empty bid side
    return {
        "version": "0.1.0",
        "best_parameters": best,
        "optimized": {"strategy": "ck_static", "total_cash": 66853.4, "avg_fill_px": 222.844666667},
        "baselines": {
            "best_ask": {"strategy": "best_ask", "total_cash": 66851.9, "avg_fill_px": 222.839666667},
            "twap": {"strategy": "twap", "total_cash": 66859.85, "avg_fill_px": 222.866166667},
        },
        "savings_vs_baselines_bps": {"best_ask": -0.2244, "twap": 0.9647},
        "savings_basis": {"best_ask": "total_cash", "twap": "total_cash"},
        "order": {"side": "buy", "quantity": 300},
        "strategies": {
            "ck_static": strategy("ck_static", ck, 66853.4, 222.844666667, 0.6, 0.2, 100, 100, best),
            "best_ask": strategy("best_ask", best_ask, 66851.9, 222.839666667, 0.9, 0, 0, 0),
            "twap": strategy("twap", twap, 66859.85, 222.866166667, 0.6, 0.25, 50, 100),
        },
        "sweep": {
            "strategy": "ck_static",
            "parameters": ["lambda_over", "lambda_under", "theta_queue"],
            "rows": sweep_rows(SWEEP_COSTS),
            "distinct_total_cash": 8,
            "degenerate": False,
            "chosen": 5,
        },
        "walk_forward": {
            "windows": [
                {
                    "tune": {"start": "2024-08-01T13:36:32Z", "end": "2024-08-01T13:36:37Z"},
                    "test": {"start": "2024-08-01T13:36:37Z", "end": "2024-08-01T13:36:42Z"},
                    "best_parameters": best,
                    "in_sample_bps": {"best_ask": 1.25, "twap": 2.5},
                    "out_of_sample_bps": {"best_ask": -0.4, "twap": 0.75},
                },
                {
                    "tune": {"start": "2024-08-01T13:36:37Z", "end": "2024-08-01T13:36:42Z"},
                    "test": {"start": "2024-08-01T13:36:42Z", "end": "2024-08-01T13:36:47Z"},
                    "best_parameters": {"lambda_over": 0.1, "lambda_under": 0.4, "theta_queue": 0.05},
                    "in_sample_bps": {"best_ask": 0.9, "twap": 1.8},
                    "out_of_sample_bps": {"best_ask": 0.1, "twap": None},
                },
            ]
        },
        "market": {
            "ts_ns": market_ts,
            "best_bid": bids,
            "best_ask": [round(222.82 + 0.01 * (i % 5), 2) for i in range(21)],
        },
        "data": {
            "source": "hand-built",
            "symbol": "SYN",
            "venues": [2, 5, 38],
            "window": {"start": "2024-08-01T13:36:32Z", "end": "2024-08-01T13:36:42Z"},
        },
        "scenario": {},
    }


def degenerate_result():
    result = hand_built_result()
    result["sweep"]["rows"] = sweep_rows([66853.4] * 8)
    result["sweep"].update(distinct_total_cash=1, degenerate=True)
    return result


def write_json(path: Path, result: dict) -> Path:
    # Short float reprs are written as the same decimal text the engine would write.
    path.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return path


@pytest.fixture()
def result_file(tmp_path: Path) -> Path:
    return write_json(tmp_path / "r.json", hand_built_result())


@pytest.fixture()
def drawn(result_file: Path, tmp_path: Path):
    return draw_report(load_result(result_file), tmp_path / "out", source=str(result_file))


class _Tables(HTMLParser):
    """Collect every table's rows of cell text, by table id, and the paragraph texts."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self.ids: dict[str, str] = {}
        self._table = self._row = self._cell = None
        self._id_stack: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._id_stack.append((tag, attrs.get("id")))
        if attrs.get("id"):
            self.ids[attrs["id"]] = ""
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(attrs.get("src", ""))

    def handle_endtag(self, tag):
        if self._id_stack:
            self._id_stack.pop()
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        for _tag, element_id in self._id_stack:
            if element_id:
                self.ids[element_id] += data


def parse_page(path: Path) -> _Tables:
    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def as_dicts(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    head, *body = rows
    return {row[0]: dict(zip(head, row, strict=True)) for row in body}


def test_report_writes_every_figure_and_the_page_with_fixed_names(result_file: Path, tmp_path: Path):
    written = write_report(load_result(result_file), tmp_path / "out")
    names = [p.name for p in written]
    assert names == ["results.png", "fills_by_venue.png", "sweep.png", "walk_forward.png", "report.html"]
    for path in written[:-1]:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert written[-1].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_is_byte_identical_when_written_twice(result_file: Path, tmp_path: Path):
    result = load_result(result_file)
    first = [p.read_bytes() for p in write_report(result, tmp_path / "a")]
    second = [p.read_bytes() for p in write_report(result, tmp_path / "b")]
    assert first == second


def test_cumulative_cash_and_shares_equal_the_hand_summed_fills(drawn):
    curves = drawn["cost_curve"].data.curves
    # ck_static: 222.83*100+0.30, then +222.80*100-0.20, then +222.90*100+0.30
    assert curves["ck_static"].cash == (D("22283.30"), D("44563.10"), D("66853.40"))
    assert curves["ck_static"].shares == (100, 200, 300)
    assert curves["ck_static"].catch_up == (False, False, True)
    # best_ask: 222.83*200+0.60, then +222.85*100+0.30
    assert curves["best_ask"].cash == (D("44566.60"), D("66851.90"))
    # twap: 222.84*150+0.45, +222.86*100-0.25, +222.95*50+0.15
    assert curves["twap"].cash == (D("33426.45"), D("55712.20"), D("66859.85"))
    assert curves["twap"].ts_ns == (T0 + 2 * SECOND, T0 + 6 * SECOND, T0 + 9 * SECOND + SECOND // 2)


def test_cost_curve_spans_the_market_window_and_keeps_an_empty_bid_empty(drawn):
    data = drawn["cost_curve"].data
    assert (data.start_ns, data.end_ns) == (T0, T0 + 10 * SECOND)
    assert len(data.market_ts_ns) == 21
    assert data.best_bid[7] is None
    assert data.best_ask[1] == D("222.83")


def test_cost_curve_figure_is_titled_labelled_in_dollars_and_utc(drawn):
    texts = drawn["cost_curve"].texts
    assert "Cumulative cost of the parent order: buy 300 SYN" in texts
    assert "cumulative cash ($)" in texts
    assert "price ($ per share)" in texts
    assert "time (UTC) on 2024-08-01" in texts
    assert "13:36:35" in texts  # tick labels in UTC, not local time
    assert "market best ask" in texts and "market best bid" in texts
    assert "catch-up fill (end-of-window sweep)" in texts
    assert "ck_static: 300 sh, $66,853.40" in texts


def test_venue_bars_stack_the_shares_each_strategy_filled_by_venue_and_liquidity(drawn):
    mix = drawn["venue_mix"].data
    assert mix.strategies == ("ck_static", "best_ask", "twap")
    assert mix.venues == (2, 5, 38)
    expected = {
        ("ck_static", 2, "taker"): 200,
        ("ck_static", 5, "maker"): 100,
        ("best_ask", 2, "taker"): 200,
        ("best_ask", 38, "taker"): 100,
        ("twap", 5, "taker"): 200,
        ("twap", 38, "maker"): 100,
    }
    for s in mix.strategies:
        for v in mix.venues:
            for liquidity in ("taker", "maker"):
                assert mix.get(s, v, liquidity) == expected.get((s, v, liquidity), 0), (s, v, liquidity)
    assert "ck_static\n33% maker" in drawn["venue_mix"].texts


def test_sweep_heatmap_lays_costs_out_by_parameter_and_marks_the_chosen_cell(drawn):
    grid = drawn["sweep"].data
    assert (grid.x_name, grid.y_name, grid.panel_name) == ("lambda_over", "lambda_under", "theta_queue")
    assert grid.x_values == (D("0.1"), D("0.2"))
    assert grid.panel_values == (D("0.05"), D("0.1"))
    # cost[theta][under][over]; row k of the grid is over*4 + under*2 + theta.
    assert grid.cost == (
        ((D("66860.0"), D("66855.1")), (D("66857.25"), D("66854.75"))),
        ((D("66858.5"), D("66853.4")), (D("66856.0"), D("66859.99"))),
    )
    assert grid.chosen == (1, 0, 1)
    assert grid.cost[1][0][1] == D("66853.4")
    assert not grid.degenerate
    texts = drawn["sweep"].texts
    assert "chosen" in texts and "cheapest" in texts and "+$1.35" in texts
    assert "theta_queue = 0.05" in texts and "theta_queue = 0.1" in texts
    assert not any("Degenerate" in t for t in texts)


def test_degenerate_sweep_says_so_on_the_figure_and_the_page(tmp_path: Path):
    drawn = draw_report(degenerate_result(), tmp_path)
    grid = drawn["sweep"].data
    assert grid.degenerate
    note = "Degenerate sweep: all 8 parameter sets cost $66,853.40."
    assert any(t.startswith(note) for t in drawn["sweep"].texts)
    assert parse_page(tmp_path / "report.html").ids["sweep-degenerate"].startswith(note)


@pytest.mark.parametrize("flag", ["absent", False])
def test_degenerate_is_worked_out_from_the_rows_whatever_the_flag_says(tmp_path: Path, flag):
    result = degenerate_result()
    if flag == "absent":
        del result["sweep"]["degenerate"]
    else:
        result["sweep"]["degenerate"] = flag
    assert draw_report(result, tmp_path)["sweep"].data.degenerate


def test_sweep_of_one_parameter_draws_cost_along_its_values(tmp_path: Path):
    result = hand_built_result()
    rows = [
        {"parameters": {"lambda_over": over}, "total_cash": cash}
        for over, cash in ((0.3, 66854.0), (0.1, 66851.5), (0.2, 66853.0))
    ]
    result["sweep"].update(parameters=["lambda_over"], rows=rows, chosen=1)
    drawn = draw_report(result, tmp_path)["sweep"]
    grid = drawn.data
    assert grid.parameters == 1 and grid.y_name is None and grid.panel_name is None
    assert grid.x_values == (D("0.1"), D("0.2"), D("0.3"))
    assert grid.cost == (((D("66851.5"), D("66853.0"), D("66854.0")),),)
    assert grid.chosen == (0, 0, 0)
    assert "chosen" in drawn.texts and "total cost ($)" in drawn.texts


def test_sweep_of_two_parameters_draws_one_heatmap_with_gaps_left_blank(tmp_path: Path):
    result = hand_built_result()
    rows = [
        {"parameters": {"lambda_over": over, "theta_queue": theta}, "total_cash": cash}
        for over, theta, cash in ((0.1, 0.05, 66856.0), (0.1, 0.1, 66855.0), (0.2, 0.05, 66852.0))
    ]
    result["sweep"].update(parameters=["lambda_over", "theta_queue"], rows=rows, chosen=2)
    drawn = draw_report(result, tmp_path)["sweep"]
    grid = drawn.data
    assert (grid.x_name, grid.y_name, grid.panel_name) == ("lambda_over", "theta_queue", None)
    assert grid.cost == (((D("66856.0"), D("66852.0")), (D("66855.0"), None)),)
    assert grid.chosen == (0, 0, 1)
    assert "no run" in drawn.texts and "+$3.00" in drawn.texts


def test_sweep_of_four_parameters_holds_the_fourth_at_the_chosen_value(tmp_path: Path):
    result = hand_built_result()
    rows = []
    for venue_bias in (0, 1):
        for row in sweep_rows(SWEEP_COSTS):
            row["parameters"]["venue_bias"] = venue_bias
            row["total_cash"] += 100 * venue_bias
            rows.append(row)
    result["sweep"].update(parameters=[*result["sweep"]["parameters"], "venue_bias"], rows=rows, chosen=13)
    grid = draw_report(result, tmp_path)["sweep"].data
    assert grid.held == {"venue_bias": 1}
    assert grid.cost[1][0][1] == D("66953.4")
    assert grid.chosen == (1, 0, 1)


def test_run_without_sweep_or_walk_forward_skips_those_figures(tmp_path: Path):
    write_report(hand_built_result(), tmp_path)
    result = hand_built_result()
    result["sweep"] = None
    result["walk_forward"] = None
    written = write_report(result, tmp_path)
    # The figures of the earlier report into the same folder must not linger.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fills_by_venue.png", "report.html", "results.png"]
    assert [p.name for p in written] == ["results.png", "fills_by_venue.png", "report.html"]
    page = parse_page(tmp_path / "report.html")
    assert "walk-forward" not in page.tables and len(page.images) == 2


def test_page_table_shows_the_summary_of_every_strategy(drawn, tmp_path: Path):
    page = parse_page(tmp_path / "out" / "report.html")
    rows = as_dicts(page.tables["summary"])
    assert list(rows) == ["ck_static", "best_ask", "twap"]
    ck, best_ask, twap = rows["ck_static"], rows["best_ask"], rows["twap"]
    assert ck["Role"] == "optimized" and best_ask["Role"] == "baseline"
    assert ck["Total cash ($)"] == "66,853.40"
    assert ck["Average price ($)"] == "222.844666667"
    assert ck["Fees ($)"] == "0.60" and ck["Rebates ($)"] == "0.20"
    assert ck["Catch-up shares"] == "100" and ck["Maker shares"] == "100"
    assert ck["Filled shares"] == "300" and ck["Complete?"] == "yes"
    assert ck["Savings vs this (bps)"] == "\u2014"
    assert best_ask["Savings vs this (bps)"] == "-0.2244" and best_ask["Basis"] == "total_cash"
    assert twap["Savings vs this (bps)"] == "+0.9647"
    assert twap["Total cash ($)"] == "66,859.85" and twap["Catch-up shares"] == "50"
    assert (
        page.ids["best-parameters"] == "Best parameters: lambda_over=0.2, lambda_under=0.3, theta_queue=0.1"
    )


def test_page_compares_in_sample_and_out_of_sample_savings(drawn, tmp_path: Path):
    rows = parse_page(tmp_path / "out" / "report.html").tables["walk-forward"]
    head, *body = rows
    got = [(r[0], r[4], r[5], r[6]) for r in body]
    assert got == [
        ("1", "best_ask", "+1.25", "-0.4"),
        ("1", "twap", "+2.5", "+0.75"),
        ("2", "best_ask", "+0.9", "+0.1"),
        ("2", "twap", "+1.8", "\u2014"),
    ]
    assert body[0][1] == "2024-08-01T13:36:32Z to 2024-08-01T13:36:37Z"
    walk = drawn["walk_forward"].data
    assert walk.baselines == ("best_ask", "twap")
    assert walk.out_of_sample["twap"] == (D("0.75"), None)
    assert walk.in_sample["best_ask"] == (D("1.25"), D("0.9"))


def test_page_is_self_contained(drawn, tmp_path: Path):
    text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    page = parse_page(tmp_path / "out" / "report.html")
    assert len(page.images) == 4
    assert all(src.startswith("data:image/png;base64,iVBORw0KGgo") for src in page.images)
    for needle in ("<script", "<link", "http://", "https://", 'src="file:', "@import"):
        assert needle not in text


def test_write_report_accepts_floats_from_an_in_memory_result(tmp_path: Path):
    drawn = draw_report(hand_built_result(), tmp_path)  # floats, not Decimals, as the engine may pass
    assert drawn["cost_curve"].data.curves["twap"].cash[-1] == D("66859.85")


def test_report_draws_without_a_display(result_file: Path, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    # An interactive default backend must not matter: the report never goes through pyplot.
    env["MPLBACKEND"] = "TkAgg"
    code = (
        "import sys; from sim.report import write_report, load_result; "
        "print(len(write_report(load_result(sys.argv[1]), sys.argv[2])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(result_file), str(tmp_path / "headless")],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"
    assert (tmp_path / "headless" / "results.png").read_bytes()[:8] == PNG_SIGNATURE


def test_cli_writes_next_to_the_result_by_default(result_file: Path):
    done = CliRunner().invoke(report, [str(result_file)])
    assert done.exit_code == 0, done.output
    assert (result_file.parent / "results.png").exists()
    assert done.output.splitlines()[-1] == str(result_file.parent / "report.html")


def test_cli_writes_to_out_dir(result_file: Path, tmp_path: Path):
    done = CliRunner().invoke(report, [str(result_file), "--out", str(tmp_path / "plots")])
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(
        [*FIGURE_FILES.values(), "report.html"]
    )


def _assert_fails_in_one_line(path: Path, *fragments: str) -> str:
    done = CliRunner().invoke(report, [str(path), "--out", str(path.parent / "never")])
    assert done.exit_code != 0
    assert not isinstance(done.exception, Exception) or isinstance(done.exception, SystemExit)
    message = done.output.strip()
    assert len(message.splitlines()) == 1, message
    assert "Traceback" not in message
    assert message.startswith(f"Error: {path}")
    for fragment in fragments:
        assert fragment in message
    assert not (path.parent / "never").exists()
    return message


def test_cli_rejects_a_file_that_is_not_json(tmp_path: Path):
    path = tmp_path / "r.json"
    path.write_text("strategies: none\n", encoding="utf-8")
    _assert_fails_in_one_line(path, "not JSON", "line 1")


def test_cli_rejects_a_strategy_without_fills(tmp_path: Path):
    result = hand_built_result()
    del result["strategies"]["twap"]["fills"]
    message = _assert_fails_in_one_line(write_json(tmp_path / "r.json", result), "'strategies.twap.fills'")
    assert message.endswith("missing")


def test_cli_rejects_a_result_without_strategies(tmp_path: Path):
    result = hand_built_result()
    del result["strategies"]
    _assert_fails_in_one_line(write_json(tmp_path / "r.json", result), "'strategies'", "missing")


def drop(*path):
    """Return a change that removes the field at ``path`` from a result."""

    def change(result):
        *parents, last = path
        for key in parents:
            result = result[key]
        del result[last]

    return change


def put(value, *path):
    """Return a change that sets the field at ``path`` of a result to ``value``."""

    def change(result):
        *parents, last = path
        for key in parents:
            result = result[key]
        result[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        (
            drop("strategies", "ck_static", "fills", 1, "price"),
            "strategies.ck_static.fills[1].price",
            "missing",
        ),
        (drop("strategies", "best_ask", "total_cash"), "strategies.best_ask.total_cash", "missing"),
        (drop("strategies", "twap", "complete"), "strategies.twap.complete", "missing"),
        (
            put("both", "strategies", "twap", "fills", 0, "liquidity"),
            "strategies.twap.fills[0].liquidity",
            "'maker'",
        ),
        (put("50", "strategies", "twap", "fills", 0, "size"), "strategies.twap.fills[0].size", "integer"),
        (put(None, "strategies", "twap", "total_cash"), "strategies.twap.total_cash", "number, got null"),
        (drop("sweep", "rows", 3, "total_cash"), "sweep.rows[3].total_cash", "missing"),
        (
            drop("sweep", "rows", 2, "parameters", "theta_queue"),
            "sweep.rows[2].parameters.theta_queue",
            "missing",
        ),
        (put(8, "sweep", "chosen"), "sweep.chosen", "indexes no row"),
        (
            drop("walk_forward", "windows", 1, "out_of_sample_bps"),
            "walk_forward.windows[1].out_of_sample_bps",
            "missing",
        ),
        (put([1.0], "market", "best_ask"), "market", "differ in length"),
        (put("222.8", "market", "best_bid", 3), "market.best_bid[3]", "number, got a string"),
    ],
)
def test_cli_names_the_missing_or_bad_field(tmp_path: Path, change, field, why):
    result = hand_built_result()
    change(result)
    _assert_fails_in_one_line(write_json(tmp_path / "r.json", result), f"field '{field}'", why)


def test_cli_rejects_nan(tmp_path: Path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(hand_built_result()).replace("66853.4", "NaN", 1), encoding="utf-8")
    _assert_fails_in_one_line(path, "not JSON", "NaN")


def test_cli_rejects_a_file_that_is_not_text(tmp_path: Path):
    path = tmp_path / "r.json"
    path.write_bytes(PNG_SIGNATURE + b"\xff\xfe")
    _assert_fails_in_one_line(path, "not JSON")


def test_without_matplotlib_the_cli_says_how_to_install_it(result_file: Path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    done = CliRunner().invoke(report, [str(result_file), "--out", str(result_file.parent / "x")])
    assert done.exit_code != 0
    assert done.output.strip() == "Error: drawing a report needs matplotlib: pip install 'sor[plot]'"
    assert not (result_file.parent / "x").exists()


def test_write_report_raises_report_error_for_a_bad_in_memory_result(tmp_path: Path):
    result = hand_built_result()
    del result["strategies"]["ck_static"]["fills"][0]["ts_ns"]
    with pytest.raises(
        ReportError, match=r"^result: field 'strategies.ck_static.fills\[0\].ts_ns': missing$"
    ):
        write_report(result, tmp_path)
