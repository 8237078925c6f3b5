"""The order side of a run: child orders from strategies to venues, and the venues' news back.

The router is what strategies talk to (each through its own ``Handle``, so no
strategy passes an owner around) and what venues report to (the sink): it numbers
orders, books fills in the ledgers, keeps each strategy's marketable orders in
flight (so ``offered`` does not offer the same shares twice), and tells each
strategy of its fills and order ends after the venue's response latency. It
schedules nothing of its own beyond those response messages; calling a strategy
back goes through the kernel's ``dispatch`` (which brings books and tape up to now
first).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import simpy

from sim.ledger import Ledger
from strategies.base import LaneStrategy
from venues.latency import Link
from venues.orders import ChildOrder, Fill, OrderKind, OrderReport
from venues.venue import Venue
from venues.view import BookView

Dispatch = Callable[..., None]


class OrderRouter:
    """Routes child orders and their news between strategies and venues (see the module docstring)."""

    def __init__(
        self,
        env: simpy.Environment,
        view: BookView,
        *,
        dispatch: Dispatch,
        wake: Callable[[], None],
        on_fill: Callable[[Fill], None] | None = None,
    ):
        self.env = env
        self.view = view
        self._dispatch = dispatch
        self._wake = wake
        self._fill_hook = on_fill
        self.venues: list[Venue] = []
        self.strategies: list[LaneStrategy] = []
        self.ledgers: list[Ledger] = []
        self._responses: dict[tuple[int, int], Link] = {}
        self._next_order_id = 1
        self._orders: dict[int, ChildOrder] = {}
        self._in_flight: list[dict[int, ChildOrder]] = []
        #: After the window closes, news reaches strategies at once (no event runs any more).
        self.closed = False

    def attach(
        self, venues: Sequence[Venue], strategies: Sequence[LaneStrategy], ledgers: Sequence[Ledger]
    ) -> None:
        """Give the router the run's venues, strategies and their ledgers (once, before the replay)."""
        self.venues = list(venues)
        self.strategies = list(strategies)
        self.ledgers = list(ledgers)
        self._in_flight = [{} for _ in self.strategies]

    def new_order_id(self) -> int:
        order_id = self._next_order_id
        self._next_order_id += 1
        return order_id

    # -- what strategies call (through their handles) ------------------------------------

    def send(self, owner: int, venue: int, kind: OrderKind, qty: np.ndarray, limit_px: int) -> int:
        order = ChildOrder(
            order_id=self.new_order_id(),
            owner=owner,
            venue=venue,
            kind=kind,
            qty=qty,
            limit_px=limit_px,
            ts_sent=int(self.env.now),
        )
        self._orders[order.order_id] = order
        if kind is OrderKind.MARKETABLE:
            self._in_flight[owner][order.order_id] = order
        self.strategies[owner].pending += qty
        self.venues[venue].send(order)
        return order.order_id

    def cancel(self, owner: int, venue: int, order_id: int, lanes: np.ndarray | None = None) -> None:
        self.venues[venue].send_cancel(owner, order_id, lanes)

    def offered(self, owner: int) -> np.ndarray:
        """Return the far sizes offered to ``owner``: displayed, less taken, less its orders in flight."""
        view = self.view
        lanes = self.strategies[owner].lanes
        far_px, far_sz = view.far_px, view.far_sz
        out = np.broadcast_to(far_sz, (lanes, *far_sz.shape)).copy()
        for k, venue in enumerate(self.venues):
            taken = venue.book.taken.get(owner)
            if taken:
                taken.subtract(out[:, k, :], far_px[k], far_sz[k])
        for order in self._in_flight[owner].values():
            # What a marketable order on its way will take, best levels first, up to its limit.
            k = order.venue
            reach = far_px[k] <= order.limit_px
            before = np.cumsum(out[:, k, :] * reach, axis=1) - out[:, k, :] * reach
            out[:, k, :] -= np.clip(order.qty[:, None] - before, 0, out[:, k, :]) * reach
        return out

    # -- what venues call (the sink) -----------------------------------------------------

    def on_fill(self, fill: Fill) -> None:
        self.ledgers[fill.owner].record(fill)
        if self._fill_hook is not None:
            self._fill_hook(fill)
        self._respond(fill.venue, self._tell_fill, fill)

    def on_report(self, report: OrderReport) -> None:
        if report.complete:
            self._orders.pop(report.order_id, None)
        self._in_flight[report.owner].pop(report.order_id, None)
        self._respond(report.venue, self._tell_report, report)

    def on_resting(self, venue: int) -> None:
        self._wake()

    def _respond(self, venue: int, tell: Callable, message) -> None:
        # News with no response delay reaches the strategy at once, inside the venue's step;
        # so does the closing sweep's, after which no event runs.
        owner = message.owner
        delay = 0 if self.closed else self.venues[venue].response_ns(owner)
        if delay == 0:
            tell(message)
            return
        link = self._responses.get((venue, owner))
        if link is None:
            link = self._responses[venue, owner] = Link(self.env, _deliver)
        link.send((tell, message), delay)

    def _tell_fill(self, fill: Fill) -> None:
        strategy = self.strategies[fill.owner]
        strategy.filled += fill.qty
        self._dispatch(fill.owner, strategy.on_fill, fill)

    def _tell_report(self, report: OrderReport) -> None:
        strategy = self.strategies[report.owner]
        strategy.pending -= report.filled + report.cancelled
        self._dispatch(report.owner, strategy.on_report, report)

    # -- the window's end ------------------------------------------------------------------

    def catch_up(self) -> None:
        """Sweep the last books' depth for what each lane lacks, cheapest price plus fee first."""
        levels = []
        for k, venue in enumerate(self.venues):
            book = venue.book
            row = book.current_row()
            if row < 0:
                continue
            md = book.tape.md
            for level in range(md.ask_px.shape[1]):
                if md.ask_sz[row, level] > 0:
                    px = int(md.ask_px[row, level])
                    levels.append((px + venue.config.fees.taker_per_share(book.sign * px), px, k))
        levels.sort()
        now = int(self.env.now)
        for owner, strategy in enumerate(self.strategies):
            rem = strategy.target - self.ledgers[owner].filled
            np.maximum(rem, 0, out=rem)
            if not rem.any():
                continue
            order_id = self.new_order_id()
            for _cost, px, k in levels:
                self.venues[k].book.take(owner, order_id, rem, px, now, only_px=px, catch_up=True)
                if not rem.any():
                    break


class Handle:
    """One strategy's handle on the run (``strategies.base.Router``): no owner to pass around."""

    __slots__ = ("_router", "_owner", "_timer")

    def __init__(
        self, router: OrderRouter, owner: int, timer: Callable[[int, int, Callable[[], None]], None]
    ):
        self._router = router
        self._owner = owner
        self._timer = timer

    @property
    def now(self) -> int:
        return int(self._router.env.now)

    def send(self, venue: int, kind: OrderKind, qty: np.ndarray, limit_px: int) -> int:
        return self._router.send(self._owner, venue, kind, qty, limit_px)

    def cancel(self, venue: int, order_id: int, lanes: np.ndarray | None = None) -> None:
        self._router.cancel(self._owner, venue, order_id, lanes)

    def call_at(self, ts_ns: int, callback: Callable[[], None]) -> None:
        self._timer(self._owner, ts_ns, callback)

    def offered(self) -> np.ndarray:
        return self._router.offered(self._owner)


def _deliver(message: tuple[Callable, object]) -> None:
    tell, payload = message
    tell(payload)
