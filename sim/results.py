"""Turning ledgers into the result: exact money, savings in bps, the sweep table."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from feeds.market import units_to_decimal
from feeds.timeparse import format_ns
from sim.ledger import Ledger

NANO = Decimal("0.000000001")
BPS_PLACES = Decimal("0.0001")


def avg_price(cash_units: int, shares: int) -> Decimal | None:
    """Return ``cash / shares`` in dollars, to 1e-9 (half-even), or ``None`` for no shares."""
    if shares <= 0:
        return None
    return (
        (Decimal(int(cash_units)) / Decimal(int(shares))).scaleb(-9).quantize(NANO, rounding=ROUND_HALF_EVEN)
    )


def savings_bps(baseline: Decimal, optimized: Decimal) -> Decimal:
    """Return ``(baseline − optimized) / baseline × 10,000`` for a buy, to 0.0001 bps."""
    baseline, optimized = Decimal(baseline), Decimal(optimized)
    return ((baseline - optimized) / baseline * 10000).quantize(BPS_PLACES, rounding=ROUND_HALF_EVEN)


def lane_summary(
    ledger: Ledger,
    lane: int,
    *,
    kind: str,
    params: dict[str, Any],
    venue_ids: tuple[int, ...],
    target: int,
    with_fills: bool = True,
) -> dict[str, Any]:
    """Summarise one lane of one strategy: money, shares, venues, and (optionally) each fill."""
    filled = int(ledger.filled[lane])
    cash = int(ledger.cash[lane])
    out: dict[str, Any] = {
        "kind": kind,
        "parameters": dict(params),
        "filled_shares": filled,
        "total_cash": units_to_decimal(cash),
        "avg_fill_px": avg_price(cash, filled),
        "notional": units_to_decimal(int(ledger.notional[lane])),
        "fees": units_to_decimal(int(ledger.fees[lane])),
        "rebates": units_to_decimal(int(ledger.rebates[lane])),
        "catch_up_shares": int(ledger.catch_up[lane]),
        "maker_shares": int(ledger.maker[lane]),
        "taker_shares": int(ledger.taker[lane]),
        "complete": filled >= target,
        "by_venue": {
            str(v): {
                "shares": int(ledger.venue_shares[lane, k]),
                "cash": units_to_decimal(int(ledger.venue_cash[lane, k])),
                "maker_shares": int(ledger.venue_maker[lane, k]),
                "taker_shares": int(ledger.venue_shares[lane, k] - ledger.venue_maker[lane, k]),
            }
            for k, v in enumerate(venue_ids)
        },
    }
    if with_fills:
        fills = []
        for f in ledger.fills:
            q = int(f.qty[lane])
            if q <= 0:
                continue
            fills.append(
                {
                    "ts": format_ns(f.ts),
                    "ts_ns": int(f.ts),
                    "venue": venue_ids[f.venue],
                    "price": units_to_decimal(f.price),
                    "size": q,
                    "liquidity": f.liquidity.value,
                    "fee": units_to_decimal(f.fee_per_share * q),
                    "rebate": units_to_decimal(f.rebate_per_share * q),
                    "catch_up": bool(f.catch_up),
                    "queue_ahead": None if f.queue_ahead is None else int(f.queue_ahead[lane]),
                }
            )
        out["fills"] = fills
    return out


def choose_best(rows: list[dict[str, Any]], target: int) -> int:
    """Return the index of the best sweep row.

    Rows that bought the whole target compete on ``total_cash`` (the first wins a tie,
    in sweep order); when none did, the most shares, then the lowest average price.
    """
    complete = [i for i, r in enumerate(rows) if r["filled_shares"] >= target]
    if complete:
        return min(complete, key=lambda i: (rows[i]["total_cash"], i))

    def key(i: int):
        avg = rows[i]["avg_fill_px"]
        return (-rows[i]["filled_shares"], avg if avg is not None else Decimal("Infinity"), i)

    return min(range(len(rows)), key=key)


def compare(optimized: dict[str, Any], baseline: dict[str, Any]) -> tuple[Decimal | None, str]:
    """Return the savings in bps of ``optimized`` against ``baseline`` and the basis used.

    On equal filled quantity the basis is ``total_cash``; otherwise ``avg_fill_px``
    (cash figures of different quantities are not comparable). ``None`` when either
    bought nothing.
    """
    if optimized["filled_shares"] == baseline["filled_shares"] and baseline["filled_shares"] > 0:
        return savings_bps(baseline["total_cash"], optimized["total_cash"]), "total_cash"
    if optimized["avg_fill_px"] is None or baseline["avg_fill_px"] is None:
        return None, "avg_fill_px"
    return savings_bps(baseline["avg_fill_px"], optimized["avg_fill_px"]), "avg_fill_px"
