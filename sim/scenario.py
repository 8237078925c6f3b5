"""Scenario files: what to replay, what to buy, where, with which strategies and sweep.

A scenario is TOML. Every table rejects keys it does not know, naming them, so a
typo never silently falls back to a default. See the README for the format.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
import re
import sys
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from feeds.timeparse import parse_window_bound
from sim import inputs
from sim.study.spec import StudySpec, parse_study
from venues import params
from venues.fees import MAX_PER_SHARE
from venues.params import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


#: Every scenario error is a ``ConfigError`` naming the file and the field.
ScenarioError = ConfigError
_check_keys = params.keys
_table = params.table

# Limits on a scenario file and its tables; the README's "Bad input" lists them.
#: A scenario is hand-written: a few kilobytes. The cap bounds what parsing may cost.
MAX_FILE_BYTES = inputs.MIB
#: Tables and lists nest at most this deep (the deepest real scenario nests 4).
MAX_DEPTH = 16
#: A dotted key (``a.b.c = 1``) has at most this many parts: the TOML parser's
#: cost grows with the square of their number.
MAX_KEY_PARTS = 32
#: Shares in the parent order: ten times the daily volume of the most traded US stocks.
MAX_QUANTITY = 1_000_000_000
#: Strategies in one scenario, and characters in a strategy's name or kind.
MAX_STRATEGIES = 64
MAX_NAME_CHARS = 100
#: Parameter sets one sweep runs (grid points or random samples). The vectorised
#: ck_static runs 10,000 lanes of the 522-second default market in under a second;
#: a strategy run set by set takes about 30 ms a set there, so 5 minutes.
MAX_PARAMETER_SETS = 10_000
#: Parameters one sweep varies.
MAX_SWEEP_PARAMETERS = 32
#: A random sweep draws within finite bounds no larger than this in size, so
#: ``high - low`` is finite and a draw keeps its six decimals.
MAX_SWEEP_BOUND = 10**15
#: Walk-forward windows (each pair of windows is two more runs).
MAX_WINDOWS = 100

_KEY_PART = r"""(?:[A-Za-z0-9_-]++|"(?:[^"\\\n]|\\.)*+"|'[^'\n]*+')"""
# Possessive quantifiers and the look-behind keep the search linear on any text.
_LONG_DOTTED_KEY = re.compile(
    rf"(?<![A-Za-z0-9_-]){_KEY_PART}(?:[ \t]*+\.[ \t]*+{_KEY_PART}){{{MAX_KEY_PARTS}}}"
)


def _per_share(where: str, table: dict[str, Any], key: str) -> int | None:
    return params.dollars(where, table[key], hi=MAX_PER_SHARE) if key in table else None


def dollars_to_units(where: str, value: Any) -> int:
    """Convert a dollar amount from the file (``0.003`` or ``"0.003"``) to 1e-9 units, exactly."""
    return params.dollars(where, value)


@attrs.frozen
class DataSpec:
    """Where the snapshots come from, which instrument and which part of them to replay."""

    source: str
    start: str | None = None
    end: str | None = None
    symbol: str | None = None
    instrument_id: int | None = None
    #: A venue's quote older than this is not offered to strategies (None: the source's default).
    max_quote_age_ms: float | None = None

    def source_options(self) -> dict[str, Any]:
        """Return the keyword arguments ``feeds.sources.load_source``/``open_source`` take from it."""
        return {"symbol": self.symbol, "instrument_id": self.instrument_id}


