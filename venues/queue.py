"""Queue position of our resting buy limit orders, read from a price-level (MBP) feed.

The feed is the market without us. A buy order of ours that rests at price ``P``
joins the back of the size displayed there, so ``ahead = displayed`` on entry. Each
later update of that venue moves it forward:

* a displayed trade at ``P`` consumes the queue ahead first; what is left of the
  trade fills us, up to our remaining size;
* a displayed trade below ``P`` traded through our price: with us in the book, that
  seller would have reached our higher bid first, so it fills us up to the printed
  size (never more);
* a best ask at or below ``P`` (sellers came down to our price) fills us up to the
  ask size shown at or below ``P``, less what we already took there;
* a fall of the displayed size at ``P`` that trades do not explain is a
  cancellation, and a ``QueueModel`` says how much of it left from ahead of us;
* a rise of the displayed size at ``P`` is new orders, which queue behind us.

Trades and the level decrease (the trade-credit rule)
-----------------------------------------------------
A trade at ``P`` removes shares from the level once, but a feed shows it twice: as
the trade message and as a fall of the displayed size. Where the fall appears
depends on the source. In the shared ARL files (Databento MBO ``T``, ``F``, ``C``
for one execution, folded into one MBP-10 ``T`` row) the trade row already shows
the level after the trade; a feed that keeps the book unchanged on trade rows shows
the fall on a following ``C``/``F``/``M`` row at the same or a later ``ts_event``.
So a trade at ``P`` leaves a *trade credit* of its size on each order at ``P``; the
next falls of the displayed size at ``P`` are charged to that credit before
anything counts as a cancellation. The credit lives through every update with the
trade's ``ts_event`` and through the first update after it, then expires, so a
trade whose fall never shows (netted against new orders between two snapshots)
cannot hide a later cancellation.

Which trades count
------------------
Only trades of displayed liquidity: rows with side ``N`` (hidden or midpoint
executions in the ARL data, always inside the spread) leave the queue alone. The
side letter is not needed beyond that: our price is below the best ask (otherwise
we would already have filled), so a trade printed at or below it can only have hit
bids. That matters because sources disagree on the letter: Databento's MBP spec
gives the aggressor, the ARL MBP-10 file gives the resting side.

One print, one owner, price-time priority
-----------------------------------------
Every order has an *owner* (a strategy; by default the order is its own owner).
Owners never see each other, but one owner's orders share every print: a trade of
``s`` shares at price ``p`` goes to that owner's orders priced above ``p`` first,
highest price first and earlier orders first at a price, each up to its remaining
size; what is left of the print reaches the owner's orders at ``p`` in time order,
each behind the displayed queue ahead of it and behind the owner's earlier orders
there. So the shares one print gives an owner never exceed its size. Sellers
coming down to our price are shared the same way: highest price first, each order
taking the cheapest asks it may until the shown size (less what the owner already
took, see ``venues.taken``) is used.

Lanes
-----
An order carries one quantity per *lane* (a parameter set of a vectorised sweep,
as in ``venues.orders``). Every lane of every order is one slot of flat int64
arrays (price, quantity, filled, ahead, ...), so one book update is a handful of
numpy operations over all live slots, however many orders and lanes rest.
"""

from __future__ import annotations

import attrs
import numpy as np

from feeds.market import MarketData

# The models live in venues.queue_models; they are re-exported here, where they were first defined.
from venues.queue_models import (  # noqa: F401
    DEFAULT_QUEUE_MODEL,
    FrontFirst,
    ProbabilisticQueue,
    Proportional,
    QueueModel,
)
from venues.taken import TakenLiquidity

_TRADE = ord("T")
_NO_SIDE = ord("N")
_NO_BID = -(2**62)  # below any order price: an empty bid side


@attrs.frozen(eq=False)
class QueueFill:
    """Shares of one resting order filled at one update, per lane (zero for unfilled lanes).

    ``complete`` is true when the order has nothing left, and the tracker has dropped it.
    """

    key: int
    ts_event: int
    price: int
    qty: np.ndarray
    complete: bool


