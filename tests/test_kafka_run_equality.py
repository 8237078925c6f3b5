"""A scenario run through a real Kafka broker equals the same run from the source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main
from tests.kafka_fixtures import kafka_broker, topic  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.kafka


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def without_provenance(result: dict) -> dict:
    """Drop the fields that say where the data came from (the only ones a Kafka run may change)."""
    result = json.loads(json.dumps(result))
    result["scenario"]["data"].pop("source")
    result["data"].pop("source")
    result["data"].pop("kafka", None)
    return result


def test_default_scenario_through_kafka_equals_the_direct_run(kafka_broker, topic, tmp_path):  # noqa: F811
    scenario = ROOT / "scenarios" / "default.toml"
    direct, through = tmp_path / "direct.json", tmp_path / "kafka.json"
    invoke("run", scenario, "--out", direct, "--quiet")
    out = invoke("stream", scenario, "--topic", topic, "--bootstrap", kafka_broker, "--speed", "max", "-q")
    run_id = next(
        w for w in out.replace("=", " ").split() if len(w) == 32 and all(c in "0123456789abcdef" for c in w)
    )
    messages = int(
        next(line for line in out.splitlines() if line.startswith("sent")).split()[4].replace(",", "")
    )
    feed = f"kafka://{kafka_broker}/{topic}"
    invoke("run", scenario, "--feed", feed, "--out", through, "--quiet")
    a, b = json.loads(direct.read_text()), json.loads(through.read_text())
    # What differs, exactly: the feed named as given, the run read, and how it was read.
    assert b["scenario"]["data"]["source"] == feed
    assert a["data"]["source"] == "synthetic:venues=3,seconds=522,seed=7"
    assert b["data"]["source"] == f"{feed}?run={run_id}"
    assert "kafka" not in a["data"]
    assert b["data"]["kafka"] == {
        "bootstrap": kafka_broker,
        "topic": topic,
        "run_id": run_id,
        "messages": messages,  # as the producer counted them: data, and a start and an end marker a partition
        "duplicates_dropped": 0,
        "malformed": 0,
        "skipped_incomplete_runs": [],
        "origin": a["data"]["source"],
    }
    assert without_provenance(a) == without_provenance(b)
    assert a["data"]["snapshots"] == b["data"]["snapshots"] > 50_000
    for s in b["strategies"].values():
        assert s["filled_shares"] == 5000


def test_run_from_a_broker_that_is_down_fails_in_one_line(tmp_path):
    scenario = ROOT / "scenarios" / "default.toml"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(scenario),
            "--feed",
            "kafka://127.0.0.1:1/none?connect=2",
            "--out",
            str(tmp_path / "r.json"),
        ],
    )
    assert result.exit_code != 0
    assert "127.0.0.1:1" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "r.json").exists()
