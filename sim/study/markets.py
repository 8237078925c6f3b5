"""The markets of a study: what each one replays, and the scenario it runs.

A market is one run of the whole scenario (every strategy and the sweep, one
replay, exactly as ``sor run``). Seeds give one synthetic market each (the seed
is both the market's and the run's, so a market is ``sor run SCENARIO --seed N``);
files give one market per file, or per file and symbol; ``windows = K`` cuts each of
those sessions into K consecutive windows, each its own market. Markets are listed
in a fixed order (seeds as written, files sorted within each glob, then symbols,
then windows), which is the order of the result's rows whatever ran them.
"""

from __future__ import annotations

import glob
from pathlib import Path

import attrs

from sim.scenario import Scenario, ScenarioError

SYNTHETIC_PREFIX = "synthetic:"
_GLOB_CHARS = set("*?[")


@attrs.frozen
class Market:
    """One market of a study: its id, its session, and what to replay."""

    index: int
    id: str
    #: The seed or the file: what out-of-sample folds keep together (symbols and windows of one day).
    session: str
    source: str
    #: The run's seed (the optimiser's draws; for a synthetic market also the market's).
    seed: int
    file: str | None
    symbol: str | None
    #: 1-based window number and the count of windows the session is cut into.
    window: int
    windows: int


def expand_markets(scenario: Scenario) -> tuple[Market, ...]:
    """Return the markets of ``scenario``'s ``[study]``, in result order.

    Raises
    ------
    ScenarioError
        When the scenario has no ``[study]``, seeds meet a source that is not
        synthetic, a glob matches no file, or symbols are asked of a version of
        ``sor`` that cannot select them.
    """
    where = f"{scenario.path}: [study]"
    spec = scenario.study
    if spec is None:
        raise ScenarioError(f"{scenario.path}: no [study] table (see the README, 'Studies')")
    sessions: list[tuple[str, str, str | None]] = []  # (session id, source, file)
    if spec.seeds:
        if not scenario.data.source.startswith(SYNTHETIC_PREFIX):
            raise ScenarioError(
                f"{where} seeds: need a synthetic [data] source, got {scenario.data.source!r} "
                "(use files = [...] for data files)"
            )
        for seed in spec.seeds:
            sessions.append((f"seed={seed}", with_seed(scenario.data.source, seed), None))
    seen: set[str] = set()
    for i, pattern in enumerate(spec.files):
        for path in _matches(f"{where} files[{i}]", pattern):
            if path not in seen:
                seen.add(path)
                sessions.append((f"file={path}", path, path))
    if spec.folds is not None and spec.folds > len(sessions):
        raise ScenarioError(f"{where} folds: {spec.folds} folds but only {len(sessions)} sessions")
    markets = []
    for session, source, path in sessions:
        for symbol in spec.symbols or (None,):
            for window in range(1, spec.windows + 1):
                parts = [session]
                if symbol is not None:
                    parts.append(f"symbol={symbol}")
                if spec.windows > 1:
                    parts.append(f"window={window}/{spec.windows}")
                seed = int(session[len("seed=") :]) if path is None else scenario.seed
                markets.append(
                    Market(
                        index=len(markets),
                        id=" ".join(parts),
                        session=session,
                        source=source,
                        seed=seed,
                        file=path,
                        symbol=symbol,
                        window=window,
                        windows=spec.windows,
                    )
                )
    return tuple(markets)


def market_scenario(scenario: Scenario, market: Market) -> Scenario:
    """Return ``scenario`` as it runs on ``market``: its source, seed and symbol; no walk-forward."""
    data = attrs.evolve(scenario.data, source=market.source)
    if market.symbol is not None:
        data = attrs.evolve(data, symbol=market.symbol)
    return attrs.evolve(scenario, data=data, seed=market.seed, walk_forward=None)


def with_seed(source: str, seed: int) -> str:
    """Return the synthetic source spec ``source`` with its ``seed=`` set to ``seed``."""
    body = source[len(SYNTHETIC_PREFIX) :]
    parts = [p.strip() for p in body.split(",") if p.strip()]
    kept = [p for p in parts if p.partition("=")[0].strip() != "seed"]
    return SYNTHETIC_PREFIX + ",".join([*kept, f"seed={seed}"])


def _matches(where: str, pattern: str) -> list[str]:
    if _GLOB_CHARS & set(pattern):
        found = sorted(p for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    else:
        found = [pattern] if Path(pattern).is_file() else []
    if not found:
        raise ScenarioError(f"{where}: {pattern!r} matches no file (paths are relative to {Path.cwd()})")
    return found
