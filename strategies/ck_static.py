"""The trial's static "take-only" Cont–Kukanov allocator, solved exactly without enumeration.

The trial enumerates every split of the open quantity ``R`` across venues in
100-share lots, venue ``0`` outermost and quantities ascending, each venue capped
at ``min(R - already allocated, displayed ask size)``; it keeps the splits that sum
exactly to ``R`` and returns the cheapest, the first found on a tie.

At a split that sums to ``R`` with every share within its venue's displayed size,
everything sent executes, so underfill, overfill and the rebate term are zero and
the cost is ``sum_v q_v * (ask_v + fee_v)``: separable, linear, with box limits
``q_v <= 100 * floor(size_v / 100)``. Filling 100-share lots cheapest-first is
optimal (any optimum uses the ``R / 100`` cheapest lots; swap argument), and every
optimum fills the venues cheaper than the marginal cost completely and those
dearer not at all; they differ only in how the venues *at* the marginal cost share
the rest. The enumeration order is lexicographic in ``(q_0, q_1, ...)``, so the
first optimum found gives the earliest tied venue as little as it can, which is
what filling the tied venues from the last one backwards does. Hence one sort by
``(ask + fee ascending, venue index descending)`` and a greedy fill give exactly
the enumeration's answer (``tests/test_ck_static.py`` checks it against the brute
force on thousands of random books).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np

from strategies.base import LaneStrategy
from venues.params import param
from venues.view import BookView

#: The allocator's step: venues get whole multiples of this many shares.
LOT = 100


def allocate_lanes(
    need: np.ndarray, ask_px: np.ndarray, offered: np.ndarray, fee: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the enumeration's cheapest split for many lanes at once.

    Parameters
    ----------
    need : ndarray of int, shape ``[lanes]``
        The quantity each lane must allocate exactly (``R``).
    ask_px : ndarray of int, shape ``[venues]``
        Each venue's level-0 ask in 1e-9 dollars.
    offered : ndarray of int, shape ``[lanes, venues]``
        The level-0 ask size offered to each lane (0 where empty).
    fee : ndarray of int, shape ``[venues]``
        Taker fee per share in 1e-9 dollars.

    Returns
    -------
    split : ndarray of int64, shape ``[lanes, venues]``
        Shares per venue; all zero where no split sums exactly to ``need``.
    feasible : ndarray of bool, shape ``[lanes]``
        True where a split summing to ``need`` exists.
    """
    need = np.asarray(need, dtype=np.int64)
    offered = np.asarray(offered, dtype=np.int64)
    cost = (np.asarray(ask_px, dtype=np.int64) + np.asarray(fee, dtype=np.int64)).tolist()
    lots_needed = need // LOT
    if not cost:
        return np.zeros_like(offered), need == 0
    # Cheapest first; at equal cost the later venue first (lexicographically smallest split).
    order = sorted(range(len(cost)), key=lambda v: (cost[v], -v))
    ranked = offered[:, order] // LOT
    np.maximum(ranked, 0, out=ranked)
    cum = ranked.cumsum(axis=1)
    feasible = (need >= 0) & (need % LOT == 0) & (cum[:, -1] >= lots_needed)
    # Lots left for each venue in rank order once the cheaper ones are full.
    take = lots_needed[:, None] - cum
    take += ranked
    np.maximum(take, 0, out=take)
    np.minimum(take, ranked, out=take)
    take *= LOT
    take[~feasible] = 0
    split = np.empty_like(take)
    split[:, order] = take
    return split, feasible


