"""The test command (tests/run.sh) runs the tests on a broker of its own and stops only that one."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import kafka_fixtures
import pytest

from feeds.kafka import broker
from feeds.kafka.client import broker_answers

REPO = Path(__file__).resolve().parents[1]

kafka_broker = kafka_fixtures.kafka_broker

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_run_sh_starts_its_own_broker_and_leaves_the_one_running_alone(kafka_broker, tmp_path):
    before = broker.status(broker.BrokerConfig())
    env = {k: v for k, v in os.environ.items() if k not in ("SOR_STATE_DIR", "PYTEST_ADDOPTS")}
    # The broker that runs now is named to it, as a user's would be: it must not be reused.
    env |= {"SOR_SKIP_INSTALL": "1", "SOR_KAFKA_BOOTSTRAP": kafka_broker, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [
            "bash",
            "tests/run.sh",
            "-p",
            "no:cacheprovider",
            "tests/test_kafka_cli.py",
            "-k",
            "up_when_a_broker",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    found = re.search(r"a Kafka broker for the tests at (127\.0\.0\.1:(\d+)) \(state (\S+)\)", done.stderr)
    assert found, done.stderr
    own, state = found.group(1), Path(found.group(3))
    assert own != kafka_broker
    assert state.parent == tmp_path
    assert "1 passed" in done.stdout
    # Its broker is gone with its state folder; ours still answers, the same process.
    assert not broker_answers(own, timeout_s=1.0)
    assert not state.exists()
    assert broker_answers(kafka_broker, timeout_s=3.0)
    assert broker.status(broker.BrokerConfig()).pid == before.pid
