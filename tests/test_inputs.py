"""Scenario and result files are read in bounded memory; a hostile file gets one line, quickly."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import one_line_error

from sim import inputs
from sim.cli import main
from sim.report import ReportError, load_result
from sim.scenario import MAX_FILE_BYTES, Scenario, ScenarioError

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"

VALID = """
[data]
source = "synthetic:venues=2,seconds=5,seed=1"
[order]
quantity = 100
[[strategies]]
name = "best_ask"
"""


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# -- read_text ------------------------------------------------------------------


def test_a_file_at_the_cap_is_read_and_one_byte_more_is_refused_unread(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert inputs.read_text(path, 10) == "x" * 10
    path.write_bytes(b"x" * 11)
    with pytest.raises(inputs.InputError, match="is 11 bytes, more than the 10 bytes a file may hold"):
        inputs.read_text(path, 10)


def test_a_device_is_refused_without_reading_it():
    with pytest.raises(inputs.InputError, match="it is a character device, not a file"):
        inputs.read_text("/dev/zero", inputs.MIB)


def test_a_pipe_is_read_up_to_the_cap(tmp_path):
    fifo = tmp_path / "p"
    os.mkfifo(fifo)

    def feed(data):
        with open(fifo, "wb") as fh:
            fh.write(data)

    writer = threading.Thread(target=feed, args=(b"abc",))
    writer.start()
    assert inputs.read_text(fifo, 10) == "abc"
    writer.join()
    writer = threading.Thread(target=feed, args=(b"y" * 100,))
    writer.start()
    with pytest.raises(inputs.InputError, match="holds more than the 10 bytes"):
        inputs.read_text(fifo, 10)
    writer.join()


def test_a_fifo_with_no_writer_gives_up_after_the_idle_time(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "PIPE_IDLE_S", 0.2)
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    with pytest.raises(inputs.InputError, match="cannot read: the pipe sent nothing for 0.2 s"):
        inputs.read_text(fifo, 10)


def test_not_utf8_names_the_byte_and_its_offset(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"ok\n\xff")
    with pytest.raises(inputs.NotUtf8, match="not UTF-8 text: byte 0xff at offset 3"):
        inputs.read_text(path, 100)


def test_a_byte_order_mark_is_dropped(tmp_path):
    path = tmp_path / "f"
    path.write_bytes("\ufeffa = 1".encode())
    assert inputs.read_text(path, 100) == "a = 1"


def test_depth_is_measured_without_recursion_and_the_path_named():
    deep: list = []
    node = deep
    for _ in range(5000):
        node.append([])
        node = node[0]
    with pytest.raises(inputs.InputError, match=r"^\[0\]\[0\]\[0\]: nested more than 3 levels deep$"):
        inputs.check_depth(deep, 3)
    inputs.check_depth({"a": {"b": [1]}}, 3)
    with pytest.raises(inputs.InputError, match=r"^a\.b\[0\]: nested more than 3"):
        inputs.check_depth({"a": {"b": [[1]]}}, 3)


def test_walk_yields_every_scalar_with_its_dotted_path():
    value = {"a": [1, {"b": "x"}], "c": {"d": True}}
    assert list(inputs.walk(value)) == [("a[0]", 1), ("a[1].b", "x"), ("c.d", True)]


# -- scenario files ---------------------------------------------------------------


def test_sor_run_dev_zero_is_one_line():
    assert (
        one_line_error(run("run", "/dev/zero"))
        == "Error: /dev/zero: cannot read: it is a character device, not a file"
    )


def test_a_scenario_over_one_mib_is_refused(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text(VALID + "#" * MAX_FILE_BYTES)
    message = one_line_error(run("run", path))
    assert message.startswith(f"Error: {path}: ") and "more than the 1 MiB a file may hold" in message


def test_a_scenario_from_a_pipe_runs(tmp_path):
    fifo = tmp_path / "s.toml"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(VALID))
    writer.start()
    assert Scenario.from_toml(fifo).quantity == 100
    writer.join()


def test_a_non_utf8_scenario_names_the_file_and_the_byte(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(VALID.encode().replace(b"best_ask", b"best\xe9ask"))
    with pytest.raises(ScenarioError, match=r"s\.toml: not UTF-8 text: byte 0xe9 at offset \d+$"):
        Scenario.from_toml(path)


@pytest.mark.parametrize("open_, close", [("[", "]"), ("{a=", "}")])
def test_toml_nested_2000_deep_is_one_line(tmp_path, open_, close):
    path = tmp_path / "s.toml"
    path.write_text(VALID + "[run]\nseed = " + open_ * 2000 + close * 2000 + "\n")
    message = one_line_error(run("run", path))
    assert message.startswith(f"Error: {path}: ") and "nested more than 16 levels deep" in message


def test_toml_nested_past_the_cap_but_parseable_names_the_field(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(VALID + "params = { x = " + "[" * 20 + "]" * 20 + " }\n")
    with pytest.raises(
        ScenarioError, match=r"strategies\[0\]\.params\.x(\[0\])+: nested more than 16 levels"
    ):
        Scenario.from_toml(path)


def test_a_400_kb_dotted_key_is_refused_before_parsing(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(VALID + "[run]\n" + "a" + ".a" * 200_000 + " = 1\n")
    message = one_line_error(run("run", path))
    assert message.startswith(f"Error: {path}: ") and "line 9: a dotted key has more than 32 parts" in message


def test_a_dotted_key_of_32_parts_is_parsed(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(VALID + "[run]\n" + "a" + ".a" * 31 + " = 1\n")
    # Parsed, then refused for what it is: too deep and an unknown key, not for its length.
    with pytest.raises(ScenarioError, match="nested more than 16 levels deep"):
        Scenario.from_toml(path)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("[report]\noptimized = 1979-05-27T07:32:00Z", "[report] optimized"),
        ("[run]\nseed = 1979-05-27", "[run] seed"),
        ("[venues.2]\nname = 07:32:00", "[venues] 2.name"),
    ],
)
def test_a_toml_date_anywhere_is_refused_when_read_not_when_written(tmp_path, line, field):
    path = tmp_path / "s.toml"
    path.write_text(VALID + line + "\n")
    with pytest.raises(ScenarioError) as err:
        Scenario.from_toml(path)
    assert str(err.value).startswith(f"{path}: {field}: no field takes a TOML date or time")


# -- result files given to sor report -------------------------------------------------


def test_sor_report_dev_zero_is_one_line(tmp_path):
    message = one_line_error(run("report", "/dev/zero", "--out", tmp_path))
    assert message == "Error: /dev/zero: cannot read: it is a character device, not a file"
    assert list(tmp_path.iterdir()) == []


def test_a_result_over_the_cap_is_refused_unread(tmp_path, monkeypatch):
    import sim.report.load

    monkeypatch.setattr(sim.report.load, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "r.json"
    path.write_text(" " * 1001)
    with pytest.raises(
        ReportError, match=r"r\.json: is 1,001 bytes, more than the 1,000 bytes a file may hold$"
    ):
        load_result(path)


def test_json_nested_2000_deep_is_one_line(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("[" * 2000 + "]" * 2000)
    message = one_line_error(run("report", path, "--out", tmp_path))
    assert message.startswith(f"Error: {path}: ") and "nested more than 32 levels deep" in message


def test_json_nested_past_the_cap_but_parseable_names_the_field(tmp_path):
    result = json.loads((GOLDEN / "small.json").read_text())
    result["scenario"]["strategies"][0]["params"] = {
        "x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps(result))
    with pytest.raises(
        ReportError, match=r"scenario\.strategies\[0\]\.params\.x(\[0\])+: nested more than 32"
    ):
        load_result(path)
