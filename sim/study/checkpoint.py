"""The ``--resume DIR`` folder: one file per finished market, so a killed study picks up where it stopped.

``DIR/study.json`` names the study (a fingerprint of the scenario as parsed, the
markets and the sor version); ``DIR/markets/NNNNNN.json`` holds market ``NNNNNN``'s
row. Every file is written to a temporary name, flushed to disk and renamed over
its final name, so a file is either whole or absent, whenever the process dies.
A folder that holds another study's checkpoints is refused, not mixed in.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sim import __version__
from sim.jsonio import dumps
from sim.output import write_text
from sim.scenario import Scenario, ScenarioError
from sim.study.markets import Market


def canonical(row: dict[str, Any]) -> dict[str, Any]:
    """Return ``row`` as it reads back from its JSON text (every fraction an exact ``Decimal``).

    Fresh rows go through this too, so a resumed study and an uninterrupted one
    assemble the result from identical values.
    """
    return json.loads(dumps(row), parse_float=Decimal)


def fingerprint(scenario: Scenario, markets: Sequence[Market]) -> str:
    """Return a digest naming the study: the scenario as parsed, its markets and sor's version."""
    text = json.dumps(
        {
            "version": __version__,
            "scenario": scenario.raw,
            "markets": [[m.id, m.source, m.seed] for m in markets],
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


class Checkpoints:
    """A study's checkpoint folder: what is already done, and a place to put each market as it finishes."""

    def __init__(self, folder: str | os.PathLike, scenario: Scenario, markets: Sequence[Market]):
        self.folder = Path(folder)
        self.markets = list(markets)
        self.digest = fingerprint(scenario, markets)
        self.rows = self.folder / "markets"
        manifest = self.folder / "study.json"
        try:
            self.rows.mkdir(parents=True, exist_ok=True)
            if manifest.exists():
                found = json.loads(manifest.read_text(encoding="utf-8")).get("fingerprint")
                if found != self.digest:
                    raise ScenarioError(
                        f"{self.folder}: holds checkpoints of another study (a different scenario, "
                        "market list or sor version); use a new --resume folder"
                    )
            else:
                body = {"fingerprint": self.digest, "version": __version__, "markets": len(self.markets)}
                write_text(manifest, json.dumps(body, indent=2) + "\n")
        except (OSError, json.JSONDecodeError, AttributeError) as exc:
            raise ScenarioError(f"{self.folder}: cannot use as a checkpoint folder: {exc}") from None

    def _path(self, index: int) -> Path:
        return self.rows / f"{index:06d}.json"

    def load(self) -> dict[int, dict[str, Any]]:
        """Return the rows already finished, by market index."""
        done = {}
        for market in self.markets:
            path = self._path(market.index)
            if not path.exists():
                continue
            try:
                row = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
            except (OSError, ValueError) as exc:
                raise ScenarioError(f"{path}: unreadable checkpoint: {exc}") from None
            if not isinstance(row, dict) or row.get("id") != market.id:
                raise ScenarioError(f"{path}: checkpoint is not of market {market.id!r}")
            done[market.index] = row
        return done

    def save(self, index: int, row: dict[str, Any]) -> None:
        """Keep market ``index``'s finished row."""
        try:
            write_text(self._path(index), dumps(row) + "\n")
        except OSError as exc:
            raise ScenarioError(
                f"{self._path(index)}: cannot write checkpoint: {exc.strerror or exc}"
            ) from None