@attrs.frozen(eq=False)
class QueuePosition:
    """Where one resting order stands: per lane, its size, what filled, and the displayed shares ahead."""

    key: int
    price: int
    qty: np.ndarray
    filled: np.ndarray
    ahead: np.ndarray
    entry_ahead: np.ndarray

    @property
    def remaining(self) -> np.ndarray:
        """Return the unfilled shares per lane."""
        return self.qty - self.filled


_SLOT_FIELDS = (
    "price",
    "qty",
    "filled",
    "ahead",
    "entry_ahead",
    "shown",
    "credit",
    "credit_ts",
    "order_ix",
    "owner",
    "lane",
    "seq",
)


class QueueTracker:
    """The queue positions of our resting buy orders at one venue: book updates in, fills out.

    Drive it with every update of the venue's feed, in order: ``on_trade`` for a
    displayed trade (before the row's book), then ``on_book`` with the book the row
    shows; ``apply_row`` does both for a ``MarketData`` row. Each returns the fills
    that update caused. ``add`` places an order, ``cancel`` pulls one. The tracker
    schedules nothing and holds no clock: it is a pure function of the updates.

    Parameters
    ----------
    model : QueueModel
        How cancellations at our price split between ahead and behind.
    vanish_fills : bool
        Also fill in full when the best bid falls from at or above our price to below
        it while nothing is displayed at our price (the level vanished), even with no
        trade seen. Off by default: on the ARL ground truth most vanishing levels were
        cancelled, and leave our order alone at the head of the queue. Turn it on
        for feeds that lose trade rows (e.g. after a one-row-per-timestamp filter).
    """

    def __init__(
        self,
        model: QueueModel,
        *,
        vanish_fills: bool = False,
        taken: dict[int, TakenLiquidity] | None = None,
    ):
        if not isinstance(model, QueueModel):
            raise TypeError(f"not a QueueModel: {model!r}")
        self.model = model
        self.vanish_fills = bool(vanish_fills)
        #: What each owner took from this venue's asks (shared with the venue's marketable
        #: orders when the venue passes its own), so an ask that came down to our bid is
        #: not bought twice.
        self.taken: dict[int, TakenLiquidity] = {} if taken is None else taken
        self._lanes_of: dict[int, int] = {}
        self._seq = 0
        self._n = 0
        self._slots = {name: np.zeros(0, dtype=np.int64) for name in _SLOT_FIELDS}
        self._alive = np.zeros(0, dtype=bool)
        self._live: np.ndarray | None = np.zeros(0, dtype=np.int64)
        self._orders: dict[int, slice] = {}
        self._keys: list[int] = []
        self._best_bid = _NO_BID

    # -- orders -----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, key: int) -> bool:
        return key in self._orders

    def add(
        self, key: int, price: int, qty: np.ndarray | int, displayed: int, *, owner: int | None = None
    ) -> None:
        """Rest buy order ``key`` at ``price`` behind the ``displayed`` shares shown there now.

        ``qty`` is the size per lane (an int for a single lane). ``owner`` groups the
        orders that share prints (see the module docstring); by default the order is
        its own owner. An order priced at or above the best ask fills, at the next
        ``on_book``, up to the ask size shown at or below its price.
        """
        if key in self._orders:
            raise ValueError(f"order {key} already rests here")
        qty = np.atleast_1d(np.asarray(qty, dtype=np.int64))
        if qty.ndim != 1 or (qty < 0).any():
            raise ValueError(f"qty must be non-negative shares per lane, got {qty!r}")
        if displayed < 0:
            raise ValueError(f"bad displayed size {displayed}")
        lanes = qty.shape[0]
        self._reserve(self._n + lanes)
        at = slice(self._n, self._n + lanes)
        s = self._slots
        s["price"][at] = price
        s["qty"][at] = qty
        s["filled"][at] = 0
        s["ahead"][at] = displayed
        s["entry_ahead"][at] = displayed
        s["shown"][at] = displayed
        s["credit"][at] = 0
        s["credit_ts"][at] = 0
        s["order_ix"][at] = len(self._keys)
        owner = key if owner is None else owner
        s["owner"][at] = owner
        self._lanes_of[owner] = lanes
        s["lane"][at] = np.arange(lanes)
        s["seq"][at] = self._seq
        self._seq += 1
        self._alive[at] = qty > 0
        self._keys.append(key)
        self._orders[key] = at
        self._n += lanes
        self._live = None

    def cancel(self, key: int, lanes: np.ndarray | None = None) -> np.ndarray:
        """Pull order ``key`` (only the ``lanes`` mask of it, when given); return what they had left.

        The result has one entry per lane of the order, zero for lanes not pulled. An order
        with no live lane left stops being tracked.
        """
        at = self._orders[key]
        left = self._slots["qty"][at] - self._slots["filled"][at]
        alive = self._alive[at]
        pull = alive.copy() if lanes is None else alive & np.asarray(lanes, dtype=bool)
        left = np.where(pull, left, 0)
        alive[pull] = False
        self._alive[at] = alive
        if lanes is None or not alive.any():
            del self._orders[key]
        self._live = None
        self._compact()
        return left

    def position(self, key: int) -> QueuePosition:
        """Return where order ``key`` stands now."""
        at = self._orders[key]
        s = self._slots
        return QueuePosition(
            key=key,
            price=int(s["price"][at.start]),
            qty=s["qty"][at].copy(),
            filled=s["filled"][at].copy(),
            ahead=s["ahead"][at].copy(),
            entry_ahead=s["entry_ahead"][at].copy(),
        )

    # -- feed updates ------------------------------------------------------------

    def on_trade(self, ts_event: int, price: int, size: int) -> list[QueueFill]:
        """Apply a displayed trade of ``size`` shares at ``price`` (not side ``N``).

        The print consumes the displayed queue ahead of orders at ``price``; it then
        fills each owner's orders in price-time priority, up to its size in all (see
        the module docstring). Orders above ``price`` were traded through.
        """
        live = self._live_slots()
        if live.size == 0 or size <= 0:
            return []
        s = self._slots
        px = s["price"][live]
        hit = px >= price
        fill = np.zeros(live.size, dtype=np.int64)
        if hit.any():
            slots = live[hit]
            fill[hit] = _share_out(
                size,
                rank=np.where(px[hit] > price, -px[hit], np.iinfo(np.int64).max),
                queue=np.where(px[hit] > price, 0, s["ahead"][slots]),
                rem=s["qty"][slots] - s["filled"][slots],
                owner=s["owner"][slots],
                lane=s["lane"][slots],
                seq=s["seq"][slots],
            )
        at = live[px == price]
        if at.size:
            # The displayed queue ahead did trade: that is the market's own print.
            s["ahead"][at] -= np.minimum(s["ahead"][at], size)
            s["credit"][at] += size
            s["credit_ts"][at] = ts_event
        return self._fill(ts_event, live, fill)

    def on_book(
        self, ts_event: int, bid_px: np.ndarray, bid_sz: np.ndarray, ask_px: np.ndarray, ask_sz: np.ndarray
    ) -> list[QueueFill]:
        """Apply the venue's displayed book after an update (levels best first, empty = price 0, size 0)."""
        bid_px = np.asarray(bid_px, dtype=np.int64)
        bid_sz = np.asarray(bid_sz, dtype=np.int64)
        # Prices are order prices (negative for a sell), so emptiness is read from sizes.
        best_bid = int(bid_px[0]) if bid_sz.size and bid_sz[0] > 0 else _NO_BID
        prev_best_bid, self._best_bid = self._best_bid, best_bid
        live = self._live_slots()
        if live.size == 0:
            return []
        s = self._slots
        px = s["price"][live]
        if len(ask_sz) and ask_sz[0] > 0:
            crossed = px >= int(ask_px[0])
        else:
            crossed = np.zeros(live.size, dtype=bool)

        hit = (bid_px[None, :] == px[:, None]) & (bid_sz[None, :] > 0)
        shown = (hit * bid_sz[None, :]).sum(axis=1)
        # Below the deepest level of a full book the size is unknown, not zero.
        visible = (bid_sz[-1] == 0) | (px >= bid_px[-1]) if bid_sz.size else np.ones(live.size, dtype=bool)
        last = s["shown"][live]
        credit = s["credit"][live]
        ahead = s["ahead"][live]
        fall = np.where(visible, np.maximum(last - shown, 0), 0)
        traded = np.minimum(fall, credit)
        cancelled = fall - traded
        pick = cancelled > 0
        if pick.any():
            a = ahead[pick]
            c = cancelled[pick]
            behind = np.maximum(last[pick] - traded[pick] - a, 0)
            share = np.asarray(self.model.cancel_ahead(a, behind, c), dtype=np.int64)
            share = np.clip(share, np.maximum(c - behind, 0), np.minimum(c, a))
            ahead[pick] = a - share
        shown = np.where(visible, shown, last)
        s["ahead"][live] = np.minimum(ahead, shown)
        s["shown"][live] = shown
        credit = credit - traded
        s["credit"][live] = np.where(ts_event > s["credit_ts"][live], 0, credit)

        for taken in self.taken.values():
            taken.on_book(np.asarray(ask_px, dtype=np.int64), np.asarray(ask_sz, dtype=np.int64))
        fill = np.zeros(live.size, dtype=np.int64)
        if crossed.any():
            fill[crossed] = self._cross(live[crossed], np.asarray(ask_px), np.asarray(ask_sz))
        if self.vanish_fills:
            vanished = ~crossed & visible & (shown == 0) & (best_bid < px) & (prev_best_bid >= px)
            fill = np.where(vanished, s["qty"][live] - s["filled"][live], fill)
        return self._fill(ts_event, live, fill)

    def _cross(self, slots: np.ndarray, ask_px: np.ndarray, ask_sz: np.ndarray) -> np.ndarray:
        """Fill crossed slots from the asks shown at or below their price, per owner (see module)."""
        s = self._slots
        out = np.zeros(slots.size, dtype=np.int64)
        shown = [(int(p), int(z)) for p, z in zip(ask_px.tolist(), ask_sz.tolist(), strict=True) if z > 0]
        for owner in np.unique(s["owner"][slots]).tolist():
            mine = np.flatnonzero(s["owner"][slots] == owner)
            # Highest price first, then earlier orders: who a seller coming down reaches first.
            mine = mine[np.lexsort((s["seq"][slots[mine]], -s["price"][slots[mine]]))]
            taken = self.taken.get(owner)
            if taken is None:
                taken = self.taken[owner] = TakenLiquidity(self._lanes_of[owner])
            lanes = taken.lanes
            for px, size in shown:
                held = taken.at(px)
                left = np.full(lanes, size, dtype=np.int64) - (0 if held is None else held)
                got = np.zeros(lanes, dtype=np.int64)
                for j in mine.tolist():
                    slot = slots[j]
                    if s["price"][slot] < px:
                        continue
                    lane = int(s["lane"][slot])
                    q = min(max(int(left[lane]), 0), int(s["qty"][slot] - s["filled"][slot]) - int(out[j]))
                    if q > 0:
                        out[j] += q
                        left[lane] -= q
                        got[lane] += q
                if got.any():
                    taken.add(px, got)
        return out

    # -- internals -----------------------------------------------------------------

    def _live_slots(self) -> np.ndarray:
        if self._live is None:
            self._live = np.flatnonzero(self._alive[: self._n])
        return self._live

    def _fill(self, ts_event: int, live: np.ndarray, fill: np.ndarray) -> list[QueueFill]:
        if not fill.any():
            return []
        s = self._slots
        slots = live[fill > 0]
        s["filled"][slots] += fill[fill > 0]
        self._alive[slots] = s["filled"][slots] < s["qty"][slots]
        self._live = None
        out = []
        for ix in np.unique(s["order_ix"][slots]):
            key = self._keys[ix]
            at = self._orders[key]
            qty = np.zeros(at.stop - at.start, dtype=np.int64)
            mine = slots[s["order_ix"][slots] == ix]
            qty[mine - at.start] = fill[np.isin(live, mine)]
            complete = not self._alive[at].any()
            if complete:
                del self._orders[key]
            out.append(
                QueueFill(
                    key=key, ts_event=ts_event, price=int(s["price"][at.start]), qty=qty, complete=complete
                )
            )
        self._compact()
        return out

    def _reserve(self, size: int) -> None:
        cap = self._alive.shape[0]
        if size <= cap:
            return
        cap = max(size, 2 * cap, 16)
        for name, arr in self._slots.items():
            grown = np.zeros(cap, dtype=np.int64)
            grown[: self._n] = arr[: self._n]
            self._slots[name] = grown
        alive = np.zeros(cap, dtype=bool)
        alive[: self._n] = self._alive[: self._n]
        self._alive = alive

    def _compact(self) -> None:
        # Slots of finished orders stay until they outnumber live ones by a margin.
        kept = sum(at.stop - at.start for at in self._orders.values())
        if self._n - kept < max(1024, kept):
            return
        order = sorted(self._orders.items(), key=lambda item: item[1].start)
        index = (
            np.concatenate([np.arange(at.start, at.stop) for _, at in order]) if order else np.zeros(0, int)
        )
        for name, arr in self._slots.items():
            self._slots[name][: index.size] = arr[index]
        self._alive[: index.size] = self._alive[index]
        self._alive[index.size :] = False
        self._keys = [key for key, _ in order]
        self._orders = {}
        start = 0
        for ix, (key, at) in enumerate(order):
            lanes = at.stop - at.start
            self._orders[key] = slice(start, start + lanes)
            self._slots["order_ix"][start : start + lanes] = ix
            start += lanes
        self._n = index.size
        self._live = None


