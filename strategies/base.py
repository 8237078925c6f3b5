"""The strategy interface: what a routing strategy sees, may do, and is told.

A strategy works one parent order: ``target`` shares on one side between
``start_ns`` and ``end_ns``. The engine calls ``on_start`` once, ``on_book``
whenever the books it sees change while it is ``watching``, ``on_tape`` with
every batch of feed rows that became visible (for estimators), ``on_fill`` and
``on_report`` as its orders trade and end, and the timers it asked for. It acts
with ``take`` (a marketable order: cross the far side up to a limit, the rest is
cancelled), ``post`` (a limit order that joins the queue on our own side) and
``cancel``. Whatever is left at the end of the window is bought (or sold) by the
engine's catch-up sweep and reported apart.

Prices in the order's frame
---------------------------
A strategy sees the market *in the order's frame*, so the same code buys and
sells: the far side (``view.far_px``, what we take: the asks of a buy, the bids
of a sell) and the near side (``view.near_px``, where we queue) hold
*order prices*: the price for a buy, minus the price for a sell. Lower is always
better for us, the best level is level 0 on both sides, and limit prices passed
to ``take``/``post`` are order prices too. ``view.dollars(px)`` turns one back
into dollars. Fees are per share in 1e-9 dollars whatever the side.

Lanes
-----
A plain ``Strategy`` runs one parameter set and deals in plain numbers:
``self.p`` is its parameters, ``open_qty()`` an int, ``offered()`` a
``[venues, levels]`` array, and ``take``/``post`` accept ints. A
``LaneStrategy`` (``vectorized``) runs a whole parameter sweep in one instance,
one *lane* per parameter set, holding its state as arrays along the lane axis so
a sweep costs one replay: ``self.lane_params`` is a tuple of parameter sets and
quantities are ``[lanes]`` arrays.

Parameters
----------
Each strategy declares its parameters once, as an attrs class ``Params`` whose
fields are made with ``venues.params.param`` (default, type, range, meaning).
The scenario's table is checked against it once, when the scenario is read
(``parse_params``): an unknown key, a wrong type or a value out of range is a
one-line error naming the strategy, the parameter and the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

import attrs
import numpy as np

from venues import params as checks
from venues.orders import Fill, OrderKind, OrderReport
from venues.params import ConfigError
from venues.view import BookView

#: A strategy parameter that is unknown, of the wrong type or out of range.
ParameterError = ConfigError


@attrs.frozen
class NoParams:
    """The parameters of a strategy that takes none."""


class Router(Protocol):
    """One strategy's handle on the engine: sends, cancels, timers and what the venues offer it."""

    @property
    def now(self) -> int: ...

    def send(self, venue: int, kind: OrderKind, qty: np.ndarray, limit_px: int) -> int: ...

    def cancel(self, venue: int, order_id: int, lanes: np.ndarray | None = None) -> None: ...

    def call_at(self, ts_ns: int, callback: Callable[[], None]) -> None: ...

    def offered(self) -> np.ndarray: ...


@attrs.frozen
class Order:
    """The parent order every strategy of a run works: its side, size and window."""

    side: str
    target: int
    start_ns: int
    end_ns: int


