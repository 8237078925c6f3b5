"""Read a result JSON and check it has every field the report draws on.

Every problem is raised as one :class:`ReportError` whose text is a single line
naming the file and the field, so the CLI can print it without a traceback.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

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
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ReportError(source, "not JSON: the file is not UTF-8 text") from None
    except OSError as exc:
        raise ReportError(source, f"cannot read: {exc.strerror or exc}") from None
    try:
        result = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ReportError(source, f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except ValueError as exc:
        raise ReportError(source, f"not JSON: {exc}") from None
    validate_result(result, source)
    return result


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
    if "study" in result and "strategies" not in result:
        from sim.report.study_page import validate_study

        validate_study(result, source)
        return
    top = result
    strategies = check.mapping(check.field(top, "strategies", "strategies"), "strategies")
    if not strategies:
        raise ReportError(source, "holds no strategy", "strategies")
    for name, strategy in strategies.items():
        _check_strategy(check, strategy, f"strategies.{name}")
    for key in ("optimized", "baselines", "savings_vs_baselines_bps", "savings_basis", "data", "order"):
        if top.get(key) is not None:
            check.mapping(top[key], key)
    if top.get("sweep") is not None:
        _check_sweep(check, top["sweep"])
    if top.get("walk_forward") is not None:
        _check_walk_forward(check, top["walk_forward"])
    if top.get("market") is not None:
        _check_market(check, top["market"])


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
    check.integer(fill["ts_ns"], f"{where}.ts_ns")
    check.integer(fill["size"], f"{where}.size")
    for key in ("price", "fee", "rebate"):
        check.number(fill[key], f"{where}.{key}")
    check.boolean(fill["catch_up"], f"{where}.catch_up")
    if fill["liquidity"] not in LIQUIDITY_VALUES:
        raise ReportError(
            check.source, f"must be 'maker' or 'taker', got {fill['liquidity']!r}", f"{where}.liquidity"
        )
    if not isinstance(fill["venue"], (int, str)) or isinstance(fill["venue"], bool):
        raise ReportError(check.source, "must be a venue id", f"{where}.venue")


def _check_sweep(check: _Checker, sweep: Any) -> None:
    sweep = check.mapping(sweep, "sweep")
    names = check.sequence(check.field(sweep, "parameters", "sweep.parameters"), "sweep.parameters")
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise ReportError(
                check.source, f"must be a parameter name, got {_kind(name)}", f"sweep.parameters[{i}]"
            )
    rows = check.sequence(check.field(sweep, "rows", "sweep.rows"), "sweep.rows")
    for i, row in enumerate(rows):
        row = check.mapping(row, f"sweep.rows[{i}]")
        params = check.mapping(
            check.field(row, "parameters", f"sweep.rows[{i}].parameters"), f"sweep.rows[{i}].parameters"
        )
        for name in names:
            check.field(params, name, f"sweep.rows[{i}].parameters.{name}")
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
    for i, window in enumerate(windows):
        where = f"walk_forward.windows[{i}]"
        window = check.mapping(window, where)
        for key in ("in_sample_bps", "out_of_sample_bps"):
            bps = check.mapping(check.field(window, key, f"{where}.{key}"), f"{where}.{key}")
            for baseline, value in bps.items():
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
        check.integer(ts, f"market.ts_ns[{i}]")
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

    def integer(self, value: Any, where: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ReportError(self.source, f"must be an integer, got {_kind(value)}", where)

    def boolean(self, value: Any, where: str) -> None:
        if not isinstance(value, bool):
            raise ReportError(self.source, f"must be true or false, got {_kind(value)}", where)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return f"the number {value}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__
