"""`sor kafka up --port`, and one state folder whatever the current folder: commands work from anywhere."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from kafka_fixtures import free_port

from feeds.kafka import broker
from feeds.kafka.client import broker_answers
from sim.cli import main


def test_state_folder_is_sor_state_dir_else_xdg_else_home(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SOR_STATE_DIR", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    assert broker.default_state() == tmp_path / "home" / ".local" / "state" / "sor" / "kafka"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert broker.default_state() == tmp_path / "xdg" / "sor" / "kafka"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")  # the spec says: only absolute paths count
    assert broker.default_state() == tmp_path / "home" / ".local" / "state" / "sor" / "kafka"
    monkeypatch.setenv("SOR_STATE_DIR", str(tmp_path / "moved"))
    assert broker.default_state() == tmp_path / "moved" / "kafka"


def test_port_settings_are_checked(monkeypatch):
    monkeypatch.setenv("SOR_KAFKA_PORT", "ninety")
    result = CliRunner().invoke(main, ["kafka", "status"])
    assert result.exit_code == 1
    assert (
        result.output.strip() == "Error: bad broker settings: $SOR_KAFKA_PORT='ninety' is not a port number"
    )
    bad = CliRunner().invoke(main, ["kafka", "up", "--port", "70000"])
    assert bad.exit_code == 2 and "70000 is not in the range 1<=x<=65535" in bad.output


def test_a_taken_port_says_which_option_picks_another(monkeypatch, tmp_path):
    monkeypatch.setenv("SOR_STATE_DIR", str(tmp_path))
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main, ["kafka", "up", "--port", str(free_port()), "--controller-port", str(port)]
        )
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: something already listens on 127.0.0.1:{port}, the controller port (not the broker of "
        f"{tmp_path / 'kafka'}); stop it or pick another with `sor kafka up --controller-port N`"
    )


@pytest.mark.kafka
@pytest.mark.slow
def test_up_status_logs_down_work_from_any_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("SOR_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    port, cport = free_port(), free_port()
    state = tmp_path / "state" / "sor" / "kafka"
    monkeypatch.chdir(here)
    up = CliRunner().invoke(main, ["kafka", "up", "--port", str(port), "--controller-port", str(cport)])
    try:
        assert up.exit_code == 0, up.output
        assert f"at 127.0.0.1:{port} in " in up.output and f"state {state}" in up.output
        assert not (here / ".sor").exists()

        monkeypatch.chdir(there)
        status = CliRunner().invoke(main, ["kafka", "status"])
        assert status.exit_code == 0, status.output
        assert (
            status.output.startswith("kafka: running (pid ")
            and f"at 127.0.0.1:{port}, Kafka" in status.output
        )
        logs = CliRunner().invoke(main, ["kafka", "logs", "-n", "5"])
        assert logs.exit_code == 0 and logs.output.strip()
        again = CliRunner().invoke(main, ["kafka", "up"])  # the default port differs: it still finds ours
        assert again.exit_code == 0 and "already running (pid " in again.output
    finally:
        monkeypatch.chdir(there)
        down = CliRunner().invoke(main, ["kafka", "down"])
    assert down.exit_code == 0 and down.output.startswith("kafka: stopped (pid ")
    assert not broker_answers(f"127.0.0.1:{port}", timeout_s=1.0)
    assert CliRunner().invoke(main, ["kafka", "status"]).exit_code == 1
    assert Path(state, "logs", "server.log").is_file()
