"""Running a scenario as ``sor run`` does: open its source, replay once, then any walk-forward windows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from feeds.feed import Feed, MemoryFeed
from feeds.market import MarketData
from sim.order_size import resolve_quantity
from sim.replay import plan, replay_scenario, venue_configs, window_bounds
from sim.result_json import to_json
from sim.scenario import Scenario
from venues.orders import Fill

__all__ = ["load_data", "plan", "run_scenario", "venue_configs", "window_bounds"]


def market_source(scenario: Scenario) -> str:
    """Return the scenario's source spec as run: a synthetic source gets the run's seed.

    A synthetic source that names no ``seed=`` of its own is generated with the run's
    seed (``[run] seed`` / ``--seed``), so one seed knob moves the market too; the
    result's ``data.source`` spells the market seed used.
    """
    from feeds.sources import SYNTHETIC_PREFIX

    source = scenario.data.source
    if source.startswith(SYNTHETIC_PREFIX):
        keys = {part.partition("=")[0].strip() for part in source[len(SYNTHETIC_PREFIX) :].split(",")}
        if "seed" not in keys:
            body = source[len(SYNTHETIC_PREFIX) :].strip().rstrip(",")
            source = f"{SYNTHETIC_PREFIX}{body}{',' if body else ''}seed={scenario.seed}"
    return source


def load_data(scenario: Scenario) -> MarketData:
    """Load the scenario's source, cut to its window, into memory."""
    from feeds.sources import load_source

    data = scenario.data
    return load_source(market_source(scenario), start=data.start, end=data.end, **data.source_options())


def open_data(scenario: Scenario) -> Feed:
    """Open the scenario's source, cut to its window, as a feed read chunk by chunk (bounded memory)."""
    from feeds.sources import open_source

    data = scenario.data
    return open_source(market_source(scenario), data.start, data.end, **data.source_options())


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
            md = load_data(scenario) if scenario.walk_forward is not None else None
        feed = MemoryFeed(md) if md is not None else open_data(scenario)
    # The order size: a fixed quantity, or a share of the previous session's volume.
    size = resolve_quantity(scenario, feed.info)
    scenario = attrs.evolve(scenario, quantity=size.quantity)
    result = replay_scenario(scenario, feed, progress=progress, on_fill=on_fill)
    if size.volume_fraction is not None:
        result = attrs.evolve(result, order={**size.as_json(), "side": scenario.side})
    if scenario.walk_forward is not None:
        from sim.walk_forward import run_walk_forward

        if md is None:
            md = load_data(scenario)
        result = attrs.evolve(result, walk_forward=run_walk_forward(scenario, md))
    return to_json(result)
