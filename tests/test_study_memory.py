"""A study worker reports its own peak memory, not that of the process that started it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from sim.study.worker import own_peak_rss_mb

PROBE = "from sim.study.worker import own_peak_rss_mb; print(own_peak_rss_mb())"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux carries ru_maxrss across exec")
def test_a_child_started_from_a_large_parent_reports_its_own_peak():
    ballast = np.ones(400 * 2**20 // 8)  # 400 MB resident in this process
    ballast[::512] = 2.0
    assert own_peak_rss_mb() >= 400
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    # The child imports numpy and sor's study worker (~30-60 MB); ru_maxrss would say >= 400.
    assert float(out.stdout) < 200
    del ballast
