"""The ``[study]`` table of a scenario: which markets to run and how to summarise them.

```toml
[study]
seeds = [1, 40]          # synthetic market seeds 1..40 (a range); or a list of 3+ seeds
# seed_list = [3, 9]     # an explicit list of any length
# files = ["data/*.dbn.zst"]   # one market per file (globs, relative to the working folder)
# symbols = ["RIOT"]     # with files: one market per file x symbol (needs [data] symbol)
windows = 1              # cut each market's session into K windows, each its own market
on_error = "stop"        # or "skip": a failing market is named, counted and left out
bootstrap_samples = 10000
bootstrap_seed = 0
# folds = 5              # out-of-sample by K contiguous folds of sessions (default: leave one out)
```

This module only checks the table; it imports nothing from ``sim`` so that
``sim.scenario`` can use it without pulling in the study machinery.
"""

from __future__ import annotations

from typing import Any

import attrs

from venues import params
from venues.params import ConfigError

KEYS = {
    "seeds",
    "seed_list",
    "files",
    "symbols",
    "windows",
    "on_error",
    "bootstrap_samples",
    "bootstrap_seed",
    "folds",
}
ON_ERROR = ("stop", "skip")
MAX_MARKETS = 1_000_000


@attrs.frozen
class StudySpec:
    """What a study runs: seeds or file globs (crossed with symbols and windows), and its statistics."""

    seeds: tuple[int, ...] = ()
    files: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    windows: int = 1
    on_error: str = "stop"
    bootstrap_samples: int = 10_000
    bootstrap_seed: int = 0
    folds: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the spec as the result's ``study.spec`` block."""
        return {
            "seeds": list(self.seeds) if self.seeds else None,
            "files": list(self.files) if self.files else None,
            "symbols": list(self.symbols) if self.symbols else None,
            "windows": self.windows,
            "on_error": self.on_error,
            "bootstrap_samples": self.bootstrap_samples,
            "bootstrap_seed": self.bootstrap_seed,
            "folds": self.folds,
        }


def parse_study(w: str, raw: Any) -> StudySpec:
    """Check the ``[study]`` table of scenario ``w`` and return its spec (one-line errors)."""
    where = f"{w}: [study]"
    table = params.table(where, raw)
    params.keys(where, table, KEYS)
    seeds = _seeds(where, table)
    files = _strings(f"{where} files", table["files"]) if "files" in table else ()
    if seeds and files:
        raise ConfigError(f"{where}: give seeds or files, not both")
    if not seeds and not files:
        raise ConfigError(f"{where}: needs seeds = [first, last], seed_list = [...] or files = [...]")
    symbols = _strings(f"{where} symbols", table["symbols"]) if "symbols" in table else ()
    if symbols and not files:
        raise ConfigError(f"{where} symbols: selects symbols in files; give files = [...]")
    if len(set(symbols)) != len(symbols):
        raise ConfigError(f"{where} symbols: a symbol is listed twice")
    windows = params.integer(f"{where} windows", table.get("windows", 1), lo=1, hi=10_000)
    folds = table.get("folds")
    if folds is not None:
        folds = params.integer(f"{where} folds", folds, lo=2, hi=MAX_MARKETS)
    if seeds and len(seeds) * windows > MAX_MARKETS:
        raise ConfigError(f"{where}: {len(seeds) * windows} markets is more than {MAX_MARKETS:,}")
    return StudySpec(
        seeds=seeds,
        files=files,
        symbols=symbols,
        windows=windows,
        on_error=params.string(f"{where} on_error", table.get("on_error", "stop"), choices=ON_ERROR),
        bootstrap_samples=params.integer(
            f"{where} bootstrap_samples", table.get("bootstrap_samples", 10_000), lo=100, hi=1_000_000
        ),
        bootstrap_seed=params.integer(f"{where} bootstrap_seed", table.get("bootstrap_seed", 0), lo=0),
        folds=folds,
    )


def _seeds(where: str, table: dict[str, Any]) -> tuple[int, ...]:
    if "seeds" in table and "seed_list" in table:
        raise ConfigError(f"{where}: give seeds or seed_list, not both")
    if "seeds" in table:
        raw = table["seeds"]
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{where} seeds: expected [first, last] or a list of seeds")
        values = [params.integer(f"{where} seeds[{i}]", v, lo=0) for i, v in enumerate(raw)]
        if len(values) == 2:
            first, last = values
            if first > last:
                raise ConfigError(f"{where} seeds: empty range {first}..{last} (write [first, last])")
            if last - first + 1 > MAX_MARKETS:
                raise ConfigError(f"{where} seeds: {last - first + 1} seeds is more than {MAX_MARKETS:,}")
            return tuple(range(first, last + 1))
        return _distinct(f"{where} seeds", values)
    if "seed_list" in table:
        raw = table["seed_list"]
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{where} seed_list: expected a non-empty list of seeds")
        values = [params.integer(f"{where} seed_list[{i}]", v, lo=0) for i, v in enumerate(raw)]
        return _distinct(f"{where} seed_list", values)
    return ()


def _distinct(where: str, values: list[int]) -> tuple[int, ...]:
    seen = set()
    for v in values:
        if v in seen:
            raise ConfigError(f"{where}: seed {v} is listed twice")
        seen.add(v)
    return tuple(values)


def _strings(where: str, raw: Any) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{where}: expected a non-empty list of strings")
    return tuple(params.string(f"{where}[{i}]", v) for i, v in enumerate(items))