@attrs.frozen
class VenueSpec:
    """One venue's settings as written: shorthand values (1e-9 dollars, ns) and model tables.

    ``fee``/``rebate`` are shorthand for a maker-taker fee model and
    ``latency_ns``/``response_latency_ns`` for constant latencies; ``models`` holds
    the models given as tables (``[venues.2.latency] model = "lognormal" ...``), by
    family (see ``venues.models``).
    """

    fee: int | None = None
    rebate: int | None = None
    latency_ns: int | None = None
    response_latency_ns: int | None = None
    name: str | None = None
    models: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class StrategySpec:
    """A strategy instance: its name in the results, its registered kind, its parameters."""

    name: str
    kind: str
    params: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class SweepSpec:
    """Which strategy to tune, over which parameter values."""

    strategy: str
    method: str
    space: dict[str, list[Any]]
    samples: int = 0
    seed: int = 0

    def parameter_sets(self) -> list[dict[str, Any]]:
        """Return the parameter sets to run, in a fixed order (grid order, or draw order)."""
        names = list(self.space)
        if self.method == "grid":
            return [
                dict(zip(names, values, strict=True)) for values in itertools.product(*self.space.values())
            ]
        rng = np.random.default_rng(self.seed)
        draws = []
        for _ in range(self.samples):
            row = {}
            for name in names:
                lo, hi = self.space[name]
                value = float(rng.uniform(lo, hi))
                row[name] = round(value, 6)
            draws.append(row)
        return draws


@attrs.frozen
class WalkForwardSpec:
    """Tune on one window, test on the next: ``windows`` consecutive equal windows."""

    windows: int = 2


@attrs.frozen
class Scenario:
    """A whole scenario: data, order, venues, strategies, sweep, seed."""

    path: str
    data: DataSpec
    #: The fixed order size in shares, or ``None`` when it is ``volume_fraction`` of the
    #: previous session's volume (``sim.order_size.resolve_quantity`` turns that into shares).
    quantity: int | None
    venues: dict[str, VenueSpec]
    strategies: tuple[StrategySpec, ...]
    sweep: SweepSpec | None = None
    seed: int = 0
    baselines: dict[str, str] = attrs.field(factory=dict)
    optimized: str | None = None
    walk_forward: WalkForwardSpec | None = None
    queue: Any = None
    study: StudySpec | None = None
    side: str = "buy"
    raw: dict[str, Any] = attrs.field(factory=dict)
    #: The order size as a share of the symbol's traded volume in the previous session.
    volume_fraction: float | None = None

    @classmethod
    def from_toml(cls, path: str | Path) -> Scenario:
        """Read and check a scenario file."""
        return cls.from_dict(read_toml(path), str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], path: str = "<scenario>") -> Scenario:
        """Check a parsed scenario and build it (one parser per table, below)."""
        w = path
        _check_keys(w, raw, set(TABLES), {"data", "order", "strategies"})
        strategies = _parse_strategies(w, raw["strategies"])
        names = [s.name for s in strategies]
        sweep = (
            _parse_sweep(f"{w}: [sweep]", _table(f"{w}: [sweep]", raw["sweep"]), names)
            if "sweep" in raw
            else None
        )
        baselines, optimized = _parse_report(w, raw.get("report", {}), names)
        side, quantity, volume_fraction = _parse_order(w, raw["order"])
        return cls(
            path=path,
            data=_parse_data(w, raw["data"]),
            side=side,
            quantity=quantity,
            volume_fraction=volume_fraction,
            venues=_parse_venues(w, raw.get("venues", {})),
            strategies=strategies,
            sweep=sweep,
            seed=_parse_run(w, raw.get("run", {})),
            baselines=baselines,
            optimized=optimized,
            walk_forward=_parse_walk_forward(w, raw["walk_forward"], sweep)
            if "walk_forward" in raw
            else None,
            queue=_parse_queue(w, raw.get("queue", {})),
            study=parse_study(w, raw["study"]) if "study" in raw else None,
            raw=raw,
        )


def read_toml(path: str | Path) -> dict[str, Any]:
    """Return a scenario file parsed, after the file-level checks.

    The file is at most :data:`MAX_FILE_BYTES` of UTF-8, no dotted key has more
    than :data:`MAX_KEY_PARTS` parts, nothing nests deeper than
    :data:`MAX_DEPTH`, and no value is a TOML date or time (no field takes one:
    window bounds are strings).

    Raises
    ------
    ScenarioError
        One line naming the file and, where there is one, the field.
    """
    try:
        text = inputs.read_text(path, MAX_FILE_BYTES)
    except inputs.InputError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    long_key = _LONG_DOTTED_KEY.search(text)
    if long_key is not None:
        line = text.count("\n", 0, long_key.start()) + 1
        raise ScenarioError(f"{path}: line {line}: a dotted key has more than {MAX_KEY_PARTS} parts")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{path}: not valid TOML: nested more than {MAX_DEPTH} levels deep") from None
    try:
        inputs.check_depth(raw, MAX_DEPTH)
    except inputs.TooDeep as exc:
        raise ScenarioError(
            f"{path}: {_field_name(exc.field)}: nested more than {MAX_DEPTH} levels deep"
        ) from None
    for field, value in inputs.walk(raw):
        if isinstance(value, _dt.date | _dt.time):
            raise ScenarioError(
                f"{path}: {_field_name(field)}: no field takes a TOML date or time, got {value.isoformat()} "
                "(a window bound is written as a string)"
            )
    return raw


