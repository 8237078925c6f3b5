"""A venue in simulated time: orders and cancels arrive after their latency and meet its book.

The venue is the only part of the exchange side that knows about time. It owns a
``venues.book.VenueBook`` (the pure matching) and, for each strategy that trades
there, a session: an inbound ``Link`` that delays its orders and cancels by the
venue's latency model, and the seeded generator that model draws from for it. Each
strategy has its own session, as each firm has its own connection: a strategy's
latencies, and so its fills, do not depend on which other strategies the run has.
On every arrival the venue first brings its book up to the current exchange time,
then hands the message over; fills and reports go to the sink (the engine's ledger,
which tells the owner after the response latency).
"""

from __future__ import annotations

from collections.abc import Sequence
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
        seed: int,
        streams: Sequence[tuple[int, int]],
    ):
        self.env = env
        self.index = index
        self.config = config
        self.sink = sink
        self.seed = int(seed)
        self._streams = tuple(streams)
        self.book = VenueBook(index, config, tape, self._emit)
        self._sessions: dict[int, tuple[Link, np.random.Generator]] = {}

    # -- what strategies send ---------------------------------------------------------

    def _session(self, owner: int) -> tuple[Link, np.random.Generator]:
        session = self._sessions.get(owner)
        if session is None:
            # Keyed by (run seed, venue, the owner's stream): the same whatever else the run holds.
            rng = np.random.default_rng([self.seed, 1_000 + self.index, *self._streams[owner]])
            session = self._sessions[owner] = (Link(self.env, self._arrive), rng)
        return session

    def send(self, order: ChildOrder) -> None:
        """Put an order on its owner's wire to this venue (it arrives after the entry latency)."""
        link, rng = self._session(order.owner)
        link.send(order, self.config.latency.entry_ns(rng))

    def send_cancel(self, owner: int, order_id: int, lanes: np.ndarray | None = None) -> None:
        """Put a cancel (of some ``lanes``, or all) on the wire: it arrives after the cancel latency."""
        link, rng = self._session(owner)
        link.send((owner, order_id, lanes), self.config.latency.cancel_ns(rng))

    def response_ns(self, owner: int) -> int:
        """Draw the delay of one message back to strategy ``owner``."""
        return self.config.latency.response_ns(self._session(owner)[1])

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
