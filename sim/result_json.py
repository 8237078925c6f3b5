"""The result JSON (``docs/result-format.md``), built from the typed result in this one place.

Money becomes exact ``Decimal`` dollars (``sim.jsonio`` writes them as plain JSON
numbers); keys keep a fixed order so the same run gives byte-identical files.
"""

from __future__ import annotations

from typing import Any

from feeds.market import units_to_decimal
from feeds.timeparse import format_ns
from sim import __version__
from sim.result import LaneResult, RunResult


def lane_json(lane: LaneResult) -> dict[str, Any]:
    """Return one lane as the result's ``strategies[name]`` object (fills included when kept)."""
    out: dict[str, Any] = {
        "kind": lane.kind,
        "parameters": dict(lane.parameters),
        "filled_shares": lane.filled_shares,
        "overfill_shares": lane.overfill_shares,
        "total_cash": lane.total_cash,
        "cash_at_target": lane.cash_at_target,
        "avg_fill_px": lane.avg_fill_px,
        "notional": units_to_decimal(lane.notional),
        "fees": units_to_decimal(lane.fees),
        "rebates": units_to_decimal(lane.rebates),
        "catch_up_shares": lane.catch_up_shares,
        "maker_shares": lane.maker_shares,
        "taker_shares": lane.taker_shares,
        "complete": lane.complete,
        "by_venue": {
            str(v): {
                "shares": t.shares,
                "cash": units_to_decimal(t.cash),
                "maker_shares": t.maker_shares,
                "taker_shares": t.shares - t.maker_shares,
            }
            for v, t in lane.by_venue.items()
        },
    }
    if lane.fills is not None:
        out["fills"] = [
            {
                "ts": format_ns(f.ts_ns),
                "ts_ns": f.ts_ns,
                "venue": f.venue,
                "price": units_to_decimal(f.price),
                "size": f.size,
                "liquidity": f.liquidity,
                "fee": units_to_decimal(f.fee),
                "rebate": units_to_decimal(f.rebate),
                "catch_up": f.catch_up,
                "queue_ahead": f.queue_ahead,
            }
            for f in lane.fills
        ]
    return out


def to_json(result: RunResult) -> dict[str, Any]:
    """Return the whole result object, as written to ``--out``."""
    strategies = {name: lane_json(lane) for name, lane in result.strategies.items()}
    opt = result.strategies[result.optimized]
    sweep = None
    if result.sweep is not None:
        sw = result.sweep
        distinct = sw.distinct_total_cash
        sweep = {
            "strategy": sw.strategy,
            "parameters": list(sw.names),
            "method": sw.method,
            "rows": [
                {
                    "parameters": params,
                    "total_cash": lane.total_cash,
                    "avg_fill_px": lane.avg_fill_px,
                    "filled_shares": lane.filled_shares,
                    "overfill_shares": lane.overfill_shares,
                    "cash_at_target": lane.cash_at_target,
                }
                for params, lane in zip(sw.parameters, sw.lanes, strict=True)
            ],
            "distinct_total_cash": distinct,
            "degenerate": distinct == 1,
            "chosen": sw.chosen,
        }
    return {
        "version": __version__,
        "best_parameters": result.best_parameters,
        "optimized": {
            "strategy": result.optimized,
            "total_cash": opt.total_cash,
            "avg_fill_px": opt.avg_fill_px,
        },
        "baselines": {
            label: {
                "strategy": name,
                "total_cash": result.strategies[name].total_cash,
                "avg_fill_px": result.strategies[name].avg_fill_px,
            }
            for label, name in result.baselines.items()
        },
        "savings_vs_baselines_bps": dict(result.savings_bps),
        "savings_basis": dict(result.savings_basis),
        "savings_rule": SAVINGS_RULE[result.side],
        "order": result.order or {"side": result.side, "quantity": result.target},
        "strategies": strategies,
        "sweep": sweep,
        "walk_forward": result.walk_forward,
        "market": result.market,
        "data": result.data,
        "venues": result.venues,
        "scenario": result.scenario,
    }


#: How savings are read, by side (the result's ``savings_rule``).
SAVINGS_RULE = {
    "buy": "(baseline - strategy) / baseline x 10,000 on the cash paid (total_cash); positive: cheaper",
    "sell": "(strategy - baseline) / baseline x 10,000 on the proceeds (total_cash); positive: more received",
}
