"""Comparing strategy lanes: exact money, savings in bps, the best lane of a sweep."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

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


def _get(item: Any, name: str) -> Any:
    # Results compare the same whether typed (sim.result) or read back from JSON (a dict).
    return item[name] if isinstance(item, Mapping) else getattr(item, name)


def choose_best(rows: Sequence[Any], target: int, side: str = "buy") -> int:
    """Return the index of the best sweep row.

    Rows that completed the order compete on ``cash_at_target`` (the least paid for a
    buy, the most received for a sell; the first wins a tie, in sweep order); when none
    did, the most shares, then the best average price.
    """
    sign = 1 if side == "buy" else -1
    complete = [i for i, r in enumerate(rows) if _get(r, "filled_shares") >= target]
    if complete:
        return min(complete, key=lambda i: (sign * _get(rows[i], "cash_at_target"), i))

    def key(i: int):
        avg = _get(rows[i], "avg_fill_px")
        return (-_get(rows[i], "filled_shares"), sign * avg if avg is not None else Decimal("Infinity"), i)

    return min(range(len(rows)), key=key)


def compare(
    optimized: Any, baseline: Any, side: str = "buy", target: int | None = None
) -> tuple[Decimal | None, str]:
    """Return the savings in bps of ``optimized`` against ``baseline`` and the basis used.

    Two lanes that both completed the order are compared on what exactly the target
    cost (or brought): ``total_cash`` when neither overfilled (basis ``total_cash``),
    else ``cash_at_target``, the overfill valued at the closing touch it would unwind
    into (basis ``cash_at_target``). Otherwise, with equal quantities, on ``total_cash``; with
    different quantities, on ``avg_fill_px`` (cash of different quantities is not
    comparable). ``None`` when either traded nothing.
    """
    o, b = (lambda name: _get(optimized, name)), (lambda name: _get(baseline, name))
    o_filled, b_filled = o("filled_shares"), b("filled_shares")
    if b_filled > 0 and o_filled > 0:
        done = target is not None and o_filled >= target and b_filled >= target
        overfilled = _over(optimized) or _over(baseline)
        if done and overfilled:
            return savings_bps(b("cash_at_target"), o("cash_at_target"), side), "cash_at_target"
        if o_filled == b_filled or done:
            return savings_bps(b("total_cash"), o("total_cash"), side), "total_cash"
    if o("avg_fill_px") is None or b("avg_fill_px") is None:
        return None, "avg_fill_px"
    return savings_bps(b("avg_fill_px"), o("avg_fill_px"), side), "avg_fill_px"


def _over(item: Any) -> int:
    if isinstance(item, Mapping):
        return item.get("overfill_shares", 0)
    return item.overfill_shares