def _field_name(path: str) -> str:
    """Name a dotted path as the table parsers do: ``[sweep] seed``, ``strategies[0].name``."""
    table, rest = re.match(r"([^.\[]*)\.?(.*)", path).groups()
    if table not in TABLES or table == "strategies":
        return path
    return f"[{table}] {rest}" if rest else f"[{table}]"


#: The top-level tables a scenario may have.
TABLES = (
    "data",
    "order",
    "venues",
    "strategies",
    "sweep",
    "run",
    "report",
    "walk_forward",
    "queue",
    "study",
)


def _parse_data(w: str, raw: Any) -> DataSpec:
    data = _table(f"{w}: [data]", raw)
    allowed = {"source", "start", "end", "symbol", "instrument_id", "max_quote_age_ms"}
    _check_keys(f"{w}: [data]", data, allowed, {"source"})
    if "max_quote_age_ms" in data:
        where = f"{w}: [data] max_quote_age_ms"
        params.number(where, data["max_quote_age_ms"], lo=0, hi=86_400_000, lo_open=True, unit="ms")
    for key in ("source", "start", "end", "symbol"):
        if key in data:
            params.string(f"{w}: [data] {key}", data[key])
    if "symbol" in data and not data["symbol"].strip():
        raise ScenarioError(f"{w}: [data] symbol: must not be empty")
    if "instrument_id" in data:
        params.integer(f"{w}: [data] instrument_id", data["instrument_id"], lo=0, hi=2**32 - 1)
        if "symbol" in data:
            raise ScenarioError(f"{w}: [data]: give symbol or instrument_id, not both")
    _check_window(f"{w}: [data]", data.get("start"), data.get("end"))
    return DataSpec(**data)


def _check_window(where: str, start: str | None, end: str | None) -> None:
    """Refuse a window bound that cannot be read, or a start after the end."""
    bounds = {}
    for key, text in (("start", start), ("end", end)):
        if text is None:
            continue
        try:
            bounds[key] = (False, parse_window_bound(text, None))
        except ValueError:
            try:
                # A time of day is read on day 0 here: only its form is checked.
                bounds[key] = (True, parse_window_bound(text, 0))
            except ValueError as exc:
                raise ScenarioError(f"{where} {key}: {exc}") from None
    if len(bounds) == 2 and bounds["start"][0] == bounds["end"][0] and bounds["start"][1] > bounds["end"][1]:
        raise ScenarioError(f"{where} start: {start!r} is after end {end!r}")


def _parse_order(w: str, raw: Any) -> tuple[str, int | None, float | None]:
    """Return ``(side, quantity, volume_fraction)``: exactly one of the last two is given."""
    order = _table(f"{w}: [order]", raw)
    _check_keys(f"{w}: [order]", order, {"side", "quantity", "volume_fraction"})
    side = params.string(f"{w}: [order] side", order.get("side", "buy"), choices=("buy", "sell"))
    if ("quantity" in order) == ("volume_fraction" in order):
        raise ScenarioError(f"{w}: [order]: give exactly one of quantity (shares) or volume_fraction")
    if "volume_fraction" in order:
        where = f"{w}: [order] volume_fraction (a share of the previous session's volume)"
        return side, None, params.number(where, order["volume_fraction"], lo=0, hi=1, lo_open=True)
    quantity = order["quantity"]
    return (
        side,
        params.integer(f"{w}: [order] quantity", quantity, lo=1, hi=MAX_QUANTITY, unit="shares"),
        None,
    )


#: Shorthand keys of a venue table, and the model family each one stands for.
_SHORTHAND = {"fee": "fees", "rebate": "fees", "latency_us": "latency", "response_latency_us": "latency"}


