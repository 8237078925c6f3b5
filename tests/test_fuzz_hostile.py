"""Property-based fuzzing of what a person hands sor: scenario files and results for ``sor report``.

The contract, for every input: either a valid result (exit 0, and the files it
promises, with no NaN), or exit 1 with exactly one line that names the file and
a field, and never a traceback or a hang. Inputs are valid files mutated: a
value replaced by a random TOML or JSON value of any type and an absurd size, a
key deleted or added, the text cut or spliced with random bytes.

Each example runs the CLI in-process (click's ``CliRunner``) on a small
synthetic market. A hang guard (SIGALRM, far above the ~0.2 s an example takes)
turns a hang into a failure rather than a stuck CI job; it asserts no speed.

Every path of the base scenarios is fuzzed: every table, strategy parameters,
``[venues]``, ``[queue]`` and the data source included.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import math
import os
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.cli import main

HANG_GUARD_S = 60.0
#: Run SOR_FUZZ_SCALE times the examples (say 20 for a long local hunt); CI runs the default.
SCALE = int(os.environ.get("SOR_FUZZ_SCALE", "1"))

BASE: dict[str, Any] = {
    "data": {"source": "synthetic:venues=2,seconds=2,seed=1", "start": "13:36:32", "end": "13:36:34"},
    "order": {"side": "buy", "quantity": 200},
    "strategies": [
        {"name": "best_ask"},
        {"name": "twap", "params": {"bucket_s": 1}},
        {"name": "ck", "kind": "ck_static"},
    ],
    "sweep": {"strategy": "ck", "method": "grid", "grid": {"lambda_over": [0.2, 0.4], "theta_queue": [0.1]}},
    "run": {"seed": 3},
    "report": {"optimized": "ck", "baselines": {"best_ask": "best_ask", "twap": "twap"}},
}
RANDOM_SWEEP = {
    "strategy": "ck",
    "method": "random",
    "space": {"lambda_over": [0.1, 0.5]},
    "samples": 3,
    "seed": 1,
}
VENUES = {
    "default": {"fee": 0.003, "rebate": 0.002, "latency_us": 200, "response_latency_us": 0},
    "2": {"fee": 0.0025, "name": "XNAS"},
}
BASES = (
    BASE,
    {**BASE, "sweep": RANDOM_SWEEP},
    {**BASE, "walk_forward": {"windows": 2}},
    {**BASE, "venues": VENUES, "queue": {"model": "probabilistic", "power": 2.0}},
)
# Paths left alone, with everything under them (none now: strategy parameters are typed
# and checked since the core rebuild, and a data source that cannot be read is named).
SKIP: tuple[tuple, ...] = ()
# Words by which a one-line error names a field of a scenario.
FIELD_MARKERS = (
    "[data]",
    "[order]",
    "strategies",
    "strategy '",
    "[sweep]",
    "[run]",
    "[report]",
    "[walk_forward]",
    "[venues",
    "[queue]",
    "key '",
    "line ",
)
RESULT_MARKERS = ("field '", "not JSON", "nested more than", "must hold a JSON object", "more than the")


class Hung(Exception):
    """An example that did not answer within the hang guard."""


@contextlib.contextmanager
def hang_guard(seconds: float = HANG_GUARD_S):
    def alarm(signum, frame):
        raise Hung(f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def invoke(args: list[str]):
    with hang_guard():
        result = CliRunner().invoke(main, args)
    assert not isinstance(result.exception, Hung), f"hung: {args}"
    return result


def assert_one_line_error(result, path: Path, markers: tuple[str, ...]) -> None:
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ") and "Traceback" not in lines[0]
    assert str(path) in lines[0], lines[0]
    assert any(marker in lines[0] for marker in markers), lines[0]


# -- random values --------------------------------------------------------------------

ABSURD_NUMBERS = st.sampled_from(
    [0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 10**400]
    + [0.0, -0.0, 1e-9, 1e-300, 5e-324, 1e15, 1e16, 1e300, 1.7976931348623157e308, -1e308]
    + [math.inf, -math.inf, math.nan]
)
ABSURD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "$\\frac{a}{$",
        "\x1b[2J\x1b]0;t\x07",
        "a\nb",
        "\u202eevil",
        "13:36:33",
        "25:61",
        "2024-08-01T13:36:33Z",
    ]
    + [
        "synthetic:venues=2",
        "best_ask",
        "ck",
        "twap",
        "ck_static",
        "grid",
        "random",
        "buy",
        "sell",
        "x" * 5000,
    ]
)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    ABSURD_NUMBERS,
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    ABSURD_TEXT,
    st.datetimes(timezones=st.sampled_from([None, dt.timezone.utc])),
    st.dates(),
    st.times(),
)
TOML_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=12,
)
HUGE = st.sampled_from(
    [
        list(range(20_000)),
        [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]],
        {f"k{i}": i for i in range(5_000)},
        "z" * 200_000,
    ]
)
VALUES = st.one_of(TOML_VALUES, HUGE)


def toml_text(doc: dict[str, Any]) -> str:
    """Write ``doc`` as TOML, every table inline (so any value can sit anywhere)."""
    return "".join(f"{_key(k)} = {_toml(v)}\n" for k, v in doc.items())


def _key(key: str) -> str:
    return _toml(str(key))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        escaped = "".join(
            "\\\\"
            if c == "\\"
            else '\\"'
            if c == '"'
            else f"\\u{ord(c):04x}"
            if ord(c) < 0x20 or c == "\x7f"
            else c
            for c in value
        )
        return f'"{escaped}"'
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into ``value`` (tables, lists and leaves), outermost first."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += paths(child, (*prefix, i))
    return out


def fuzzable(doc: dict[str, Any]) -> list[tuple]:
    return [p for p in paths(doc) if not any(p[: len(skip)] == skip for skip in SKIP)]


def parent_of(doc: Any, path: tuple) -> Any:
    node = doc
    for step in path[:-1]:
        node = node[step]
    return node


@st.composite
def mutated_scenarios(draw) -> tuple[dict[str, Any], tuple]:
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    path = draw(st.sampled_from(fuzzable(doc)))
    parent, last = parent_of(doc, path), path[-1]
    action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
    if action == "replace":
        parent[last] = draw(VALUES)
    elif action == "delete":
        del parent[last]
    else:
        node = parent[last]
        if isinstance(node, dict):
            node[draw(st.text(min_size=1, max_size=8))] = draw(TOML_VALUES)
        elif isinstance(node, list):
            node.append(draw(TOML_VALUES))
        else:
            parent[last] = draw(VALUES)
    return doc, path


def check_run(tmp_path: Path, text: str | bytes, markers: tuple[str, ...]) -> None:
    scenario = tmp_path / "fuzz.toml"
    out = tmp_path / "fuzz.json"
    out.unlink(missing_ok=True)
    if isinstance(text, str):
        scenario.write_text(text, encoding="utf-8")
    else:
        scenario.write_bytes(text)
    result = invoke(["run", str(scenario), "--out", str(out), "--quiet"])
    event(f"sor run exit {result.exit_code}")
    if result.exit_code == 0:
        written = out.read_text(encoding="utf-8")
        data = json.loads(written, parse_constant=lambda name: pytest.fail(f"{name} in the result"))
        assert data["strategies"] and data["scenario"]["order"]
    else:
        assert_one_line_error(result, scenario, markers)
        assert not out.exists()


@pytest.mark.parametrize("base", BASES, ids=["grid", "random", "walk_forward", "venues_queue"])
def test_every_base_scenario_runs(tmp_path, base):
    # The fuzz mutates these: each must be valid, or every mutation would fail for the same reason.
    scenario, out = tmp_path / "base.toml", tmp_path / "base.json"
    scenario.write_text(toml_text(base))
    result = invoke(["run", str(scenario), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["strategies"]["best_ask"]["filled_shares"] == 200


FUZZ = settings(
    max_examples=60 * SCALE, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(case=mutated_scenarios())
def test_a_mutated_scenario_runs_or_fails_in_one_line_naming_file_and_field(tmp_path, case):
    doc, _path = case
    check_run(tmp_path, toml_text(doc), FIELD_MARKERS)


@settings(max_examples=40 * SCALE, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cut=st.integers(min_value=0, max_value=len(toml_text(BASE))),
    junk=st.binary(max_size=12),
    keep=st.booleans(),
)
def test_a_spliced_scenario_file_runs_or_fails_in_one_line(tmp_path, cut, junk, keep):
    original = toml_text(BASE).encode()
    text = original[:cut] + junk + (original[cut:] if keep else b"")
    check_run(tmp_path, text, (*FIELD_MARKERS, "not valid TOML", "not UTF-8"))


# -- results given to sor report ----------------------------------------------------------

REPORT_SCENARIO = {**BASE, "walk_forward": {"windows": 2}}
# Tokens a JSON writer would not make, spliced into the text as they are.
JSON_TOKENS = ["NaN", "Infinity", "-Infinity", "1e999999999", "1e-999999999", "1" * 5000, "[" * 3000]
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    ABSURD_NUMBERS.filter(lambda v: not (isinstance(v, float) and not math.isfinite(v))),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
    ABSURD_TEXT,
    st.sampled_from([f"@token{i}@" for i in range(len(JSON_TOKENS))]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@pytest.fixture(scope="module")
def result_text(tmp_path_factory) -> str:
    pytest.importorskip("matplotlib")
    folder = tmp_path_factory.mktemp("fuzz-report")
    scenario = folder / "s.toml"
    scenario.write_text(toml_text(REPORT_SCENARIO))
    out = folder / "r.json"
    done = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), "--quiet"])
    assert done.exit_code == 0, done.output
    return out.read_text()


def check_report(tmp_path: Path, text: str | bytes) -> None:
    path = tmp_path / "fuzz-result.json"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    out = tmp_path / "fuzz-report"
    (out / "report.html").unlink(missing_ok=True)
    result = invoke(["report", str(path), "--out", str(out)])
    event(f"sor report exit {result.exit_code}")
    if result.exit_code == 0:
        assert (out / "report.html").stat().st_size > 0
    else:
        assert_one_line_error(result, path, RESULT_MARKERS)


@st.composite
def mutated_results(draw, base: dict[str, Any]) -> str:
    doc = copy.deepcopy(base)
    path = draw(st.sampled_from(paths(doc)))
    parent, last = parent_of(doc, path), path[-1]
    action = draw(st.sampled_from(["replace", "replace", "delete"]))
    if action == "replace":
        parent[last] = draw(JSON_VALUES)
    else:
        del parent[last]
    text = json.dumps(doc, default=str)
    for i, token in enumerate(JSON_TOKENS):
        text = text.replace(f'"@token{i}@"', token)
    return text


REPORT_FUZZ = settings(
    max_examples=15 * SCALE, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@REPORT_FUZZ
@given(data=st.data())
def test_a_mutated_result_reports_or_fails_in_one_line_naming_file_and_field(tmp_path, result_text, data):
    base = json.loads(result_text, parse_float=Decimal)
    check_report(tmp_path, data.draw(mutated_results(_plain(base))))


@REPORT_FUZZ
@given(fraction=st.floats(min_value=0, max_value=1), junk=st.binary(max_size=12))
def test_a_cut_or_spliced_result_file_fails_in_one_line(tmp_path, result_text, fraction, junk):
    raw = result_text.encode()
    cut = int(fraction * (len(raw) - 1))
    check_report(tmp_path, raw[:cut] + junk)


def _plain(value: Any) -> Any:
    # Decimals become their JSON text again when dumped (default=str would quote them).
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    return value
