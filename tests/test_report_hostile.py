"""``sor report`` on hostile results: absurd numbers, too many entries, names that are markup."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_report import SWEEP_COSTS, hand_built_result, parse_page

from sim.cli import main
from sim.jsonio import dumps
from sim.report import ReportError, draw_report, load_result, validate_result
from sim.report import series as report_series
from sim.report.fmt import plain

pytest.importorskip("matplotlib")


# Numbers written into the JSON text as given: "1e999999999" in full would be a gigabyte.
LITERALS = ("1e999999999", "1e-999999999")


def refused(result, tmp_path) -> str:
    """Write ``result`` as sor would, run ``sor report`` on it; check it failed in one line, return it."""
    path = tmp_path / "r.json"
    text = dumps(result)  # as sor writes it: Decimal as a JSON number
    for i, literal in enumerate(LITERALS):
        text = text.replace(f'"literal-{i}"', literal)
    path.write_text(text, encoding="utf-8")
    done = CliRunner().invoke(main, ["report", str(path), "--out", str(tmp_path / "out")])
    assert done.exit_code == 1, done.output
    assert len(done.output.strip().splitlines()) == 1
    assert done.output.startswith(f"Error: {path}: ")
    assert not (tmp_path / "out" / "report.html").exists()
    return done.output


def renamed(result, old, new):
    result["strategies"] = {new if k == old else k: v for k, v in result["strategies"].items()}
    for entry in result["baselines"].values():
        if entry["strategy"] == old:
            entry["strategy"] = new
    if result["optimized"]["strategy"] == old:
        result["optimized"]["strategy"] = new
    return result


FILL = "strategies.ck_static.fills[0]"


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        (
            "ts_ns",
            10**30,
            "must be in [0, 9223372036854775807], got the number 1000000000000000000000000000000",
        ),
        ("ts_ns", -1, "must be in [0, 9223372036854775807], got the number -1"),
        ("size", 10**13, "must be in [0, 1000000000000], got the number 10000000000000"),
        ("price", Decimal("1e19"), "must be at most 1e18 in size"),
        ("price", "literal-0", "must be at most 1e18 in size"),
        ("fee", "literal-1", "has more than 18 decimals"),
        ("rebate", Decimal("0." + "1" * 40), "has more than 18 decimals"),
        ("venue", 2**40, "must be a venue id in [0, 2147483647] or a name"),
        ("venue", [2], "must be a venue id"),
        ("liquidity", ["maker"], "must be 'maker' or 'taker'"),
    ],
)
def test_absurd_fill_values_are_one_line_naming_the_field(tmp_path, key, value, why):
    result = hand_built_result()
    result["strategies"]["ck_static"]["fills"][0][key] = value
    message = refused(result, tmp_path)
    assert f"field '{FILL}.{key}'" in message and why in message, message


def test_a_number_of_5000_digits_is_one_line(tmp_path):
    path = tmp_path / "r.json"
    text = json.dumps(hand_built_result()).replace('"size": 100', '"size": ' + "9" * 5000, 1)
    path.write_text(text)
    done = CliRunner().invoke(main, ["report", str(path), "--out", str(tmp_path)])
    assert done.exit_code == 1 and len(done.output.strip().splitlines()) == 1
    assert "not JSON" in done.output and "digits" in done.output


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        (lambda r: r["order"].update(quantity="300"), "order.quantity", "must be a number, got a string"),
        (lambda r: r["order"].update(side=["buy"]), "order.side", "must be a string, got a list"),
        (lambda r: r["data"].update(symbol={"a": 1}), "data.symbol", "must be a string, got an object"),
        (lambda r: r["baselines"]["twap"].update(strategy=["twap"]), "baselines.twap.strategy", "a string"),
        (lambda r: r["baselines"].update(twap=3), "baselines.twap", "must be an object"),
        (
            lambda r: r["savings_vs_baselines_bps"].update(twap="1"),
            "savings_vs_baselines_bps.twap",
            "a number",
        ),
        (lambda r: r["optimized"].update(strategy=7), "optimized.strategy", "must be a string"),
        (lambda r: r["sweep"].update(strategy=[1]), "sweep.strategy", "must be a string"),
        (
            lambda r: r["sweep"]["rows"][2]["parameters"].update(theta_queue={"a": 1}),
            "sweep.rows[2].parameters.theta_queue",
            "must be a number, a string, a boolean or null, got an object",
        ),
        (
            lambda r: r["walk_forward"]["windows"][0]["in_sample_bps"].update(twap=Decimal("1e30")),
            "walk_forward.windows[0].in_sample_bps.twap",
            "must be at most 1e18",
        ),
        (
            lambda r: r["market"]["ts_ns"].__setitem__(4, 2**64),
            "market.ts_ns[4]",
            "must be in [0, 9223372036854775807]",
        ),
        (
            lambda r: r["market"]["best_ask"].__setitem__(4, Decimal("-1e20")),
            "market.best_ask[4]",
            "at most 1e18",
        ),
    ],
)
def test_fields_the_page_prints_are_checked_too(tmp_path, change, field, why):
    result = hand_built_result()
    change(result)
    message = refused(result, tmp_path)
    assert f"field '{field}'" in message and why in message, message


def test_more_than_64_strategies_are_refused(tmp_path):
    result = hand_built_result()
    for i in range(61):
        result["strategies"][f"copy{i}"] = copy.deepcopy(result["strategies"]["twap"])
    validate_result(result)  # 3 + 61 = 64 strategies: drawable
    result["strategies"]["one-more"] = copy.deepcopy(result["strategies"]["twap"])
    message = refused(result, tmp_path)
    assert (
        "field 'strategies'" in message and "holds 65 entries, more than the 64 a report draws" in message
    ), message


def test_a_strategy_name_longer_than_100_characters_is_refused(tmp_path):
    result = renamed(hand_built_result(), "best_ask", "b" * 101)
    message = refused(result, tmp_path)
    assert "field 'strategies'" in message and "a name longer than 100 characters: 'bbbb" in message, message


def test_more_sweep_rows_than_a_sweep_may_run_are_refused(tmp_path):
    result = hand_built_result()
    result["sweep"]["rows"] = result["sweep"]["rows"] * 1251  # 10,008 rows
    message = refused(result, tmp_path)
    assert "field 'sweep.rows'" in message and "holds 10,008 entries, more than the 10,000" in message, (
        message
    )


def test_more_walk_forward_windows_than_a_scenario_may_ask_are_refused(tmp_path):
    result = hand_built_result()
    result["walk_forward"]["windows"] = result["walk_forward"]["windows"] * 51
    message = refused(result, tmp_path)
    assert "field 'walk_forward.windows'" in message and "holds 102 entries, more than the 100" in message, (
        message
    )


# -- labels ---------------------------------------------------------------------


MATH = "$\\frac{a}{$"
ESCAPES = "red\x1b[31m\x07bell"


def test_a_mathtext_name_is_drawn_as_written(tmp_path):
    result = renamed(hand_built_result(), "twap", MATH)
    figures = draw_report(result, tmp_path)
    assert any(text.startswith(f"{MATH}: 300 sh") for text in figures["cost_curve"].texts)
    assert any(text.startswith(f"{MATH}\n") for text in figures["venue_mix"].texts)
    page = parse_page(tmp_path / "report.html")
    assert MATH in [row[0] for row in page.tables["summary"]]


def test_a_mathtext_sweep_parameter_and_value_are_drawn_as_written(tmp_path):
    result = hand_built_result()
    result["sweep"]["parameters"][0] = "$x$"
    for row in result["sweep"]["rows"]:
        row["parameters"]["$x$"] = f"${row['parameters'].pop('lambda_over')}$"
    figures = draw_report(result, tmp_path)
    assert "$x$" in figures["sweep"].texts and "$0.2$" in figures["sweep"].texts


def test_control_characters_in_names_are_drawn_as_escapes_and_kept_on_the_page(tmp_path):
    result = renamed(hand_built_result(), "twap", ESCAPES)
    figures = draw_report(result, tmp_path)
    texts = "".join(t for plotted in figures.values() if plotted for t in plotted.texts)
    assert "\x1b" not in texts and "\x07" not in texts
    assert "red\\x1b[31m\\x07bell: 300 sh" in texts
    page = parse_page(tmp_path / "report.html")
    assert ESCAPES in [row[0] for row in page.tables["summary"]]


def test_a_matplotlibrc_with_usetex_does_not_reach_our_figures(tmp_path):
    import matplotlib

    result = renamed(hand_built_result(), "twap", MATH)
    with matplotlib.rc_context({"text.usetex": True}):
        draw_report(result, tmp_path)
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG")


# -- large but valid sweeps stay drawable ---------------------------------------------


def _three_axis_sweep(panels: int) -> dict:
    result = hand_built_result()
    rows = []
    for i, over in enumerate((0.1, 0.2)):
        for j, under in enumerate((0.3, 0.4)):
            for k in range(panels):
                params = {"lambda_over": over, "lambda_under": under, "theta_queue": k / 100}
                rows.append({"parameters": params, "total_cash": 66850 + i + j + k, "filled_shares": 300})
    result["sweep"]["rows"] = rows
    result["sweep"]["chosen"] = 0
    return result


def test_twelve_values_of_the_third_parameter_are_twelve_panels():
    grid = report_series.sweep_grid(_three_axis_sweep(12))
    assert grid.panel_name == "theta_queue" and len(grid.panel_values) == 12 and grid.held == {}


def test_a_thirteenth_value_holds_the_third_parameter_at_the_chosen_row():
    grid = report_series.sweep_grid(_three_axis_sweep(13))
    assert grid.panel_name is None and grid.held == {"theta_queue": Decimal("0")}
    # The chosen row's slice: lambda_over x lambda_under at theta_queue = 0.
    assert grid.cost == (((Decimal(66850), Decimal(66851)), (Decimal(66851), Decimal(66852))),)


def test_a_long_sweep_axis_labels_at_most_thirty_ticks(tmp_path):
    result = hand_built_result()
    values = [i / 1000 for i in range(1000)]
    result["sweep"]["parameters"] = ["lambda_over"]
    result["sweep"]["rows"] = [
        {"parameters": {"lambda_over": v}, "total_cash": 66000 + i % 7, "filled_shares": 300}
        for i, v in enumerate(values)
    ]
    result["sweep"]["chosen"] = 3
    figures = draw_report(result, tmp_path)
    names = {plain(v) for v in values}
    ticks = list(dict.fromkeys(t for t in figures["sweep"].texts if t in names))  # each tick has two Texts
    # 1,000 values, every ceil(1000 / 30) = 34th labelled: 0, 0.034, ..., 0.986 is 30 labels.
    assert ticks == [plain(i / 1000) for i in range(0, 1000, 34)] and len(ticks) == 30


def test_the_hand_built_sweep_is_untouched_by_the_caps():
    grid = report_series.sweep_grid(hand_built_result())
    assert len(grid.panel_values) == 2 and grid.held == {}
    # Row 5 is lambda_over 0.2, lambda_under 0.3, theta_queue 0.1: panel 1, row 0, column 1.
    assert grid.cost[1][0][1] == Decimal(str(SWEEP_COSTS[5]))


def test_load_result_of_a_file_written_by_sor_passes_the_caps():
    root = Path(__file__).resolve().parents[1]
    assert load_result(root / "tests" / "golden" / "small.json")["order"]["quantity"] > 0


def test_report_error_text_is_one_line_for_a_huge_string_value(tmp_path):
    result = hand_built_result()
    result["strategies"]["ck_static"]["fills"][0]["liquidity"] = "x" * 100_000
    with pytest.raises(ReportError) as err:
        validate_result(result)
    assert len(str(err.value)) < 200
