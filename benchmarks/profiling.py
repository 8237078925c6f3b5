"""A profile excerpt of one run: the functions that take the most time, with their shares."""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def top_functions(fn: Callable[[], Any], count: int = 12) -> dict[str, Any]:
    """Profile one call of ``fn`` and return its ``count`` costliest functions by own time.

    Shares are of the profiled total; cProfile's per-call overhead inflates small
    functions called often, so read the shares as a ranking, not as timings.
    """
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt or 1.0
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        rows.append(
            {
                "function": f"{_short(filename)}:{line}({name})",
                "calls": calls,
                "own_share": tottime / total,
                "cumulative_share": cumtime / total,
            }
        )
    rows.sort(key=lambda r: r["own_share"], reverse=True)
    return {"total_s": total, "top": rows[:count]}


def _short(filename: str) -> str:
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        parts = path.parts
        if "site-packages" in parts:
            return "/".join(parts[parts.index("site-packages") + 1 :])
        return path.name
