"""TWAP: the time-sliced taker baseline."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from strategies.base import ParameterError, Strategy
from strategies.best_ask import take_best_levels
from venues.params import param
from venues.view import BookView

_NS_PER_S = 1_000_000_000
#: A window cut into more buckets than this is a typo (a timer per bucket would never end).
MAX_BUCKETS = 1_000_000


@attrs.frozen
class TwapParams:
    """TWAP's one parameter: how long a bucket lasts."""

    bucket_s: float = param(60, lo=0.001, hi=86_400.0, unit="s", doc="bucket length")


class Twap(Strategy):
    """Buy (or sell) equal slices of the target in fixed time buckets, taking the cheapest best asks.

    The window ``[start_ns, end_ns]`` is cut into ``n = ceil((end_ns - start_ns) /
    bucket)`` buckets (at least one); bucket ``b`` covers ``[start_ns + b * bucket,
    start_ns + (b + 1) * bucket)``, so a book update exactly on a boundary belongs to
    the new bucket; the window's end instant belongs to the last bucket. A shorter
    last bucket is a bucket like the others: it gets the same slice.

    The cumulative schedule after bucket ``b`` is ``floor(target * (b + 1) / n)``
    shares (integer division; the last bucket reaches ``target`` exactly). At every
    book update, and at each bucket's start even if the feed is quiet, it buys up to
    ``schedule(b) - filled - pending`` with marketable orders at the level-0 asks
    still offered to it, best price first (ties: the venue listed first), each limited
    at that price. When a bucket starts at the instant of a book update, it trades on
    the updated books. What a bucket could not buy rolls into the next one; it never
    buys more than the target, and it decides from the current books only.
    """

    kind = "twap"
    Params = TwapParams

    def __init__(self, params: Any, **kwargs: Any):
        super().__init__(params, **kwargs)
        self.bucket_ns = int(Decimal(str(self.p.bucket_s)) * _NS_PER_S)
        span = max(self.end_ns - self.start_ns, 0)
        self.buckets = max(1, -(-span // self.bucket_ns))
        if self.buckets > MAX_BUCKETS:
            raise ParameterError(
                f"{self.kind}: bucket_s = {self.p.bucket_s} cuts the window into {self.buckets:,} buckets "
                f"(at most {MAX_BUCKETS:,})"
            )
        self._view: BookView | None = None
        # The schedule only changes at bucket boundaries: keep the current bucket's
        # value and the span of instants it holds for, so most book updates cost a compare.
        self._due = 0
        self._due_from = self._due_until = 0

    def bucket_at(self, ts_ns: int) -> int:
        """Return the bucket holding instant ``ts_ns`` (-1 before the window, the last one after it)."""
        if ts_ns < self.start_ns:
            return -1
        return min((ts_ns - self.start_ns) // self.bucket_ns, self.buckets - 1)

    def schedule(self, bucket: int) -> int:
        """Return the cumulative shares due by the end of ``bucket`` (0 before the window)."""
        if bucket < 0:
            return 0
        return self.target * (min(bucket, self.buckets - 1) + 1) // self.buckets

    def on_start(self, view: BookView) -> None:
        self._view = view
        self.call_at(self.start_ns, self._bucket_starts)

    @property
    def watching(self) -> bool:
        # Books matter only while this bucket's schedule is not yet sent; bucket starts are timers.
        return self._due_at(self.now) - int(self.filled[0]) - int(self.pending[0]) > 0

    def on_book(self, view: BookView) -> None:
        # The engine calls on_book at the instant it shows: view.ts is now.
        self._trade(view, view.ts)

    def _bucket_starts(self) -> None:
        # A book update due at this same instant is already queued; trading one event
        # later lets the bucket start on the books of this instant, whichever of the
        # two was queued first.
        self.call_at(self.now, self._trade_now)
        # One timer at a time, each arming the next: a long window with short buckets
        # never fills the event heap.
        b = self.bucket_at(self.now)
        if 0 <= b < self.buckets - 1:
            self.call_at(self.start_ns + (b + 1) * self.bucket_ns, self._bucket_starts)

    def _trade_now(self) -> None:
        self._trade(self._view, self.now)

    def _due_at(self, ts_ns: int) -> int:
        if not self._due_from <= ts_ns < self._due_until:
            bucket = self.bucket_at(ts_ns)
            self._due = self.schedule(bucket)
            if bucket < 0:
                self._due_from, self._due_until = -(2**63), self.start_ns
            elif bucket == self.buckets - 1:
                self._due_from, self._due_until = self.start_ns + bucket * self.bucket_ns, 2**63
            else:
                self._due_from = self.start_ns + bucket * self.bucket_ns
                self._due_until = self._due_from + self.bucket_ns
        return self._due

    def _trade(self, view: BookView, now: int) -> None:
        need = self._due_at(now) - int(self.filled[0]) - int(self.pending[0])
        if need > 0 and view.far_sz[:, 0].any():
            take_best_levels(self, view, need)
