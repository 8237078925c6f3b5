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


def savings_bps(baseline: Decimal, optimized: Decimal, side: str = "buy") -> Decimal:
    """Return the savings of ``optimized`` against ``baseline`` in bps, to 0.0001.

    For a buy (amounts paid) ``(baseline − optimized) / baseline × 10,000``; for a sell
    (amounts received) the mirror, ``(optimized − baseline) / baseline × 10,000``.
    """
    baseline, optimized = Decimal(baseline), Decimal(optimized)
    gain = baseline - optimized if side == "buy" else optimized - baseline
    return (gain / baseline * 10000).quantize(BPS_PLACES, rounding=ROUND_HALF_EVEN)


def lane_summary(
    ledger: Ledger,
    lane: int,
    *,
    kind: str,
    params: dict[str, Any],
    venue_ids: tuple[int, ...],
    target: int,
    closing_mid: int | None = None,
    with_fills: bool = True,
) -> dict[str, Any]:
    """Summarise one lane of one strategy: money, shares, venues, and (optionally) each fill.

    ``cash_at_target`` is ``total_cash`` less the shares beyond the target valued at
    ``closing_mid`` (1e-9 dollars; the lane's own average price when the book had no
    mid): what the lane cost (or brought) for exactly the target, as if the overfill
    were unwound at the close.
    """
    filled = int(ledger.filled[lane])
    cash = int(ledger.cash[lane])
    over = max(filled - int(target), 0)
    if over and closing_mid is None:
        at_target = cash - over * cash // filled
    else:
        at_target = cash - over * (closing_mid or 0)
    out: dict[str, Any] = {
        "kind": kind,
        "parameters": dict(params),
        "filled_shares": filled,
        "overfill_shares": over,
        "total_cash": units_to_decimal(cash),
        "cash_at_target": units_to_decimal(at_target),
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


def choose_best(rows: list[dict[str, Any]], target: int, side: str = "buy") -> int:
    """Return the index of the best sweep row.

    Rows that completed the order compete on ``cash_at_target`` (the least paid for a
    buy, the most received for a sell; the first wins a tie, in sweep order); when none
    did, the most shares, then the best average price.
    """
    sign = 1 if side == "buy" else -1
    complete = [i for i, r in enumerate(rows) if r["filled_shares"] >= target]
    if complete:
        return min(complete, key=lambda i: (sign * rows[i]["cash_at_target"], i))

    def key(i: int):
        avg = rows[i]["avg_fill_px"]
        return (-rows[i]["filled_shares"], sign * avg if avg is not None else Decimal("Infinity"), i)

    return min(range(len(rows)), key=key)


def compare(
    optimized: dict[str, Any], baseline: dict[str, Any], side: str = "buy", target: int | None = None
) -> tuple[Decimal | None, str]:
    """Return the savings in bps of ``optimized`` against ``baseline`` and the basis used.

    Two lanes that both completed the order are compared on what exactly the target
    cost (or brought): ``total_cash`` when neither overfilled (basis ``total_cash``),
    else ``cash_at_target``, the overfill valued at the closing mid (basis
    ``cash_at_target``). Otherwise, with equal quantities, on ``total_cash``; with
    different quantities, on ``avg_fill_px`` (cash of different quantities is not
    comparable). ``None`` when either traded nothing.
    """
    o_filled, b_filled = optimized["filled_shares"], baseline["filled_shares"]
    if b_filled > 0 and o_filled > 0:
        done = target is not None and o_filled >= target and b_filled >= target
        if done and (optimized.get("overfill_shares") or baseline.get("overfill_shares")):
            basis = "cash_at_target"
            return savings_bps(baseline[basis], optimized[basis], side), basis
        if o_filled == b_filled or done:
            return savings_bps(baseline["total_cash"], optimized["total_cash"], side), "total_cash"
    if optimized["avg_fill_px"] is None or baseline["avg_fill_px"] is None:
        return None, "avg_fill_px"
    return savings_bps(baseline["avg_fill_px"], optimized["avg_fill_px"], side), "avg_fill_px"
