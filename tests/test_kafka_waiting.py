"""While the consumer waits it says what for: a status line on a terminal, a line every 10 s in a log."""

from __future__ import annotations

import io
import threading
import time

import kafka_fixtures
import pytest
from click.testing import CliRunner
from kafka_fixtures import assert_same_market, make_market

from feeds.kafka.client import StreamError
from feeds.kafka.consumer import read_run
from feeds.kafka.notices import STATUS_EVERY_S, Notices
from feeds.kafka.producer import publish
from sim.cli import main

kafka_broker = kafka_fixtures.kafka_broker
topic = kafka_fixtures.topic


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_one_status_line_per_ten_seconds():
    out, clock = io.StringIO(), _Clock()
    notices = Notices(out, tty=False, clock=clock)
    for second in range(0, 31):
        clock.now = float(second)
        notices.status(f"waiting {second}")
    assert STATUS_EVERY_S == 10.0
    assert out.getvalue().splitlines() == ["kafka: waiting 10", "kafka: waiting 20", "kafka: waiting 30"]


def test_a_terminal_gets_one_status_line_rewritten_in_place_and_cleared():
    out, clock = io.StringIO(), _Clock()
    notices = Notices(out, tty=True, clock=clock)
    notices.status("waiting 0")
    clock.now = 0.1
    notices.status("waiting 0.1")  # too soon: a terminal is redrawn five times a second at most
    clock.now = 0.3
    notices.status("waiting 0.3")
    notices.done()
    notices.say("done")
    assert out.getvalue() == "\r\x1b[Kkafka: waiting 0\r\x1b[Kkafka: waiting 0.3\r\x1b[Kkafka: done\n"


@pytest.mark.kafka
def test_waiting_for_a_topic_prints_what_it_waits_for_then_one_line(kafka_broker, topic):
    out = io.StringIO()
    with pytest.raises(StreamError, match=f"topic '{topic}' does not exist .* \\(waited 2 s\\)"):
        read_run(f"kafka://{kafka_broker}/{topic}?wait=2", Notices(out, tty=False, every_s=0.5))
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2
    assert all(line.startswith(f"kafka: waiting for topic '{topic}' to appear (") for line in lines)


@pytest.mark.kafka
def test_sor_run_wait_waits_for_the_producer_and_says_so(kafka_broker, topic, tmp_path):
    md = make_market(200)
    path = tmp_path / "s.toml"
    path.write_text('[data]\nsource = "x"\n[order]\nquantity = 100\n[[strategies]]\nname = "best_ask"\n')
    publish(make_market(5), topic=topic, bootstrap=kafka_broker)  # the topic exists, with an older run
    got = {}

    def consume() -> None:
        got["read"] = read_run(f"kafka://{kafka_broker}/{topic}?run=later&wait=30", Notices(io.StringIO()))

    reader = threading.Thread(target=consume)
    reader.start()
    time.sleep(1.0)
    publish(md, topic=topic, bootstrap=kafka_broker, run="later")
    reader.join(timeout=60)
    assert_same_market(got["read"].data, md)

    result = CliRunner().invoke(
        main,
        ["run", str(path), "--feed", f"kafka://{kafka_broker}/{topic}?run=never", "--wait", "1", "--quiet"],
    )
    assert result.exit_code == 1
    assert f"kafka: waiting up to 1 s for run never on topic '{topic}'" in result.output
    assert "run never not found on topic" in result.output and "within 1 s" in result.output
