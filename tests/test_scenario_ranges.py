"""Every number and name in [data], [order], [strategies], [sweep], [run], [walk_forward] and
[report] has a range, checked when the scenario is read: the error names the file, the field,
the value and the range, in one line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.scenario import (
    MAX_NAME_CHARS,
    MAX_PARAMETER_SETS,
    MAX_QUANTITY,
    MAX_STRATEGIES,
    MAX_WINDOWS,
    Scenario,
    ScenarioError,
)
from venues.params import SEED_MAX

HEAD = """
[data]
source = "synthetic:venues=2,seconds=5,seed=1"
[order]
quantity = 100
"""
STRATEGIES = """
[[strategies]]
name = "best_ask"
[[strategies]]
name = "ck_static"
"""


def load(tmp_path, text):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return Scenario.from_toml(path)


def refused(tmp_path, text, *parts):
    with pytest.raises(ScenarioError) as err:
        load(tmp_path, text)
    message = str(err.value)
    assert message.startswith(str(tmp_path / "s.toml") + ": ") and "\n" not in message
    for part in parts:
        assert part in message, message
    return message


def grid(**axes):
    lines = "\n".join(f"{k} = {v}" for k, v in axes.items())
    return HEAD + STRATEGIES + f'[sweep]\nstrategy = "ck_static"\n[sweep.grid]\n{lines}\n'


def random_sweep(space="lambda_over = [0.1, 0.5]", samples="5", seed=None):
    extra = "" if seed is None else f"seed = {seed}\n"
    return (
        HEAD
        + STRATEGIES
        + f'[sweep]\nstrategy = "ck_static"\nmethod = "random"\nsamples = {samples}\n'
        + f"{extra}[sweep.space]\n{space}\n"
    )


# -- [order] ----------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [1, MAX_QUANTITY])
def test_quantity_at_either_end_of_its_range_is_read(tmp_path, quantity):
    text = HEAD.replace("quantity = 100", f"quantity = {quantity}") + STRATEGIES
    assert load(tmp_path, text).quantity == quantity


@pytest.mark.parametrize("quantity", ["0", str(MAX_QUANTITY + 1), "1e3", "true", '"100"', "[100]"])
def test_quantity_outside_its_range_or_not_whole_is_refused(tmp_path, quantity):
    text = HEAD.replace("quantity = 100", f"quantity = {quantity}") + STRATEGIES
    message = refused(tmp_path, text)
    assert "[order] quantity:" in message and "[1, 1,000,000,000] shares" in message and "got " in message


# -- [strategies] ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [('["best_ask"]', "['best_ask']"), ("{ a = 1 }", "{'a': 1}"), ("42", "42"), ('""', "must not be empty")],
)
@pytest.mark.parametrize("key", ["name", "kind"])
def test_a_strategy_name_or_kind_that_is_not_a_string_is_one_line(tmp_path, key, value, shown):
    strategy = (
        f'[[strategies]]\nname = "x"\n{key} = {value}\n'
        if key == "kind"
        else f"[[strategies]]\nname = {value}\n"
    )
    message = refused(tmp_path, HEAD + strategy)
    assert f"strategies[0].{key}:" in message and shown in message, message


def test_a_strategy_name_of_more_than_100_characters_is_refused(tmp_path):
    ok = "n" * MAX_NAME_CHARS
    assert (
        load(tmp_path, HEAD + f'[[strategies]]\nname = "{ok}"\nkind = "best_ask"\n').strategies[0].name == ok
    )
    refused(
        tmp_path, HEAD + f'[[strategies]]\nname = "{ok}x"\nkind = "best_ask"\n', "longer than 100 characters"
    )


def test_params_must_be_a_table(tmp_path):
    message = refused(tmp_path, HEAD + '[[strategies]]\nname = "twap"\nparams = [1]\n')
    assert "strategies[0].params:" in message and "table" in message, message


def test_at_most_64_strategies(tmp_path):
    many = "".join(f'[[strategies]]\nname = "s{i}"\nkind = "best_ask"\n' for i in range(MAX_STRATEGIES))
    assert len(load(tmp_path, HEAD + many).strategies) == MAX_STRATEGIES
    more = many + '[[strategies]]\nname = "one-more"\nkind = "best_ask"\n'
    refused(tmp_path, HEAD + more, "[[strategies]]: at most 64 strategies, got 65")


# -- [sweep] -----------------------------------------------------------------------


def test_a_grid_of_exactly_the_cap_is_read_and_one_point_more_is_refused(tmp_path):
    hundred = "[" + ", ".join(str(i / 100) for i in range(100)) + "]"
    assert MAX_PARAMETER_SETS == 100 * 100
    s = load(tmp_path, grid(lambda_over=hundred, lambda_under=hundred))
    assert len(s.sweep.space["lambda_over"]) * len(s.sweep.space["lambda_under"]) == 10_000
    refused(
        tmp_path,
        grid(lambda_over=hundred, lambda_under=hundred, theta_queue="[0.1, 0.2]"),
        "[sweep] grid: 100 x 100 x 2 = 20,000 parameter sets, more than the 10,000 a sweep may run",
    )


def test_a_million_point_grid_is_refused_at_once(tmp_path):
    axis = "[" + ", ".join(str(i) for i in range(100)) + "]"
    refused(tmp_path, grid(a=axis, b=axis, c=axis), "100 x 100 x 100 = 1,000,000 parameter sets")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("[nan]", "grid.lambda_over[0]"),
        ("[1, inf]", "grid.lambda_over[1]"),
        ("[[1, 2]]", "grid.lambda_over[0]"),
        ("[{ a = 1 }]", "grid.lambda_over[0]"),
    ],
)
def test_grid_values_are_finite_numbers_booleans_or_short_strings(tmp_path, value, field):
    refused(
        tmp_path, grid(lambda_over=value), f"[sweep] {field}: expected a finite number, a boolean or a string"
    )


def test_an_empty_grid_is_refused(tmp_path):
    refused(
        tmp_path,
        HEAD + STRATEGIES + '[sweep]\nstrategy = "ck_static"\ngrid = {}\n',
        "grid: expected at least one",
    )


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (
            "lambda_over = [0, inf]",
            "space.lambda_over[1]: expected a finite number in "
            "[-1,000,000,000,000,000, 1,000,000,000,000,000], got inf",
        ),
        ("lambda_over = [-inf, 1]", "space.lambda_over[0]: expected a finite number"),
        ("lambda_over = [0, nan]", "space.lambda_over[1]: expected a finite number"),
        (
            "lambda_over = [-1e308, 1e308]",
            "space.lambda_over[0]: must be in [-1,000,000,000,000,000, 1,000,000,000,000,000], got -1e+308",
        ),
        ("lambda_over = [0.5, 0.1]", "space.lambda_over: low 0.5 is above high 0.1"),
        ("lambda_over = [0.1]", "space.lambda_over: expected [low, high], got [0.1]"),
        ('lambda_over = ["a", "b"]', "space.lambda_over[0]: expected a finite number"),
    ],
)
def test_random_sweep_bounds_are_finite_and_ordered(tmp_path, space, message):
    refused(tmp_path, random_sweep(space=space), f"[sweep] {message}")


def test_random_sweep_bounds_at_the_cap_draw_finite_values(tmp_path):
    s = load(tmp_path, random_sweep(space="lambda_over = [-1e15, 1e15]"))
    assert all(-1e15 <= row["lambda_over"] <= 1e15 for row in s.sweep.parameter_sets())


@pytest.mark.parametrize("samples", ["0", str(MAX_PARAMETER_SETS + 1), "1e9", "2.5", '"5"'])
def test_samples_outside_one_to_ten_thousand_are_refused(tmp_path, samples):
    refused(tmp_path, random_sweep(samples=samples), "[sweep] samples:", "[1, 10,000]")


def test_ten_thousand_samples_are_read(tmp_path):
    assert load(tmp_path, random_sweep(samples=str(MAX_PARAMETER_SETS))).sweep.samples == MAX_PARAMETER_SETS


@pytest.mark.parametrize(
    ("seed", "shown"),
    [
        ("-1", "got -1"),
        (str(SEED_MAX + 1), "got 9223372036854775808"),
        ("1.5", "got 1.5"),
        ('"7"', "got '7'"),
        ("true", "got True"),
    ],
)
def test_sweep_seed_outside_its_range_names_the_field(tmp_path, seed, shown):
    refused(tmp_path, random_sweep(seed=seed), "[sweep] seed:", "[0, 9,223,372,036,854,775,807]", shown)


def test_a_sweep_seed_that_is_a_toml_datetime_names_the_field(tmp_path):
    refused(
        tmp_path,
        random_sweep(seed="2024-08-01T13:36:32Z"),
        "[sweep] seed: no field takes a TOML date or time",
    )


def test_sweep_strategy_and_method_must_be_strings(tmp_path):
    refused(
        tmp_path,
        HEAD + STRATEGIES + "[sweep]\nstrategy = [1]\n",
        "[sweep] strategy: expected a string, got [1]",
    )
    text = HEAD + STRATEGIES + '[sweep]\nstrategy = "ck_static"\nmethod = 3\n'
    refused(tmp_path, text, "[sweep] method: expected a string, got 3")


# -- [run] -------------------------------------------------------------------------


def test_run_seed_range_is_zero_to_two_to_the_63_minus_one(tmp_path):
    assert load(tmp_path, HEAD + STRATEGIES + f"[run]\nseed = {SEED_MAX}\n").seed == SEED_MAX
    refused(
        tmp_path,
        HEAD + STRATEGIES + f"[run]\nseed = {SEED_MAX + 1}\n",
        "[run] seed: must be in [0, 9,223,372,036,854,775,807]",
    )
    refused(
        tmp_path,
        HEAD + STRATEGIES + "[run]\nseed = 1979-05-27T07:32:00\n",
        "[run] seed: no field takes a TOML date",
    )


def test_cli_seed_override_has_the_same_range(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(HEAD + STRATEGIES)
    result = CliRunner().invoke(main, ["run", str(path), "--seed", str(SEED_MAX + 1), "--quiet"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "'--seed'" in result.output and "9223372036854775807" in result.output


# -- [walk_forward] --------------------------------------------------------------------


def test_walk_forward_windows_range_is_two_to_one_hundred(tmp_path):
    sweep = '[sweep]\nstrategy = "ck_static"\n[sweep.grid]\nlambda_over = [0.2]\n'
    base = HEAD + STRATEGIES + sweep
    assert load(tmp_path, base + f"[walk_forward]\nwindows = {MAX_WINDOWS}\n").walk_forward.windows == 100
    for bad in ("1", "101", "2.0", "[2]"):
        refused(tmp_path, base + f"[walk_forward]\nwindows = {bad}\n", "[walk_forward] windows:", "[2, 100]")


def test_too_many_windows_for_the_data_says_why(tmp_path):
    text = (
        HEAD.replace("seconds=5", "seconds=0.5")
        + STRATEGIES
        + '[sweep]\nstrategy = "ck_static"\n[sweep.grid]\nlambda_over = [0.2]\n'
        + "[walk_forward]\nwindows = 100\n"
    )
    path = tmp_path / "s.toml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "r.json"), "--quiet"])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert f"{path}: [walk_forward] windows = 100: window " in result.output
    assert "holds no market data" in result.output and "snapshots); use fewer windows" in result.output


def test_a_window_shorter_than_the_window_count_in_nanoseconds_says_why(tmp_path):
    from conftest import T0, book_row, make_md

    from sim.walk_forward import run_walk_forward

    sweep = (
        '[sweep]\nstrategy = "ck_static"\n[sweep.grid]\nlambda_over = [0.2]\n[walk_forward]\nwindows = 5\n'
    )
    s = load(tmp_path, HEAD + STRATEGIES + sweep)
    # Two snapshots 3 ns apart cannot be cut into 5 windows of at least 1 ns.
    md = make_md([book_row(T0, 2, asks=[("10.00", 100)]), book_row(T0 + 3, 2, asks=[("10.00", 100)])])
    with pytest.raises(
        ScenarioError, match=r"\[walk_forward\] windows = 5: the replay window .* too short to cut into 5"
    ):
        run_walk_forward(s, md)


# -- [data] window bounds ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ('start = "noon"', "[data] start: cannot read window bound 'noon'"),
        ('end = "25:00"', "[data] end: time of day out of range in '25:00'"),
        ('start = "2024-02-30T00:00:00Z"', "[data] start: cannot read window bound '2024-02-30T00:00:00Z'"),
        ('start = "13:40"\nend = "13:30"', "[data] start: '13:40' is after end '13:30'"),
        (
            'start = "2024-08-02T00:00:00Z"\nend = "2024-08-01T00:00:00Z"',
            "[data] start: '2024-08-02T00:00:00Z' is after end",
        ),
        ("start = 13", "[data] start: expected a string"),
    ],
)
def test_bad_window_bounds_name_the_file_and_field(tmp_path, bounds, message):
    text = HEAD.replace('seed=1"', f'seed=1"\n{bounds}') + STRATEGIES
    refused(tmp_path, text, message)


def test_good_window_bounds_of_either_form_are_read(tmp_path):
    text = HEAD.replace('seed=1"', 'seed=1"\nstart = "13:36:33"\nend = "2024-08-01T13:36:35Z"') + STRATEGIES
    s = load(tmp_path, text)
    assert (s.data.start, s.data.end) == ("13:36:33", "2024-08-01T13:36:35Z")


# -- [report] -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[report]\noptimized = [1]", "[report] optimized: expected a string, got [1]"),
        ('[report]\noptimized = "nope"', "[report] optimized: no strategy named 'nope'"),
        ("[report.baselines]\nba = 5", "[report] baselines.ba: expected a string, got 5"),
        ('[report.baselines]\nba = "nope"', "[report] baselines.ba: no strategy named 'nope'"),
    ],
)
def test_report_names_must_be_strings_naming_a_strategy(tmp_path, table, message):
    refused(tmp_path, HEAD + STRATEGIES + table + "\n", message)
