"""Broker faults: down at start, a wrong address, a crash (SIGKILL) and restart mid-run, missing tools."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import kafka_fixtures
import pytest
from click.testing import CliRunner
from kafka_fixtures import assert_same_market, free_port, make_market

from feeds.kafka import broker
from feeds.kafka.client import StreamError
from feeds.kafka.consumer import read_run
from feeds.kafka.producer import publish
from sim.cli import main
from sim.commands.kafka import summary_lines

# The shared fixtures, by name (tests/conftest.py belongs to the whole suite).
kafka_broker = kafka_fixtures.kafka_broker

pytestmark = [pytest.mark.kafka, pytest.mark.filterwarnings("ignore:(read|open)_text is deprecated")]


def test_stream_summary_reports_resent_records_and_the_longest_outage():
    from feeds.kafka.producer import StreamReport

    report = StreamReport(
        "r1", "t", "127.0.0.1:9092", 3, 1000, 40, 123456, 2.0, retries=17, longest_outage_s=6.25
    )
    assert summary_lines(report)[4] == (
        "delivery   17 record(s) resent; longest wait for an acknowledgement 6.25 s "
        "(an outage ridden through, when above a second)"
    )


def test_producer_fails_within_bound_when_no_broker_answers():
    port = free_port()
    began = time.monotonic()
    with pytest.raises(StreamError, match=f"no Kafka broker answers at 127.0.0.1:{port} after 2 s"):
        publish(make_market(10), topic="t", bootstrap=f"127.0.0.1:{port}", connect_timeout_s=2)
    assert time.monotonic() - began < 8


def test_consumer_fails_within_bound_when_no_broker_answers():
    port = free_port()
    began = time.monotonic()
    with pytest.raises(StreamError, match=f"no Kafka broker answers at 127.0.0.1:{port} after 2 s"):
        read_run(f"kafka://127.0.0.1:{port}/t?connect=2")
    assert time.monotonic() - began < 8


def test_address_of_something_that_is_not_kafka_is_refused():
    # A server that accepts connections and never speaks Kafka.
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    held = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        with pytest.raises(StreamError, match="no Kafka broker answers"):
            read_run(f"kafka://127.0.0.1:{port}/t?connect=1")
    finally:
        stop.set()
        thread.join()
        server.close()
        for conn in held:
            conn.close()


def test_stream_command_with_broker_down_exits_1_with_one_line(monkeypatch):
    import sim.commands.kafka as commands

    monkeypatch.setattr(commands, "load_market", lambda source, window: make_market(10))
    port = free_port()
    result = CliRunner().invoke(
        main, ["stream", "synthetic:any", "--bootstrap", f"127.0.0.1:{port}", "--connect-timeout", "1"]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: kafka://127.0.0.1:{port}/mock_l1_stream: no Kafka broker answers at 127.0.0.1:{port} "
        "after 1 s (start one with `sor kafka up`, or check --bootstrap)"
    ]
    assert result.exc_info[0] is SystemExit


def test_kafka_read_command_with_broker_down_exits_1_with_one_line():
    port = free_port()
    result = CliRunner().invoke(main, ["kafka", "read", f"kafka://127.0.0.1:{port}/t?connect=1"])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and "no Kafka broker answers" in result.output


@pytest.fixture
def scratch_broker(tmp_path, kafka_broker):
    """Start a private broker on free ports (the shared one stays untouched); stop it afterwards."""
    config = broker.BrokerConfig(state=tmp_path / "kafka", port=free_port(), controller_port=free_port())
    broker.up(config, timeout_s=60)
    yield config
    broker.down(config, timeout_s=10)


def test_broker_killed_and_restarted_mid_run_loses_and_duplicates_nothing(scratch_broker):
    config = scratch_broker
    md = make_market(2400)  # about 38 s of market time: 4.8 s at speed 8
    out = {}

    def produce() -> None:
        try:
            out["report"] = publish(
                md, topic="crash", bootstrap=config.bootstrap, speed=8.0, delivery_timeout_s=60
            )
        except Exception as exc:  # reported below, with the consumer's outcome
            out["producer"] = exc

    def consume() -> None:
        try:
            out["read"] = read_run(f"kafka://{config.bootstrap}/crash?wait=30&idle=40")
        except Exception as exc:
            out["consumer"] = exc

    threads = [threading.Thread(target=consume), threading.Thread(target=produce)]
    for t in threads:
        t.start()
        time.sleep(0.5)
    time.sleep(1.5)
    assert "report" not in out, "the run ended before the crash"
    assert broker.kill(config) is not None
    time.sleep(1.0)
    broker.up(config, timeout_s=60)
    for t in threads:
        t.join(timeout=120)

    assert "producer" not in out and "consumer" not in out, out
    got = out["read"]
    assert got.run == out["report"].run
    assert (got.count, got.malformed) == (2400, 0)
    assert_same_market(got.data, md)
    # The producer saw no ack for at least the second the broker was down, and says so.
    report = out["report"]
    assert report.longest_outage_s >= 1.0
    assert report.retries >= 0
    lines = summary_lines(report)
    assert any(
        line.startswith(
            f"delivery   {report.retries:,} record(s) resent; longest wait for an acknowledgement "
        )
        for line in lines
    )


def test_up_is_idempotent_and_down_stops_cleanly(scratch_broker):
    config = scratch_broker
    first = broker.status(config)
    assert first.running and first.answers
    assert broker.up(config).pid == first.pid  # already running: same process

    pid, clean = broker.down(config, timeout_s=30)

    assert (pid, clean) == (first.pid, True)
    assert not broker.status(config).running
    assert broker.down(config) == (None, True)


def test_missing_java_or_maven_is_one_line_saying_what_to_install(tmp_path, monkeypatch):
    config = broker.BrokerConfig(
        state=tmp_path / "state", home=tmp_path / "jars", port=free_port(), controller_port=free_port()
    )
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(broker.BrokerError, match=r"^java not found: install a Java 17\+ runtime"):
        broker.up(config)

    java = shutil.which("java", path=os.defpath + os.pathsep + "/usr/bin")
    if java is None:
        pytest.skip("no java here to get past the first check")
    (empty / "java").symlink_to(java)
    with pytest.raises(broker.BrokerError, match=r"^mvn not found: install Maven"):
        broker.up(config)
