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
* A limit order priced at or through the best far price on arrival takes what is
  offered up to its price, as a taker, and the rest rests at its price (behind
  whatever the market shows there, usually nothing), as a venue would do.
* A far side coming down to a resting order's price (sellers came down to our bid)
  fills it as a maker up to the size shown at or through its price, less what the
  owner already took there, the owner's orders sharing it highest price first; the
  order keeps resting with what is left (see ``venues.queue``). What it took counts
  as taken, so a marketable order cannot buy the same shares again.
* Fills that happen before a cancel arrives are executed: nothing caps a lane at its
  target, so a strategy filled while its cancel travels ends above target (the
  result reports it as ``overfill_shares``).
* A cancel may name some lanes of an order (``lanes``): each lane is its own world,
  and a lane that is done pulls its own shares.
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
_TRADE = ord("T")
_NO_SIDE = ord("N")


@attrs.define(eq=False)
class _Working:
    """One resting order: its owner, order price, size per lane, what was booked, which lanes ended."""

    owner: int
    price: int
    qty: np.ndarray
    entry_ahead: np.ndarray
    filled: np.ndarray
    ended: np.ndarray


class VenueBook:
    """One venue's matching of our orders against its feed (see the module docstring)."""

    def __init__(self, index: int, config: VenueConfig, tape, emit: Callable[[Event], None]):
        self.index = index
        self.config = config
        self.tape = tape
        self.emit = emit
        self.sign = tape.sign
        #: What each owner took from the far side and has not seen replenished (``venues.taken``),
        #: shared by marketable orders and by resting orders the far side came down to.
        self.taken: dict[int, TakenLiquidity] = {}
        self.tracker = QueueTracker(config.queue, taken=self.taken)
        self._orders: dict[int, _Working] = {}
        self._generation = -1
        self._pos = 0  # index into tape.rows_of[k] of the next row to apply
        self._next_key: tuple | None = None
        self._next: tuple[int, int] | None = None

    # -- the feed side ----------------------------------------------------------------

    def _rebase(self) -> None:
        # A new chunk: carried rows were applied already; start after this venue's last one.
        tape = self.tape
        self._pos = int(np.searchsorted(tape.rows_of[self.index], tape.carried))
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
        stop = int(np.searchsorted(tape.ts_of[k], t, side="right"))
        if stop <= self._pos:
            return
        md = tape.md
        if not self._orders:
            # Nothing rests: only what was taken ages, all these rows at once.
            rows = tape.rows_of[k][self._pos : stop]
            self._pos = stop
            held = [t for t in self.taken.values() if t]
            if held:
                ask_px, ask_sz = md.ask_px[rows], md.ask_sz[rows]
                for taken in held:
                    taken.cut_rows(ask_px, ask_sz)
            return
        for row in tape.rows_of[k][self._pos : stop].tolist():
            self._pos += 1
            if self._orders:
                self._on_row(row)  # the tracker ages what was taken, then moves the queues
            else:
                for taken in self.taken.values():
                    if taken:
                        taken.cut(*visible_asks(md.ask_px[row], md.ask_sz[row]))

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
        cached = self._next_key
        # A hit found for the same best price stays the next one until the feed passes it.
        if cached is not None and cached[0] == self.tape.generation and cached[1] == worst:
            if cached[2] is None or cached[2] >= self._pos:
                return self._next
        found = self._scan(worst)
        self._next_key = (self.tape.generation, worst, found)
        if found is None:
            self._next = None
        else:
            row = int(self.tape.rows_of[self.index][found])
            self._next = (int(self.tape.md.ts_event[row]), row)
        return self._next

    _BLOCK = 256

    def _hit_prices(self) -> None:
        """Per row of this venue: the lowest order price at which it could fill a resting bid."""
        tape = self.tape
        rows = tape.rows_of[self.index]
        md = tape.md
        never = np.iinfo(np.int64).max
        trade = (md.action[rows] == _TRADE) & (md.side[rows] != _NO_SIDE)
        hit = np.where(trade, md.price[rows], never)
        hit = np.minimum(hit, np.where(md.ask_sz[rows, 0] > 0, md.ask_px[rows, 0], never))
        if self.tracker.vanish_fills:
            # Any best bid below our price may be a vanished level: wake for those too.
            below = np.where(md.bid_sz[rows, 0] > 0, md.bid_px[rows, 0] + 1, np.iinfo(np.int64).min)
            hit = np.minimum(hit, below)
        pad = (-hit.size) % self._BLOCK
        blocks = np.concatenate([hit, np.full(pad, never)]).reshape(-1, self._BLOCK).min(axis=1)
        self._hit, self._hit_blocks, self._hit_generation = hit, blocks, tape.generation

    def _scan(self, worst: int) -> int | None:
        """Return the index into this venue's rows of the next possible fill at ``worst`` or better."""
        if getattr(self, "_hit_generation", None) != self.tape.generation:
            self._hit_prices()
        hit, pos, size = self._hit, self._pos, self._BLOCK
        end = min((pos // size + 1) * size, hit.size)
        near = np.flatnonzero(hit[pos:end] <= worst)
        if near.size:
            return pos + int(near[0])
        later = np.flatnonzero(self._hit_blocks[pos // size + 1 :] <= worst)
        if not later.size:
            return None
        start = (pos // size + 1 + int(later[0])) * size
        return start + int(np.flatnonzero(hit[start : start + size] <= worst)[0])

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
        price (the end-of-window sweep walks all venues' levels in cost order).
        """
        row = self.current_row()
        if row < 0:
            return
        md = self.tape.md
        ask_px = md.ask_px[row]
        taken = self.taken_by(owner, rem.shape[0])
        offered = taken.available(ask_px, md.ask_sz[row])
        if only_px is not None:
            offered[:, ask_px != only_px] = 0
        got = self.config.fill.fill(ask_px, offered, rem, limit_px)
        for level in np.flatnonzero(got.any(axis=0)).tolist():
            qty = got[:, level].copy()
            px = int(ask_px[level])
            taken.add(px, qty)
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
        self.emit(
            OrderReport(
                order_id=order.order_id,
                owner=order.owner,
                venue=self.index,
                ts=ts,
                filled=order.qty - rem,
                cancelled=rem.copy(),
            )
        )

    def place(self, order: ChildOrder, ts: int) -> None:
        """Rest a limit order behind the size displayed at its price now; a crossing one takes first."""
        row = self.current_row()
        md = self.tape.md
        qty = np.asarray(order.qty, dtype=np.int64)
        rem = qty.copy()
        if row >= 0 and md.ask_sz[row, 0] > 0 and order.limit_px >= md.ask_px[row, 0]:
            self.take(order.owner, order.order_id, rem, order.limit_px, ts)
        working = _Working(
            owner=order.owner,
            price=int(order.limit_px),
            qty=qty.copy(),
            entry_ahead=np.zeros_like(qty),
            filled=qty - rem,
            ended=np.zeros(qty.shape[0], dtype=bool),
        )
        if not rem.any():
            self._end(order.order_id, working, ~working.ended, ts)
            return
        displayed = 0
        if row >= 0:
            at = (md.bid_px[row] == order.limit_px) & (md.bid_sz[row] > 0)
            displayed = int(md.bid_sz[row][at].sum())
        working.entry_ahead[:] = displayed
        self.tracker.add(order.order_id, order.limit_px, rem, displayed, owner=order.owner)
        self._orders[order.order_id] = working
        done = rem == 0
        if done.any():
            # Lanes the crossing part filled in full are over now.
            self._end(order.order_id, working, done, ts)

    def cancel(self, owner: int, order_id: int, ts: int, lanes: np.ndarray | None = None) -> None:
        """Pull a resting order (or the ``lanes`` of it) and report them; finished orders are left alone."""
        working = self._orders.get(order_id)
        if working is None or working.owner != owner:
            return
        pull = ~working.ended if lanes is None else ~working.ended & np.asarray(lanes, dtype=bool)
        if not pull.any():
            return
        if order_id in self.tracker:
            self.tracker.cancel(order_id, pull)
        self._end(order_id, working, pull, ts)

    def cancel_all(self, ts: int) -> None:
        """Pull every resting order now (the window's end) and report each."""
        for order_id, working in list(self._orders.items()):
            if order_id in self.tracker:
                self.tracker.cancel(order_id)
            self._end(order_id, working, ~working.ended, ts)

    # -- internals ----------------------------------------------------------------------

    def _on_row(self, row: int) -> None:
        md = self.tape.md
        ts = int(md.ts_event[row])
        for qf in apply_row(self.tracker, md, row):
            working = self._orders[qf.key]
            self._book(qf.key, working, qf.qty, ts)
            if qf.complete:
                self._end(qf.key, working, ~working.ended, ts)

    def _book(self, key: int, working: _Working, qty: np.ndarray, ts: int) -> None:
        if not qty.any():
            return
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

    def _end(self, order_id: int, working: _Working, lanes: np.ndarray, ts: int) -> None:
        """Report the end of ``lanes`` of an order (the whole order once every lane has ended)."""
        lanes = lanes & ~working.ended
        working.ended |= lanes
        complete = bool(working.ended.all())
        if complete:
            self._orders.pop(order_id, None)
        zero = np.zeros_like(working.qty)
        self.emit(
            OrderReport(
                order_id=order_id,
                owner=working.owner,
                venue=self.index,
                ts=ts,
                filled=np.where(lanes, working.filled, zero),
                cancelled=np.where(lanes, working.qty - working.filled, zero),
                complete=complete,
            )
        )
