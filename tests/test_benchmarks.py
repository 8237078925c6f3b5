"""The benchmark harness runs end to end in --quick mode and reports every measurement (no timings)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Every measurement the harness must report, with the numbers each must carry.
EXPECTED = {
    "allocator": ("speedup_3_venues", "target_speedup"),
    "parse": ("median_s", "rows", "rows_per_s"),
    "replay": ("median_s", "over_parse"),
    "default_run": ("median_s", "over_parse", "target_over_parse"),
    "memory": ("peak_rss_mb", "interpreter_and_imports_mb", "target_mb"),
    "data_growth": ("target_16x_over_1x",),
    "param_growth": ("target_1000_over_1",),
    "profile_default_run": ("total_s",),
    "queue_router": (),
    "kafka": (),
    "study": (
        "speedup_2_over_1",
        "target_speedup",
        "overhead_share",
        "target_overhead_share",
        "worker_peak_rss_mb",
        "sor_run_peak_rss_mb",
    ),
    "kafka_read": (),
    "reading": ("peak_rss_mb", "feed_info_16x_s", "study_read", "target_sor_over_pyarrow", "met"),
    "throughput": ("replay_rows_per_s", "ck_queue_over_parse", "peak_rss_mb", "default_run_s", "imports_s"),
    "hftbacktest": (),
}
# Measured only when their subject exists (a scenario, a broker); otherwise a status says why.
OPTIONAL = {
    "queue_router": ("median_s", "over_parse", "target_over_parse"),
    "kafka": ("messages_per_s", "snapshots_per_s", "run_over_file", "target_messages_per_s"),
    "hftbacktest": ("sor", "hftbacktest", "sor_over_hftbacktest_rows_per_s"),
    "kafka_read": (
        "history_ratio",
        "paced_over_file",
        "paced_memory_over_file",
        "history",
        "paced",
        "fail_fast",
    ),
    "reading": ("sor_over_pyarrow", "1x", "16x"),
}


def numbers(value):
    """Yield every number nested in ``value``."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from numbers(v)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    cache = tmp_path_factory.mktemp("bench-cache")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out), "--cache", str(cache)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_quick_run_writes_results_md_and_json(quick_run):
    assert (quick_run / "RESULTS.md").is_file()
    assert (quick_run / "results.json").is_file()


def test_results_json_has_every_measurement_with_finite_numbers(quick_run):
    results = json.loads((quick_run / "results.json").read_text())
    assert results["quick"] is True
    m = results["measurements"]
    for key, fields in EXPECTED.items():
        assert key in m, key
        for field in fields:
            assert field in m[key], (key, field)
        if key in OPTIONAL:
            if m[key].get("status") == "measured":
                for field in OPTIONAL[key]:
                    assert field in m[key], (key, field)
            else:
                assert m[key]["status"], key
    assert [r["venues"] for r in m["allocator"]["rows"]] == [2, 3, 4, 5]
    assert set(m["data_growth"]["runs"]) == {"1x", "4x", "16x"}
    assert set(m["param_growth"]["runs"]) == {"1", "125", "1000"}
    assert m["study"]["markets"] == 4 and m["study"]["identical_json"] is True
    if m["kafka_read"].get("status") == "measured":
        read = m["kafka_read"]
        assert set(read["fail_fast"]) == {"nothing_listening", "unknown_topic", "unknown_run", "met"}
        assert {"one_run", "oldest_of_5", "latest_of_5", "target_ratio"} <= set(read["history"])
        assert {"file_run", "file_peak_rss_mb", "grouped", "target_over_file"} <= set(read["paced"])
    assert set(m["reading"]["peak_rss_mb"]) == {
        "read_16x",
        "info_then_read_16x",
        "run_default_16x_streaming",
        "run_default_16x_in_memory",
        "interpreter_and_imports",
    }
    if m["reading"]["status"] == "measured":
        assert set(m["reading"]["sor_over_pyarrow"]) == {"1x", "16x"}
    found = list(numbers(results))
    assert found and all(math.isfinite(x) for x in found)


def test_results_md_names_the_machine_and_every_target(quick_run):
    text = (quick_run / "RESULTS.md").read_text()
    results = json.loads((quick_run / "results.json").read_text())
    assert results["machine"]["cpu"] in text
    assert f"{results['machine']['cores']} cores" in text
    assert f"Python {results['machine']['python']}" in text
    for label in (
        "allocator",
        "T_parse",
        "T_replay",
        "T_run default",
        "peak resident memory",
        "16x data",
        "1,000 parameter sets",
        "queue-aware router",
        "Kafka",
        "Studies on Dask",
        "Kafka: reading a run back",
        "Reading data files",
    ):
        assert label in text, label
