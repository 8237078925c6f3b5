"""Studies survive real failures: a Dask worker SIGKILLed mid-market, and `sor study` itself SIGKILLed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.scenario import Scenario
from sim.study.checkpoint import canonical
from sim.study.execute import run_markets, task_key
from sim.study.markets import expand_markets
from sim.study.worker import run_market

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]

# Six markets of about a second each: long enough to kill something in the middle.
SLOW = """
[data]
source = "synthetic:venues=3,seconds=240"
[order]
quantity = 3000
[[strategies]]
name = "best_ask"
[[strategies]]
name = "cont_kukanov"
params = { horizon_s = 10, estimation_s = 60, sa_samples = 1000 }
[sweep]
strategy = "cont_kukanov"
[sweep.grid]
lambda_over = [0.002, 0.02]
lambda_under = [0.002, 0.02]
theta = [0.0005]
[study]
seeds = [1, 6]
bootstrap_samples = 200
"""


def test_a_worker_killed_mid_study_has_its_markets_rerun_elsewhere_and_none_counted_twice(tmp_path):
    path = tmp_path / "slow.toml"
    path.write_text(SLOW)
    scenario = Scenario.from_toml(path)
    markets = expand_markets(scenario)
    seen = []
    victim: dict = {}
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = client.run(os.getpid)

        def on_outcome(market, outcome):
            seen.append((market.index, outcome))
            if victim:
                return
            # The worker that just finished a market has started on another: kill it there.
            address = next(a for a, pid in pids.items() if pid == outcome.pid)
            deadline = time.monotonic() + 5
            while not client.processing().get(address) and time.monotonic() < deadline:
                time.sleep(0.01)
            victim["keys"] = set(client.processing()[address])
            victim["pid"] = outcome.pid
            os.kill(outcome.pid, signal.SIGKILL)

        run_markets(client, scenario, markets, digest="kill-test", on_outcome=on_outcome)
    assert victim["keys"], "the killed worker held no market"
    assert sorted(i for i, _ in seen) == list(range(len(markets)))  # every market once, none twice
    assert all(outcome.row is not None for _, outcome in seen)
    rerun = [(i, o) for i, o in seen if task_key("kill-test", markets[i]) in victim["keys"]]
    assert rerun and all(o.pid != victim["pid"] for _, o in rerun)
    for i, outcome in rerun[:1]:
        assert canonical(outcome.row) == canonical(run_market(scenario, markets[i]).row)


# The same study on shorter markets (about 0.3 s each): the resume test only needs to stop it mid-way.
QUICKER = SLOW.replace("seconds=240", "seconds=120").replace("sa_samples = 1000", "sa_samples = 300")


def _sor(*args, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _gone(pgid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_study_sigkilled_mid_way_resumes_from_its_checkpoints_to_the_same_json(tmp_path):
    path = tmp_path / "quicker.toml"
    path.write_text(QUICKER)
    full, part, folder = tmp_path / "full.json", tmp_path / "part.json", tmp_path / "ckpt"
    reference = _sor("study", path, "--workers", 2, "--out", full, "--quiet")
    assert reference.wait(timeout=120) == 0, reference.stderr.read()

    killed = _sor("study", path, "--workers", 1, "--resume", folder, "--out", part, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((folder / "markets").glob("*.json"))) < 2:
        time.sleep(0.01)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    assert _gone(killed.pid), "the killed study left processes behind"
    done_before = len(list((folder / "markets").glob("[0-9]*.json")))
    assert 2 <= done_before < 6
    assert not part.exists()

    resumed = _sor("study", path, "--workers", 1, "--resume", folder, "--out", part)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    found = re.search(r"study: (\d+) markets to run on 1 local worker.*; (\d+) already done", err)
    assert found, err
    assert (int(found[1]), int(found[2])) == (6 - done_before, done_before)
    assert part.read_bytes() == full.read_bytes()
