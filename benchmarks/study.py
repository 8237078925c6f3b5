"""Benchmark section: `sor study` on local Dask workers (scenarios/study_seeds.toml, 40 seeds).

Measured in one run: the study end to end with 1 local worker and with 2 (the
speedup), the study's own overhead against the markets' own run time (scheduling,
serialising, statistics; starting the workers shown apart), and peak memory per
worker against one ``sor run`` of the same market. ``--quick`` runs 4 seeds of a
30-second market: a check that the section works, not a timing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
from tabulate import tabulate

from benchmarks.measure import peak_rss_mb
from sim.jsonio import dumps
from sim.scenario import Scenario
from sim.study.driver import run_study
from sim.study.execute import dask_client
from sim.study.markets import expand_markets
from sim.study.summary import study_result

NAME = "study"
REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "scenarios" / "study_seeds.toml"
SPEEDUP_2_OVER_1 = 1.7
OVERHEAD_SHARE = 0.05
QUICK_SOURCE = "synthetic:venues=3,seconds=30"


def _scenario(quick: bool) -> Scenario:
    scenario = Scenario.from_toml(SCENARIO)
    if not quick:
        return scenario
    data = attrs.evolve(scenario.data, source=QUICK_SOURCE, start=None, end=None)
    return attrs.evolve(scenario, data=data, study=attrs.evolve(scenario.study, seeds=(1, 2, 3, 4)))


def _worker_idle_mb() -> float:
    from sim.study.worker import own_peak_rss_mb

    with dask_client(1) as client:
        peaks = client.run(own_peak_rss_mb)
    return max(peaks.values())


def _sor_run_peak(scenario: Scenario, seed: int) -> float:
    """Return the peak memory of ``sor run`` on the study's market ``seed`` (its window, under --quick)."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-m", "sim", "run", str(SCENARIO), "--seed", str(seed)]
        argv += ["--data", scenario.data.source, "--out", str(Path(tmp) / "r.json"), "--quiet"]
        return peak_rss_mb(argv, cwd=str(REPO))


def measure(ctx: Any) -> dict[str, Any]:
    """Run the study with 1 and 2 local workers; return times, ratios, overhead and memory."""
    scenario = _scenario(ctx.quick)
    markets = expand_markets(scenario)
    runs = {}
    for workers in (1, 2):
        started = time.perf_counter()
        done = run_study(scenario, workers=workers)
        runs[workers] = (time.perf_counter() - started, done)
    (total_1, one), (total_2, two) = runs[1], runs[2]
    own = sum(o.seconds for o in one.outcomes)
    rows = {i: row for i, row in enumerate(one.result["study"]["markets"])}
    started = time.perf_counter()
    study_result(scenario, markets, rows, [])
    statistics_s = time.perf_counter() - started
    scheduling_s = one.wall_s - own
    overhead = (scheduling_s + statistics_s) / own
    worker_peak = max(o.peak_rss_mb for o in two.outcomes)
    seed = scenario.study.seeds[len(scenario.study.seeds) // 2]
    sor_run_peak = _sor_run_peak(scenario, seed)
    bare = peak_rss_mb([sys.executable, "-c", "import sim.runner, feeds.sources, numpy, simpy"])
    idle = _worker_idle_mb()
    return {
        "markets": len(markets),
        "identical_json": dumps(one.result) == dumps(two.result),
        "one_worker_s": total_1,
        "two_workers_s": total_2,
        "speedup_2_over_1": total_1 / total_2,
        "markets_phase_speedup": one.wall_s / two.wall_s,
        "target_speedup": SPEEDUP_2_OVER_1,
        "speedup_met": total_1 / total_2 >= SPEEDUP_2_OVER_1,
        "markets_own_s": own,
        # Each market's own time with 2 workers against 1: above 1 when the two workers did not
        # each have a core to themselves (other jobs on the machine, shared caches).
        "market_time_2_over_1": sum(o.seconds for o in two.outcomes) / own,
        "mean_market_s": own / len(markets),
        "scheduling_serialising_s": scheduling_s,
        "statistics_s": statistics_s,
        "workers_start_stop_s": total_1 - one.wall_s - statistics_s,
        "overhead_share": overhead,
        "overhead_share_with_start": (total_1 - own) / own,
        "target_overhead_share": OVERHEAD_SHARE,
        "overhead_met": overhead <= OVERHEAD_SHARE,
        "worker_peak_rss_mb": worker_peak,
        "worker_idle_rss_mb": idle,
        "sor_run_peak_rss_mb": sor_run_peak,
        "interpreter_and_imports_mb": bare,
        "memory_met": worker_peak <= sor_run_peak,
        "market_memory_met": worker_peak - idle <= sor_run_peak - bare,
        "met": total_1 / total_2 >= SPEEDUP_2_OVER_1 and overhead <= OVERHEAD_SHARE,
    }


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def markdown(result: dict[str, Any]) -> list[str]:
    """Return the section of RESULTS.md."""
    r = result
    rows = [
        [
            "2 local workers vs 1, end to end",
            f"{r['speedup_2_over_1']:.2f}x",
            f">= {r['target_speedup']:g}x",
            _yes(r["speedup_met"]),
            f"{r['one_worker_s']:.1f} s vs {r['two_workers_s']:.1f} s "
            f"(markets phase alone {r['markets_phase_speedup']:.2f}x; each market took "
            f"{r['market_time_2_over_1']:.2f}x as long beside a second worker)",
        ],
        [
            "overhead (scheduling, serialising, statistics) / markets' own run time",
            f"{100 * r['overhead_share']:.1f}%",
            f"<= {100 * r['target_overhead_share']:g}%",
            _yes(r["overhead_met"]),
            f"{r['scheduling_serialising_s']:.2f} s + {r['statistics_s']:.2f} s "
            f"over {r['markets_own_s']:.1f} s; "
            f"with starting and stopping the workers ({r['workers_start_stop_s']:.1f} s): "
            f"{100 * r['overhead_share_with_start']:.1f}%",
        ],
        [
            "peak memory per worker vs one `sor run` of a market",
            f"{r['worker_peak_rss_mb']:.0f} MB vs {r['sor_run_peak_rss_mb']:.0f} MB",
            "no higher",
            _yes(r["memory_met"]),
            f"an idle Dask worker holds {r['worker_idle_rss_mb']:.0f} MB, a bare interpreter with sor's "
            f"imports {r['interpreter_and_imports_mb']:.0f} MB; above those, a market takes "
            f"{r['worker_peak_rss_mb'] - r['worker_idle_rss_mb']:.0f} MB in a worker and "
            f"{r['sor_run_peak_rss_mb'] - r['interpreter_and_imports_mb']:.0f} MB in `sor run`",
        ],
    ]
    return [
        f"## Studies on Dask (`sor study`, {r['markets']} markets of `scenarios/study_seeds.toml`)",
        "",
        "One run of the whole study with 1 local worker process and one with 2, on this machine's cores; "
        f"the two JSON files are {'byte-identical' if r['identical_json'] else '**not identical**'}. "
        f"A market takes {r['mean_market_s']:.2f} s on average.",
        "",
        tabulate(
            rows,
            headers=["measurement", "measured", "target", "met", "absolute"],
            tablefmt="github",
            disable_numparse=True,
        ),
    ]
