"""Connection faults end in one line, quickly, with the default timeouts (and the timeouts are options)."""

from __future__ import annotations

import time

import kafka_fixtures
import pytest
from click.testing import CliRunner
from kafka_fixtures import free_port, make_market

from feeds.kafka.client import CONNECT_TIMEOUT_S, StreamError
from feeds.kafka.consumer import WAIT_S, read_run
from feeds.kafka.producer import publish
from sim.cli import main

kafka_broker = kafka_fixtures.kafka_broker
topic = kafka_fixtures.topic

pytestmark = pytest.mark.kafka


def test_documented_defaults_are_a_second_and_a_half_to_connect_and_no_wait():
    assert (CONNECT_TIMEOUT_S, WAIT_S) == (1.5, 0.0)


def test_nothing_listening_fails_in_one_line_within_three_seconds():
    port = free_port()
    began = time.monotonic()
    with pytest.raises(StreamError) as err:
        read_run(f"kafka://127.0.0.1:{port}/t")
    took = time.monotonic() - began
    assert str(err.value) == (
        f"kafka://127.0.0.1:{port}/t: no Kafka broker answers at 127.0.0.1:{port} after 1.5 s "
        "(start one with `sor kafka up`, or check --bootstrap)"
    )
    assert took < 3.0


def test_unknown_topic_fails_at_once_naming_the_topics_there(kafka_broker, topic):
    publish(make_market(10), topic=topic, bootstrap=kafka_broker)
    began = time.monotonic()
    with pytest.raises(
        StreamError, match=r"topic 'no-such-topic-x1' does not exist at .*; topics there: .*"
    ) as err:
        read_run(f"kafka://{kafka_broker}/no-such-topic-x1")
    assert topic in str(err.value) and f"{topic}.runs" not in str(err.value)
    assert "--wait SECONDS" in str(err.value)
    assert time.monotonic() - began < 5.0


def test_unknown_run_fails_at_once_naming_the_runs_there(kafka_broker, topic):
    runs = [publish(make_market(10 + k), topic=topic, bootstrap=kafka_broker).run for k in range(2)]
    began = time.monotonic()
    with pytest.raises(StreamError) as err:
        read_run(f"kafka://{kafka_broker}/{topic}?run=nope")
    message = str(err.value)
    assert "run nope not found on topic" in message
    # Newest first, each with its size and state.
    assert message.index(f"{runs[1]} (11 snapshots, complete") < message.index(
        f"{runs[0]} (10 snapshots, complete"
    )
    assert time.monotonic() - began < 5.0


def test_sor_run_against_nothing_listening_is_one_line_and_exit_1(tmp_path):
    port = free_port()
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        '[data]\nsource = "synthetic:venues=3,seconds=6,seed=4"\n[order]\nquantity = 100\n'
        '[[strategies]]\nname = "best_ask"\n'
    )
    result = CliRunner().invoke(
        main, ["run", str(scenario), "--feed", f"kafka://127.0.0.1:{port}/t", "--quiet"]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: kafka://127.0.0.1:{port}/t: no Kafka broker answers at 127.0.0.1:{port} after 1.5 s "
        "(start one with `sor kafka up`, or check --bootstrap)"
    ]


def test_timeouts_are_options_of_the_commands_and_keys_of_the_url():
    port = free_port()
    read = CliRunner().invoke(
        main, ["kafka", "read", f"kafka://127.0.0.1:{port}/t", "--connect-timeout", "0.5"]
    )
    assert read.exit_code == 1 and f"no Kafka broker answers at 127.0.0.1:{port} after 0.5 s" in read.output
    via_url = CliRunner().invoke(main, ["kafka", "read", f"kafka://127.0.0.1:{port}/t?connect=0.3"])
    assert "after 0.3 s" in via_url.output
    for command in (["run", "--help"], ["kafka", "read", "--help"]):
        assert "--wait" in CliRunner().invoke(main, command).output
    stream = CliRunner().invoke(main, ["stream", "--help"]).output
    assert "--connect-timeout" in stream and "--delivery-timeout" in stream
