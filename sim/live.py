"""Running a scenario live: replay a Kafka run as the producer paces it, fills printed as they happen.

A live run is an ordinary run on another feed: the stream's start marker gives the
venues, levels and span up front, its snapshots arrive as chunks of whole instants
(``feeds.live.LiveFeed``), and ``sim.runner.run_scenario`` does the rest, exactly as
for a file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from feeds.errors import FeedError
from feeds.feed import FeedInfo, FeedStats
from feeds.live import LiveFeed
from feeds.timeparse import parse_window_bound
from sim.runner import run_scenario
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
        info = FeedInfo(
            source=start.source,
            venues=tuple(start.venues),
            levels=start.levels,
            symbol=start.symbol,
            first_ts=start.first_ts,
            last_ts=start.last_ts,
        )

        def end_stats() -> FeedStats:
            end = live.end
            if end is None:
                return FeedStats(rows_read=0, snapshots=0, meta=dict(live.meta))
            return FeedStats(
                rows_read=end.rows_read, snapshots=0, dropped=dict(end.dropped), meta=dict(live.meta)
            )

        feed = LiveFeed(
            live.snapshots, info, start_ns=start_ns, end_ns=end_ns, on_row=on_row, end_stats=end_stats
        )
        try:
            result = run_scenario(scenario, feed=feed, on_fill=on_fill)
        except ValueError as exc:
            if "no market data" in str(exc):
                raise FeedError(spec, f"run {start.run} has no snapshot in the window") from None
            raise
    finally:
        live.snapshots.close()
    return result
