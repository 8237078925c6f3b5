"""The displayed books of every venue as strategies see them now, in the order's frame.

Arrays are indexed ``[venue, level]`` with venues in the run's order
(``venue_ids``). ``far_px``/``far_sz`` are the side we take (the asks of a buy, the
bids of a sell) and ``near_px``/``near_sz`` the side we join, in *order prices*
(the price for a buy, minus the price for a sell: lower is better, level 0 is the
best). An empty level has size 0 (and price 0). A venue not seen yet shows nothing
(``seen`` false), and so does one whose quote is older than the run's
``max_quote_age`` (``stale`` true): strategies treat it as unknown.

The view is a window on the tape: it copies a venue's row in only when the books
are read and the venue changed since, so the replay pays for books that are looked
at, not for every row of the feed. History is not readable: strategies that need
it keep their own (``Strategy.on_tape`` hands them every row once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from feeds.market import units_to_decimal
from venues.queue_models import DEFAULT_QUEUE_MODEL

_NAMES = ("ask_px", "ask_sz", "bid_px", "bid_sz")


class BookView:
    """The latest visible book of each venue (see the module docstring).

    Parameters
    ----------
    tape
        The ``sim.tape.Tape`` being replayed.
    clock
        Returns the current simulated time in ns.
    fees
        One ``venues.fees.FeeModel`` per venue.
    levels
        Book levels of the feed.
    max_quote_age_ns
        A venue whose last visible row is older than this is shown empty (``None``: never).
    queue_models
        One ``venues.queue_models.QueueModel`` per venue: the simulator's rule for where
        cancels at our price stood, for strategies that estimate their own fills
        (``None``: the default model at every venue).
    """

    def __init__(
        self,
        tape,
        clock: Callable[[], int],
        fees: Sequence,
        levels: int,
        max_quote_age_ns: int | None = None,
        queue_models: Sequence | None = None,
    ):
        self._tape = tape
        self._clock = clock
        self._fees = tuple(fees)
        self.venue_ids: tuple[int, ...] = tape.venue_ids
        k = len(self.venue_ids)
        self.queue_models: tuple = (DEFAULT_QUEUE_MODEL,) * k if queue_models is None else tuple(queue_models)
        if len(self.queue_models) != k:
            raise ValueError(f"need one queue model per venue ({k}), got {len(self.queue_models)}")
        self.sign = tape.sign
        self.side = tape.side
        k = len(self.venue_ids)
        self.levels = int(levels)
        self._books = {name: np.zeros((k, self.levels), dtype=np.int64) for name in _NAMES}
        self._rows = np.full(k, -1, dtype=np.int64)
        self._generation = -1
        self._at = None
        self.max_quote_age_ns = max_quote_age_ns
        self.seen = np.zeros(k, dtype=bool)
        self.stale = np.zeros(k, dtype=bool)
        self._fee = np.zeros(k, dtype=np.int64)
        self._rebate = np.zeros(k, dtype=np.int64)
        self._fees_at = None
        #: How often a read found a stale venue, and how many reads there were (for the result).
        self.stale_reads = 0
        self.reads = 0

    @property
    def venues(self) -> int:
        return len(self.venue_ids)

    @property
    def ts(self) -> int:
        """The current simulated time (ns)."""
        return int(self._clock())

    def _sync(self) -> None:
        now = self._clock()
        tape = self._tape
        if self._at == now and self._generation == tape.generation:
            return
        md = tape.md
        rows = tape.visible_rows(now)
        if self.max_quote_age_ns is None:
            shown = rows  # -1 where nothing is visible yet
        else:
            fresh = rows >= 0
            age_ok = np.zeros_like(fresh)
            age_ok[fresh] = now - md.ts_event[rows[fresh]] <= self.max_quote_age_ns
            self.stale = fresh & ~age_ok
            self.reads += 1
            self.stale_reads += int(self.stale.any())
            shown = np.where(age_ok, rows, -1)  # the row each venue shows; -1: unseen or stale
        if self._generation != tape.generation:
            changed = range(len(shown))
        else:
            # Few venues change between reads: plain integers beat numpy on a handful of them.
            now_rows, before = shown.tolist(), self._rows.tolist()
            changed = [k for k in range(len(now_rows)) if now_rows[k] != before[k]]
        if changed:
            books = self._books
            for k in changed:
                row = int(shown[k])
                for name, book in books.items():
                    if row >= 0:
                        book[k] = getattr(md, name)[row]
                    else:
                        book[k] = 0
        self.seen |= rows >= 0
        self._rows = shown.copy() if shown is rows else shown
        self._generation = tape.generation
        self._at = now

    @property
    def far_px(self) -> np.ndarray:
        """Far-side order prices (what we take), ``[venue, level]``."""
        self._sync()
        return self._books["ask_px"]

    @property
    def far_sz(self) -> np.ndarray:
        """Far-side sizes, ``[venue, level]``."""
        self._sync()
        return self._books["ask_sz"]

    @property
    def near_px(self) -> np.ndarray:
        """Near-side order prices (where we queue), ``[venue, level]``."""
        self._sync()
        return self._books["bid_px"]

    @property
    def near_sz(self) -> np.ndarray:
        """Near-side sizes, ``[venue, level]``."""
        self._sync()
        return self._books["bid_sz"]

    def _fee_arrays(self) -> None:
        far = self.far_px[:, 0]
        key = tuple(far.tolist())
        if self._fees_at != key:
            for k, model in enumerate(self._fees):
                price = int(self.sign * far[k])
                self._fee[k] = model.taker_per_share(price)
                self._rebate[k] = -model.maker_per_share(price)
            self._fees_at = key

    @property
    def fee(self) -> np.ndarray:
        """What taking costs per share at each venue, 1e-9 dollars (negative: a taker rebate)."""
        self._fee_arrays()
        return self._fee

    @property
    def rebate(self) -> np.ndarray:
        """What a filled resting order earns per share at each venue (negative: a maker fee)."""
        self._fee_arrays()
        return self._rebate

    def best_far(self) -> tuple[np.ndarray, np.ndarray]:
        """Return each venue's best far order price and whether it shows one (size > 0)."""
        sz = self.far_sz[:, 0]
        return self.far_px[:, 0], sz > 0

    def best_near(self) -> tuple[np.ndarray, np.ndarray]:
        """Return each venue's best near order price and whether it shows one (size > 0)."""
        sz = self.near_sz[:, 0]
        return self.near_px[:, 0], sz > 0

    def dollars(self, order_px: int):
        """Return an order price as an exact ``Decimal`` number of dollars."""
        return units_to_decimal(int(self.sign * order_px))
