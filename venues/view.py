"""The displayed books of every venue at the current instant: what strategies see."""

from __future__ import annotations

import numpy as np

from feeds.market import MarketData


class BookView:
    """The latest displayed book of each venue, updated in place as the feed advances.

    Arrays are indexed ``[venue, level]`` with venues in the run's order
    (``venue_ids``); prices in 1e-9 dollars, an empty level has price 0 and size 0.
    ``fee``/``rebate`` are per share in 1e-9 dollars. ``seen`` is false for a venue
    whose first snapshot has not arrived yet.

    History is readable only up to now: ``column(name)`` returns the feed column up
    to the last row applied, so a strategy cannot look ahead.
    """

    def __init__(self, md: MarketData, venue_ids: tuple[int, ...], fee: np.ndarray, rebate: np.ndarray):
        k, levels = len(venue_ids), md.levels
        self._md = md
        self.venue_ids = venue_ids
        self.fee = np.asarray(fee, dtype=np.int64)
        self.rebate = np.asarray(rebate, dtype=np.int64)
        self.bid_px = np.zeros((k, levels), dtype=np.int64)
        self.bid_sz = np.zeros((k, levels), dtype=np.int64)
        self.ask_px = np.zeros((k, levels), dtype=np.int64)
        self.ask_sz = np.zeros((k, levels), dtype=np.int64)
        self.seen = np.zeros(k, dtype=bool)
        self.ts = 0
        #: Rows of the feed applied at the current instant: ``range(batch_start, batch_stop)``.
        self.batch_start = 0
        self.batch_stop = 0

    @property
    def venues(self) -> int:
        return len(self.venue_ids)

    def apply(self, k: int, row: int) -> None:
        """Show feed row ``row`` as venue ``k``'s book."""
        md = self._md
        self.bid_px[k] = md.bid_px[row]
        self.bid_sz[k] = md.bid_sz[row]
        self.ask_px[k] = md.ask_px[row]
        self.ask_sz[k] = md.ask_sz[row]
        self.seen[k] = True

    def column(self, name: str) -> np.ndarray:
        """Return feed column ``name`` (``ts_event``, ``venue``, ``action``, ``price``...) up to now."""
        return getattr(self._md, name)[: self.batch_stop]

    def best_ask(self) -> np.ndarray:
        """Return each venue's best ask price (0 where its ask side is empty)."""
        return np.where(self.ask_sz[:, 0] > 0, self.ask_px[:, 0], 0)

    def best_bid(self) -> np.ndarray:
        """Return each venue's best bid price (0 where its bid side is empty)."""
        return np.where(self.bid_sz[:, 0] > 0, self.bid_px[:, 0], 0)
