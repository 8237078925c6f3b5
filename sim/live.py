"""Running a scenario live: replay a Kafka run as the producer paces it, fills as they happen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from feeds.errors import FeedError
from feeds.live import LiveMarket
from feeds.timeparse import parse_window_bound
from sim.engine import Engine
from sim.runner import build_result, plan, resting_factory, venue_configs, with_walk_forward
from sim.scenario import Scenario, ScenarioError
from venues.orders import Fill


def run_live(
    scenario: Scenario,
    spec: str,
    *,
    on_fill: Callable[[str, int, Fill], None] | None = None,
    on_row: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Follow the Kafka run ``spec`` and replay it through the scenario's strategies as it arrives.

    ``on_fill(strategy_name, venue_id, fill)`` is called for every fill as it happens and
    ``on_row(live_snapshot)`` for every snapshot received (it carries the consumer's
    lag). The result equals the same scenario's run from the file, field for field,
    but for ``scenario.data.source``.
    """
    from feeds.kafka.consumer import open_live

    live = open_live(spec)
    start = live.start
    try:
        if not start.venues or not start.last_ts:
            raise FeedError(
                spec,
                f"run {start.run} does not announce its venues and time span (an older producer); "
                "run it without --live",
            )
        day = start.first_ts
        start_ns = parse_window_bound(scenario.data.start, day) if scenario.data.start else start.first_ts
        end_ns = parse_window_bound(scenario.data.end, day) if scenario.data.end else start.last_ts
        if end_ns < start_ns:
            raise ScenarioError(f"{scenario.path}: [data] end is before start")
        configs = venue_configs(scenario, venue_ids=tuple(start.venues), source=start.source)
        the_plan = plan(scenario)
        market = LiveMarket(
            live.snapshots,
            capacity=start.count,
            levels=start.levels,
            source=start.source,
            symbol=start.symbol,
            start_ns=start_ns,
            end_ns=end_ns,
            on_row=on_row,
        )
        hook = None
        if on_fill is not None:
            names = [slot.name for slot in the_plan.slots]

            ids = [c.venue_id for c in configs]

            def hook(fill: Fill) -> None:
                on_fill(names[fill.owner], ids[fill.venue], fill)

        engine = Engine(
            market.md,
            configs,
            the_plan.slots,
            target=scenario.quantity,
            start_ns=start_ns,
            end_ns=end_ns,
            seed=scenario.seed,
            resting_factory=resting_factory(scenario),
            live=market,
            on_fill=hook,
        )
        outcome = engine.run()
    finally:
        live.snapshots.close()
    if market.filled == 0:
        raise FeedError(spec, f"run {start.run} has no snapshot in the window")
    md = market.final(rows_read=live.end.rows_read, dropped=live.end.dropped)
    result = build_result(scenario, md, configs, the_plan, outcome, start_ns, end_ns)
    return with_walk_forward(result, scenario, md)
