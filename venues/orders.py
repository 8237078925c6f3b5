"""Values that pass between strategies and venues: child orders, fills, order reports.

Quantities are int64 arrays along the *lane* axis: a strategy that runs several
parameter sets at once (a vectorised sweep) sends one order whose ``qty[p]`` is the
quantity for parameter set ``p``. A plain strategy has one lane.
"""

from __future__ import annotations

import enum

import attrs
import numpy as np


class OrderKind(enum.Enum):
    """How an order meets the book."""

    #: Cross the ask up to ``limit_px``; what cannot fill at arrival is cancelled (IOC).
    MARKETABLE = "marketable"
    #: Rest at ``limit_px`` on the bid, in the venue's queue, until filled or cancelled.
    LIMIT = "limit"


class Liquidity(enum.Enum):
    """Which side of a trade we were on."""

    TAKER = "taker"
    MAKER = "maker"


@attrs.frozen(eq=False)
class ChildOrder:
    """A buy order one strategy sends to one venue.

    ``owner`` is the engine's index of the sending strategy, ``venue`` the venue's
    index in the run (not its publisher id), ``limit_px`` in 1e-9 dollar units.
    """

    order_id: int
    owner: int
    venue: int
    kind: OrderKind
    qty: np.ndarray
    limit_px: int
    ts_sent: int


@attrs.frozen(eq=False)
class Fill:
    """Shares one order received at one price at one instant, per lane.

    ``fee_per_share`` is what we pay per share in 1e-9 dollars (a taker fee), and
    ``rebate_per_share`` what we earn (a maker rebate); ``queue_ahead`` is the
    displayed size ahead of a resting order when it entered the queue (``None`` for takers).
    """

    order_id: int
    owner: int
    venue: int
    ts: int
    price: int
    qty: np.ndarray
    liquidity: Liquidity
    fee_per_share: int
    rebate_per_share: int
    catch_up: bool = False
    queue_ahead: np.ndarray | None = None


@attrs.frozen(eq=False)
class OrderReport:
    """The end of some or all lanes of an order at a venue: what they filled and what was cancelled.

    A lane appears in exactly one report of its order (``filled + cancelled`` is its
    size there, zero in the others); ``complete`` is true on the report that ends the
    order's last lanes.
    """

    order_id: int
    owner: int
    venue: int
    ts: int
    filled: np.ndarray
    cancelled: np.ndarray
    complete: bool = True
