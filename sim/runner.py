"""Running a scenario: load the data, build venues and strategies, replay once, build the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from feeds.market import MarketData, units_to_decimal
from feeds.timeparse import format_ns
from sim import __version__
from sim.engine import Engine, RunOutcome, StrategySlot
from sim.results import choose_best, compare, lane_summary, market_series
from sim.scenario import Scenario, ScenarioError, dollars_to_units
from strategies import registry
from strategies.base import ParameterError
from venues.config import VenueConfig

# Used for a venue the scenario does not price: a typical US equities taker fee and
# maker rebate (dollars per share, in 1e-9 units) and 100 microseconds away.
DEFAULT_FEE = 3_000_000
DEFAULT_REBATE = 2_000_000
DEFAULT_LATENCY_NS = 100_000
BASELINE_KINDS = ("best_ask", "twap", "vwap")


def _layered(field: str, layers: tuple, base: dict[str, Any], default: int) -> int:
    for layer in layers:
        if layer is not None and getattr(layer, field) is not None:
            return getattr(layer, field)
    return int(base.get(field, default))


def venue_configs(
    scenario: Scenario, md: MarketData | None = None, *, venue_ids: tuple[int, ...] = (), source: str = ""
) -> list[VenueConfig]:
    """Return one config per venue: the scenario's settings, else the source's defaults, else ours.

    The venues and source are ``md``'s, or ``venue_ids`` and ``source`` when no data is at hand yet
    (a live stream).
    """
    if md is not None:
        venue_ids, source = md.venues, md.source
    source_defaults: dict[int, dict[str, Any]] = {}
    if source.startswith("synthetic:"):
        from feeds.synthetic import default_venue_settings

        for row in default_venue_settings(len(venue_ids)):
            source_defaults[int(row["venue"])] = {
                "fee": dollars_to_units("synthetic venue fee", row["fee_per_share"]),
                "rebate": dollars_to_units("synthetic venue rebate", row["rebate_per_share"]),
                "latency_ns": int(row["latency_ns"]),
                "name": row["name"],
            }
    fallback = scenario.venues.get("default")
    configs = []
    for v in venue_ids:
        base = source_defaults.get(v, {})
        spec = scenario.venues.get(str(v))
        layers = (spec, fallback)
        configs.append(
            VenueConfig(
                venue_id=v,
                fee=_layered("fee", layers, base, DEFAULT_FEE),
                rebate=_layered("rebate", layers, base, DEFAULT_REBATE),
                latency_ns=_layered("latency_ns", layers, base, DEFAULT_LATENCY_NS),
                response_latency_ns=_layered("response_latency_ns", layers, base, 0),
                name=(spec.name if spec and spec.name else str(base.get("name", ""))),
            )
        )
    for key in scenario.venues:
        if key != "default" and int(key) not in venue_ids:
            raise ScenarioError(
                f"{scenario.path}: [venues.{key}]: no such venue in the data (has {list(venue_ids)})"
            )
    return configs


@attrs.frozen
class Plan:
    """Where each strategy's lanes sit in the engine: ``(slot index, lane)`` per result row."""

    slots: tuple[StrategySlot, ...]
    named: dict[str, tuple[int, int]]
    sweep_rows: tuple[tuple[int, int], ...]
    sweep_params: tuple[dict[str, Any], ...]


