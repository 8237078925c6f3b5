"""Benchmark section: reading data files, against pyarrow, in bounded memory, and a study's day files.

- ``sor_over_pyarrow``: ``feeds.databento_csv.read_csv`` (every check, exact integer
  prices, the snapshot rule) over ``pyarrow.csv.read_csv`` with its defaults (floats,
  no checks) on the same generated 3-venue MBP-10 CSV, 1x and 16x, timed alternately in
  this run; median of the repeats (``cold``: one read per fresh process).
- ``peak_rss_mb``: peak resident memory of a fresh process streaming the 16x file
  through ``feeds.sources.open_source`` chunk by chunk (``read_16x``), the same after
  asking the feed's ``info`` first (``info_then_read_16x``: one pass through the rules
  without keeping rows), the default scenario run on that file through the feed
  (``run_default_16x_streaming``) and with the file loaded whole
  (``run_default_16x_in_memory``), and the interpreter with the imports alone.
- ``study_read``: reading every symbol of every day file of the shared DBEQ download,
  once with ``load_instruments`` (one pass per file) and once with one
  ``load_source(symbol=...)`` call per market (decoded once per file, then served from
  memory).
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import peak_rss_mb
from feeds.databento_csv import read_csv

NAME = "reading"
REPO = Path(__file__).resolve().parent.parent
STUDY = REPO.parent / "shared" / "data" / "dbeq-basic-tbbo"
TARGET_OVER_PYARROW = 1.5
TARGET_RSS_MB = 300.0

_STREAM = """
import sys
from feeds.sources import open_source
feed = open_source(sys.argv[1])
if sys.argv[2] == "info":
    feed.info
rows = sum(len(chunk) for chunk in feed.chunks())
assert rows == feed.stats().snapshots
"""


def _alternating(path: Path, reps: int) -> dict[str, Any]:
    import pyarrow.csv as pacsv

    read_csv(path)
    pacsv.read_csv(path)
    sor, arrow = [], []
    for _ in range(reps):
        start = time.perf_counter()
        pacsv.read_csv(path)
        arrow.append(time.perf_counter() - start)
        start = time.perf_counter()
        md = read_csv(path)
        sor.append(time.perf_counter() - start)
    sor_s, arrow_s = statistics.median(sor), statistics.median(arrow)
    return {
        "rows": md.rows_read,
        "sor_s": sor_s,
        "pyarrow_s": arrow_s,
        "sor_over_pyarrow": sor_s / arrow_s,
        "sor_rows_per_s": md.rows_read / sor_s,
    }


_RUN = """
import sys, attrs
from feeds.sources import open_source
from sim.runner import run_scenario
from sim.scenario import Scenario
scenario = Scenario.from_toml(sys.argv[1])
scenario = attrs.evolve(scenario, data=attrs.evolve(scenario.data, source=sys.argv[2], start=None, end=None))
run_scenario(scenario, feed=open_source(sys.argv[2])) if sys.argv[3] == "stream" else run_scenario(scenario)
"""

_COLD = """
import sys, time
import pyarrow.csv
from feeds.databento_csv import read_csv
start = time.perf_counter()
read_csv(sys.argv[1]) if sys.argv[2] == "sor" else pyarrow.csv.read_csv(sys.argv[1])
print(time.perf_counter() - start)
"""


def _cold(path: Path, reps: int) -> dict[str, float]:
    # One read per fresh process (imports not timed): no page or pool warm from a previous read.
    times: dict[str, list[float]] = {"sor": [], "pyarrow": []}
    for _ in range(reps):
        for who in times:
            done = subprocess.run(
                [sys.executable, "-c", _COLD, str(path), who],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            )
            times[who].append(float(done.stdout.strip().splitlines()[-1]))
    sor_s, arrow_s = statistics.median(times["sor"]), statistics.median(times["pyarrow"])
    return {"sor_s": sor_s, "pyarrow_s": arrow_s, "sor_over_pyarrow": sor_s / arrow_s}


def _study(quick: bool) -> dict[str, Any]:
    from feeds import dbn
    from feeds.sources import load_instruments, load_source

    files = sorted(STUDY.glob("*.dbn.zst"))
    if not files or importlib.util.find_spec("databento_dbn") is None:
        return {"status": "skipped: the shared DBEQ download or databento-dbn is missing"}
    files = files[:3] if quick else files
    dbn._CACHE.clear()
    start = time.perf_counter()
    every = {f.name: load_instruments(str(f)) for f in files}
    one_pass = time.perf_counter() - start
    dbn._CACHE.clear()
    start = time.perf_counter()
    markets = 0
    for f in files:
        for symbol in every[f.name]:
            load_source(str(f), symbol=symbol)
            markets += 1
    per_market = time.perf_counter() - start
    return {
        "status": "measured",
        "files": len(files),
        "markets": markets,
        "records": sum(next(iter(v.values())).rows_read for v in every.values()),
        "snapshots": sum(len(md) for v in every.values() for md in v.values()),
        "load_instruments_s": one_pass,
        "load_source_per_market_s": per_market,
    }


def measure(ctx) -> dict[str, Any]:
    """Time the CSV reader against pyarrow, measure streaming memory, and the study's reading."""
    out: dict[str, Any] = {
        "target_sor_over_pyarrow": TARGET_OVER_PYARROW,
        "target_peak_rss_mb": TARGET_RSS_MB,
    }
    reps_16x = 1 if ctx.quick else 3
    if importlib.util.find_spec("pyarrow") is None:
        out["status"] = "skipped: pyarrow is not installed"
    else:
        out["status"] = "measured"
        for scale, reps in ((1, ctx.reps), (16, reps_16x)):
            out[f"{scale}x"] = _alternating(ctx.files[scale].path, reps)
        out["sor_over_pyarrow"] = {key: out[key]["sor_over_pyarrow"] for key in ("1x", "16x")}
        out["cold"] = {f"{scale}x": _cold(ctx.files[scale].path, 1 if ctx.quick else 3) for scale in (1, 16)}
        out["met_speed"] = max(out["sor_over_pyarrow"].values()) <= TARGET_OVER_PYARROW
    big = str(ctx.files[16].path)
    python = sys.executable
    out["peak_rss_mb"] = {
        "read_16x": peak_rss_mb([python, "-c", _STREAM, big, "chunks"], cwd=str(REPO)),
        "info_then_read_16x": peak_rss_mb([python, "-c", _STREAM, big, "info"], cwd=str(REPO)),
        "run_default_16x_streaming": peak_rss_mb(
            [python, "-c", _RUN, str(ctx.default.path), big, "stream"], cwd=str(REPO)
        ),
        "run_default_16x_in_memory": peak_rss_mb(
            [python, "-c", _RUN, str(ctx.default.path), big, "memory"], cwd=str(REPO)
        ),
        "interpreter_and_imports": peak_rss_mb(
            [python, "-c", "import feeds.sources, feeds.databento_csv, feeds._arrow"], cwd=str(REPO)
        ),
    }
    rss = out["peak_rss_mb"]
    out["met_memory"] = max(rss["read_16x"], rss["info_then_read_16x"], rss["run_default_16x_streaming"]) <= (
        TARGET_RSS_MB
    )
    from feeds.sources import open_source

    start = time.perf_counter()
    info = open_source(big).info
    out["feed_info_16x_s"] = time.perf_counter() - start
    out["feed_info_16x_venues"] = list(info.venues)
    out["study_read"] = _study(ctx.quick)
    out["met"] = bool(out.get("met_speed", True) and out["met_memory"])
    return out


