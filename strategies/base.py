"""The strategy interface: what a routing strategy sees, may do, and is told.

A strategy buys ``target`` shares between ``start_ns`` and ``end_ns``. The engine
calls ``on_start`` once, ``on_book`` at every instant the feed changes a book,
``on_fill`` and ``on_report`` as its orders trade and end, and timers it asked for.
It acts with ``buy`` (marketable, immediate-or-cancel), ``rest`` (a limit order in
a venue's bid queue) and ``cancel``. Whatever is left at the end of the window is
bought by the engine's catch-up sweep and reported separately.

Lanes: a strategy may run several parameter sets at once (``vectorized = True``),
keeping its state as arrays along the lane axis, so a sweep costs one replay.
Quantities passed to ``buy``/``rest`` are then arrays of shape ``[lanes]``; a plain
strategy has one lane and may pass ints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

import numpy as np

from venues.orders import Fill, OrderKind, OrderReport
from venues.view import BookView


class Router(Protocol):
    """The engine side of a strategy: sends, cancels, timers and its own view of the asks."""

    @property
    def now(self) -> int: ...

    def send(self, owner: int, venue: int, kind: OrderKind, qty: np.ndarray, limit_px: int) -> int: ...

    def cancel(self, owner: int, venue: int, order_id: int) -> None: ...

    def call_at(self, ts_ns: int, callback: Callable[[], None]) -> None: ...

    def available_asks(self, owner: int) -> np.ndarray: ...


class ParameterError(ValueError):
    """A strategy was given a parameter it does not know, or a bad value."""


class Strategy:
    """Base class of every routing strategy: one parent buy order, one or more parameter lanes.

    Subclasses set ``kind`` (the registered name), ``defaults`` (every parameter the
    strategy accepts, with its default) and optionally ``aliases`` (old name -> name)
    and ``vectorized``; then override the ``on_*`` callbacks they need.
    """

    kind: ClassVar[str] = ""
    defaults: ClassVar[Mapping[str, Any]] = {}
    aliases: ClassVar[Mapping[str, str]] = {}
    vectorized: ClassVar[bool] = False

    def __init__(
        self,
        params: Sequence[Mapping[str, Any]],
        *,
        target: int,
        start_ns: int,
        end_ns: int,
        venue_ids: tuple[int, ...],
        rng: np.random.Generator,
    ):
        if not params:
            raise ParameterError(f"{self.kind}: no parameter set")
        if len(params) > 1 and not self.vectorized:
            raise ParameterError(f"{self.kind}: runs one parameter set per instance")
        self.params = [self.resolve_params(p) for p in params]
        self.lanes = len(self.params)
        self.target = int(target)
        self.start_ns = int(start_ns)
        self.end_ns = int(end_ns)
        self.venue_ids = venue_ids
        self.rng = rng
        self.filled = np.zeros(self.lanes, dtype=np.int64)
        self.pending = np.zeros(self.lanes, dtype=np.int64)
        self.owner = -1
        self._router: Router | None = None

    @classmethod
    def resolve_params(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Return the full parameter set: defaults overlaid with ``given`` (aliases resolved)."""
        out = dict(cls.defaults)
        for key, value in given.items():
            name = cls.aliases.get(key, key)
            if name not in cls.defaults:
                known = ", ".join(sorted(cls.defaults)) or "none"
                raise ParameterError(f"{cls.kind}: unknown parameter {key!r} (known: {known})")
            out[name] = value
        return out

    def bind(self, router: Router, owner: int) -> None:
        """Attach the strategy to the engine (called once, before ``on_start``)."""
        self._router = router
        self.owner = owner

    # -- state --------------------------------------------------------------------

    def param(self, name: str) -> np.ndarray:
        """Return parameter ``name`` across lanes as a float array of shape ``[lanes]``."""
        return np.array([p[name] for p in self.params], dtype=np.float64)

    @property
    def now(self) -> int:
        return self._router.now

    def remaining(self) -> np.ndarray:
        """Return the shares not yet filled, per lane."""
        return self.target - self.filled

    def open_qty(self) -> np.ndarray:
        """Return the shares neither filled nor working in an order, per lane."""
        return self.target - self.filled - self.pending

    @property
    def done(self) -> bool:
        """True once every lane has its whole target."""
        return bool((self.filled >= self.target).all())

    def available_asks(self) -> np.ndarray:
        """Return the ask sizes offered to this strategy, shape ``[lanes, venues, levels]``.

        That is the displayed size less what this strategy already took and has not
        seen replenished (prices are ``BookView.ask_px``).
        """
        return self._router.available_asks(self.owner)

    # -- actions ------------------------------------------------------------------

    def _lanes(self, qty: Any) -> np.ndarray:
        arr = np.array(qty, dtype=np.int64).reshape(-1)
        if arr.shape[0] == 1 and self.lanes > 1:
            arr = np.repeat(arr, self.lanes)
        if arr.shape[0] != self.lanes:
            raise ValueError(f"{self.kind}: order for {arr.shape[0]} lanes, strategy has {self.lanes}")
        if (arr < 0).any():
            raise ValueError(f"{self.kind}: negative order quantity")
        return arr

    def buy(self, venue: int, qty: Any, limit_px: int) -> int | None:
        """Send a marketable buy to venue index ``venue``: cross asks up to ``limit_px``, cancel the rest.

        Return the order id, or ``None`` when every lane's quantity is zero.
        """
        arr = self._lanes(qty)
        if not arr.any():
            return None
        return self._router.send(self.owner, venue, OrderKind.MARKETABLE, arr, int(limit_px))

    def rest(self, venue: int, qty: Any, limit_px: int) -> int | None:
        """Send a buy limit order to rest at ``limit_px`` in venue ``venue``'s bid queue."""
        arr = self._lanes(qty)
        if not arr.any():
            return None
        return self._router.send(self.owner, venue, OrderKind.LIMIT, arr, int(limit_px))

    def cancel(self, venue: int, order_id: int) -> None:
        """Ask venue ``venue`` to cancel what is left of a resting order (after the latency)."""
        self._router.cancel(self.owner, venue, order_id)

    def call_at(self, ts_ns: int, callback: Callable[[], None]) -> None:
        """Call ``callback()`` at simulated time ``ts_ns`` (now, if that is past)."""
        self._router.call_at(ts_ns, callback)

    # -- callbacks ----------------------------------------------------------------

    def on_start(self, view: BookView) -> None:
        """Prepare before the first book (timers, schedules)."""

    def on_book(self, view: BookView) -> None:
        """React to the books after the feed changed one or more venues at ``view.ts``."""

    def on_fill(self, fill: Fill) -> None:
        """Learn of a fill (``filled`` is already updated)."""

    def on_report(self, report: OrderReport) -> None:
        """Learn that an order ended (``pending`` is already updated)."""

    def on_end(self, view: BookView) -> None:
        """Tidy up at the end of the window, before the catch-up sweep (cancels are automatic)."""