def plan(scenario: Scenario) -> Plan:
    """Turn the scenario's strategies and sweep into engine slots (vectorised where a class allows)."""
    slots: list[StrategySlot] = []
    named: dict[str, tuple[int, int]] = {}
    sweep_rows: list[tuple[int, int]] = []
    sweep_params: list[dict[str, Any]] = []
    for spec in scenario.strategies:
        try:
            cls = registry.resolve(spec.kind)
        except registry.UnknownStrategy as exc:
            raise ScenarioError(f"{scenario.path}: strategy {spec.name!r}: {exc}") from None
        try:
            cls.resolve_params(spec.params)
        except ParameterError as exc:
            raise ScenarioError(f"{scenario.path}: strategy {spec.name!r}: {exc}") from None
        if scenario.sweep is not None and scenario.sweep.strategy == spec.name:
            sets = [{**spec.params, **row} for row in scenario.sweep.parameter_sets()]
            for row in sets:
                try:
                    cls.resolve_params(row)
                except ParameterError as exc:
                    raise ScenarioError(f"{scenario.path}: [sweep]: {exc}") from None
            if cls.vectorized:
                slots.append(StrategySlot(spec.name, cls, tuple(sets)))
                sweep_rows.extend((len(slots) - 1, lane) for lane in range(len(sets)))
            else:
                for row in sets:
                    slots.append(StrategySlot(spec.name, cls, (row,)))
                    sweep_rows.append((len(slots) - 1, 0))
            sweep_params.extend(sets)
        else:
            slots.append(StrategySlot(spec.name, cls, (dict(spec.params),)))
            named[spec.name] = (len(slots) - 1, 0)
    return Plan(tuple(slots), named, tuple(sweep_rows), tuple(sweep_params))


def window_bounds(scenario: Scenario, md: MarketData) -> tuple[int, int]:
    """Return the replay window in ns: the scenario's bounds, else the data's first and last instant."""
    from feeds.timeparse import parse_window_bound

    if len(md) == 0:
        raise ScenarioError(f"{scenario.path}: no market data in the window")
    day = int(md.ts_event[0])
    start = parse_window_bound(scenario.data.start, day) if scenario.data.start else int(md.ts_event[0])
    end = parse_window_bound(scenario.data.end, day) if scenario.data.end else int(md.ts_event[-1])
    return start, end


def load_data(scenario: Scenario) -> MarketData:
    """Load the scenario's source, cut to its window.

    A synthetic source that names no ``seed=`` of its own is generated with the run's
    seed (``[run] seed`` / ``--seed``), so one seed knob moves the market too; the
    result's ``data.source`` spells the market seed used.
    """
    from feeds.sources import SYNTHETIC_PREFIX, load_source

    source = scenario.data.source
    if source.startswith(SYNTHETIC_PREFIX):
        keys = {part.partition("=")[0].strip() for part in source[len(SYNTHETIC_PREFIX) :].split(",")}
        if "seed" not in keys:
            body = source[len(SYNTHETIC_PREFIX) :].strip().rstrip(",")
            source = f"{SYNTHETIC_PREFIX}{body}{',' if body else ''}seed={scenario.seed}"
    return load_source(source, start=scenario.data.start, end=scenario.data.end)


