"""Scenario files: what to replay, what to buy, where, with which strategies and sweep.

A scenario is TOML. Every table rejects keys it does not know, naming them, so a
typo never silently falls back to a default. See the README for the format.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from sim.study.spec import StudySpec, parse_study
from venues import params
from venues.params import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


#: Every scenario error is a ``ConfigError`` naming the file and the field.
ScenarioError = ConfigError
_check_keys = params.keys
_table = params.table


def dollars_to_units(where: str, value: Any) -> int:
    """Convert a dollar amount from the file (``0.003`` or ``"0.003"``) to 1e-9 units, exactly."""
    return params.dollars(where, value)


@attrs.frozen
class DataSpec:
    """Where the snapshots come from and which part of them to replay."""

    source: str
    start: str | None = None
    end: str | None = None


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
    quantity: int
    venues: dict[str, VenueSpec]
    strategies: tuple[StrategySpec, ...]
    sweep: SweepSpec | None = None
    seed: int = 0
    baselines: dict[str, str] = attrs.field(factory=dict)
    optimized: str | None = None
    walk_forward: WalkForwardSpec | None = None
    queue: Any = None
    study: StudySpec | None = None
    raw: dict[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_toml(cls, path: str | Path) -> Scenario:
        """Read and check a scenario file."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(raw, str(path))

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
        return cls(
            path=path,
            data=_parse_data(w, raw["data"]),
            quantity=_parse_order(w, raw["order"]),
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
    _check_keys(f"{w}: [data]", data, {"source", "start", "end"}, {"source"})
    for key in data:
        if not isinstance(data[key], str):
            raise ScenarioError(f"{w}: [data] {key}: expected a string")
    return DataSpec(**data)


def _parse_order(w: str, raw: Any) -> int:
    order = _table(f"{w}: [order]", raw)
    _check_keys(f"{w}: [order]", order, {"side", "quantity"}, {"quantity"})
    side = order.get("side", "buy")
    if side != "buy":
        raise ScenarioError(f"{w}: [order] side: only 'buy' is supported, got {side!r}")
    quantity = order["quantity"]
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ScenarioError(f"{w}: [order] quantity: must be a whole number of shares > 0, got {quantity!r}")
    return quantity


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
            fee=dollars_to_units(f"{where} fee", table["fee"]) if "fee" in table else None,
            rebate=dollars_to_units(f"{where} rebate", table["rebate"]) if "rebate" in table else None,
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
    for i, table in enumerate(raw):
        where = f"{w}: strategies[{i}]"
        table = _table(where, table)
        _check_keys(where, table, {"name", "kind", "params"}, {"name"})
        name = table["name"]
        params = _table(f"{where}.params", table.get("params", {}))
        specs.append(StrategySpec(name=name, kind=table.get("kind", name), params=dict(params)))
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScenarioError(f"{w}: strategies: name {dupes[0]!r} is used twice")
    return tuple(specs)


def _parse_run(w: str, raw: Any) -> int:
    run = _table(f"{w}: [run]", raw)
    _check_keys(f"{w}: [run]", run, {"seed"})
    seed = run.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ScenarioError(f"{w}: [run] seed: must be a whole number >= 0")
    return seed


def _parse_report(w: str, raw: Any, names: list[str]) -> tuple[dict[str, str], str | None]:
    report = _table(f"{w}: [report]", raw)
    _check_keys(f"{w}: [report]", report, {"baselines", "optimized"})
    baselines = _table(f"{w}: [report] baselines", report.get("baselines", {}))
    for label, target in baselines.items():
        if target not in names:
            raise ScenarioError(f"{w}: [report] baselines.{label}: no strategy named {target!r}")
    optimized = report.get("optimized")
    if optimized is not None and optimized not in names:
        raise ScenarioError(f"{w}: [report] optimized: no strategy named {optimized!r}")
    return dict(baselines), optimized


def _parse_walk_forward(w: str, raw: Any, sweep: SweepSpec | None) -> WalkForwardSpec:
    wf = _table(f"{w}: [walk_forward]", raw)
    _check_keys(f"{w}: [walk_forward]", wf, {"windows"})
    windows = wf.get("windows", 2)
    if isinstance(windows, bool) or not isinstance(windows, int) or windows < 2:
        raise ScenarioError(f"{w}: [walk_forward] windows: must be a whole number >= 2")
    if sweep is None:
        raise ScenarioError(f"{w}: [walk_forward] needs a [sweep] to tune")
    return WalkForwardSpec(windows=windows)


def _parse_queue(w: str, raw: Any) -> Any:
    """Return the run-wide queue model of ``[queue]`` (``None`` when absent: each venue's default)."""
    from venues.models import QUEUE

    if not raw:
        return None
    table = _table(f"{w}: [queue]", raw)
    return QUEUE.build(f"{w}: [queue]", {"model": "proportional", **table})


def _microseconds(where: str, table: dict[str, Any], key: str) -> int | None:
    """Return ``table[key]`` (microseconds, at most a minute) in whole nanoseconds, or None when absent."""
    value = table.get(key)
    if value is None:
        return None
    us = params.number(f"{where} {key}", value, lo=0, hi=60_000_000, unit="us")
    return int(round(us * 1000))


def _parse_sweep(where: str, table: dict[str, Any], names: list[str]) -> SweepSpec:
    _check_keys(where, table, {"strategy", "method", "grid", "space", "samples", "seed"}, {"strategy"})
    strategy = table["strategy"]
    if strategy not in names:
        raise ScenarioError(f"{where} strategy: no strategy named {strategy!r}")
    method = table.get("method", "grid")
    if method == "grid":
        _check_keys(where, table, {"strategy", "method", "grid"}, {"grid"})
        space = _table(f"{where} grid", table["grid"])
        for key, values in space.items():
            if not isinstance(values, list) or not values:
                raise ScenarioError(f"{where} grid.{key}: expected a non-empty list of values")
        return SweepSpec(strategy=strategy, method=method, space={k: list(v) for k, v in space.items()})
    if method == "random":
        _check_keys(where, table, {"strategy", "method", "space", "samples", "seed"}, {"space", "samples"})
        space = _table(f"{where} space", table["space"])
        for key, bounds in space.items():
            ok = (
                isinstance(bounds, list)
                and len(bounds) == 2
                and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
            )
            if not ok or bounds[0] > bounds[1]:
                raise ScenarioError(f"{where} space.{key}: expected [low, high]")
        samples = table["samples"]
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise ScenarioError(f"{where} samples: must be a whole number >= 1")
        return SweepSpec(
            strategy=strategy,
            method=method,
            space={k: list(v) for k, v in space.items()},
            samples=samples,
            seed=int(table.get("seed", 0)),
        )
    raise ScenarioError(f"{where} method: expected 'grid' or 'random', got {method!r}")
