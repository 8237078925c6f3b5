"""Benchmark section: replay throughput per strategy, the queue router against parse time, memory, start-up.

* ``replay_rows_per_s``: one replay of the trial-size 3-venue data (in memory) for
  each baseline alone and for cont_kukanov with its 125-lane grid (feed → venues →
  strategies → ledger → result), in rows per second.
* ``ck_queue_over_parse``: the whole ``scenarios/ck_queue.toml`` run (125 lanes and
  walk-forward, reading its CSV) over the parse time of that CSV.
* ``peak_rss_mb``: peak resident memory of a default-style ``sor run`` on the 1x and
  16x files, in a fresh process (the data streamed, not held).
* ``default_run_s`` and ``imports_s``: ``sor run scenarios/default.toml`` (the
  embedded default) wall time in a fresh process, and the time its imports take
  (``python -X importtime``, summed).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs

from benchmarks import runs
from benchmarks.measure import peak_rss_mb, timed

NAME = "throughput"
TARGET_RATE = {"best_ask": 1_000_000, "twap": 1_000_000, "vwap": 1_000_000, "cont_kukanov": 300_000}


def _one(scenario, name: str):
    specs = tuple(s for s in scenario.strategies if s.name == name)
    sweep = scenario.sweep if scenario.sweep is not None and scenario.sweep.strategy == name else None
    return attrs.evolve(
        scenario, strategies=specs, sweep=sweep, walk_forward=None, baselines={}, optimized=name
    )


def _imports_s(argv: list[str]) -> float:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, check=False
    )
    total = 0
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            head = line.split(":", 1)[1].split("|")[0].strip()
            if head.isdigit():
                total += int(head)
    return total / 1e6


def measure(ctx) -> dict[str, Any]:
    """Measure every figure listed in the module docstring, in this one run."""
    from feeds.feed import MemoryFeed
    from sim.replay import replay_scenario
    from sim.scenario import Scenario

    queue = Scenario.from_toml(runs.QUEUE_SCENARIO)
    on_trial = runs.on_data(queue, ctx.trial, keep_window=not ctx.quick)
    md = ctx.md
    rates: dict[str, Any] = {}
    for name in TARGET_RATE:
        scenario = _one(on_trial, name)
        t = timed(lambda scenario=scenario: replay_scenario(scenario, MemoryFeed(md)), ctx.reps, warmup=1)
        rates[name] = len(md) / t.median
    ck = timed(lambda: runs.run(on_trial), max(1, ctx.reps // 2))
    out: dict[str, Any] = {
        "rows": len(md),
        "replay_rows_per_s": rates,
        "targets_rows_per_s": TARGET_RATE,
        "ck_queue_s": ck.median,
        "ck_queue_over_parse": ck.median / ctx.t_parse,
        "target_ck_queue_over_parse": 6.0,
    }
    default = str(runs.DEFAULT_SCENARIO)
    with tempfile.TemporaryDirectory() as tmp:
        rss = {}
        for scale in (1, 16):
            argv = runs.run_cli_argv(runs.DEFAULT_SCENARIO, str(ctx.files[scale].path), Path(tmp) / "r.json")
            rss[f"x{scale}"] = peak_rss_mb(argv)
        out["peak_rss_mb"] = rss
        out["target_peak_rss_mb_x16"] = 300.0
        argv = ["-c", "from sim.cli import main; main()", "run", default, "--out", str(Path(tmp) / "d.json")]
        walls = []
        for _ in range(max(1, ctx.reps // 2)):
            started = time.perf_counter()
            subprocess.run([sys.executable, *argv, "--quiet"], check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
        out["default_run_s"] = sorted(walls)[len(walls) // 2]
        out["imports_s"] = _imports_s([*argv, "--quiet"])
    out["target_default_run_s"] = 1.0
    out["target_imports_s"] = 0.15
    return out


def markdown(result: dict[str, Any]) -> list[str]:
    """Return this section of RESULTS.md."""
    rows = [
        f"| replay, {name} | {rate:,.0f} rows/s | ≥ {result['targets_rows_per_s'][name]:,} |"
        for name, rate in result["replay_rows_per_s"].items()
    ]
    return [
        "## Replay throughput, memory and start-up",
        "",
        f"One replay of the trial-size 3-venue data in memory ({result['rows']:,} rows), each strategy alone "
        "(cont_kukanov with its 125-lane grid); memory and start-up in fresh processes.",
        "",
        "| measurement | measured | target |",
        "|---|---|---|",
        *rows,
        f"| ck_queue.toml / parse | {result['ck_queue_over_parse']:.2f}x "
        f"({result['ck_queue_s']:.2f} s) | ≤ 6x |",
        f"| peak RSS, default-style run, 1x | {result['peak_rss_mb']['x1']:.0f} MB | - |",
        f"| peak RSS, default-style run, 16x | {result['peak_rss_mb']['x16']:.0f} MB | ≤ 300 MB |",
        f"| sor run scenarios/default.toml | {result['default_run_s']:.2f} s | < 1 s |",
        f"| its imports | {result['imports_s']:.3f} s | ≤ 0.15 s |",
    ]
