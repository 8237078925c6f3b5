"""Writing the benchmark's results: ``results.json`` for machines, ``RESULTS.md`` for people."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path
from typing import Any

from tabulate import tabulate

from benchmarks.sections import SECTIONS

HERE = Path(__file__).resolve().parent
#: Hand-written notes (what dominated before and after, what changed) appended to RESULTS.md.
NOTES = HERE / "NOTES.md"


def write_results(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write ``results.json`` and ``RESULTS.md`` into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    as_json = out_dir / "results.json"
    as_json.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    as_md = out_dir / "RESULTS.md"
    as_md.write_text(markdown(results), encoding="utf-8")
    return [as_md, as_json]


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _x(ratio: float | None) -> str:
    if ratio is None or not math.isfinite(ratio):
        return "-"
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.2f}x"


def _met(row: dict[str, Any]) -> str:
    if "met" not in row:
        return row.get("status", "-")
    return "yes" if row["met"] else "**no**"


def _brute_basis(row: dict[str, Any]) -> str:
    if not row["brute_extrapolated"]:
        return "measured"
    return f"extrapolated from {row['brute_measured_at_quantity']:,} shares ({_s(row['brute_measured_s'])})"


def summary_rows(m: dict[str, Any]) -> list[list[str]]:
    """Return the headline table: one row per target."""
    alloc = m["allocator"]
    growth = m["data_growth"]["runs"]
    sets = m["param_growth"]["runs"]
    queue, kafka, mem = m["queue_router"], m["kafka"], m["memory"]
    rows = [
        [
            "allocator, 3 venues x exact vs brute force (per decision)",
            _x(alloc["speedup_3_venues"]),
            f">= {alloc['target_speedup']:,}x",
            _met(alloc),
            " / ".join(_s(r[k]) for r in alloc["rows"] if r["venues"] == 3 for k in ("exact_s", "brute_s")),
        ],
        [
            "T_parse: CSV -> columns",
            "1x (reference)",
            "-",
            "-",
            f"{_s(m['parse']['median_s'])} ({m['parse']['rows']:,} rows)",
        ],
        [
            "T_replay: idle strategy, / T_parse",
            _x(m["replay"]["over_parse"]),
            "-",
            "-",
            _s(m["replay"]["median_s"]),
        ],
        [
            "T_run default scenario (128 strategy lanes), / T_parse",
            _x(m["default_run"]["over_parse"]),
            f"<= {m['default_run']['target_over_parse']:g}x",
            _met(m["default_run"]),
            _s(m["default_run"]["median_s"]),
        ],
        [
            "peak resident memory, `sor run --data` (trial file)",
            f"{mem['peak_rss_mb']:.0f} MB",
            f"<= {mem['target_mb']:.0f} MB",
            _met(mem),
            f"interpreter + imports alone: {mem['interpreter_and_imports_mb']:.0f} MB",
        ],
        [
            "T_run 16x data / 1x data",
            _x(growth["16x"]["over_1x"]),
            f"<= {m['data_growth']['target_16x_over_1x']:g}x",
            _met(m["data_growth"]),
            " / ".join(_s(growth[k]["median_s"]) for k in ("1x", "4x", "16x")) + " (1x/4x/16x)",
        ],
        [
            "T_run 1,000 parameter sets / 1 set",
            _x(sets["1000"]["over_1"]),
            f"<= {m['param_growth']['target_1000_over_1']:g}x",
            _met(m["param_growth"]),
            f"{_s(sets['1']['median_s'])} / {_s(sets['125']['median_s'])} / {_s(sets['1000']['median_s'])}"
            " (1/125/1000)",
        ],
    ]
    if queue.get("status") == "measured":
        rows.append(
            [
                "queue-aware router (ck_queue.toml), / T_parse",
                _x(queue["over_parse"]),
                f"<= {queue['target_over_parse']:g}x",
                _met(queue),
                _s(queue["median_s"]),
            ]
        )
    else:
        rows.append(["queue-aware router (ck_queue.toml), / T_parse", "-", "<= 20x", queue["status"], "-"])
    if kafka.get("status") == "measured":
        rows.append(
            [
                "Kafka publish, --speed max (snapshots/s)",
                f"{kafka['snapshots_per_s']:,.0f}/s",
                f">= {kafka['target_messages_per_s']:,}/s",
                _met({"met": kafka["publish_met"]}),
                f"{kafka['messages_per_s']:,.0f} Kafka records/s, "
                f"{kafka['snapshots_per_message']:.0f} snapshots each",
            ]
        )
        rows.append(
            [
                "default run through Kafka / from the file",
                _x(kafka["run_over_file"]),
                f"<= {kafka['target_over_file']:g}x",
                _met({"met": kafka["run_met"]}),
                _s(kafka["run"]["median_s"]),
            ]
        )
    else:
        rows.append(["Kafka publish and run", "-", ">= 50,000/s; <= 2x", kafka["status"], "-"])
    return rows


def markdown(results: dict[str, Any]) -> str:
    """Return RESULTS.md: machine, headline table, details, profile, notes."""
    mach = results["machine"]
    m = results["measurements"]
    libs = ", ".join(f"{k} {v}" for k, v in mach["libraries"].items() if v)
    out = ["# sor benchmarks", ""]
    if results["quick"]:
        out += [
            "**`--quick` run: every measurement once on inputs 20x smaller. These numbers check that the",
            "harness works; they are not timings.**",
            "",
        ]
    out += [
        "Written by `python -m benchmarks`. Every ratio compares two timings taken in the same run "
        "(medians; repeats below); absolute times are there only to read the ratios by: the machine "
        "is shared and noisy.",
        "",
        f"- Machine: {mach['cpu']}, {mach['cores']} cores, {mach['platform']}",
        f"- Python {mach['python']} ({mach['implementation']}); {libs}",
        f"- Date: {mach['date']}; the whole harness took {results['harness_s']:.0f} s",
        "",
        "## Targets",
        "",
        tabulate(
            summary_rows(m),
            headers=["measurement", "measured", "target", "met", "absolute"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        "## Inputs",
        "",
        "Synthetic 3-venue MBP-10 markets (`feeds.synthetic`, seed 7, 115 rows/s; the trial file has ~60,000 "
        "rows over 522 s) written as Databento CSV by `feeds.csv_writer`, cached outside the repository.",
        "",
        tabulate(
            [
                [k, f"{v['rows']:,}", f"{v['seconds']:g}", f"{v['mb']:.1f}"]
                for k, v in results["inputs"].items()
            ],
            headers=["input", "rows", "seconds", "MB"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        "## Allocator: one decision, exact (`strategies.ck_static.allocate`) vs the trial's enumeration",
        "",
        "Integer money. The brute force's cost grows with the number of splits it enumerates; where "
        "timing it at 5,000 shares would take too long, it is timed at a smaller order and its cost per "
        "split is multiplied by the exact count of splits at the full order (marked *extrapolated*).",
        "",
        tabulate(
            [
                [
                    r["venues"],
                    f"{r['quantity']:,}",
                    _s(r["exact_s"]),
                    _s(r["brute_s"]),
                    f"{r['splits_enumerated']:,}",
                    _brute_basis(r),
                    _x(r["speedup"]),
                ]
                for r in m["allocator"]["rows"]
            ],
            headers=["venues", "shares", "exact", "brute force", "splits", "brute force is", "speedup"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        "## How cost grows",
        "",
        "With data (end-to-end `run_scenario`: read the CSV, replay, build the result; the default scenario "
        "without its time window so every row counts):",
        "",
        tabulate(
            [
                [k, f"{v['rows']:,}", _s(v["median_s"]), v["repeats"], _x(v["over_1x"])]
                for k, v in m["data_growth"]["runs"].items()
            ],
            headers=["data", "rows", "T_run", "repeats", "vs 1x"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        "With parameter sets (ck_static's grid resampled over the same ranges; data already in memory, so "
        "parsing does not dilute the growth):",
        "",
        tabulate(
            [
                [k, _s(v["median_s"]), v["repeats"], _x(v["over_1"])]
                for k, v in m["param_growth"]["runs"].items()
            ],
            headers=["sets", "T_run", "repeats", "vs 1 set"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        "## Profile of the default run (this run, cProfile, data in memory)",
        "",
        f"Total {_s(m['profile_default_run']['total_s'])} under the profiler. Own time = time in the "
        "function itself; cumulative includes what it calls.",
        "",
        tabulate(
            [
                [
                    r["function"],
                    f"{r['calls']:,}",
                    f"{100 * r['own_share']:.1f}%",
                    f"{100 * r['cumulative_share']:.1f}%",
                ]
                for r in m["profile_default_run"]["top"]
            ],
            headers=["function", "calls", "own", "cumulative"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
    ]
    for name in SECTIONS:
        module = importlib.import_module(name)
        if module.NAME in m:
            out += [*module.markdown(m[module.NAME]), ""]
    if NOTES.is_file():
        out += [NOTES.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(out)