def allocate(
    remaining: int,
    ask_px: Sequence[int],
    ask_sz: Sequence[int],
    fee: Sequence[int],
    rebate: Sequence[int],
    lambda_over: float,
    lambda_under: float,
    theta_queue: float,
) -> np.ndarray | None:
    """Return the trial allocator's split of ``remaining`` shares, or ``None`` if none sums to it.

    The result equals the brute-force enumeration's (cheapest by integer money, ties
    to the first split in enumeration order). ``rebate``, ``lambda_over``,
    ``lambda_under`` and ``theta_queue`` are accepted to match the enumeration's
    inputs but cannot change the answer: their terms are zero at every split that
    sums to ``remaining`` (see ``CkStatic``).

    Parameters
    ----------
    remaining : int
        Shares to allocate exactly (``R``).
    ask_px, ask_sz, fee, rebate : sequences of int, one per venue
        Level-0 ask price, offered ask size, taker fee and rebate (1e-9 dollars).
    lambda_over, lambda_under, theta_queue : float
        The trial's penalties in dollars per share.

    Returns
    -------
    ndarray of int64 or None
        Shares per venue.
    """
    for name, value in (
        ("lambda_over", lambda_over),
        ("lambda_under", lambda_under),
        ("theta_queue", theta_queue),
    ):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if len(ask_px) != len(ask_sz) or len(ask_px) != len(fee) or len(ask_px) != len(rebate):
        raise ValueError("ask_px, ask_sz, fee and rebate must have one entry per venue")
    # The greedy of ``allocate_lanes`` for one lane in plain ints: a single decision is a
    # handful of venues, where building numpy arrays would cost more than the arithmetic.
    need = int(remaining)
    lots = [max(int(size) // LOT, 0) for size in ask_sz]
    if need < 0 or need % LOT or sum(lots) < need // LOT:
        return None
    cost = [int(px) + int(f) for px, f in zip(ask_px, fee, strict=True)]
    split = [0] * len(cost)
    left = need // LOT
    for v in sorted(range(len(cost)), key=lambda v: (cost[v], -v)):
        if not left:
            break
        take = min(left, lots[v])
        split[v] = take * LOT
        left -= take
    return np.array(split, dtype=np.int64)


#: Bounds on the trial's penalties, dollars per share: past them a value is a typo.
_PENALTY = dict(lo=0.0, hi=1_000.0, unit="$/share")


@attrs.frozen
class CkStaticParams:
    """The trial's three penalties (dollars per share); none of them can change a decision."""

    lambda_over: float = param(0.4, **_PENALTY, doc="penalty per share bought beyond the target")
    lambda_under: float = param(0.6, **_PENALTY, doc="penalty per share left unfilled")
    theta_queue: float = param(0.3, **_PENALTY, doc="the trial's queue penalty")


class CkStatic(LaneStrategy):
    """The trial's static take-only allocator, run at every book update for every lane.

    At each update, each lane with open quantity ``R`` (remaining less in-flight)
    splits ``R`` across venues in 100-share lots, venue ``v`` getting at most the
    level-0 ask size still offered to that lane; only splits summing exactly to ``R``
    count; the cheapest by ``sum q_v * (ask_v + fee_v)`` wins, ties going to the
    lexicographically smallest split (the first in the trial's enumeration, i.e. at
    equal ``ask + fee`` the later venue is filled first). The split is sent as
    marketable orders limited at each venue's level-0 ask.

    ``lambda_over``, ``lambda_under`` and ``theta_queue`` cannot change any decision:
    each venue's share is capped at its displayed size and a split must sum exactly
    to what remains, so underfill, overfill and the rebate term are zero at every
    feasible split, and the penalties multiply zero. A sweep over them is
    degenerate: every lane trades identically.

    When the offered sizes (in whole lots) add up to less than what remains, or what
    remains is not a multiple of 100, no split exists and it trades nothing at that
    update; what is still missing at the end of the window is bought by the engine's
    catch-up sweep.
    """

    kind = "ck_static"
    Params = CkStaticParams

    def on_book(self, view: BookView) -> None:
        need = self.target - self.filled - self.pending
        # Offered sizes never exceed displayed ones, so a lane the displayed lots cannot
        # cover is infeasible: reject the common case without building the offered array.
        displayed = int((view.far_sz[:, 0] // LOT).sum()) * LOT
        live = (need > 0) & (need % LOT == 0) & (need <= displayed)
        if not live.any():
            return
        offered = self.offered()[:, :, 0]
        # Lots still displayed but already ours pass the first check at every update until
        # the feed shows them replenished; allocating for such lanes would find nothing.
        live &= (offered // LOT).sum(axis=1) * LOT >= need
        if not live.any():
            return
        far_px = view.far_px[:, 0]
        # One vectorised greedy for all lanes: it costs about what one lane costs, while
        # grouping identical lanes first (np.unique over rows) was measured several times slower.
        split, _ = allocate_lanes(np.where(live, need, 0), far_px, offered, view.fee)
        for k in np.flatnonzero(split.any(axis=0)).tolist():
            self.take(k, split[:, k], int(far_px[k]))