def run_scenario(
    scenario: Scenario,
    md: MarketData | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` (on ``md`` if given, else its own source) and return the result object."""
    if md is None:
        md = load_data(scenario)
    start_ns, end_ns = window_bounds(scenario, md)
    configs = venue_configs(scenario, md)
    the_plan = plan(scenario)
    engine = Engine(
        md,
        configs,
        the_plan.slots,
        target=scenario.quantity,
        start_ns=start_ns,
        end_ns=end_ns,
        seed=scenario.seed,
        progress=progress,
        resting_factory=resting_factory(scenario),
    )
    outcome = engine.run()
    result = build_result(scenario, md, configs, the_plan, outcome, start_ns, end_ns)
    return with_walk_forward(result, scenario, md)


def with_walk_forward(result: dict[str, Any], scenario: Scenario, md: MarketData) -> dict[str, Any]:
    """Fill ``result["walk_forward"]`` when the scenario asks for it (extra runs on sub-windows)."""
    if scenario.walk_forward is not None:
        from sim.walk_forward import run_walk_forward

        result["walk_forward"] = run_walk_forward(scenario, md)
    return result


def resting_factory(scenario: Scenario):
    """Return the factory of each venue's resting-order book, with the scenario's queue model."""
    from venues.queue import FrontFirst, ProbabilisticQueue, Proportional
    from venues.resting import RestingBook

    model = {
        "proportional": Proportional,
        "front_first": FrontFirst,
        "probabilistic": lambda: ProbabilisticQueue(power=scenario.queue.power),
    }[scenario.queue.model]()
    return lambda venue: RestingBook(venue, queue_model=model)


def build_result(
    scenario: Scenario,
    md: MarketData,
    configs: list[VenueConfig],
    the_plan: Plan,
    outcome: RunOutcome,
    start_ns: int,
    end_ns: int,
) -> dict[str, Any]:
    """Assemble the result object (see docs/result-format.md)."""
    venue_ids = tuple(c.venue_id for c in configs)
    target = scenario.quantity
    kinds = {s.name: s.kind for s in scenario.strategies}

    def summary(slot: int, lane: int, with_fills: bool = True) -> dict[str, Any]:
        s = the_plan.slots[slot]
        return lane_summary(
            outcome.ledgers[slot],
            lane,
            kind=s.cls.kind,
            params=s.cls.resolve_params(s.params[lane]),
            venue_ids=venue_ids,
            target=target,
            with_fills=with_fills,
        )

    strategies: dict[str, Any] = {}
    sweep = None
    for spec in scenario.strategies:
        if spec.name in the_plan.named:
            strategies[spec.name] = summary(*the_plan.named[spec.name])
            continue
        rows = []
        for (slot, lane), params in zip(the_plan.sweep_rows, the_plan.sweep_params, strict=True):
            full = summary(slot, lane, with_fills=False)
            rows.append(
                {
                    "parameters": {k: params[k] for k in scenario.sweep.space},
                    "total_cash": full["total_cash"],
                    "avg_fill_px": full["avg_fill_px"],
                    "filled_shares": full["filled_shares"],
                }
            )
        chosen = choose_best(rows, target)
        strategies[spec.name] = summary(*the_plan.sweep_rows[chosen])
        distinct = len({r["total_cash"] for r in rows})
        sweep = {
            "strategy": spec.name,
            "parameters": list(scenario.sweep.space),
            "method": scenario.sweep.method,
            "rows": rows,
            "distinct_total_cash": distinct,
            "degenerate": distinct == 1,
            "chosen": chosen,
        }

    baselines = dict(scenario.baselines) or {
        kind: name for kind in BASELINE_KINDS for name, k in kinds.items() if k == kind
    }
    optimized_name = scenario.optimized or (
        scenario.sweep.strategy
        if scenario.sweep
        else next((n for n in kinds if n not in baselines.values()), scenario.strategies[0].name)
    )
    opt = strategies[optimized_name]
    savings, basis = {}, {}
    for label, name in baselines.items():
        savings[label], basis[label] = compare(opt, strategies[name])

    best_parameters = (
        sweep["rows"][sweep["chosen"]]["parameters"]
        if sweep and sweep["strategy"] == optimized_name
        else opt["parameters"]
    )
    scenario_as_run = dict(scenario.raw)
    scenario_as_run["data"] = {**scenario.raw.get("data", {}), "source": scenario.data.source}
    scenario_as_run["run"] = {**scenario.raw.get("run", {}), "seed": scenario.seed}
    return {
        "version": __version__,
        "best_parameters": best_parameters,
        "optimized": {
            "strategy": optimized_name,
            "total_cash": opt["total_cash"],
            "avg_fill_px": opt["avg_fill_px"],
        },
        "baselines": {
            label: {
                "strategy": name,
                "total_cash": strategies[name]["total_cash"],
                "avg_fill_px": strategies[name]["avg_fill_px"],
            }
            for label, name in baselines.items()
        },
        "savings_vs_baselines_bps": savings,
        "savings_basis": basis,
        "order": {"side": "buy", "quantity": target},
        "strategies": strategies,
        "sweep": sweep,
        "walk_forward": None,
        "market": market_series(md, start_ns, end_ns),
        "data": {
            "source": md.source,
            "symbol": md.symbol,
            "rows_read": md.rows_read,
            "snapshots": len(md),
            "venues": list(venue_ids),
            "window": {"start": format_ns(start_ns), "end": format_ns(end_ns)},
            "dropped": dict(sorted(md.dropped.items())),
            **md.meta,
        },
        "venues": {
            str(c.venue_id): {
                "fee_per_share": units_to_decimal(c.fee),
                "rebate_per_share": units_to_decimal(c.rebate),
                "latency_us": units_to_decimal(c.latency_ns * 1_000_000),
                "response_latency_us": units_to_decimal(c.response_latency_ns * 1_000_000),
            }
            for c in configs
        },
        "scenario": scenario_as_run,
    }