def _parse_venues(w: str, raw: Any) -> dict[str, VenueSpec]:
    from venues.models import FAMILIES

    venues = {}
    for key, table in _table(f"{w}: [venues]", raw).items():
        where = f"{w}: [venues.{key}]"
        if key != "default" and not (key.isdigit() and str(int(key)) == key):
            raise ScenarioError(f"{where}: venue keys are publisher ids (no leading zeros) or 'default'")
        table = _table(where, table)
        _check_keys(where, table, {*_SHORTHAND, "name", *FAMILIES})
        models = {
            family: registry.build(f"{where}.{family}", table[family])
            for family, registry in FAMILIES.items()
            if family in table
        }
        for short, family in _SHORTHAND.items():
            if short in table and family in models:
                raise ScenarioError(f"{where}: give {short} or a [{family}] table, not both")
        name = table.get("name")
        if name is not None and not isinstance(name, str):
            raise ScenarioError(f"{where} name: expected a string, got {name!r}")
        venues[key] = VenueSpec(
            fee=_per_share(f"{where} fee", table, "fee"),
            rebate=_per_share(f"{where} rebate", table, "rebate"),
            latency_ns=_microseconds(where, table, "latency_us"),
            response_latency_ns=_microseconds(where, table, "response_latency_us"),
            name=name,
            models=models,
        )
    return venues


def _parse_strategies(w: str, raw: Any) -> tuple[StrategySpec, ...]:
    specs = []
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{w}: [[strategies]]: expected at least one strategy")
    if len(raw) > MAX_STRATEGIES:
        raise ScenarioError(f"{w}: [[strategies]]: at most {MAX_STRATEGIES} strategies, got {len(raw)}")
    for i, table in enumerate(raw):
        where = f"{w}: strategies[{i}]"
        table = _table(where, table)
        _check_keys(where, table, {"name", "kind", "params"}, {"name"})
        name = _name(f"{where}.name", table["name"])
        kind = _name(f"{where}.kind", table.get("kind", name))
        given = _table(f"{where}.params", table.get("params", {}))
        specs.append(StrategySpec(name=name, kind=kind, params=dict(given)))
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScenarioError(f"{w}: strategies: name {dupes[0]!r} is used twice")
    return tuple(specs)


def _parse_run(w: str, raw: Any) -> int:
    run = _table(f"{w}: [run]", raw)
    _check_keys(f"{w}: [run]", run, {"seed"})
    return params.seed(f"{w}: [run] seed", run.get("seed", 0))


def _parse_report(w: str, raw: Any, names: list[str]) -> tuple[dict[str, str], str | None]:
    report = _table(f"{w}: [report]", raw)
    _check_keys(f"{w}: [report]", report, {"baselines", "optimized"})
    baselines = _table(f"{w}: [report] baselines", report.get("baselines", {}))
    if len(baselines) > MAX_STRATEGIES:
        raise ScenarioError(f"{w}: [report] baselines: at most {MAX_STRATEGIES}, got {len(baselines)}")
    for label, target in baselines.items():
        where = f"{w}: [report] baselines.{_name(f'{w}: [report] baselines', label)}"
        if _name(where, target) not in names:
            raise ScenarioError(f"{where}: no strategy named {target!r}")
    optimized = report.get("optimized")
    if optimized is not None and _name(f"{w}: [report] optimized", optimized) not in names:
        raise ScenarioError(f"{w}: [report] optimized: no strategy named {optimized!r}")
    return dict(baselines), optimized


def _parse_walk_forward(w: str, raw: Any, sweep: SweepSpec | None) -> WalkForwardSpec:
    wf = _table(f"{w}: [walk_forward]", raw)
    _check_keys(f"{w}: [walk_forward]", wf, {"windows"})
    windows = params.integer(f"{w}: [walk_forward] windows", wf.get("windows", 2), lo=2, hi=MAX_WINDOWS)
    if sweep is None:
        raise ScenarioError(f"{w}: [walk_forward] needs a [sweep] to tune")
    return WalkForwardSpec(windows=windows)


