"""A venue in simulated time: orders and cancels arrive after their latency and meet its book.

The venue is the only part of the exchange side that knows about time. It owns a
``venues.book.VenueBook`` (the pure matching), an inbound ``Link`` that delays each
order and cancel by the venue's latency model, and the seeded generator that model
draws from. On every arrival it first brings its book up to the current exchange
time, then hands the message over; fills and reports go to the sink (the engine's
ledger, which tells the owner after the response latency).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import simpy

from venues.book import Event, VenueBook
from venues.config import VenueConfig
from venues.latency import Link
from venues.orders import ChildOrder, Fill, OrderKind, OrderReport


class OrderSink(Protocol):
    """Where a venue sends what happened to orders (the engine's ledger and the owners)."""

    def on_fill(self, fill: Fill) -> None: ...

    def on_report(self, report: OrderReport) -> None: ...

    def on_resting(self, venue: int) -> None:
        """Learn that an order now rests at venue ``venue`` (the feed may now fill it)."""
        ...


class Venue:
    """One trading venue in simulated time (see the module docstring)."""

    def __init__(
        self,
        env: simpy.Environment,
        index: int,
        config: VenueConfig,
        tape,
        sink: OrderSink,
        rng: np.random.Generator,
    ):
        self.env = env
        self.index = index
        self.config = config
        self.sink = sink
        self.rng = rng
        self.book = VenueBook(index, config, tape, self._emit)
        self.inbound = Link(env, self._arrive)

    # -- what strategies send ---------------------------------------------------------

    def send(self, order: ChildOrder) -> None:
        """Put an order on the wire to this venue (it arrives after the entry latency)."""
        self.inbound.send(order, self.config.latency.entry_ns(self.rng))

    def send_cancel(self, owner: int, order_id: int, lanes: np.ndarray | None = None) -> None:
        """Put a cancel (of some ``lanes``, or all) on the wire: it arrives after the cancel latency."""
        self.inbound.send((owner, order_id, lanes), self.config.latency.cancel_ns(self.rng))

    def response_ns(self) -> int:
        """Draw the delay of one message back to a strategy."""
        return self.config.latency.response_ns(self.rng)

    # -- time ------------------------------------------------------------------------------

    def catch_up_to_now(self) -> None:
        """Apply the feed up to the current exchange time (fills it causes go out now)."""
        self.book.advance(int(self.env.now))

    def _arrive(self, message) -> None:
        now = int(self.env.now)
        book = self.book
        book.advance(now)
        if isinstance(message, ChildOrder):
            if message.kind is OrderKind.MARKETABLE:
                book.match(message, now)
            else:
                book.place(message, now)
                if book.busy:
                    self.sink.on_resting(self.index)
        else:  # a cancel: (owner, order_id, lanes)
            owner, order_id, lanes = message
            book.cancel(owner, order_id, now, lanes)

    def _emit(self, event: Event) -> None:
        if isinstance(event, Fill):
            self.sink.on_fill(event)
        else:
            self.sink.on_report(event)
