"""Our resting buy limit orders at one venue: queue-aware maker fills from the feed.

The engine gives every venue one ``RestingBook`` (``RestingBook.for_venue``). It
holds the limit orders of every strategy at that venue in one
``venues.queue.QueueTracker`` and turns the tracker's fills into ledger ``Fill``
values and ``OrderReport`` values for the venue's sink.

Rules
-----
* An order joins the back of the size displayed at its price when it *arrives*
  (the link's latency has already passed). A price shown on no displayed level
  has nobody ahead; a price below a full book's deepest level is treated the same
  way, the tracker keeping its size unknown until it shows.
* A limit order whose price is at or above the venue's best ask on arrival
  crosses. It is then treated as a marketable order with its limit: it takes the
  asks up to its price still offered to its owner, as a taker paying the fee, and
  whatever could not be taken is cancelled, with one report. It never rests at a
  price the displayed book (which does not contain our orders) shows as offered,
  where the tracker would fill it again against liquidity already taken.
* A best ask at or below a resting order's price (sellers came down to it) fills
  the order as a maker up to the ask size shown at or below its price, and the
  rest of that order is cancelled and reported (see ``RestingBook._cross``). This
  replaces the queue tracker's rule of filling such an order in full, which
  would buy any size against a few hundred shares offered.
* A maker fill earns the venue's rebate and pays no fee; its ``queue_ahead`` is
  the displayed size ahead of the order when it joined, per lane.
* No lane of an owner is ever filled past the owner's target: a maker fill is
  clipped to the owner's *headroom* (see ``RestingBook.headroom``) and the
  clipped shares count as cancelled in the order's report. This stands in for a
  cancel that a real router would race against the fill; it only ever removes
  shares, never adds any.
* ``cancel`` (after the link's latency) and ``cancel_all`` (at the window's end,
  immediate) report what each order had filled and what was left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import numpy as np

from venues.orders import ChildOrder, Fill, Liquidity, OrderReport
from venues.queue import DEFAULT_QUEUE_MODEL, QueueModel, QueueTracker, apply_row

if TYPE_CHECKING:
    from venues.venue import Venue

Headroom = Callable[[int], "np.ndarray | None"]


@attrs.define(eq=False)
class _Working:
    """One order in the book: its owner, its size per lane and what was booked so far."""

    owner: int
    price: int
    qty: np.ndarray
    entry_ahead: np.ndarray
    filled: np.ndarray


class RestingBook:
    """The resting buy limit orders of every strategy at one venue, filled by queue position.

    Parameters
    ----------
    venue : Venue
        The venue whose feed rows, book view, settings and sink the book uses.
    queue_model : QueueModel, optional
        How cancellations at our price split between ahead of and behind us;
        ``venues.queue.DEFAULT_QUEUE_MODEL`` when omitted. It can be replaced
        until the first order arrives.
    headroom : callable, optional
        ``headroom(owner)`` returns the shares per lane that owner may still buy
        from resting orders (``None``: no cap). When omitted, the cap is read from
        the sink's strategies, see :meth:`headroom`.
    """

    def __init__(self, venue: Venue, queue_model: QueueModel | None = None, headroom: Headroom | None = None):
        self.venue = venue
        self.queue_model: QueueModel = DEFAULT_QUEUE_MODEL if queue_model is None else queue_model
        self._headroom = headroom
        self._md = venue.feed
        self._tracker: QueueTracker | None = None
        self._orders: dict[int, _Working] = {}

    @classmethod
    def for_venue(cls, venue: Venue) -> RestingBook:
        """Return an empty book for ``venue`` (the engine's ``resting_factory``)."""
        return cls(venue)

    def __len__(self) -> int:
        return len(self._orders)

    # -- orders ---------------------------------------------------------------------

    def place(self, order: ChildOrder) -> None:
        """Rest ``order`` behind the size displayed at its price now (or cross, see module rules)."""
        venue = self.venue
        k = venue.index
        view = venue.view
        qty = np.asarray(order.qty, dtype=np.int64)
        best_ask = int(view.ask_px[k, 0]) if view.ask_sz[k, 0] > 0 else 0
        if (best_ask > 0 and order.limit_px >= best_ask) or not qty.any():
            cap = self.headroom(order.owner)
            want = qty if cap is None else np.minimum(qty, np.maximum(cap, 0))
            rem = want.copy()
            if rem.any():
                venue.take(order.owner, rem, order.limit_px, order.order_id)
            self._report(order.order_id, order.owner, want - rem, qty - (want - rem))
            return
        at = (view.bid_px[k] == order.limit_px) & (view.bid_sz[k] > 0)
        displayed = int(view.bid_sz[k][at].sum())
        if self._tracker is None:
            self._tracker = QueueTracker(self.queue_model)
        self._tracker.add(order.order_id, order.limit_px, qty, displayed, owner=order.owner)
        self._orders[order.order_id] = _Working(
            owner=order.owner,
            price=int(order.limit_px),
            qty=qty.copy(),
            entry_ahead=np.full(qty.shape[0], displayed, dtype=np.int64),
            filled=np.zeros_like(qty),
        )

    def cancel(self, owner: int, order_id: int) -> None:
        """Pull order ``order_id`` and report it; an order already finished is left alone."""
        working = self._orders.get(order_id)
        if working is None or working.owner != owner:
            return
        self._tracker.cancel(order_id)
        self._close(order_id)

    def cancel_all(self) -> None:
        """Pull every resting order now (the window's end) and report each."""
        for order_id in list(self._orders):
            self._tracker.cancel(order_id)
            self._close(order_id)

    # -- the feed -------------------------------------------------------------------

    def on_snapshot(self, row: int) -> None:
        """Move our orders along their queues by feed row ``row`` and book any fills."""
        if not self._orders:
            return
        md = self._md
        if md.ask_sz[row, 0] > 0:
            self._cross(row, int(md.ask_px[row, 0]))
        for qf in apply_row(self._tracker, md, row):
            self._book(qf.key, self._orders[qf.key], qf.qty)
            if qf.complete:
                self._close(qf.key)

    def _cross(self, row: int, best_ask: int) -> None:
        """Fill and close the orders the row's best ask reached, up to the size it offers.

        The feed does not contain our orders: an ask shown at or below our price
        means sellers came down to it and, with us in the book, would have traded
        with us. Each owner gets at most the ask size shown at or below its order's
        price (its own orders share it, highest price first); the rest of a crossed
        order is cancelled, so its owner decides again rather than rest in a book it
        no longer fits.
        """
        crossed = [(key, w) for key, w in self._orders.items() if w.price >= best_ask]
        if not crossed:
            return
        ask_px, ask_sz = self._md.ask_px[row], self._md.ask_sz[row]
        used: dict[int, np.ndarray] = {}
        for key, working in sorted(crossed, key=lambda item: -item[1].price):
            left = self._tracker.cancel(key)
            shown = int(ask_sz[(ask_px <= working.price) & (ask_sz > 0)].sum())
            taken = used.setdefault(working.owner, np.zeros_like(left))
            qty = np.minimum(left, np.maximum(shown - taken, 0))
            taken += self._book(key, working, qty)
            self._close(key)

    def _book(self, key: int, working: _Working, qty: np.ndarray) -> np.ndarray:
        """Send a maker fill of ``qty`` (clipped to the owner's headroom); return what was booked."""
        cap = self.headroom(working.owner)
        if cap is not None:
            qty = np.minimum(qty, np.maximum(cap, 0))
        if qty.any():
            working.filled += qty
            self.venue.sink.on_fill(
                Fill(
                    order_id=key,
                    owner=working.owner,
                    venue=self.venue.index,
                    ts=int(self.venue.env.now),
                    price=working.price,
                    qty=qty,
                    liquidity=Liquidity.MAKER,
                    fee_per_share=0,
                    rebate_per_share=self.venue.config.rebate,
                    queue_ahead=working.entry_ahead.copy(),
                )
            )
        return qty

    def headroom(self, owner: int) -> np.ndarray | None:
        """Return the shares per lane ``owner`` may still buy from resting orders.

        The ``headroom`` callable given at construction decides if there is one;
        otherwise the venue's sink (the engine) does: target less filled less
        marketable shares in flight. ``None`` (no cap) when neither can tell.
        """
        if self._headroom is not None:
            return self._headroom(owner)
        ask = getattr(self.venue.sink, "headroom", None)
        return None if ask is None else ask(owner)

    # -- internals ------------------------------------------------------------------

    def _close(self, order_id: int) -> None:
        working = self._orders.pop(order_id)
        self._report(order_id, working.owner, working.filled, working.qty - working.filled)

    def _report(self, order_id: int, owner: int, filled: np.ndarray, cancelled: np.ndarray) -> None:
        self.venue.sink.on_report(
            OrderReport(
                order_id=order_id,
                owner=owner,
                venue=self.venue.index,
                ts=int(self.venue.env.now),
                filled=filled.copy(),
                cancelled=cancelled.copy(),
            )
        )
