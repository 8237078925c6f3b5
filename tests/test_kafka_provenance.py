"""A run read from Kafka is traceable: its id printed and recorded, runs passed over named, counts shown."""

from __future__ import annotations

import io
import json

import kafka_fixtures
import pytest
from click.testing import CliRunner
from kafka_fixtures import RawRun, assert_same_market, make_market

from feeds.kafka.consumer import read_run, read_topic
from feeds.kafka.notices import Notices
from feeds.kafka.producer import publish
from sim.cli import main

kafka_broker = kafka_fixtures.kafka_broker
topic = kafka_fixtures.topic

pytestmark = pytest.mark.kafka

SCENARIO = """
[data]
source = "synthetic:venues=3,seconds=6,seed=4"
[order]
quantity = 300
[[strategies]]
name = "best_ask"
"""


def test_run_read_without_run_id_is_printed_and_recorded_in_the_result(kafka_broker, topic, tmp_path):
    from feeds.sources import load_source

    data = load_source("synthetic:venues=3,seconds=6,seed=4")
    report = publish(data, topic=topic, bootstrap=kafka_broker)
    path, out = tmp_path / "s.toml", tmp_path / "r.json"
    path.write_text(SCENARIO)
    feed = f"kafka://{kafka_broker}/{topic}"

    result = CliRunner().invoke(main, ["run", str(path), "--feed", feed, "--out", str(out), "--quiet"])

    assert result.exit_code == 0, result.output
    assert (
        f"kafka: reading run {report.run} ({len(data):,} snapshots) from {feed}?run={report.run}"
        in result.output
    )
    recorded = json.loads(out.read_text())["data"]
    assert recorded["source"] == f"{feed}?run={report.run}"
    assert recorded["kafka"] == {
        "bootstrap": kafka_broker,
        "topic": topic,
        "run_id": report.run,
        "messages": report.messages,
        "duplicates_dropped": 0,
        "malformed": 0,
        "skipped_incomplete_runs": [],
        "origin": "synthetic:venues=3,seconds=6,seed=4",
    }


def test_newer_incomplete_run_is_skipped_with_a_warning_naming_it(kafka_broker, topic):
    done, crashed = make_market(60, seed=1, source="done"), make_market(50, seed=2, source="crashed")
    raw = RawRun(kafka_broker, topic)
    try:
        raw.start(done, "finished", created_ns=1_000)
        raw.rows(done, "finished", range(60))
        raw.end(done, "finished")
        raw.start(crashed, "crashed", created_ns=2_000)  # the producer died after 20 snapshots
        raw.rows(crashed, "crashed", range(20))
        raw.flush()
    finally:
        raw.close()
    said = io.StringIO()

    got = read_run(f"kafka://{kafka_broker}/{topic}", Notices(said))

    assert got.run == "finished" and got.skipped == ("crashed",)
    assert_same_market(got.data, done)
    assert got.data.meta["kafka"]["skipped_incomplete_runs"] == ["crashed"]
    warnings = [line for line in said.getvalue().splitlines() if line.startswith("kafka: warning")]
    assert warnings == [
        "kafka: warning: skipped newer incomplete run crashed (50 snapshots, incomplete, published "
        "1970-01-01T00:00:00Z): its producer stopped before the end (or is still running); reading run "
        "finished. Name a run with ?run=ID"
    ]


def test_duplicates_and_malformed_messages_are_counted_shown_and_recorded(kafka_broker, topic):
    md = make_market(40)
    raw = RawRun(kafka_broker, topic)
    try:
        raw.start(md, "r", created_ns=1)
        raw.rows(md, "r", range(40))
        raw.rows(md, "r", [5, 9, 5])  # three copies a retried send could leave
        raw.send(b"{not json", partition=0)
        raw.end(md, "r")
        raw.flush()
    finally:
        raw.close()
    said = io.StringIO()

    data = read_topic(f"kafka://{kafka_broker}/{topic}", notices=Notices(said))

    kafka = data.meta["kafka"]
    assert (kafka["duplicates_dropped"], kafka["malformed"]) == (3, 1)
    # 2 start + 40 + 3 copies + 2 end markers; the malformed one is nobody's.
    assert kafka["messages"] == 47
    assert "40 snapshots in 47 messages, 3 duplicate(s) dropped, 1 malformed" in said.getvalue()
