"""The study result: market rows in market order, the summary cells, and the out-of-sample cells."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sim import __version__
from sim.results import compare
from sim.scenario import Scenario
from sim.study.markets import Market
from sim.study.selection import choose_out_of_sample, lane, method_text
from sim.study.stats import savings_cell

SAVINGS_TEXT = (
    "per market, paired, as sor run computes them (sim.results.compare): for a buy (baseline - strategy) "
    "/ baseline x 10,000, for a sell the mirror; on total_cash (cash_at_target when a side overfilled) "
    "when both completed or filled the same quantity, else on avg_fill_px (counted in avg_px_basis); "
    "positive = the strategy did better"
)
CI_TEXT = "t interval: mean +/- t(0.975, n - 1) x sd / sqrt(n), over markets"
POWER_TEXT = (
    "markets a paired two-sided 5% t-test needs to detect the observed mean with 80% power, "
    "taking the observed sd as true"
)


def cells(
    rows: Sequence[dict[str, Any]],
    strategy_of: Any,
    baselines: dict[str, str],
    *,
    samples: int,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """Return ``{baseline: cell}`` for one strategy; ``strategy_of(row)`` gives its summary on a market."""
    out = {}
    for label, base in baselines.items():
        values, incomplete, by_price = [], 0, 0
        for row in rows:
            mine, theirs = strategy_of(row), row["strategies"][base]
            if not (mine["complete"] and theirs["complete"]):
                incomplete += 1
            bps, basis = compare(mine, theirs, row["side"], row["quantity"])
            if bps is None:
                continue
            values.append(bps)
            by_price += basis == "avg_fill_px"
        out[label] = savings_cell(
            values,
            incomplete=incomplete,
            avg_px_basis=by_price,
            bootstrap_samples=samples,
            bootstrap_seed=seed,
        )
    return out


def _out_of_sample(rows: list[dict[str, Any]], baselines: dict[str, str], folds: int | None) -> None:
    """Add each row's ``out_of_sample`` entry: the lane chosen without its fold, and its savings."""
    chosen = choose_out_of_sample(rows, folds)
    for row, k in zip(rows, chosen, strict=True):
        entry = lane(row, k)
        savings, basis = {}, {}
        for label, base in baselines.items():
            savings[label], basis[label] = compare(
                entry, row["strategies"][base], row["side"], row["quantity"]
            )
        row["out_of_sample"] = {
            "lane": k,
            **entry,
            "savings_bps": savings,
            "savings_basis": basis,
        }


def quote_totals(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Sum the markets' consolidated-quote counts (each run's ``data.consolidated``), or None.

    A count is summed only where every market that has the block has it (e.g. the
    stale-quote columns exist only where a quote age limit applied).
    """
    blocks = [row["quotes"]["consolidated"] for row in rows if "consolidated" in row.get("quotes", {})]
    return {"markets": len(blocks), **_sum_counts(blocks)} if blocks else None


def _sum_counts(blocks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, first in blocks[0].items():
        if not all(key in b for b in blocks):
            continue
        if isinstance(first, dict):
            out[key] = _sum_counts([b[key] for b in blocks])
        else:
            out[key] = sum(int(b[key]) for b in blocks)
    return out


def study_result(
    scenario: Scenario,
    markets: Sequence[Market],
    rows: dict[int, dict[str, Any]],
    skipped: Sequence[dict[str, str]],
) -> dict[str, Any]:
    """Assemble the ``sor study`` result (docs/result-format.md, "Studies") from finished rows.

    ``rows`` maps market index to its (canonical) row; the result lists them in
    market order, so it is the same whatever order they finished in.
    """
    spec = scenario.study
    ordered = [rows[m.index] for m in markets if m.index in rows]
    first = ordered[0] if ordered else None
    baselines = dict(first["baselines"]) if first else {}
    names = list(first["strategies"]) if first else []
    swept = first["sweep"]["strategy"] if first and first["sweep"] else None
    stat = {"samples": spec.bootstrap_samples, "seed": spec.bootstrap_seed}
    summary = {}
    for name in names:
        against = {label: base for label, base in baselines.items() if base != name}
        summary[name] = cells(ordered, lambda row, name=name: row["strategies"][name], against, **stat)
    sessions = len({r["session"] for r in ordered})
    out_of_sample: dict[str, Any] = {}
    if swept is not None and sessions >= 2 and (spec.folds is None or spec.folds <= sessions):
        _out_of_sample(ordered, baselines, spec.folds)
        against = {label: base for label, base in baselines.items() if base != swept}
        out_of_sample[swept] = cells(ordered, lambda row: row["out_of_sample"], against, **stat)
        oos_text = method_text(sessions, spec.folds)
    elif swept is not None:
        oos_text = f"not available: needs at least two sessions (and folds <= sessions), has {sessions}"
    else:
        oos_text = "not available: the scenario has no [sweep]"
    sweep_block = None
    if swept is not None:
        sweep_block = {
            "strategy": swept,
            "parameters": list(scenario.sweep.space),
            "sets": [{k: row[k] for k in scenario.sweep.space} for row in scenario.sweep.parameter_sets()],
        }
    return {
        "version": __version__,
        "study": {
            "spec": spec.as_dict(),
            "markets_planned": len(markets),
            "markets_run": len(ordered),
            "markets_skipped": len(skipped),
            "skipped": list(skipped),
            "quotes": quote_totals(ordered),
            "baselines": baselines,
            "strategies": names,
            "sweep": sweep_block,
            "method": {
                "savings": SAVINGS_TEXT,
                "ci95": CI_TEXT,
                "bootstrap": (
                    f"percentile interval of the mean: {spec.bootstrap_samples} resamples of the markets "
                    f"with replacement, numpy PCG64 seed {spec.bootstrap_seed}"
                ),
                "win_rate": "share of markets with savings > 0",
                "power": POWER_TEXT,
                "in_sample": (
                    f"{swept}: its best parameter set on each market, chosen on that market (biased upward)"
                    if swept
                    else None
                ),
                "out_of_sample": oos_text,
                **(
                    {"walk_forward": "[walk_forward] is not run per market; out_of_sample replaces it"}
                    if scenario.walk_forward is not None
                    else {}
                ),
            },
            "summary": summary,
            "out_of_sample": out_of_sample,
            "markets": ordered,
        },
        "order": {
            "side": first["side"] if first else None,
            "quantity": first["quantity"] if first and len({r["quantity"] for r in ordered}) == 1 else None,
            **(
                {"basis": "volume_fraction", "volume_fraction": scenario.volume_fraction}
                if scenario.volume_fraction is not None
                else {}
            ),
        },
        "scenario": scenario.raw,
    }
