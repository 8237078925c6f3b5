"""The displayed books of every venue at the current instant: what strategies see."""

from __future__ import annotations

import numpy as np

from feeds.market import MarketData


class BookView:
    """The latest displayed book of each venue, updated as the feed advances.

    Arrays are indexed ``[venue, level]`` with venues in the run's order
    (``venue_ids``); prices in 1e-9 dollars, an empty level has price 0 and size 0.
    ``fee``/``rebate`` are per share in 1e-9 dollars. ``seen`` is false for a venue
    whose first snapshot has not arrived yet.

    History is readable only up to now: ``column(name)`` returns the feed column up
    to the last row applied, so a strategy cannot look ahead.
    """

    # Applying a feed row only records which row each venue shows; ``bid_px`` ..
    # ``ask_sz`` copy the changed venues' rows in when read. Most instants nobody reads
    # the books (strategies that are done, or waiting for a timer), so the replay pays
    # for books that are looked at, not for every row of the feed.
    _NAMES = ("bid_px", "bid_sz", "ask_px", "ask_sz")

    def __init__(self, md: MarketData, venue_ids: tuple[int, ...], fee: np.ndarray, rebate: np.ndarray):
        k, levels = len(venue_ids), md.levels
        self._md = md
        self.venue_ids = venue_ids
        self.fee = np.asarray(fee, dtype=np.int64)
        self.rebate = np.asarray(rebate, dtype=np.int64)
        self._sources = tuple(getattr(md, name) for name in self._NAMES)
        self._books = tuple(np.zeros((k, levels), dtype=np.int64) for _ in self._NAMES)
        self._rows = [-1] * k
        # A change counter, the count at each venue's last change, and at each array's last refresh.
        self._changes = 0
        self._changed_at = [0] * k
        self._synced = [0] * len(self._NAMES)
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
        self._rows[k] = row
        self._changes += 1
        self._changed_at[k] = self._changes
        if not self.seen[k]:
            self.seen[k] = True

    def _book(self, j: int) -> np.ndarray:
        book = self._books[j]
        synced = self._synced[j]
        if synced != self._changes:
            source = self._sources[j]
            for k, changed in enumerate(self._changed_at):
                if changed > synced:
                    book[k] = source[self._rows[k]]
            self._synced[j] = self._changes
        return book

    @property
    def bid_px(self) -> np.ndarray:
        """Bid prices, ``[venue, level]``."""
        return self._book(0)

    @property
    def bid_sz(self) -> np.ndarray:
        """Bid sizes, ``[venue, level]``."""
        return self._book(1)

    @property
    def ask_px(self) -> np.ndarray:
        """Ask prices, ``[venue, level]``."""
        return self._book(2)

    @property
    def ask_sz(self) -> np.ndarray:
        """Ask sizes, ``[venue, level]``."""
        return self._book(3)

    def row_asks(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Return feed row ``row``'s ask prices and sizes (read-only views of the feed)."""
        return self._sources[2][row], self._sources[3][row]

    def column(self, name: str) -> np.ndarray:
        """Return feed column ``name`` (``ts_event``, ``venue``, ``action``, ``price``...) up to now."""
        return getattr(self._md, name)[: self.batch_stop]

    def best_ask(self) -> np.ndarray:
        """Return each venue's best ask price (0 where its ask side is empty)."""
        ask_sz = self.ask_sz
        return np.where(ask_sz[:, 0] > 0, self.ask_px[:, 0], 0)

    def best_bid(self) -> np.ndarray:
        """Return each venue's best bid price (0 where its bid side is empty)."""
        bid_sz = self.bid_sz
        return np.where(bid_sz[:, 0] > 0, self.bid_px[:, 0], 0)
