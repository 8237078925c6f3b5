"""VWAP: the size-weighted taker baseline."""

from __future__ import annotations

import numpy as np

from strategies.base import Strategy
from venues.view import BookView


def proportional_split(remaining: int, sizes: np.ndarray) -> np.ndarray:
    """Split ``remaining`` shares across venues in proportion to ``sizes`` (the VWAP rule).

    With ``S = sum(sizes)``: if ``remaining >= S`` every venue gets its whole size;
    otherwise venue ``v`` gets ``floor(remaining * sizes[v] / S)`` and the leftover
    ``remaining - sum`` goes one share each to the venues with the largest
    remainder ``remaining * sizes[v] mod S`` (ties: lower venue index first).

    Parameters
    ----------
    remaining : int
        Shares to place (``R``), non-negative.
    sizes : ndarray of int, shape ``[venues]``
        Offered level-0 ask size per venue.

    Returns
    -------
    ndarray of int64, shape ``[venues]``
        Shares per venue; never above ``sizes`` and summing to ``min(remaining, S)``.
    """
    sizes = np.maximum(np.asarray(sizes, dtype=np.int64), 0)
    total = int(sizes.sum())
    if remaining <= 0 or total == 0:
        return np.zeros_like(sizes)
    if remaining >= total:
        return sizes.copy()
    # Exact integer remainders decide the leftover; Python ints cannot overflow.
    scaled = [int(remaining) * int(s) for s in sizes]
    split = np.array([x // total for x in scaled], dtype=np.int64)
    leftover = int(remaining) - int(split.sum())
    by_remainder = sorted(range(len(scaled)), key=lambda k: (-(scaled[k] % total), k))
    for k in by_remainder[:leftover]:
        split[k] += 1
    return split


class Vwap(Strategy):
    """Split what is open across venues in proportion to their offered best far sizes.

    At every book update, with ``R`` the open quantity (remaining less in-flight) and
    ``s_v`` the level-0 far size (the best ask of a buy) still offered to us at venue ``v`` (``S = sum s_v``):
    if ``R >= S`` it takes every venue's offered size; otherwise venue ``v`` gets
    ``q_v = floor(R * s_v / S)`` and the leftover ``R - sum q_v`` goes one share at a
    time to the venues in descending order of the fractional remainder
    ``R * s_v / S - q_v`` (ties: lower venue index first). Each ``q_v`` is sent as a
    marketable order limited at venue ``v``'s level-0 far price. Fees and prices do
    not enter the split.
    """

    kind = "vwap"

    def on_book(self, view: BookView) -> None:
        need = self.open_qty()
        if need <= 0 or not view.far_sz[:, 0].any():
            return
        split = proportional_split(need, self.offered()[:, 0])
        for k in np.flatnonzero(split).tolist():
            self.take(k, int(split[k]), int(view.far_px[k, 0]))