def markdown(result: dict[str, Any]) -> list[str]:
    """Return the section's part of RESULTS.md."""
    lines = ["## Reading data files", ""]
    if result.get("status") == "measured":
        lines += [
            "| file | rows | sor | pyarrow.csv | sor / pyarrow (target <= 1.5) |",
            "|---|---|---|---|---|",
        ]
        for key in ("1x", "16x"):
            row = result[key]
            lines.append(
                f"| {key} | {row['rows']:,} | {row['sor_s']:.3f} s | {row['pyarrow_s']:.3f} s "
                f"| {row['sor_over_pyarrow']:.2f}x |"
            )
        cold = result["cold"]
        lines += [
            "",
            "Timed alternately in this process (both warm: pages and pyarrow's memory pool reused). "
            f"One read per fresh process instead: {cold['1x']['sor_over_pyarrow']:.2f}x at 1x, "
            f"{cold['16x']['sor_over_pyarrow']:.2f}x at 16x "
            f"({cold['16x']['sor_s']:.2f} s against {cold['16x']['pyarrow_s']:.2f} s).",
            "",
        ]
    else:
        lines += [f"Parse speed: {result.get('status')}", ""]
    rss = result["peak_rss_mb"]
    lines += [
        f"Peak memory streaming the 16x file chunk by chunk: {rss['read_16x']:.0f} MB "
        f"({rss['info_then_read_16x']:.0f} MB asking the feed's venues first, a pass of "
        f"{result['feed_info_16x_s']:.2f} s; the interpreter and imports alone "
        f"{rss['interpreter_and_imports']:.0f} MB; target <= {result['target_peak_rss_mb']:.0f} MB). "
        f"The default scenario run on the whole 16x file through `open_source`: "
        f"{rss['run_default_16x_streaming']:.0f} MB ({rss['run_default_16x_in_memory']:.0f} MB with the "
        "data loaded whole, as `sor run` does today).",
        "",
    ]
    study = result["study_read"]
    if study.get("status") == "measured":
        lines += [
            f"Study reading: {study['files']} DBEQ day files, {study['markets']} markets, "
            f"{study['records']:,} records: {study['load_instruments_s']:.2f} s with one pass per file "
            f"(`load_instruments`), {study['load_source_per_market_s']:.2f} s with one `load_source` "
            "call per market (each file decoded once, then served from memory).",
            "",
        ]
    return lines
