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
