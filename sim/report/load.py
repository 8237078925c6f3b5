"""Read a result JSON and check it has every field the report draws on.

Every problem is raised as one :class:`ReportError` whose text is a single line
naming the file and the field, so the CLI can print it without a traceback.

Beyond types, the checks bound what a report would otherwise choke on: the
file's size and nesting, how many strategies, sweep rows and windows it holds,
and the size of every number it draws (see the README's "Bad input").
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from sim import inputs
from sim.scenario import MAX_NAME_CHARS, MAX_PARAMETER_SETS, MAX_STRATEGIES, MAX_SWEEP_PARAMETERS, MAX_WINDOWS

#: A result is at most this large: room for about 400,000 fills, where a run of the
#: trial's default scenario writes 90 KB. Parsing costs about ten times the size in memory.
MAX_FILE_BYTES = 64 * inputs.MIB
#: Lists and objects nest at most this deep: a result nests the scenario it ran
#: (at most ``sim.scenario.MAX_DEPTH``) one level down.
MAX_DEPTH = 32
#: Every number drawn (dollars, shares, basis points) is at most this in size ...
MAX_MAGNITUDE = 10**18
#: ... with at most this many decimals (sor writes 9 for money, 4 for basis points).
MAX_DECIMALS = 18
#: Timestamps are nanoseconds since 1970 that fit a signed 64-bit integer (to 2262).
MAX_TS_NS = 2**63 - 1
#: Shares in one fill.
MAX_FILL_SHARES = 10**12
#: Venue ids are Databento publisher ids (or names).
MAX_VENUE_ID = 2**31 - 1

STRATEGY_FIELDS = (
    "fills",
    "filled_shares",
    "total_cash",
    "avg_fill_px",
    "fees",
    "rebates",
    "catch_up_shares",
    "maker_shares",
    "complete",
)
FILL_FIELDS = ("ts_ns", "venue", "price", "size", "liquidity", "fee", "rebate", "catch_up")
LIQUIDITY_VALUES = ("maker", "taker")


class ReportError(ValueError):
    """A result that cannot be reported on, or a report that cannot be drawn; one line of text."""

    def __init__(self, source: str | None, message: str, field: str | None = None):
        self.source = source
        self.field = field
        self.message = message
        where = [part for part in (source, None if field is None else f"field {field!r}") if part]
        super().__init__(": ".join([*where, message]))


def load_result(path: str | Path) -> dict[str, Any]:
    """Read and validate a result JSON file.

    Parameters
    ----------
    path
        The file written by ``sor run ... --out``.

    Returns
    -------
    dict
        The result, with every JSON fraction read as an exact ``Decimal``.

    Raises
    ------
    ReportError
        When the file cannot be read, is not JSON, or lacks a field the report needs.
    """
    source = str(path)
    try:
        text = inputs.read_text(path, MAX_FILE_BYTES)
    except inputs.NotUtf8 as exc:
        raise ReportError(source, f"not JSON: {exc}") from None
    except inputs.InputError as exc:
        raise ReportError(source, str(exc)) from None
    try:
        result = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ReportError(source, f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise ReportError(source, f"not JSON we read: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        raise ReportError(source, f"not JSON: {exc}") from None
    try:
        inputs.check_depth(result, MAX_DEPTH)
    except inputs.InputError as exc:
        raise ReportError(source, str(exc)) from None
    validate_result(result, source)
    return result


def is_study(result: Any) -> bool:
    """Return whether ``result`` is a ``sor study`` result (a ``study`` block, no ``strategies``)."""
    return isinstance(result, Mapping) and "study" in result and "strategies" not in result


def validate_result(result: Any, source: str = "result") -> None:
    """Check that ``result`` holds every field the report reads, with the right types.

    Parameters
    ----------
    result
        A parsed result (from :func:`load_result`, or built by the engine in memory).
    source
        What to call the result in error messages, usually its file name.

    Raises
    ------
    ReportError
        On the first missing or mistyped field, naming it by its dotted path.
    """
    check = _Checker(source)
    if not isinstance(result, Mapping):
        raise ReportError(source, f"must hold a JSON object, got {_kind(result)}")
    if is_study(result):
        from sim.report.study_page import validate_study

        validate_study(result, source)
        return
    top = result
    strategies = check.mapping(check.field(top, "strategies", "strategies"), "strategies")
    if not strategies:
        raise ReportError(source, "holds no strategy", "strategies")
    check.at_most(strategies, MAX_STRATEGIES, "strategies")
    for name, strategy in strategies.items():
        check.name(name, "strategies")
        _check_strategy(check, strategy, f"strategies.{name}")
    for key in ("optimized", "baselines", "savings_vs_baselines_bps", "savings_basis", "data", "order"):
        if top.get(key) is not None:
            check.mapping(top[key], key)
    _check_labels(check, top)
    if top.get("sweep") is not None:
        _check_sweep(check, top["sweep"])
    if top.get("walk_forward") is not None:
        _check_walk_forward(check, top["walk_forward"])
    if top.get("market") is not None:
        _check_market(check, top["market"])


def _check_labels(check: _Checker, top: Mapping[str, Any]) -> None:
    """Check the fields the page and the figure titles print: order, symbol, baselines, savings."""
    order = top.get("order") or {}
    if order.get("quantity") is not None:
        check.number(order["quantity"], "order.quantity")
    for where, value in (
        ("order.side", order.get("side")),
        ("data.symbol", (top.get("data") or {}).get("symbol")),
    ):
        if value is not None:
            check.text(value, where)
    optimized = top.get("optimized") or {}
    if optimized.get("strategy") is not None:
        check.text(optimized["strategy"], "optimized.strategy")
    baselines = top.get("baselines") or {}
    check.at_most(baselines, MAX_STRATEGIES, "baselines")
    for label, entry in baselines.items():
        entry = check.mapping(entry, f"baselines.{label}")
        if entry.get("strategy") is not None:
            check.text(entry["strategy"], f"baselines.{label}.strategy")
    savings = top.get("savings_vs_baselines_bps") or {}
    check.at_most(savings, MAX_STRATEGIES, "savings_vs_baselines_bps")
    for label, value in savings.items():
        check.number(value, f"savings_vs_baselines_bps.{label}", nullable=True)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number the format allows")


def _check_strategy(check: _Checker, strategy: Any, where: str) -> None:
    strategy = check.mapping(strategy, where)
    for key in STRATEGY_FIELDS:
        check.field(strategy, key, f"{where}.{key}")
    for key in ("filled_shares", "total_cash", "fees", "rebates", "catch_up_shares", "maker_shares"):
        check.number(strategy[key], f"{where}.{key}")
    check.number(strategy["avg_fill_px"], f"{where}.avg_fill_px", nullable=True)
    check.boolean(strategy["complete"], f"{where}.complete")
    fills = check.sequence(strategy["fills"], f"{where}.fills")
    for i, fill in enumerate(fills):
        _check_fill(check, fill, f"{where}.fills[{i}]")


def _check_fill(check: _Checker, fill: Any, where: str) -> None:
    fill = check.mapping(fill, where)
    for key in FILL_FIELDS:
        check.field(fill, key, f"{where}.{key}")
    check.integer(fill["ts_ns"], f"{where}.ts_ns", 0, MAX_TS_NS)
    check.integer(fill["size"], f"{where}.size", 0, MAX_FILL_SHARES)
    for key in ("price", "fee", "rebate"):
        check.number(fill[key], f"{where}.{key}")
    check.boolean(fill["catch_up"], f"{where}.catch_up")
    if not isinstance(fill["liquidity"], str) or fill["liquidity"] not in LIQUIDITY_VALUES:
        raise ReportError(
            check.source, f"must be 'maker' or 'taker', got {_show(fill['liquidity'])}", f"{where}.liquidity"
        )
    venue = fill["venue"]
    if isinstance(venue, str):
        check.text(venue, f"{where}.venue")
    elif isinstance(venue, bool) or not isinstance(venue, int) or not 0 <= venue <= MAX_VENUE_ID:
        raise ReportError(
            check.source,
            f"must be a venue id in [0, {MAX_VENUE_ID}] or a name, got {_kind(venue)}",
            f"{where}.venue",
        )


def _check_sweep(check: _Checker, sweep: Any) -> None:
    sweep = check.mapping(sweep, "sweep")
    names = check.sequence(check.field(sweep, "parameters", "sweep.parameters"), "sweep.parameters")
    check.at_most(names, MAX_SWEEP_PARAMETERS, "sweep.parameters")
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise ReportError(
                check.source, f"must be a parameter name, got {_kind(name)}", f"sweep.parameters[{i}]"
            )
        check.name(name, f"sweep.parameters[{i}]")
    if sweep.get("strategy") is not None:
        check.text(sweep["strategy"], "sweep.strategy")
    rows = check.sequence(check.field(sweep, "rows", "sweep.rows"), "sweep.rows")
    check.at_most(rows, MAX_PARAMETER_SETS, "sweep.rows")
    for i, row in enumerate(rows):
        row = check.mapping(row, f"sweep.rows[{i}]")
        params = check.mapping(
            check.field(row, "parameters", f"sweep.rows[{i}].parameters"), f"sweep.rows[{i}].parameters"
        )
        for name in names:
            check.scalar(
                check.field(params, name, f"sweep.rows[{i}].parameters.{name}"),
                f"sweep.rows[{i}].parameters.{name}",
            )
        check.number(
            check.field(row, "total_cash", f"sweep.rows[{i}].total_cash"),
            f"sweep.rows[{i}].total_cash",
            nullable=True,
        )
    chosen = sweep.get("chosen")
    if chosen is not None:
        check.integer(chosen, "sweep.chosen")
        if not 0 <= chosen < len(rows):
            raise ReportError(check.source, f"indexes no row (there are {len(rows)})", "sweep.chosen")


def _check_walk_forward(check: _Checker, walk: Any) -> None:
    walk = check.mapping(walk, "walk_forward")
    windows = check.sequence(check.field(walk, "windows", "walk_forward.windows"), "walk_forward.windows")
    check.at_most(windows, MAX_WINDOWS, "walk_forward.windows")
    for i, window in enumerate(windows):
        where = f"walk_forward.windows[{i}]"
        window = check.mapping(window, where)
        for key in ("in_sample_bps", "out_of_sample_bps"):
            bps = check.mapping(check.field(window, key, f"{where}.{key}"), f"{where}.{key}")
            check.at_most(bps, MAX_STRATEGIES, f"{where}.{key}")
            for baseline, value in bps.items():
                check.name(baseline, f"{where}.{key}")
                check.number(value, f"{where}.{key}.{baseline}", nullable=True)


def _check_market(check: _Checker, market: Any) -> None:
    market = check.mapping(market, "market")
    columns = {}
    for key in ("ts_ns", "best_bid", "best_ask"):
        columns[key] = check.sequence(check.field(market, key, f"market.{key}"), f"market.{key}")
    lengths = {len(column) for column in columns.values()}
    if len(lengths) > 1:
        raise ReportError(check.source, "ts_ns, best_bid and best_ask differ in length", "market")
    for i, ts in enumerate(columns["ts_ns"]):
        check.integer(ts, f"market.ts_ns[{i}]", 0, MAX_TS_NS)
    for key in ("best_bid", "best_ask"):
        for i, price in enumerate(columns[key]):
            check.number(price, f"market.{key}[{i}]", nullable=True)


class _Checker:
    """Type checks that raise a one-line ``ReportError`` naming the field."""

    def __init__(self, source: str):
        self.source = source

    def field(self, mapping: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in mapping:
            raise ReportError(self.source, "missing", where)
        return mapping[key]

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise ReportError(self.source, f"must be an object, got {_kind(value)}", where)
        return value

    def sequence(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            raise ReportError(self.source, f"must be a list, got {_kind(value)}", where)
        return list(value)

    def number(self, value: Any, where: str, nullable: bool = False) -> None:
        if value is None and nullable:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise ReportError(self.source, f"must be a number, got {_kind(value)}", where)
        if isinstance(value, float) and not math.isfinite(value):
            raise ReportError(self.source, "must be a finite number", where)
        if isinstance(value, Decimal) and not value.is_finite():
            raise ReportError(self.source, "must be a finite number", where)
        # Decimal arithmetic would signal on an exponent past the context's limits
        # (1e999999999), so size and decimals are read off the digits.
        exact = (
            value
            if isinstance(value, Decimal)
            else Decimal(repr(value) if isinstance(value, float) else value)
        )
        if exact.copy_abs() > MAX_MAGNITUDE:
            raise ReportError(self.source, f"must be at most 1e18 in size, got {_kind(value)}", where)
        if _decimals(exact) > MAX_DECIMALS:
            raise ReportError(self.source, f"has more than {MAX_DECIMALS} decimals: {_kind(value)}", where)

    def integer(self, value: Any, where: str, lo: int | None = None, hi: int | None = None) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ReportError(self.source, f"must be an integer, got {_kind(value)}", where)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ReportError(self.source, f"must be in [{lo}, {hi}], got {_kind(value)}", where)

    def boolean(self, value: Any, where: str) -> None:
        if not isinstance(value, bool):
            raise ReportError(self.source, f"must be true or false, got {_kind(value)}", where)

    def text(self, value: Any, where: str) -> None:
        if not isinstance(value, str):
            raise ReportError(self.source, f"must be a string, got {_kind(value)}", where)
        self.name(value, where)

    def name(self, value: str, where: str) -> None:
        if len(value) > MAX_NAME_CHARS:
            raise ReportError(
                self.source, f"a name longer than {MAX_NAME_CHARS} characters: {_show(value)}", where
            )

    def scalar(self, value: Any, where: str) -> None:
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            self.number(value, where)
        elif isinstance(value, str):
            self.name(value, where)
        elif value is not None and not isinstance(value, bool):
            raise ReportError(
                self.source, f"must be a number, a string, a boolean or null, got {_kind(value)}", where
            )

    def at_most(self, values: Any, limit: int, where: str) -> None:
        if len(values) > limit:
            raise ReportError(
                self.source, f"holds {len(values):,} entries, more than the {limit:,} a report draws", where
            )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return f"the number {_show(value)}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _decimals(value: Decimal) -> int:
    """Return how many digits ``value`` has after the point, trailing zeros not counted."""
    _, digits, exponent = value.as_tuple()
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing)) if any(digits) else 0
