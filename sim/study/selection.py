"""Out of sample: the swept strategy's parameters chosen on the other markets.

The in-sample figure for a swept strategy is its best lane on each market, which
is biased upward (the best of many draws). Here every market instead gets the lane
chosen *without it*: markets are grouped by session (a seed, or a file: its symbols
and windows share a day's conditions and stay together), sessions are split into
folds (one per session, or ``[study] folds = K`` contiguous blocks of sessions),
and for each fold the lane is chosen on the markets of all other folds.

The choice mirrors ``sim.results.choose_best`` over many markets: fewest markets
where the lane did not fill its order, then the lowest mean cost in bps above each
market's own best lane (scale-free, so no market weighs more for its price), then
the first lane in sweep order. Regrets are exact decimals; means are compared as
fractions.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sim.results import avg_price, compare


def lane(row: dict[str, Any], index: int) -> dict[str, Any]:
    """Return lane ``index`` of a market row's sweep as a strategy summary ``compare`` accepts."""
    sweep = row["sweep"]
    cash = Decimal(sweep["total_cash"][index])
    shares = int(sweep["filled_shares"][index])
    return {
        "total_cash": cash,
        "cash_at_target": Decimal(sweep["cash_at_target"][index]),
        "filled_shares": shares,
        "overfill_shares": int(sweep["overfill_shares"][index]),
        "avg_fill_px": avg_price(int(cash.scaleb(9)), shares),
        "complete": shares >= int(row["quantity"]),
    }


def folds_of(sessions: Sequence[str], folds: int | None) -> list[int]:
    """Return the fold of each distinct session (in first-seen order): one each, or K contiguous blocks."""
    distinct = list(dict.fromkeys(sessions))
    count = len(distinct) if folds is None else folds
    of_session = {s: (j * count) // len(distinct) for j, s in enumerate(distinct)}
    return [of_session[s] for s in sessions]


def method_text(sessions: int, folds: int | None) -> str:
    """Return the sentence the result states for how out-of-sample parameters were chosen."""
    if folds is None:
        return (
            f"leave one session out ({sessions} sessions): each market's lane is chosen on the markets "
            "of every other session"
        )
    return (
        f"{folds}-fold over {sessions} sessions (contiguous blocks in market order): each market's lane "
        "is chosen on the markets of the other folds"
    )


def choose_out_of_sample(rows: Sequence[dict[str, Any]], folds: int | None) -> list[int]:
    """Return, for each row (market), the sweep lane chosen on the markets outside its fold.

    Parameters
    ----------
    rows
        Market rows with a ``sweep`` (``total_cash`` and ``filled_shares`` per lane,
        ``chosen``) and ``quantity``, ``session``; at least two sessions.
    folds
        ``None`` for one fold per session, else the number of contiguous folds.
    """
    lanes = len(rows[0]["sweep"]["total_cash"])
    fold = folds_of([r["session"] for r in rows], folds)
    n_folds = max(fold) + 1
    if n_folds < 2:
        raise ValueError("out of sample needs at least two sessions")
    # Per fold and lane: markets not filled, sum and count of regrets (bps above the market's best lane).
    short = [[0] * lanes for _ in range(n_folds)]
    regret = [[Decimal(0)] * lanes for _ in range(n_folds)]
    counted = [[0] * lanes for _ in range(n_folds)]
    for row, f in zip(rows, fold, strict=True):
        best = lane(row, row["sweep"]["chosen"])
        for k in range(lanes):
            this = lane(row, k)
            if not this["complete"]:
                short[f][k] += 1
            bps, _ = compare(this, best, row["side"], row["quantity"])
            if bps is not None:
                regret[f][k] -= bps
                counted[f][k] += 1
    totals = [
        (sum(s[k] for s in short), sum(r[k] for r in regret), sum(c[k] for c in counted))
        for k in range(lanes)
    ]
    chosen_in_fold = []
    for f in range(n_folds):

        def key(k: int, f: int = f) -> tuple:
            misses = totals[k][0] - short[f][k]
            n = totals[k][2] - counted[f][k]
            mean = Fraction(totals[k][1] - regret[f][k]) / n if n else None
            return (misses, mean is None, mean if mean is not None else 0, k)

        chosen_in_fold.append(min(range(lanes), key=key))
    return [chosen_in_fold[f] for f in fold]
