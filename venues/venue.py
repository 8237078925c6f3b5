"""A venue: a SimPy process that holds its displayed book and fills our child orders."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import simpy

from feeds.market import MarketData
from venues.config import VenueConfig
from venues.orders import ChildOrder, Fill, Liquidity, OrderKind, OrderReport
from venues.taken import TakenLiquidity, visible_asks
from venues.view import BookView


class OrderSink(Protocol):
    """Where a venue sends what happened to orders (the engine's ledger and the owners)."""

    def on_fill(self, fill: Fill) -> None: ...

    def on_report(self, report: OrderReport) -> None: ...

    def headroom(self, owner: int) -> np.ndarray:
        """Return the shares per lane ``owner`` may still receive: target - filled - marketable in flight."""
        ...


class Venue:
    """One trading venue in simulated time.

    It shows the feed's book for its publisher (written into the shared ``BookView``),
    receives child orders from its inbox (after the link's latency) as a SimPy
    process, and matches marketable orders against the displayed asks less what each
    strategy already took there (see ``venues.taken``). Every strategy trades against
    the displayed book on its own: strategies never see each other's orders.

    Resting limit orders are held by ``venues.resting`` hooks (queue-aware fills).
    """

    def __init__(
        self,
        env: simpy.Environment,
        index: int,
        config: VenueConfig,
        view: BookView,
        sink: OrderSink,
        feed: MarketData,
    ):
        self.env = env
        #: The feed's columns, including the row being applied (the view shows rows up to the last).
        self.feed = feed
        self.index = index
        self.config = config
        self.view = view
        self.sink = sink
        self.inbox: simpy.Store = simpy.Store(env)
        self.taken: dict[int, TakenLiquidity] = {}
        # The owners whose ``taken`` holds anything: only they need each new book.
        self._holding: dict[int, TakenLiquidity] = {}
        self.resting = None  # set by the engine when a strategy rests limit orders here
        self.process = env.process(self.run())

    # -- the feed side ------------------------------------------------------------

    def on_snapshot(self, row: int) -> None:
        """Show feed row ``row`` as this venue's book, and age what was taken and what rests."""
        self.view.apply(self.index, row)
        holding = self._holding
        if holding:
            # Read the new asks once for every owner that holds something here.
            visible, deepest = visible_asks(*self.view.row_asks(row))
            for owner, taken in list(holding.items()):
                taken.cut(visible, deepest)
                if not taken:
                    del holding[owner]
        if self.resting is not None:
            self.resting.on_snapshot(row)

    # -- the order side -----------------------------------------------------------

    def run(self):
        """Take orders from the inbox, one at a time, forever."""
        while True:
            message = yield self.inbox.get()
            if isinstance(message, ChildOrder):
                if message.kind is OrderKind.MARKETABLE:
                    self._match(message)
                elif self.resting is not None:
                    self.resting.place(message)
                else:
                    raise RuntimeError(f"venue {self.config.venue_id} cannot rest limit orders")
            else:  # a cancel: (owner, order_id)
                if self.resting is not None:
                    self.resting.cancel(*message)

    def _match(self, order: ChildOrder) -> None:
        rem = order.qty.copy()
        self.take(order.owner, rem, order.limit_px, order.order_id)
        self.sink.on_report(
            OrderReport(
                order_id=order.order_id,
                owner=order.owner,
                venue=self.index,
                ts=self.env.now,
                filled=order.qty - rem,
                cancelled=rem,
            )
        )

    def taken_by(self, owner: int, lanes: int) -> TakenLiquidity:
        """Return what ``owner`` took here (created empty on first use)."""
        taken = self.taken.get(owner)
        if taken is None:
            taken = self.taken[owner] = TakenLiquidity(lanes)
        return taken

    def take(
        self,
        owner: int,
        rem: np.ndarray,
        limit_px: int,
        order_id: int,
        *,
        only_px: int | None = None,
        catch_up: bool = False,
    ) -> None:
        """Cross the displayed asks priced at or below ``limit_px``, cheapest first.

        ``rem`` (shares still wanted, per lane) is reduced in place; one ``Fill`` is
        sent per price level that gave anything. ``only_px`` restricts the match to
        one price (the end-of-window sweep walks all venues' levels in price order).
        """
        k = self.index
        ask_px = self.view.ask_px[k]
        ask_sz = self.view.ask_sz[k]
        taken = self.taken_by(owner, rem.shape[0])
        for level in range(ask_px.shape[0]):
            size = int(ask_sz[level])
            px = int(ask_px[level])
            if size <= 0 or px > limit_px:
                break
            if only_px is not None and px != only_px:
                continue
            held = taken.at(px)
            fill = np.minimum(rem, size if held is None else size - held)
            np.maximum(fill, 0, out=fill)
            if not fill.any():
                continue
            taken.add(px, fill)
            self._holding[owner] = taken
            rem -= fill
            self.sink.on_fill(
                Fill(
                    order_id=order_id,
                    owner=owner,
                    venue=k,
                    ts=self.env.now,
                    price=px,
                    qty=fill,
                    liquidity=Liquidity.TAKER,
                    fee_per_share=self.config.fee,
                    rebate_per_share=0,
                    catch_up=catch_up,
                )
            )
            if not rem.any():
                break
