"""`sor run --live`: replaying a Kafka run while the producer paces it, fills printed as they happen."""

from __future__ import annotations

import json
import threading
import time

import pytest
from click.testing import CliRunner

from feeds.kafka.producer import publish
from feeds.sources import load_source
from sim.cli import main
from tests.kafka_fixtures import kafka_broker, topic  # noqa: F401  (fixtures)

pytestmark = pytest.mark.kafka

SCENARIO = """
[data]
source = "synthetic:venues=3,seconds=6,seed=4"
[order]
quantity = 1500
[[strategies]]
name = "best_ask"
[[strategies]]
name = "twap"
params = { bucket_s = 2 }
[[strategies]]
name = "vwap"
[[strategies]]
name = "ck_static"
[sweep]
strategy = "ck_static"
[sweep.grid]
lambda_over = [0.2, 0.4]
[run]
seed = 1
"""


def test_live_run_prints_fills_as_they_happen_and_equals_the_file_run(kafka_broker, topic, tmp_path):  # noqa: F811
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    direct, live = tmp_path / "direct.json", tmp_path / "live.json"
    assert CliRunner().invoke(main, ["run", str(path), "--out", str(direct), "--quiet"]).exit_code == 0

    data = load_source("synthetic:venues=3,seconds=6,seed=4")
    # Paced at 3x real time: the 6-second market takes about 2 s to publish.
    producer = threading.Thread(
        target=publish, args=(data,), kwargs=dict(topic=topic, bootstrap=kafka_broker, speed=3.0)
    )
    started = time.monotonic()
    producer.start()
    feed = f"kafka://{kafka_broker}/{topic}?wait=20"
    result = CliRunner().invoke(main, ["run", str(path), "--feed", feed, "--live", "--out", str(live)])
    producer.join()
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    fill_lines = [line for line in result.output.splitlines() if " venue " in line and " @ " in line]
    assert any("best_ask" in line and "taker" in line for line in fill_lines)
    assert any("ck_static" in line and "(2 lanes)" in line for line in fill_lines)
    assert took >= 1.5  # it followed the producer's pacing rather than reading a finished run
    a, b = json.loads(direct.read_text()), json.loads(live.read_text())
    a["scenario"]["data"].pop("source")
    assert b["scenario"]["data"].pop("source") == feed
    # The live result says which run it followed; everything else equals the file run.
    kafka = b["data"].pop("kafka")
    assert kafka["topic"] == topic and kafka["run_id"] and kafka["duplicates_dropped"] == 0
    assert b["data"].pop("source").startswith(f"kafka://{kafka_broker}/{topic}?run=")
    a["data"].pop("source")
    assert a == b


def test_live_needs_a_kafka_feed(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    result = CliRunner().invoke(main, ["run", str(path), "--live"])
    assert result.exit_code != 0
    assert "--live needs --feed kafka://" in result.output