def _share_out(
    size: int,
    *,
    rank: np.ndarray,
    queue: np.ndarray,
    rem: np.ndarray,
    owner: np.ndarray,
    lane: np.ndarray,
    seq: np.ndarray,
) -> np.ndarray:
    """Share one print of ``size`` shares among slots, per (owner, lane), in priority order.

    Slots are ranked by ``rank`` (lower first) then ``seq``. A slot is reached once the
    print has passed what stands before it: the displayed ``queue`` ahead of it (the
    running maximum within its group, since a later order cannot have less of the
    market ahead of it) plus the remaining size of the group's earlier slots. It fills
    ``min(rem, what is left of the print)``. Returns the fill per slot, in input order.
    """
    order = np.lexsort((seq, rank, lane, owner))
    o, ln = owner[order], lane[order]
    start = np.r_[True, (o[1:] != o[:-1]) | (ln[1:] != ln[:-1])]
    group = np.cumsum(start) - 1
    r = rem[order]
    before = np.cumsum(r) - r
    before -= np.maximum.accumulate(np.where(start, before, 0))
    # Running maximum of the queue within each group: offset groups so they never mix.
    q = queue[order]
    span = int(q.max()) + 1 if q.size else 1
    q_max = np.maximum.accumulate(q + group * span) - group * span
    got = np.clip(size - before - q_max, 0, r)
    out = np.empty_like(got)
    out[order] = got
    return out


def apply_row(tracker: QueueTracker, md: MarketData, row: int) -> list[QueueFill]:
    """Feed row ``row`` of ``md`` (one update of the tracker's venue) to ``tracker``.

    A trade row (action ``T``, side not ``N``) is applied as a trade first; then the
    row's book is applied. Return the fills, in that order.
    """
    ts = int(md.ts_event[row])
    fills: list[QueueFill] = []
    if md.action[row] == _TRADE and md.side[row] != _NO_SIDE:
        fills += tracker.on_trade(ts, int(md.price[row]), int(md.size[row]))
    fills += tracker.on_book(ts, md.bid_px[row], md.bid_sz[row], md.ask_px[row], md.ask_sz[row])
    return fills
