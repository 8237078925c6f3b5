"""Taker fill rules: how much of the displayed far side a marketable order gets.

A rule sees the levels a marketable order may reach (order prices, best first,
and the sizes offered to each lane) and returns the shares it takes at each
level. The default walks the book: every level priced at or better than the limit,
best first, as a price-time-priority venue executes a marketable order against
displayed liquidity.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs
import numpy as np

from venues.params import param


@runtime_checkable
class TakerRule(Protocol):
    """How a marketable order meets the displayed far side of one venue."""

    def fill(self, px: np.ndarray, offered: np.ndarray, want: np.ndarray, limit_px: int) -> np.ndarray:
        """Return the shares taken per lane and level, shape ``offered.shape``.

        Parameters
        ----------
        px : ndarray of int, shape ``[levels]``
            Far-side order prices, best first (an empty level has size 0).
        offered : ndarray of int, shape ``[lanes, levels]``
            Shares each lane may take at each level (displayed less what it took).
        want : ndarray of int, shape ``[lanes]``
            The order's size per lane.
        limit_px : int
            The order's limit (order price: take levels priced at or below it).
        """
        ...


def _walk(offered: np.ndarray, want: np.ndarray) -> np.ndarray:
    # Fill levels in order: a level gets what is still wanted after the levels before it.
    before = np.cumsum(offered, axis=1) - offered
    return np.clip(want[:, None] - before, 0, offered)


@attrs.frozen
class WalkBook:
    """Take every displayed level priced at or better than the limit, best first (the default)."""

    def fill(self, px: np.ndarray, offered: np.ndarray, want: np.ndarray, limit_px: int) -> np.ndarray:
        reach = px <= limit_px
        return _walk(np.where(reach[None, :], np.maximum(offered, 0), 0), want)


@attrs.frozen
class TopOfBook:
    """Take at the best displayed level only: deeper levels are assumed gone before we arrive."""

    def fill(self, px: np.ndarray, offered: np.ndarray, want: np.ndarray, limit_px: int) -> np.ndarray:
        out = np.zeros_like(offered)
        if px.size and px[0] <= limit_px:
            out[:, 0] = np.minimum(want, np.maximum(offered[:, 0], 0))
        return out


@attrs.frozen
class DisplayedShare:
    """Walk the book but get only ``share`` of each displayed level: others race us for it."""

    share: float = param(0.5, lo=0.0, hi=1.0, lo_open=True, doc="share of each level we get")

    def fill(self, px: np.ndarray, offered: np.ndarray, want: np.ndarray, limit_px: int) -> np.ndarray:
        reach = px <= limit_px
        ours = np.floor(np.maximum(offered, 0) * self.share).astype(np.int64)
        return _walk(np.where(reach[None, :], ours, 0), want)
