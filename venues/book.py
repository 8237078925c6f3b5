"""What one venue holds for us, as a pure structure: feed rows and our orders in, fills and reports out.

A ``VenueBook`` is one venue's matching for every strategy of a run, in the order's
frame (see ``sim.tape``: the tape's asks are the far side, its bids our side). It
schedules nothing and keeps no clock: the venue process calls it at the right
times, and every fill and report goes out, as it happens, through the ``emit``
callable it was given (a list's ``append`` will do in a test).

* Marketable orders cross the displayed far side up to their limit through the
  venue's taker rule (``venues.fill_rules``), against the displayed size less what
  each strategy already took there (``venues.taken``), paying the taker fee.
* Limit orders rest in the near-side queue (``venues.queue.QueueTracker``, with the
  venue's queue model) and fill as the feed moves them forward, earning the maker
  rebate; see ``venues.queue`` for the rules.
* ``advance(t)`` applies the venue's feed rows up to exchange time ``t``: it ages
  what was taken and moves the resting orders along their queues.

Rules at the edges
------------------
* A limit order priced at or through the best far price on arrival crosses: it is
  treated as a marketable order with its limit, and what it cannot take is
  cancelled, with one report.
* A far side coming down to a resting order's price (sellers came down to our bid)
  fills it as a maker up to the size shown at or through its price, the owner's
  orders sharing it highest price first; the rest of such an order is cancelled.
* No lane is filled past its owner's target: maker fills are clipped to the owner's
  ``headroom`` and the clipped shares count as cancelled.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from venues.config import VenueConfig
from venues.fees import charge
from venues.orders import ChildOrder, Fill, Liquidity, OrderReport
from venues.queue import QueueTracker, apply_row
from venues.taken import TakenLiquidity, visible_asks

Event = Fill | OrderReport
Headroom = Callable[[int], "np.ndarray | None"]


@attrs.define(eq=False)
class _Working:
    """One resting order: its owner, order price, size per lane and what was booked so far."""

    owner: int
    price: int
    qty: np.ndarray
    entry_ahead: np.ndarray
    filled: np.ndarray


class VenueBook:
    """One venue's matching of our orders against its feed (see the module docstring)."""

    def __init__(
        self,
        index: int,
        config: VenueConfig,
        tape,
        emit: Callable[[Event], None],
        headroom: Headroom | None = None,
    ):
        self.index = index
        self.emit = emit
        self.config = config
        self.tape = tape
        self.sign = tape.sign
        self._headroom = headroom
        self.taken: dict[int, TakenLiquidity] = {}
        self._holding: dict[int, TakenLiquidity] = {}
        self.tracker = QueueTracker(config.queue)
        self._orders: dict[int, _Working] = {}
        self._row = -1  # the last tape row of this venue already applied
        self._generation = -1
        self._pos = 0  # index into tape.rows_of[k] of the next row to apply
        self._next_key: tuple | None = None
        self._next: tuple[int, int] | None = None

    # -- the feed side ----------------------------------------------------------------

    def _rebase(self) -> None:
        # A new chunk: carried rows were applied already; start after this venue's last one.
        tape = self.tape
        rows = tape.rows_of[self.index]
        self._pos = int(np.searchsorted(rows, tape.carried))
        self._generation = tape.generation

    def current_row(self) -> int:
        """Return the venue's last applied row (its exchange book), -1 before its first."""
        if self._generation != self.tape.generation:
            self._rebase()
        rows = self.tape.rows_of[self.index]
        return int(rows[self._pos - 1]) if self._pos else -1

    def advance(self, t: int) -> None:
        """Apply the venue's rows with ``ts_event <= t``, emitting the fills and reports they cause."""
        if self._generation != self.tape.generation:
            self._rebase()
        k = self.index
        tape = self.tape
        rows = tape.rows_of[k]
        stop = int(np.searchsorted(tape.ts_of[k], t, side="right"))
        if stop <= self._pos:
            return
        md = tape.md
        for row in rows[self._pos : stop].tolist():
            self._pos += 1
            holding = self._holding
            if holding:
                visible, deepest = visible_asks(md.ask_px[row], md.ask_sz[row])
                for owner, taken in list(holding.items()):
                    taken.cut(visible, deepest)
                    if not taken:
                        del holding[owner]
            if self._orders:
                self._on_row(row)

    def next_event(self) -> tuple[int, int] | None:
        """Return ``(ts_event, row)`` of the next row that can fill a resting order (None: none can).

        That is a displayed trade at or through the best resting price, the far side at
        or through it, or (with the vanish rule) a best bid below it: a superset of the
        rows that fill, so the engine wakes there and nowhere else for this venue.
        """
        if not self._orders:
            return None
        if self._generation != self.tape.generation:
            self._rebase()
        worst = max(w.price for w in self._orders.values())
        key = (self.tape.generation, self._pos, worst)
        if self._next_key == key:
            return self._next
        self._next_key = key
        self._next = self._scan(worst)
        return self._next

    def _scan(self, worst: int) -> tuple[int, int] | None:
        tape = self.tape
        rows = tape.rows_of[self.index][self._pos :]
        md = tape.md
        step, start = 64, 0
        while start < rows.size:
            window = rows[start : start + step]
            trade = (md.action[window] == _TRADE) & (md.side[window] != _NO_SIDE)
            trade &= md.price[window] <= worst
            cross = (md.ask_sz[window, 0] > 0) & (md.ask_px[window, 0] <= worst)
            hit = trade | cross
            if self.tracker.vanish_fills:
                hit |= md.bid_px[window, 0] < worst
            found = np.flatnonzero(hit)
            if found.size:
                row = int(window[found[0]])
                return int(md.ts_event[row]), row
            start += step
            step *= 4
        return None

    def next_event_ts(self) -> int | None:
        """Return the exchange time of ``next_event`` (None: nothing here can fill)."""
        nxt = self.next_event()
        return None if nxt is None else nxt[0]

    def next_row(self) -> int:
        """Return the tape row of ``next_event`` (-1: none)."""
        nxt = self.next_event()
        return -1 if nxt is None else nxt[1]

    @property
    def busy(self) -> bool:
        """Whether any order rests here (the feed can then fill something)."""
        return bool(self._orders)

    # -- the order side -----------------------------------------------------------------

    def taken_by(self, owner: int, lanes: int) -> TakenLiquidity:
        """Return what ``owner`` took here (created empty on first use)."""
        taken = self.taken.get(owner)
        if taken is None:
            taken = self.taken[owner] = TakenLiquidity(lanes)
        return taken

    def take(
        self,
        owner: int,
        order_id: int,
        rem: np.ndarray,
        limit_px: int,
        ts: int,
        *,
        only_px: int | None = None,
        catch_up: bool = False,
    ) -> None:
        """Cross the far side up to ``limit_px`` for ``rem`` shares per lane (reduced in place).

        One ``Fill`` per level that gave anything. ``only_px`` restricts the match to one
        price (the end-of-window sweep walks all venues' levels in price order).
        """
        row = self.current_row()
        if row < 0:
            return
        md = self.tape.md
        ask_px = md.ask_px[row]
        ask_sz = md.ask_sz[row]
        taken = self.taken_by(owner, rem.shape[0])
        offered = taken.available(ask_px, ask_sz)
        if only_px is not None:
            offered[:, ask_px != only_px] = 0
        got = self.config.fill.fill(ask_px, offered, rem, limit_px)
        for level in np.flatnonzero(got.any(axis=0)).tolist():
            qty = got[:, level].copy()
            px = int(ask_px[level])
            taken.add(px, qty)
            self._holding[owner] = taken
            rem -= qty
            fee, rebate = charge(self.config.fees.taker_per_share(self.sign * px))
            self.emit(
                Fill(
                    order_id=order_id,
                    owner=owner,
                    venue=self.index,
                    ts=ts,
                    price=self.sign * px,
                    qty=qty,
                    liquidity=Liquidity.TAKER,
                    fee_per_share=fee,
                    rebate_per_share=rebate,
                    catch_up=catch_up,
                )
            )

    def match(self, order: ChildOrder, ts: int) -> None:
        """Execute a marketable order on arrival; what it cannot take is cancelled, with one report."""
        rem = order.qty.copy()
        self.take(order.owner, order.order_id, rem, order.limit_px, ts)
        self.emit(self._report(order.order_id, order.owner, ts, order.qty - rem, rem))

    def place(self, order: ChildOrder, ts: int) -> None:
        """Rest a limit order behind the size displayed at its price now (or cross: module rules)."""
        row = self.current_row()
        md = self.tape.md
        qty = np.asarray(order.qty, dtype=np.int64)
        crosses = row >= 0 and md.ask_sz[row, 0] > 0 and order.limit_px >= md.ask_px[row, 0]
        if crosses or not qty.any():
            cap = self.headroom(order.owner)
            want = qty if cap is None else np.minimum(qty, np.maximum(cap, 0))
            rem = want.copy()
            if rem.any():
                self.take(order.owner, order.order_id, rem, order.limit_px, ts)
            self.emit(self._report(order.order_id, order.owner, ts, want - rem, qty - (want - rem)))
            return
        displayed = 0
        if row >= 0:
            at = (md.bid_px[row] == order.limit_px) & (md.bid_sz[row] > 0)
            displayed = int(md.bid_sz[row][at].sum())
        self.tracker.add(order.order_id, order.limit_px, qty, displayed, owner=order.owner)
        self._orders[order.order_id] = _Working(
            owner=order.owner,
            price=int(order.limit_px),
            qty=qty.copy(),
            entry_ahead=np.full(qty.shape[0], displayed, dtype=np.int64),
            filled=np.zeros_like(qty),
        )

    def cancel(self, owner: int, order_id: int, ts: int) -> None:
        """Pull a resting order and report it; an order already finished is left alone."""
        working = self._orders.get(order_id)
        if working is None or working.owner != owner:
            return
        self.tracker.cancel(order_id)
        self.emit(self._close(order_id, ts))

    def cancel_all(self, ts: int) -> None:
        """Pull every resting order now (the window's end) and report each."""
        for order_id in list(self._orders):
            self.tracker.cancel(order_id)
            self.emit(self._close(order_id, ts))

    def headroom(self, owner: int) -> np.ndarray | None:
        """Return the shares per lane ``owner`` may still receive from resting orders (None: no cap)."""
        return None if self._headroom is None else self._headroom(owner)

    # -- internals ----------------------------------------------------------------------

    def _on_row(self, row: int) -> None:
        md = self.tape.md
        ts = int(md.ts_event[row])
        if md.ask_sz[row, 0] > 0:
            self._cross(row, int(md.ask_px[row, 0]), ts)
        for qf in apply_row(self.tracker, md, row):
            self._book(qf.key, self._orders[qf.key], qf.qty, ts)
            if qf.complete:
                self.emit(self._close(qf.key, ts))

    def _cross(self, row: int, best_ask: int, ts: int) -> None:
        crossed = [(key, w) for key, w in self._orders.items() if w.price >= best_ask]
        if not crossed:
            return
        md = self.tape.md
        ask_px, ask_sz = md.ask_px[row], md.ask_sz[row]
        used: dict[int, np.ndarray] = {}
        for key, working in sorted(crossed, key=lambda item: -item[1].price):
            left = self.tracker.cancel(key)
            shown = int(ask_sz[(ask_px <= working.price) & (ask_sz > 0)].sum())
            taken = used.setdefault(working.owner, np.zeros_like(left))
            qty = np.minimum(left, np.maximum(shown - taken, 0))
            taken += self._book(key, working, qty, ts)
            self.emit(self._close(key, ts))

    def _book(self, key: int, working: _Working, qty: np.ndarray, ts: int) -> np.ndarray:
        cap = self.headroom(working.owner)
        if cap is not None:
            qty = np.minimum(qty, np.maximum(cap, 0))
        if qty.any():
            working.filled += qty
            fee, rebate = charge(self.config.fees.maker_per_share(self.sign * working.price))
            self.emit(
                Fill(
                    order_id=key,
                    owner=working.owner,
                    venue=self.index,
                    ts=ts,
                    price=self.sign * working.price,
                    qty=qty,
                    liquidity=Liquidity.MAKER,
                    fee_per_share=fee,
                    rebate_per_share=rebate,
                    queue_ahead=working.entry_ahead.copy(),
                )
            )
        return qty

    def _close(self, order_id: int, ts: int) -> OrderReport:
        working = self._orders.pop(order_id)
        return self._report(order_id, working.owner, ts, working.filled, working.qty - working.filled)

    def _report(
        self, order_id: int, owner: int, ts: int, filled: np.ndarray, cancelled: np.ndarray
    ) -> OrderReport:
        return OrderReport(
            order_id=order_id,
            owner=owner,
            venue=self.index,
            ts=ts,
            filled=filled.copy(),
            cancelled=cancelled.copy(),
        )


_TRADE = ord("T")
_NO_SIDE = ord("N")
