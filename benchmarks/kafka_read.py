"""Benchmark section: reading a run back from Kafka, against the topic's history and the file run.

- ``history``: the read time of one run on a topic holding 1 run and on a topic
  holding 5 (the oldest and the latest of them): with the run index it must not grow
  with the runs kept (target: 5 runs / 1 run <= 1.1).
- ``paced``: a run published at ``--speed 20`` (small messages, as a live feed makes),
  then the default scenario run from it and from the file: time <= 1.5x and peak
  memory <= 1.3x the file run's. The same with one message per snapshot
  (``linger_s=0``) is shown beside it, outside the target.
- ``fail_fast``: a fresh ``sor run --feed`` process against nothing listening, an
  unknown topic and an unknown run: wall seconds to its one-line error (targets 3, 5, 5).

The broker is ``$SOR_KAFKA_BOOTSTRAP`` (what ``tests/run.sh`` exports) or 127.0.0.1:9092.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import runs
from benchmarks.measure import Timing, peak_rss_mb

NAME = "kafka_read"
HISTORY_RATIO = 1.1
PACED_OVER_FILE = 1.5
PACED_MEMORY_OVER_FILE = 1.3
REFUSED_S, UNKNOWN_S = 3.0, 5.0
PACED_SPEED = 20.0
RUNS_KEPT = 5


def _bootstrap() -> str:
    return os.environ.get("SOR_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


def _topic() -> str:
    return f"{runs.KAFKA_TOPIC_PREFIX}read_{uuid.uuid4().hex[:10]}"


def _drop(bootstrap: str, topics: list[str]) -> None:
    from kafka import KafkaAdminClient

    from feeds.kafka.schema import index_topic

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
        try:
            admin.delete_topics([*topics, *(index_topic(t) for t in topics)])
        finally:
            admin.close()
    except Exception:  # noqa: BLE001 - cleanup must not fail a finished measurement
        pass


def _rounds(calls: dict[str, Callable[[], Any]], reps: int) -> dict[str, dict[str, Any]]:
    """Time each call in rounds (one of each a round, after a warm-up each): load drifts hit all alike."""
    for call in calls.values():
        call()
    seconds: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(reps):
        for label, call in calls.items():
            began = time.perf_counter()
            call()
            seconds[label].append(time.perf_counter() - began)
    return {label: Timing(tuple(s)).as_dict() for label, s in seconds.items()}


def _reader(spec: str) -> Callable[[], Any]:
    from feeds.kafka.consumer import read_run
    from feeds.kafka.notices import Silent

    return lambda: read_run(spec, Silent())


def _history(md, bootstrap: str, reps: int, topics: list[str]) -> dict[str, Any]:
    from feeds.kafka.producer import publish

    alone, kept = _topic(), _topic()
    topics += [alone, kept]
    one = publish(md, topic=alone, bootstrap=bootstrap).run
    many = [publish(md, topic=kept, bootstrap=bootstrap).run for _ in range(RUNS_KEPT)]
    got = _rounds(
        {
            "one": _reader(f"kafka://{bootstrap}/{alone}?run={one}"),
            "oldest": _reader(f"kafka://{bootstrap}/{kept}?run={many[0]}"),
            "latest": _reader(f"kafka://{bootstrap}/{kept}"),
        },
        reps,
    )
    t_one, t_oldest, t_latest = got["one"], got["oldest"], got["latest"]
    worst = max(t_oldest["median_s"], t_latest["median_s"]) / t_one["median_s"]
    return {
        "snapshots": len(md),
        "one_run": t_one,
        "oldest_of_5": t_oldest,
        "latest_of_5": t_latest,
        "oldest_of_5_over_one": t_oldest["median_s"] / t_one["median_s"],
        "latest_of_5_over_one": t_latest["median_s"] / t_one["median_s"],
        "target_ratio": HISTORY_RATIO,
        "met": worst <= HISTORY_RATIO,
    }


def _paced(ctx, md, bootstrap: str, reps: int, topics: list[str]) -> dict[str, Any]:
    from feeds.kafka.producer import publish

    on_file = runs.on_data(ctx.default, ctx.trial)
    out: dict[str, Any] = {"speed": PACED_SPEED, "snapshots": len(md)}
    specs = {}
    variants = {"grouped": None} if ctx.quick else {"grouped": None, "one_per_snapshot": 0.0}
    for label, linger in variants.items():
        topic = _topic()
        topics.append(topic)
        kwargs = {} if linger is None else {"linger_s": linger}
        report = publish(md, topic=topic, bootstrap=bootstrap, speed=PACED_SPEED, **kwargs)
        specs[label] = f"kafka://{bootstrap}/{topic}?run={report.run}"
        out[label] = {"messages": report.messages, "publish_s": report.seconds}
    scenarios = {"file": on_file, **{label: runs.on_data(ctx.default, spec) for label, spec in specs.items()}}
    times = _rounds({label: (lambda sc=sc: runs.run(sc)) for label, sc in scenarios.items()}, reps)
    t_file = times["file"]
    out["file_run"] = t_file
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = peak_rss_mb(runs.run_cli_argv(runs.DEFAULT_SCENARIO, ctx.trial, Path(tmp) / "f.json"))
        out["file_peak_rss_mb"] = rss_file
        for label, spec in specs.items():
            rss = peak_rss_mb(runs.run_cli_argv(runs.DEFAULT_SCENARIO, spec, Path(tmp) / "k.json"))
            out[label] |= {
                "run": times[label],
                "over_file": times[label]["median_s"] / t_file["median_s"],
                "peak_rss_mb": rss,
                "memory_over_file": rss / rss_file,
            }
    grouped = out["grouped"]
    out |= {
        "over_file": grouped["over_file"],
        "memory_over_file": grouped["memory_over_file"],
        "target_over_file": PACED_OVER_FILE,
        "target_memory_over_file": PACED_MEMORY_OVER_FILE,
        "met": grouped["over_file"] <= PACED_OVER_FILE
        and grouped["memory_over_file"] <= PACED_MEMORY_OVER_FILE,
    }
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli_seconds(feed: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-m", "sim", "run", str(runs.DEFAULT_SCENARIO), "--feed", feed]
        argv += ["--out", str(Path(tmp) / "r.json"), "--quiet"]
        began = time.perf_counter()
        done = subprocess.run(argv, cwd=runs.REPO, capture_output=True, text=True, timeout=120, check=False)
        took = time.perf_counter() - began
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("Error:")]
    return {"seconds": took, "exit": done.returncode, "error": lines[-1][:300] if lines else ""}


def _fail_fast(bootstrap: str, topics: list[str]) -> dict[str, Any]:
    from feeds.kafka.producer import publish
    from feeds.synthetic import SynthConfig, generate

    topic = _topic()
    topics.append(topic)
    publish(generate(SynthConfig(venues=3, seconds=2.0, seed=1)), topic=topic, bootstrap=bootstrap)
    cases = {
        "nothing_listening": (f"kafka://127.0.0.1:{_free_port()}/t", REFUSED_S),
        "unknown_topic": (f"kafka://{bootstrap}/{_topic()}", UNKNOWN_S),
        "unknown_run": (f"kafka://{bootstrap}/{topic}?run=nope", UNKNOWN_S),
    }
    out: dict[str, Any] = {}
    for label, (feed, bound) in cases.items():
        got = _cli_seconds(feed)
        out[label] = {**got, "target_s": bound, "met": got["exit"] == 1 and got["seconds"] <= bound}
    out["met"] = all(v["met"] for v in out.values())
    return out


def measure(ctx) -> dict[str, Any]:
    """Measure the three parts (see the module docstring); a missing broker is a status, not a crash."""
    from feeds.kafka.client import broker_answers

    bootstrap = _bootstrap()
    if not broker_answers(bootstrap, timeout_s=2.0):
        return {"status": f"skipped: no broker answers at {bootstrap}"}
    reps = max(3, min(ctx.reps, 5))
    topics: list[str] = []
    md = ctx.md
    try:
        # Reads take a quarter of a second: more rounds, for medians a noisy machine cannot sway.
        history = _history(md, bootstrap, 3 if ctx.quick else 9, topics)
        paced = _paced(ctx, md, bootstrap, reps, topics)
        fail_fast = _fail_fast(bootstrap, topics)
    except Exception as exc:  # noqa: BLE001 - a broker going away mid-run is reported, not fatal
        return {"status": f"failed: {type(exc).__name__}: {exc}"[:300]}
    finally:
        _drop(bootstrap, topics)
    return {
        "status": "measured",
        "bootstrap": bootstrap,
        "history": history,
        "paced": paced,
        "fail_fast": fail_fast,
        "history_ratio": max(history["oldest_of_5_over_one"], history["latest_of_5_over_one"]),
        "paced_over_file": paced["over_file"],
        "paced_memory_over_file": paced["memory_over_file"],
        "met": history["met"] and paced["met"] and fail_fast["met"],
    }


def _x(v: float) -> str:
    return f"{v:.2f}x"


def markdown(result: dict[str, Any]) -> list[str]:
    """Return this section of RESULTS.md."""
    out = ["## Kafka: reading a run back (`benchmarks/kafka_read.py`)", ""]
    if result.get("status") != "measured":
        return [*out, f"Not measured: {result.get('status')}."]
    h, p, f = result["history"], result["paced"], result["fail_fast"]
    yes = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    out += [
        f"Broker {result['bootstrap']}; {h['snapshots']:,} snapshots per run; medians of "
        f"{h['one_run']['repeats']} reads.",
        "",
        "| measurement | measured | target | met |",
        "|---|---|---|---|",
        f"| read a run: oldest of {RUNS_KEPT} runs on the topic / alone | {_x(h['oldest_of_5_over_one'])} "
        f"({h['oldest_of_5']['median_s']:.2f} s vs {h['one_run']['median_s']:.2f} s) | <= {HISTORY_RATIO}x | "
        f"{yes(h['oldest_of_5_over_one'] <= HISTORY_RATIO)} |",
        f"| read a run: latest of {RUNS_KEPT} (no ?run=) / alone | {_x(h['latest_of_5_over_one'])} "
        f"({h['latest_of_5']['median_s']:.2f} s) | <= {HISTORY_RATIO}x | "
        f"{yes(h['latest_of_5_over_one'] <= HISTORY_RATIO)} |",
        f"| default run from a `--speed {p['speed']:g}` topic / from the file | {_x(p['over_file'])} "
        f"({p['grouped']['run']['median_s']:.2f} s vs {p['file_run']['median_s']:.2f} s; "
        f"{p['grouped']['messages']:,} messages) | <= {PACED_OVER_FILE}x | "
        f"{yes(p['over_file'] <= PACED_OVER_FILE)} |",
        f"| its peak memory / the file run's | {_x(p['memory_over_file'])} "
        f"({p['grouped']['peak_rss_mb']:.0f} MB vs {p['file_peak_rss_mb']:.0f} MB) | "
        f"<= {PACED_MEMORY_OVER_FILE}x | {yes(p['memory_over_file'] <= PACED_MEMORY_OVER_FILE)} |",
    ]
    if "one_per_snapshot" in p:
        q = p["one_per_snapshot"]
        out.append(
            f"| the same, one message per snapshot (`linger_s=0`, {q['messages']:,} messages) | "
            f"{_x(q['over_file'])}, memory {_x(q['memory_over_file'])} | (shown) | - |"
        )
    for label, text in (
        ("nothing_listening", "`sor run --feed`, nothing listening"),
        ("unknown_topic", "`sor run --feed`, unknown topic"),
        ("unknown_run", "`sor run --feed`, unknown `?run=`"),
    ):
        row = f[label]
        out.append(
            f"| {text}: one-line error after (fresh process) | {row['seconds']:.2f} s | "
            f"<= {row['target_s']:g} s | {yes(row['met'])} |"
        )
    return out