class LaneStrategy:
    """Base class of every routing strategy, with one lane per parameter set (see the module).

    Subclasses set ``kind`` (the registered name) and ``Params`` (an attrs class of
    ``venues.params.param`` fields), then override the ``on_*`` callbacks they need
    and ``watching`` when they need no books for a while.
    """

    kind: ClassVar[str] = ""
    Params: ClassVar[type] = NoParams
    vectorized: ClassVar[bool] = True

    def __init__(
        self,
        params: Sequence[Any],
        *,
        order: Order,
        venue_ids: tuple[int, ...],
        rng: np.random.Generator,
        router: Router,
    ):
        if not params:
            raise ParameterError(f"{self.kind}: no parameter set")
        if len(params) > 1 and not self.vectorized:
            raise ParameterError(f"{self.kind}: runs one parameter set per instance")
        self.lane_params: tuple[Any, ...] = tuple(params)
        self.lanes = len(self.lane_params)
        self.order = order
        self.side = order.side
        self.target = int(order.target)
        self.start_ns = int(order.start_ns)
        self.end_ns = int(order.end_ns)
        self.venue_ids = venue_ids
        self.rng = rng
        self.filled = np.zeros(self.lanes, dtype=np.int64)
        self.pending = np.zeros(self.lanes, dtype=np.int64)
        self._router = router

    # -- parameters -------------------------------------------------------------------

    @classmethod
    def parse_params(cls, given: Mapping[str, Any], where: str = "") -> Any:
        """Return ``cls.Params`` built from a scenario table, checked (see the module docstring)."""
        return checks.from_table(cls.Params, where or cls.kind, given)

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """Return every parameter with its default, in declaration order."""
        return checks.defaults(cls.Params)

    def param(self, name: str) -> np.ndarray:
        """Return parameter ``name`` across lanes as a float array of shape ``[lanes]``."""
        return np.array([getattr(p, name) for p in self.lane_params], dtype=np.float64)

    # -- state --------------------------------------------------------------------------

    @property
    def now(self) -> int:
        return self._router.now

    def remaining(self) -> np.ndarray:
        """Return the shares not yet filled, per lane (negative once a lane overfilled)."""
        return self.target - self.filled

    def open_qty(self) -> np.ndarray:
        """Return the shares neither filled nor working in an order, per lane."""
        return self.target - self.filled - self.pending

    @property
    def done(self) -> bool:
        """True once every lane has its whole target."""
        return bool((self.filled >= self.target).all())

    @property
    def watching(self) -> bool:
        """Whether ``on_book`` should be called when the books change (default: while shares are open).

        The engine skips the stretches of feed nobody watches, so a strategy that waits
        for a timer should say so here.
        """
        return bool((self.open_qty() > 0).any())

    def offered(self) -> np.ndarray:
        """Return the far-side sizes offered to this strategy, shape ``[lanes, venues, levels]``.

        That is the displayed size less what this strategy already took and has not
        seen replenished, and less what its marketable orders still in flight will take
        (prices are ``BookView.far_px``).
        """
        return self._router.offered()

    # -- actions ------------------------------------------------------------------------

    def _lanes(self, qty: Any) -> np.ndarray:
        arr = np.array(qty, dtype=np.int64).reshape(-1)
        if arr.shape[0] == 1 and self.lanes > 1:
            arr = np.repeat(arr, self.lanes)
        if arr.shape[0] != self.lanes:
            raise ValueError(f"{self.kind}: order for {arr.shape[0]} lanes, strategy has {self.lanes}")
        if (arr < 0).any():
            raise ValueError(f"{self.kind}: negative order quantity")
        return arr

    def take(self, venue: int, qty: Any, limit_px: int) -> int | None:
        """Send a marketable order to venue index ``venue``: cross the far side up to ``limit_px``.

        What cannot fill on arrival is cancelled. Return the order id, or ``None``
        when every lane's quantity is zero.
        """
        arr = self._lanes(qty)
        if not arr.any():
            return None
        return self._router.send(venue, OrderKind.MARKETABLE, arr, int(limit_px))

    def post(self, venue: int, qty: Any, price: int) -> int | None:
        """Send a limit order to join the queue at order price ``price`` on our side of venue ``venue``."""
        arr = self._lanes(qty)
        if not arr.any():
            return None
        return self._router.send(venue, OrderKind.LIMIT, arr, int(price))

    def cancel(self, venue: int, order_id: int, lanes: np.ndarray | None = None) -> None:
        """Ask venue ``venue`` to cancel what is left of a resting order (after the cancel latency).

        ``lanes`` (a boolean mask) cancels only those lanes: a lane that is done pulls its
        own shares while the others keep theirs.
        """
        self._router.cancel(venue, order_id, lanes)

    def call_at(self, ts_ns: int, callback: Callable[[], None]) -> None:
        """Call ``callback()`` at simulated time ``ts_ns`` (now, if that is past; never after the window)."""
        self._router.call_at(ts_ns, callback)

    # -- callbacks ----------------------------------------------------------------------

    def on_start(self, view: BookView) -> None:
        """Prepare before the first book (timers, schedules)."""

    def on_book(self, view: BookView) -> None:
        """React to the books after the feed changed one or more venues at ``view.ts``."""

    def on_tape(self, rows: Any, venue_index: np.ndarray) -> None:
        """Learn the feed rows that became visible since the last call (a ``MarketData`` slice).

        ``venue_index[i]`` is row ``i``'s venue in the run's venue order. Called before
        any other callback that follows them, so estimators are current; rows come in
        time order, each exactly once.
        """

    def on_fill(self, fill: Fill) -> None:
        """Learn of a fill (``filled`` is already updated)."""

    def on_report(self, report: OrderReport) -> None:
        """Learn that an order ended (``pending`` is already updated)."""

    def on_end(self, view: BookView) -> None:
        """Tidy up at the end of the window, before the catch-up sweep (cancels are automatic)."""


class Strategy(LaneStrategy):
    """A strategy with one parameter set, in plain numbers: the shortcut for plugin authors.

    ``self.p`` is the parameter set, ``open_qty()`` and ``remaining()`` are ints,
    ``offered()`` is ``[venues, levels]``, and ``take``/``post`` take an int
    quantity. Everything else is ``LaneStrategy``'s.
    """

    vectorized: ClassVar[bool] = False

    @property
    def p(self) -> Any:
        """The strategy's parameters (an instance of ``Params``)."""
        return self.lane_params[0]

    def remaining(self) -> int:  # type: ignore[override]
        """Return the shares not yet filled (negative once the order overfilled)."""
        return int(self.target - self.filled[0])

    def open_qty(self) -> int:  # type: ignore[override]
        """Return the shares neither filled nor working in an order."""
        return int(self.target - self.filled[0] - self.pending[0])

    @property
    def watching(self) -> bool:
        return self.open_qty() > 0

    def offered(self) -> np.ndarray:
        """Return the far-side sizes offered to this strategy, ``[venues, levels]``."""
        return self._router.offered()[0]
