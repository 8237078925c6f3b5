"""Walk-forward evaluation: tune the sweep on one window, test the choice on the next.

The scenario's replay window is cut into ``N`` consecutive windows of equal length
that do not overlap (window ``i`` ends one nanosecond before window ``i + 1``
starts). For each consecutive pair, the scenario's sweep runs on window ``i``
(in-sample); the best parameter set (``sim.results.choose_best``) is then run,
with every other strategy of the scenario (the baselines), on window ``i + 1``
(out-of-sample), where nothing is tuned. Each run is an ordinary replay
(``sim.replay.replay_scenario``) of the data cut to its window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from feeds.feed import MemoryFeed
from feeds.market import MarketData
from feeds.timeparse import format_ns
from sim.replay import replay_scenario, window_bounds
from sim.result import RunResult
from sim.scenario import Scenario, ScenarioError


def _replay(scenario: Scenario, md: MarketData) -> RunResult:
    if len(md) == 0:
        raise ScenarioError(f"{scenario.path}: [walk_forward]: a window has no market data")
    return replay_scenario(scenario, MemoryFeed(md))


def split_windows(start_ns: int, end_ns: int, windows: int) -> list[tuple[int, int]]:
    """Return ``windows`` consecutive ``(start, end)`` bounds covering ``[start_ns, end_ns]``, ends inclusive.

    Boundaries are ``start_ns + i * (end_ns - start_ns) // windows``; each window but
    the last ends one nanosecond before the next starts, so no instant is in two.
    """
    if windows < 1 or end_ns - start_ns < windows:
        raise ValueError(f"cannot cut [{start_ns}, {end_ns}] into {windows} windows")
    cuts = [start_ns + i * (end_ns - start_ns) // windows for i in range(windows)] + [end_ns + 1]
    return [(cuts[i], cuts[i + 1] - 1) for i in range(windows)]


def _windows_with_data(
    scenario: Scenario, md: MarketData, start_ns: int, end_ns: int, count: int
) -> list[tuple[int, int]]:
    """Cut the replay window into ``count`` windows; refuse, saying why, if one would hold no data."""
    where = f"{scenario.path}: [walk_forward] windows = {count}"
    span = f"the replay window {format_ns(start_ns)} to {format_ns(end_ns)}"
    try:
        bounds = split_windows(start_ns, end_ns, count)
    except ValueError:
        raise ScenarioError(f"{where}: {span} is too short to cut into {count} windows") from None
    ts = md.ts_event
    firsts = np.searchsorted(ts, [lo for lo, _ in bounds], side="left")
    ends = np.searchsorted(ts, [hi for _, hi in bounds], side="right")
    empty = np.flatnonzero(ends == firsts)
    if empty.size:
        i = int(empty[0])
        snapshots = int(ends[-1] - firsts[0])
        raise ScenarioError(
            f"{where}: window {i + 1} ({format_ns(bounds[i][0])} to {format_ns(bounds[i][1])}) holds no "
            f"market data ({span} has {snapshots:,} snapshots); use fewer windows"
        )
    return bounds


def _in_window(scenario: Scenario, start_ns: int, end_ns: int) -> Scenario:
    data = attrs.evolve(scenario.data, start=format_ns(start_ns), end=format_ns(end_ns))
    return attrs.evolve(scenario, data=data, walk_forward=None)


def _tuned(scenario: Scenario, best: dict[str, Any]) -> Scenario:
    """Return the scenario without its sweep, the swept strategy fixed at ``best``."""
    name = scenario.sweep.strategy
    specs = tuple(
        attrs.evolve(s, params={**s.params, **best}) if s.name == name else s for s in scenario.strategies
    )
    return attrs.evolve(scenario, strategies=specs, sweep=None, optimized=name)


def _money(result: RunResult) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "total_cash": lane.total_cash,
            "avg_fill_px": lane.avg_fill_px,
            "filled_shares": lane.filled_shares,
            "overfill_shares": lane.overfill_shares,
            "cash_at_target": lane.cash_at_target,
            "maker_shares": lane.maker_shares,
        }
        for name, lane in result.strategies.items()
    }


def run_walk_forward(
    scenario: Scenario,
    md: MarketData,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Tune on each window and test on the next; return the ``walk_forward`` part of a result.

    Parameters
    ----------
    scenario : Scenario
        A scenario with a ``[sweep]``; ``scenario.walk_forward.windows`` (2 when
        absent) sets ``N``.
    md : MarketData
        The scenario's data (already loaded, covering its window).
    progress : callable, optional
        Called as ``progress(done, total)`` after each run (``2 * (N - 1)`` runs).

    Returns
    -------
    dict
        ``{"windows": [...]}``, one entry per (tune, test) pair with the windows'
        bounds, ``best_parameters``, the savings in bps against each baseline
        in-sample and out-of-sample, and each strategy's cash in both.
    """
    if scenario.sweep is None:
        raise ScenarioError(f"{scenario.path}: [walk_forward] needs a [sweep] to tune")
    count = scenario.walk_forward.windows if scenario.walk_forward is not None else 2
    start_ns, end_ns = window_bounds(scenario, MemoryFeed(md).info)
    bounds = _windows_with_data(scenario, md, start_ns, end_ns, count)
    total = 2 * (count - 1)
    out = []
    for i in range(count - 1):
        (tune_start, tune_end), (test_start, test_end) = bounds[i], bounds[i + 1]
        tune = _in_window(scenario, tune_start, tune_end)
        in_sample = _replay(tune, md.window(tune_start, tune_end))
        if progress is not None:
            progress(2 * i + 1, total)
        best = dict(in_sample.best_parameters)
        test = _tuned(_in_window(scenario, test_start, test_end), best)
        out_of_sample = _replay(test, md.window(test_start, test_end))
        if progress is not None:
            progress(2 * i + 2, total)
        out.append(
            {
                "tune": {"start": format_ns(tune_start), "end": format_ns(tune_end)},
                "test": {"start": format_ns(test_start), "end": format_ns(test_end)},
                "best_parameters": best,
                "in_sample_bps": dict(in_sample.savings_bps),
                "out_of_sample_bps": dict(out_of_sample.savings_bps),
                "in_sample": _money(in_sample),
                "out_of_sample": _money(out_of_sample),
            }
        )
    return {"windows": out}