def _parse_queue(w: str, raw: Any) -> Any:
    """Return the run-wide queue model of ``[queue]`` (``None`` when absent: each venue's default)."""
    from venues.models import QUEUE

    if not raw:
        return None
    table = _table(f"{w}: [queue]", raw)
    return QUEUE.build(f"{w}: [queue]", {"model": "risk_averse", **table})


def _microseconds(where: str, table: dict[str, Any], key: str) -> int | None:
    """Return ``table[key]`` (microseconds, at most a minute) in whole nanoseconds, or None when absent."""
    value = table.get(key)
    if value is None:
        return None
    us = params.number(f"{where} {key}", value, lo=0, hi=60_000_000, unit="us")
    return int(round(us * 1000))


def _parse_sweep(where: str, table: dict[str, Any], names: list[str]) -> SweepSpec:
    _check_keys(where, table, {"strategy", "method", "grid", "space", "samples", "seed"}, {"strategy"})
    strategy = _name(f"{where} strategy", table["strategy"])
    if strategy not in names:
        raise ScenarioError(f"{where} strategy: no strategy named {strategy!r}")
    method = params.string(f"{where} method", table.get("method", "grid"), choices=("grid", "random"))
    if method == "grid":
        _check_keys(where, table, {"strategy", "method", "grid"}, {"grid"})
        space = _sweep_space(f"{where} grid", table["grid"])
        for key, values in space.items():
            if not isinstance(values, list) or not values:
                raise ScenarioError(f"{where} grid.{key}: expected a non-empty list of values")
            for i, value in enumerate(values):
                _grid_value(f"{where} grid.{key}[{i}]", value)
        points = math.prod(len(values) for values in space.values())
        if points > MAX_PARAMETER_SETS:
            shape = " x ".join(str(len(values)) for values in space.values())
            raise ScenarioError(
                f"{where} grid: {shape} = {points:,} parameter sets, more than the "
                f"{MAX_PARAMETER_SETS:,} a sweep may run"
            )
        return SweepSpec(strategy=strategy, method=method, space={k: list(v) for k, v in space.items()})
    _check_keys(where, table, {"strategy", "method", "space", "samples", "seed"}, {"space", "samples"})
    space = _sweep_space(f"{where} space", table["space"])
    for key, bounds in space.items():
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise ScenarioError(f"{where} space.{key}: expected [low, high], got {params.show(bounds)}")
        low, high = (
            params.number(f"{where} space.{key}[{i}]", b, lo=-MAX_SWEEP_BOUND, hi=MAX_SWEEP_BOUND)
            for i, b in enumerate(bounds)
        )
        if low > high:
            raise ScenarioError(f"{where} space.{key}: low {bounds[0]!r} is above high {bounds[1]!r}")
    return SweepSpec(
        strategy=strategy,
        method=method,
        space={k: list(v) for k, v in space.items()},
        samples=params.integer(f"{where} samples", table["samples"], lo=1, hi=MAX_PARAMETER_SETS),
        seed=params.seed(f"{where} seed", table.get("seed", 0)),
    )


def _sweep_space(where: str, raw: Any) -> dict[str, Any]:
    space = _table(where, raw)
    if not space:
        raise ScenarioError(f"{where}: expected at least one parameter")
    if len(space) > MAX_SWEEP_PARAMETERS:
        raise ScenarioError(f"{where}: at most {MAX_SWEEP_PARAMETERS} parameters, got {len(space)}")
    return space


def _grid_value(where: str, value: Any) -> None:
    """Accept a grid point's value: a finite number, a boolean or a short string."""
    if isinstance(value, bool) or (isinstance(value, int | float) and math.isfinite(value)):
        return
    if isinstance(value, str) and len(value) <= MAX_NAME_CHARS:
        return
    raise ScenarioError(
        f"{where}: expected a finite number, a boolean or a string of at most {MAX_NAME_CHARS} "
        f"characters, got {params.show(value)}"
    )


def _name(where: str, value: Any) -> str:
    """Return a strategy's name or kind, or a label: a non-empty string of at most 100 characters."""
    text = params.string(where, value, max_len=MAX_NAME_CHARS)
    if not text:
        raise ScenarioError(f"{where}: must not be empty")
    return text
