"""Running a scenario as ``sor run`` does: open its source, replay once, then any walk-forward windows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from feeds.feed import Feed, MemoryFeed
from feeds.market import MarketData
from sim.replay import plan, replay_scenario, venue_configs, window_bounds
from sim.result_json import to_json
from sim.scenario import Scenario
from venues.orders import Fill

__all__ = ["load_data", "plan", "run_scenario", "venue_configs", "window_bounds"]


def load_data(scenario: Scenario) -> MarketData:
    """Load the scenario's source, cut to its window."""
    from feeds.sources import load_source

    data = scenario.data
    return load_source(data.source, start=data.start, end=data.end, **data.source_options())


def run_scenario(
    scenario: Scenario,
    md: MarketData | None = None,
    *,
    feed: Feed | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_fill: Callable[[str, int, Fill], None] | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` on ``md`` or ``feed`` if given, else on its own source; return the result object.

    A scenario with ``[walk_forward]`` also tunes on each window and tests on the next
    (``sim.walk_forward``); that needs the data in memory, so it is loaded once.
    """
    if feed is None:
        if md is None:
            md = load_data(scenario)
        feed = MemoryFeed(md)
    result = replay_scenario(scenario, feed, progress=progress, on_fill=on_fill)
    if scenario.walk_forward is not None:
        from sim.walk_forward import run_walk_forward

        if md is None:
            md = load_data(scenario)
        result = attrs.evolve(result, walk_forward=run_walk_forward(scenario, md))
    return to_json(result)
