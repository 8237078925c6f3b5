"""What the benchmark runs: parsing, the bare replay, scenario runs, and the Kafka path."""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import attrs

from feeds.databento_csv import read_csv
from feeds.feed import MemoryFeed
from feeds.market import MarketData
from sim.engine import Engine, StrategySlot
from sim.runner import run_scenario, venue_configs, window_bounds
from sim.scenario import Scenario
from strategies.base import Strategy
from venues.view import BookView

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = REPO / "scenarios" / "default.toml"
QUEUE_SCENARIO = REPO / "scenarios" / "ck_queue.toml"
# The broker of `tests/run.sh` (or the user's) when it says so, else the default one.
KAFKA_HOST, _, _KAFKA_PORT = os.environ.get("SOR_KAFKA_BOOTSTRAP", "127.0.0.1:9092").rpartition(":")
KAFKA_PORT = int(_KAFKA_PORT)
KAFKA_TOPIC_PREFIX = "sor_benchmarks_"


class Idle(Strategy):
    """A strategy that looks at every book and does nothing: the replay's floor."""

    kind = "idle"

    def on_book(self, view: BookView) -> None:
        pass


def on_data(scenario: Scenario, source: str, *, keep_window: bool = True) -> Scenario:
    """Return ``scenario`` reading ``source``, as ``sor run --data`` does; optionally without its window."""
    data = attrs.evolve(scenario.data, source=source)
    if not keep_window:
        data = attrs.evolve(data, start=None, end=None)
    return attrs.evolve(scenario, data=data)


def with_sets(scenario: Scenario, per_axis: int) -> Scenario:
    """Return ``scenario`` with its sweep grid resampled to ``per_axis`` values on each axis, same ranges."""
    space = {}
    for name, values in scenario.sweep.space.items():
        lo, hi = min(values), max(values)
        if per_axis == 1:
            space[name] = [values[len(values) // 2]]
        else:
            space[name] = [round(lo + (hi - lo) * i / (per_axis - 1), 6) for i in range(per_axis)]
    return attrs.evolve(scenario, sweep=attrs.evolve(scenario.sweep, space=space))


def parse(path: Path) -> MarketData:
    """Read a CSV into columns (T_parse)."""
    return read_csv(path)


def replay_idle(scenario: Scenario, md: MarketData) -> None:
    """Replay ``md`` through the engine with one idle strategy (T_replay)."""
    start_ns, end_ns = window_bounds(scenario, MemoryFeed(md).info)
    engine = Engine(
        md,
        venue_configs(scenario, md),
        [StrategySlot("idle", Idle, ({},))],
        target=scenario.quantity,
        start_ns=start_ns,
        end_ns=end_ns,
        seed=scenario.seed,
    )
    engine.run()


def run(scenario: Scenario, md: MarketData | None = None) -> dict[str, Any]:
    """Run a scenario end to end (reading its source unless ``md`` is given)."""
    return run_scenario(scenario, md)


def run_cli_argv(scenario_path: Path, data: str, out: Path) -> list[str]:
    """Return the command line of ``sor run SCENARIO --data DATA`` in a fresh interpreter."""
    return [
        sys.executable,
        "-c",
        "from sim.cli import main; main()",
        "run",
        str(scenario_path),
        "--data",
        data,
        "--out",
        str(out),
        "--quiet",
    ]


def broker_up(timeout_s: float = 0.5) -> bool:
    """Return whether something accepts connections at the local Kafka address."""
    try:
        with socket.create_connection((KAFKA_HOST, KAFKA_PORT), timeout=timeout_s):
            return True
    except OSError:
        return False


def kafka_topic() -> str:
    """Return a topic of its own for this harness run."""
    return f"{KAFKA_TOPIC_PREFIX}{uuid.uuid4().hex[:12]}"


def kafka_publish(md: MarketData, topic: str) -> dict[str, Any]:
    """Publish ``md`` at full speed to ``topic``; return the producer's report."""
    from feeds.kafka import producer

    started = time.perf_counter()
    report = producer.publish(md, topic=topic, bootstrap=f"{KAFKA_HOST}:{KAFKA_PORT}", speed=None)
    return {
        "run": report.run,
        "wall_s": time.perf_counter() - started,
        "seconds": report.seconds,
        "snapshots": report.snapshots,
        "messages": report.messages,
        "messages_per_s": report.messages_per_s,
        "snapshots_per_s": report.snapshots_per_s,
    }


def kafka_spec(topic: str, run_id: str) -> str:
    """Return the source spec reading back one published run."""
    return f"kafka://{KAFKA_HOST}:{KAFKA_PORT}/{topic}?run={run_id}"


def kafka_drop(topic: str) -> None:
    """Delete the harness's topic (best effort: a broker that refuses leaves it behind)."""
    from kafka import KafkaAdminClient

    try:
        admin = KafkaAdminClient(bootstrap_servers=f"{KAFKA_HOST}:{KAFKA_PORT}", request_timeout_ms=10_000)
        try:
            admin.delete_topics([topic, f"{topic}.runs"])  # and its run index
        finally:
            admin.close()
    except Exception:  # noqa: BLE001 - cleanup must not fail a finished measurement
        pass
