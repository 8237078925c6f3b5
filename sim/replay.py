"""One replay of a scenario: build its venues and strategies, replay its feed once, build the result.

``replay_scenario`` is the whole of it for a feed already opened; ``sim.runner`` opens
the scenario's source and adds the runs a scenario may ask for beyond this one
(walk-forward windows).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from feeds.feed import Feed, FeedInfo
from feeds.market import MarketData, units_to_decimal
from feeds.timeparse import format_ns
from sim.engine import Engine, RunOutcome, StrategySlot
from sim.market import MarketSampler
from sim.quote_stats import QuoteStats
from sim.result import LaneResult, RunResult, SweepResult
from sim.results import choose_best, compare
from sim.scenario import Scenario, ScenarioError, dollars_to_units
from strategies import registry
from venues.config import VenueConfig
from venues.fees import MakerTaker
from venues.fill_rules import WalkBook
from venues.latency import ConstantLatency, NoFeedDelay
from venues.orders import Fill
from venues.queue import DEFAULT_QUEUE_MODEL
from venues.registry import describe

# Used for a venue the scenario does not price: a typical US equities taker fee and
# maker rebate (dollars per share, in 1e-9 units) and 100 microseconds away.
DEFAULT_FEE = 3_000_000
DEFAULT_REBATE = 2_000_000
DEFAULT_LATENCY_NS = 100_000
BASELINE_KINDS = ("best_ask", "twap", "vwap")
#: The default ``[data] max_quote_age_ms`` of a TBBO feed (MBP and MBO feeds show every change,
#: so a quiet venue's quote is current and has no default limit).
TBBO_MAX_QUOTE_AGE_MS = 1000


def _layered(field: str, layers: tuple, base: dict[str, Any], default: int) -> int:
    for layer in layers:
        if layer is not None and getattr(layer, field) is not None:
            return getattr(layer, field)
    return int(base.get(field, default))


def _model(family: str, layers: tuple, shorthand: tuple[str, ...], build: Callable[[], Any]) -> Any:
    """Return the family's model: a table at the nearest level that has one, unless shorthand comes first."""
    for layer in layers:
        if layer is None:
            continue
        if family in layer.models:
            return layer.models[family]
        if any(getattr(layer, f) is not None for f in shorthand):
            break
    return build()


