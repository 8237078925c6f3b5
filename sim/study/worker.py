"""One market on a worker: run the scenario as ``sor run`` would and keep the row the study needs.

``run_market`` is what a Dask worker calls. It returns a :class:`MarketOutcome`:
the market's row (plain JSON values: exact decimals, ints, strings) or the one-line
error of a market that failed on bad input, and, outside the row, how long the run
took and the worker's peak memory (for the benchmark; never in the result JSON).
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
from typing import Any

import attrs

from feeds.timeparse import format_ns
from sim.results import compare
from sim.scenario import Scenario
from sim.study.markets import Market, market_scenario
from strategies import registry

#: What a market row keeps of each strategy, and of each sweep lane (what ``compare`` reads).
STRATEGY_FIELDS = (
    "total_cash",
    "cash_at_target",
    "avg_fill_px",
    "filled_shares",
    "overfill_shares",
    "maker_shares",
    "complete",
)
LANE_FIELDS = ("total_cash", "cash_at_target", "filled_shares", "overfill_shares")
#: Errors a market's input can cause (bad data, a window too short to cut): reported, not raised.
MARKET_ERRORS = (ValueError, OSError, registry.UnknownStrategy)


@attrs.frozen
class MarketOutcome:
    """What a worker sends back for one market: its row or its error, and how the run went."""

    index: int
    row: dict[str, Any] | None
    error: str | None
    seconds: float
    peak_rss_mb: float
    pid: int


def run_market(scenario: Scenario, market: Market) -> MarketOutcome:
    """Run ``scenario`` on ``market`` and return its outcome (an input error is returned, not raised)."""
    started = time.perf_counter()
    row, error = None, None
    try:
        row = market_row(market, run_one(scenario, market))
    except MARKET_ERRORS as exc:
        error = " ".join(str(exc).split()) or type(exc).__name__
    # The engine's objects hold reference cycles (SimPy processes and their owners): free them
    # now, not when the cyclic collector next runs, so a worker's memory does not creep from
    # market to market.
    gc.collect()
    return MarketOutcome(
        index=market.index,
        row=row,
        error=error,
        seconds=time.perf_counter() - started,
        peak_rss_mb=own_peak_rss_mb(),
        pid=os.getpid(),
    )


def run_one(scenario: Scenario, market: Market) -> dict[str, Any]:
    """Return the full result of ``scenario`` on ``market`` (``sim.runner.run_scenario``'s object)."""
    from feeds.feed import MemoryFeed
    from sim.runner import load_data, run_scenario, window_bounds
    from sim.walk_forward import split_windows

    evolved = market_scenario(scenario, market)
    if market.windows == 1:
        return run_scenario(evolved)
    md = load_data(evolved)
    start_ns, end_ns = window_bounds(evolved, MemoryFeed(md).info)
    lo, hi = split_windows(start_ns, end_ns, market.windows)[market.window - 1]
    windowed = attrs.evolve(evolved, data=attrs.evolve(evolved.data, start=format_ns(lo), end=format_ns(hi)))
    return run_scenario(windowed, md.window(lo, hi))


def market_row(market: Market, result: dict[str, Any]) -> dict[str, Any]:
    """Reduce one market's result to its row of ``study.markets`` (see docs/result-format.md)."""
    strategies = result["strategies"]
    side, target = result["order"]["side"], result["order"]["quantity"]
    baselines = {label: entry["strategy"] for label, entry in result["baselines"].items()}
    savings: dict[str, dict[str, Any]] = {}
    basis: dict[str, dict[str, str]] = {}
    for name, s in strategies.items():
        for label, base in baselines.items():
            if base == name:
                continue
            bps, how = compare(s, strategies[base], side, target)
            savings.setdefault(name, {})[label] = bps
            basis.setdefault(name, {})[label] = how
    sweep = result["sweep"]
    data = result["data"]
    return {
        "id": market.id,
        "session": market.session,
        "source": data["source"],
        "seed": market.seed,
        "file": market.file,
        "symbol": data.get("symbol"),
        "window": {"number": market.window, "of": market.windows, **data["window"]},
        "snapshots": data["snapshots"],
        "quotes": {key: data[key] for key in ("consolidated", "stale_quotes") if key in data},
        "side": side,
        "quantity": target,
        "baselines": baselines,
        "strategies": {name: {key: s[key] for key in STRATEGY_FIELDS} for name, s in strategies.items()},
        "savings_bps": savings,
        "savings_basis": basis,
        "sweep": None
        if sweep is None
        else {
            "strategy": sweep["strategy"],
            "chosen": sweep["chosen"],
            **{key: [r[key] for r in sweep["rows"]] for key in LANE_FIELDS},
        },
    }


def own_peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program.

    Linux's ``ru_maxrss`` survives ``exec``: a worker spawned from a large client would
    report the client's size, so the address space's own high-water mark is read first.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20
