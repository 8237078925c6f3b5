"""Timing, memory and machine facts: the measuring instruments, nothing about ``sor``."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import attrs


@attrs.frozen
class Timing:
    """Wall-clock seconds of repeated calls; ``median`` is what the report compares."""

    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def repeats(self) -> int:
        return len(self.seconds)

    def as_dict(self) -> dict[str, Any]:
        return {"median_s": self.median, "min_s": min(self.seconds), "repeats": self.repeats}


def timed(fn: Callable[[], Any], repeats: int, *, warmup: int = 0) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times, and return the wall times."""
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return Timing(tuple(seconds))


def per_call(fn: Callable[[], Any], repeats: int, *, min_s: float = 0.05) -> Timing:
    """Return the seconds per call of a fast ``fn``, each repeat timing a loop of at least ``min_s``."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        took = time.perf_counter() - start
        if took >= min_s:
            break
        calls *= 4
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        seconds.append((time.perf_counter() - start) / calls)
    return Timing(tuple(seconds))


def peak_rss_mb(argv: Sequence[str], *, cwd: str | None = None) -> float:
    """Run ``argv`` in a fresh child and return its peak resident memory in MB.

    A small wrapper process runs the command and reads ``RUSAGE_CHILDREN``: its only
    child is the command, so the figure is the command's own peak and not that of
    anything else this process ran before.
    """
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "if done.returncode: sys.exit(done.returncode)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, cwd=cwd, check=False
    )
    if out.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    kib = int(out.stdout.strip().splitlines()[-1])
    # Linux reports kibibytes (macOS bytes).
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def machine() -> dict[str, Any]:
    """Return the facts a reader needs to weigh the numbers: CPU, cores, Python, libraries, date."""
    versions = {}
    for name in ("sor", "numpy", "simpy", "attrs", "click", "kafka-python"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "libraries": versions,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"