def venue_configs(
    scenario: Scenario, md: MarketData | None = None, *, venue_ids: tuple[int, ...] = (), source: str = ""
) -> list[VenueConfig]:
    """Return one config per venue: the scenario's settings, else the source's defaults, else ours.

    The venues and source are ``md``'s, or ``venue_ids`` and ``source`` when no data is at hand yet
    (a live stream). A ``[venues.ID]`` of a venue the data does not have is left unused (a
    multi-day study meets days a venue did not trade) and named in the result's
    ``data.unused_venue_settings``. Per venue and model family, ``[venues.ID]`` comes before
    ``[venues.default]``; a model table (``[venues.ID.latency]``) sets the whole model,
    shorthand keys (``fee``, ``latency_us``...) set one value each, layered key by key.
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

        def maker_taker(layers=layers, base=base):
            return MakerTaker(
                fee=_layered("fee", layers, base, DEFAULT_FEE),
                rebate=_layered("rebate", layers, base, DEFAULT_REBATE),
            )

        def constant(layers=layers, base=base):
            return ConstantLatency(
                entry_us=_layered("latency_ns", layers, base, DEFAULT_LATENCY_NS) / 1000,
                response_us=_layered("response_latency_ns", layers, base, 0) / 1000,
            )

        queue = scenario.queue if scenario.queue is not None else DEFAULT_QUEUE_MODEL
        configs.append(
            VenueConfig(
                venue_id=v,
                name=(spec.name if spec and spec.name else str(base.get("name", ""))),
                fees=_model("fees", layers, ("fee", "rebate"), maker_taker),
                latency=_model("latency", layers, ("latency_ns", "response_latency_ns"), constant),
                feed=_model("feed", layers, (), NoFeedDelay),
                queue=_model("queue", layers, (), lambda queue=queue: queue),
                fill=_model("fill", layers, (), WalkBook),
            )
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
    """Turn the scenario's strategies and sweep into engine slots (vectorised where a class allows).

    Every parameter set is checked here, once, against the strategy's ``Params``.
    """
    slots: list[StrategySlot] = []
    named: dict[str, tuple[int, int]] = {}
    sweep_rows: list[tuple[int, int]] = []
    sweep_params: list[dict[str, Any]] = []
    for spec in scenario.strategies:
        where = f"{scenario.path}: strategy {spec.name!r}"
        try:
            cls = registry.resolve(spec.kind)
        except registry.UnknownStrategy as exc:
            raise ScenarioError(f"{where}: {exc}") from None
        if scenario.sweep is not None and scenario.sweep.strategy == spec.name:
            sets = [{**spec.params, **row} for row in scenario.sweep.parameter_sets()]
            cls.parse_params(spec.params, where)
            typed = tuple(cls.parse_params(row, f"{scenario.path}: [sweep] {spec.name}") for row in sets)
            if cls.vectorized:
                slots.append(StrategySlot(spec.name, cls, typed))
                sweep_rows.extend((len(slots) - 1, lane) for lane in range(len(sets)))
            else:
                for row in typed:
                    slots.append(StrategySlot(spec.name, cls, (row,)))
                    sweep_rows.append((len(slots) - 1, 0))
            sweep_params.extend(sets)
        else:
            slots.append(StrategySlot(spec.name, cls, (cls.parse_params(spec.params, where),)))
            named[spec.name] = (len(slots) - 1, 0)
    return Plan(tuple(slots), named, tuple(sweep_rows), tuple(sweep_params))


def window_bounds(scenario: Scenario, info: FeedInfo) -> tuple[int, int]:
    """Return the replay window in ns: the scenario's bounds, else the data's first and last instant."""
    from feeds.timeparse import parse_window_bound

    if info.first_ts is None or info.last_ts is None:
        raise ScenarioError(f"{scenario.path}: [data] start, end: no market data in the window")
    day = info.first_ts
    start = parse_window_bound(scenario.data.start, day) if scenario.data.start else info.first_ts
    end = parse_window_bound(scenario.data.end, day) if scenario.data.end else info.last_ts
    return start, end


def replay_scenario(
    scenario: Scenario,
    feed: Feed,
    *,
    progress: Callable[[int, int], None] | None = None,
    on_fill: Callable[[str, int, Fill], None] | None = None,
) -> RunResult:
    """Replay ``feed`` once through the scenario's venues and strategies; return the typed result.

    ``on_fill(strategy_name, venue_id, fill)`` is called for every fill as the venue makes it.
    """
    info = feed.info
    start_ns, end_ns = window_bounds(scenario, info)
    configs = venue_configs(scenario, venue_ids=info.venues, source=info.source)
    the_plan = plan(scenario)
    hook = None
    if on_fill is not None:
        names = [slot.name for slot in the_plan.slots]
        ids = [c.venue_id for c in configs]

        def hook(fill: Fill) -> None:
            on_fill(names[fill.owner], ids[fill.venue], fill)

    sampler = MarketSampler(start_ns, end_ns)
    max_age_ms = scenario.data.max_quote_age_ms
    if max_age_ms is None and info.meta.get("schema") == "tbbo":
        # TBBO knows a venue's quote only at that venue's trades: an old one is a guess.
        max_age_ms = TBBO_MAX_QUOTE_AGE_MS
    max_age_ns = None if max_age_ms is None else int(round(max_age_ms * 1_000_000))
    quotes = QuoteStats(info.venues, max_age_ns)
    engine = Engine(
        feed,
        configs,
        the_plan.slots,
        target=scenario.quantity,
        side=scenario.side,
        start_ns=start_ns,
        end_ns=end_ns,
        seed=scenario.seed,
        progress=progress,
        on_fill=hook,
        observers=(sampler, quotes),
        max_quote_age_ns=max_age_ns,
    )
    outcome = engine.run()
    result = build_result(scenario, info, configs, the_plan, outcome, start_ns, end_ns, sampler.series())
    result.data["consolidated"] = quotes.as_result()
    if max_age_ns is not None:
        result.data["stale_quotes"] = {
            "max_quote_age_ms": max_age_ms,
            "book_reads": outcome.reads,
            "book_reads_with_a_stale_venue": outcome.stale_reads,
        }
    return result


def build_result(
    scenario: Scenario,
    info: FeedInfo,
    configs: list[VenueConfig],
    the_plan: Plan,
    outcome: RunOutcome,
    start_ns: int,
    end_ns: int,
    market: dict[str, list],
) -> RunResult:
    """Assemble the typed result (``sim.result_json`` turns it into the JSON)."""
    venue_ids = tuple(c.venue_id for c in configs)
    target = scenario.quantity
    side = scenario.side
    stats = outcome.stats
    kinds = {s.name: s.kind for s in scenario.strategies}

    def lane(slot: int, index: int, with_fills: bool = True) -> LaneResult:
        s = the_plan.slots[slot]
        return LaneResult.from_ledger(
            outcome.ledgers[slot],
            index,
            kind=s.cls.kind,
            parameters=attrs.asdict(s.params[index]),
            venue_ids=venue_ids,
            target=target,
            unwind_px=outcome.unwind_px,
            with_fills=with_fills,
        )

    strategies: dict[str, LaneResult] = {}
    sweep = None
    for spec in scenario.strategies:
        if spec.name in the_plan.named:
            strategies[spec.name] = lane(*the_plan.named[spec.name])
            continue
        lanes = tuple(lane(slot, index, with_fills=False) for slot, index in the_plan.sweep_rows)
        chosen = choose_best(lanes, target, side)
        strategies[spec.name] = lane(*the_plan.sweep_rows[chosen])
        sweep = SweepResult(
            strategy=spec.name,
            names=tuple(scenario.sweep.space),
            method=scenario.sweep.method,
            parameters=tuple({k: p[k] for k in scenario.sweep.space} for p in the_plan.sweep_params),
            lanes=lanes,
            chosen=chosen,
        )

    baselines = dict(scenario.baselines) or {
        kind: name for kind in BASELINE_KINDS for name, k in kinds.items() if k == kind
    }
    optimized = scenario.optimized or (
        scenario.sweep.strategy
        if scenario.sweep
        else next((n for n in kinds if n not in baselines.values()), scenario.strategies[0].name)
    )
    savings, basis = {}, {}
    for label, name in baselines.items():
        savings[label], basis[label] = compare(strategies[optimized], strategies[name], side, target)
    scenario_as_run = dict(scenario.raw)
    scenario_as_run["data"] = {**scenario.raw.get("data", {}), "source": scenario.data.source}
    scenario_as_run["run"] = {**scenario.raw.get("run", {}), "seed": scenario.seed}
    return RunResult(
        side=side,
        target=target,
        strategies=strategies,
        sweep=sweep,
        optimized=optimized,
        baselines=baselines,
        savings_bps=savings,
        savings_basis=basis,
        market={
            **market,
            "closing_mid": None if outcome.final_mid is None else units_to_decimal(outcome.final_mid),
            "overfill_px": None if outcome.unwind_px is None else units_to_decimal(outcome.unwind_px),
        },
        data={
            "source": info.source,
            "symbol": info.symbol,
            "rows_read": stats.rows_read,
            "snapshots": stats.snapshots,
            "venues": list(venue_ids),
            "window": {"start": format_ns(start_ns), "end": format_ns(end_ns)},
            "dropped": dict(sorted(stats.dropped.items())),
            **info.meta,
            **stats.meta,
            **_unused_venues(scenario, venue_ids),
        },
        venues={str(c.venue_id): venue_settings(c) for c in configs},
        scenario=scenario_as_run,
    )


def _unused_venues(scenario: Scenario, venue_ids: tuple[int, ...]) -> dict[str, Any]:
    unused = sorted(int(k) for k in scenario.venues if k != "default" and int(k) not in venue_ids)
    return {"unused_venue_settings": unused} if unused else {}


def venue_settings(c: VenueConfig) -> dict[str, Any]:
    """Return what a venue ran with, for the result: fees and latencies, and every non-default model."""
    from venues.models import FAMILIES

    out: dict[str, Any] = {}
    plain = set()
    if isinstance(c.fees, MakerTaker):
        out["fee_per_share"] = units_to_decimal(c.fees.fee)
        out["rebate_per_share"] = units_to_decimal(c.fees.rebate)
        plain.add("fees")
    if isinstance(c.latency, ConstantLatency) and c.latency.cancel_us is None:
        out["latency_us"] = _us(c.latency.entry_us)
        out["response_latency_us"] = _us(c.latency.response_us)
        plain.add("latency")
    if isinstance(c.feed, NoFeedDelay):
        plain.add("feed")
    if isinstance(c.fill, WalkBook):
        plain.add("fill")
    if c.queue == DEFAULT_QUEUE_MODEL:
        plain.add("queue")
    models = {
        family: {"model": family_registry.name_of(getattr(c, family)), **describe(getattr(c, family))}
        for family, family_registry in FAMILIES.items()
        if family not in plain
    }
    if models:
        out["models"] = models
    return out


def _us(value: float) -> Decimal:
    return units_to_decimal(int(round(value * 1000)) * 1_000_000)
