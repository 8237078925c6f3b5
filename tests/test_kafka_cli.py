"""The ``sor stream`` and ``sor kafka`` commands against the real broker."""

from __future__ import annotations

import sys
import types

import kafka_fixtures
import pytest
from click.testing import CliRunner
from kafka_fixtures import assert_same_market, make_market

from feeds.kafka.consumer import read_topic
from sim.cli import main

# The shared fixtures, by name (tests/conftest.py belongs to the whole suite).
kafka_broker = kafka_fixtures.kafka_broker
topic = kafka_fixtures.topic

pytestmark = [pytest.mark.kafka, pytest.mark.filterwarnings("ignore:(read|open)_text is deprecated")]


@pytest.fixture
def fake_sources(monkeypatch):
    """Stand in for feeds.sources: record the call, return a seeded market."""
    calls = []
    md = make_market(700, source="synthetic:venues=3,seed=1")

    def load_source(spec, start=None, end=None):
        calls.append((spec, start, end))
        return md

    monkeypatch.setitem(sys.modules, "feeds.sources", types.SimpleNamespace(load_source=load_source))
    return md, calls


def test_stream_publishes_a_run_and_prints_how_to_read_it(kafka_broker, topic, fake_sources):
    md, calls = fake_sources
    result = CliRunner().invoke(
        main,
        [
            "stream",
            "synthetic:venues=3,seed=1",
            "--topic",
            topic,
            "--bootstrap",
            kafka_broker,
            "--speed",
            "max",
        ],
    )
    assert result.exit_code == 0, result.output
    assert calls == [("synthetic:venues=3,seed=1", None, None)]
    lines = dict(line.split(None, 1) for line in result.output.strip().splitlines())
    assert lines["sent"].startswith("700 snapshots in ")
    assert_same_market(read_topic(lines["read"].split()[1]), md)


def test_stream_takes_source_and_window_from_a_scenario(kafka_broker, topic, fake_sources, tmp_path):
    _md, calls = fake_sources
    scenario = tmp_path / "s.toml"
    scenario.write_text('[data]\nsource = "data/day.csv"\nstart = "13:36:32"\nend = "13:45:14"\n')
    args = ["stream", str(scenario), "--topic", topic, "--bootstrap", kafka_broker, "--speed", "max"]

    assert CliRunner().invoke(main, args).exit_code == 0
    assert CliRunner().invoke(main, [*args, "--window", "13:40:00", "13:41:00"]).exit_code == 0

    assert calls == [("data/day.csv", "13:36:32", "13:45:14"), ("data/day.csv", "13:40:00", "13:41:00")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--speed", "0"], "'0' must be positive"),
        (["--speed", "fast"], "neither a positive number nor 'max'"),
        (["--run-id", "a b"], "bad run id"),
    ],
)
def test_stream_rejects_bad_options(fake_sources, args, message):
    result = CliRunner().invoke(main, ["stream", "synthetic:x", *args])
    assert result.exit_code == 2 and message in result.output


def test_stream_of_a_scenario_without_data_source_is_one_line(tmp_path):
    scenario = tmp_path / "bad.toml"
    scenario.write_text("[order]\nquantity = 5\n")
    result = CliRunner().invoke(main, ["stream", str(scenario)])
    assert result.exit_code == 1
    assert result.output.strip() == f'Error: {scenario}: no [data] source = "..." in the scenario'


def test_status_reports_the_broker_and_its_topics(kafka_broker, topic, fake_sources):
    CliRunner().invoke(main, ["stream", "x", "--topic", topic, "--bootstrap", kafka_broker, "--speed", "max"])
    result = CliRunner().invoke(main, ["kafka", "status"])
    assert result.exit_code == 0, result.output
    assert f"at {kafka_broker}" in result.output
    assert f"{topic} (3 partitions, run index)" in result.output
    assert f"{topic}.runs" not in result.output  # the index is shown with its topic, not beside it


def test_up_when_a_broker_answers_is_a_no_op(kafka_broker):
    result = CliRunner().invoke(main, ["kafka", "up"])
    assert result.exit_code == 0
    assert "already running" in result.output or "answers" in result.output


def test_read_command_summarizes_the_latest_run(kafka_broker, topic):
    from feeds.kafka.producer import publish

    run = publish(make_market(120), topic=topic, bootstrap=kafka_broker).run
    result = CliRunner().invoke(main, ["kafka", "read", f"kafka://{kafka_broker}/{topic}"])
    assert result.exit_code == 0, result.output
    assert f"run        {run}" in result.output
    assert "snapshots  120 from venues [2, 5, 38]" in result.output
