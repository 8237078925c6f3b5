"""A whole study: expand the markets, skip those already checkpointed, run the rest, summarise.

What happens to a market that fails on its input (a bad file, a window too short to
cut) is the ``[study] on_error`` rule: ``"stop"`` (the default) ends the study with
one line naming the market, after cancelling what is still running; every market
finished before it stays checkpointed (with ``--resume``) and no result file is
written or replaced. ``"skip"`` names the market in one line, leaves it out of every
statistic, and lists it in ``study.skipped`` (``study.markets_skipped`` counts them).
A market that fails is never checkpointed, so a resumed study tries it again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from sim.scenario import Scenario
from sim.study.checkpoint import Checkpoints, canonical, fingerprint
from sim.study.execute import StudyError, dask_client, run_markets
from sim.study.markets import Market, expand_markets
from sim.study.summary import study_result
from sim.study.worker import MarketOutcome


@attrs.frozen
class StudyRun:
    """A finished study: its result, and how it ran (never part of the result JSON)."""

    result: dict[str, Any]
    markets: int
    resumed: int
    wall_s: float
    outcomes: tuple[MarketOutcome, ...]


def run_study(
    scenario: Scenario,
    *,
    workers: int | None = None,
    cluster: str | None = None,
    resume: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> StudyRun:
    """Run ``scenario``'s study and return it.

    Parameters
    ----------
    scenario
        A scenario with a ``[study]`` table.
    workers, cluster
        Local worker processes (one per core when ``None``), or the address of a
        running Dask scheduler.
    resume
        A checkpoint folder: markets already in it are not run again; each market
        that finishes is added to it.
    progress, warn, on_start
        ``progress(done, total)`` after each market; ``warn(line)`` for a skipped
        market; ``on_start(to_run, already_done)`` once the workers are ready.

    Raises
    ------
    ScenarioError
        A bad ``[study]``, a scenario no market could run, a market that failed
        under ``on_error = "stop"``, no Dask, no scheduler.
    """
    from sim.runner import plan

    markets = expand_markets(scenario)
    plan(scenario)  # unknown strategies and parameters fail here, before any worker starts
    checkpoints = Checkpoints(resume, scenario, markets) if resume is not None else None
    rows = checkpoints.load() if checkpoints is not None else {}
    resumed = len(rows)
    skipped: dict[int, dict[str, str]] = {}
    outcomes: list[MarketOutcome] = []
    todo = [m for m in markets if m.index not in rows]

    def on_outcome(market: Market, outcome: MarketOutcome) -> None:
        outcomes.append(outcome)
        if outcome.row is not None:
            row = canonical(outcome.row)
            if checkpoints is not None:
                checkpoints.save(market.index, row)
            rows[market.index] = row
        elif scenario.study.on_error == "stop":
            kept = f"{len(rows)} finished markets kept in {resume}" if checkpoints else "nothing written"
            raise StudyError(
                f'market {market.id}: {outcome.error} (the study stops: [study] on_error = "stop"; {kept})'
            )
        else:
            skipped[market.index] = {"id": market.id, "error": outcome.error}
            if warn is not None:
                warn(f"skipped market {market.id}: {outcome.error}")
        if progress is not None:
            progress(len(rows) + len(skipped), len(markets))

    wall = 0.0
    if not todo and on_start is not None:
        on_start(0, resumed)
    if todo:
        with dask_client(workers, cluster) as client:
            if on_start is not None:
                on_start(len(todo), resumed)
            wall = run_markets(
                client, scenario, todo, digest=fingerprint(scenario, markets), on_outcome=on_outcome
            )
    if not rows:
        raise StudyError(f"{scenario.path}: no market finished ({len(skipped)} skipped)")
    result = study_result(scenario, markets, rows, [skipped[i] for i in sorted(skipped)])
    return StudyRun(
        result=result, markets=len(markets), resumed=resumed, wall_s=wall, outcomes=tuple(outcomes)
    )
