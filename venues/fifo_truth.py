"""What a FIFO (price-time priority) book does to an extra buy order at the back of its queue.

The ground truth of ``venues.queue_truth``. The MBO events are the market without
us; one virtual buy order of ``qty`` shares joins the back of the real queue at
its price ``P`` after every record stamped at or before its entry time. It is
then filled, record by record, the way the matching engine would have filled it:

* an execution (``F``) of a resting bid at ``P`` that stands *behind* us (it got
  its priority after we joined) would have hit us first: it fills us up to its
  size. Executions of the orders ahead of us only move us up;
* an execution of a resting bid *below* ``P`` means a seller went through our
  price: with us in the book it would have reached our better bid first, so it
  fills us up to its size;
* a sell order placed (``A``) or moved (``M``) to ``P`` or below would have traded
  with us on arrival: it fills us up to the shares it newly offers there (a
  modify that only shrinks an ask already at or below ``P`` offers nothing new);
* cancels never fill anyone: a level that vanishes by cancels leaves us alone at
  the head of the queue, unfilled;
* priority: an order keeps its place when a modify only lowers its size (CME,
  Nasdaq); a modify that raises its size or changes its price sends it to the
  back, behind us. The orders of the file's initial ``SNAPSHOT`` are in priority
  order, as Databento writes them.

``T`` records say which aggressor traded, ``F`` which resting order was hit: we
read the ``F`` records, whose side is the resting order's (on CME, and on Nasdaq
as Databento normalises it; the ``F`` records of the CME opening auction have
side ``N``, so the side is taken from the book). One exception on CME: a
resting order modified into a cross aggresses from the book and gets an ``F`` of
its own, on the side of the ``T`` just before it; that ``F`` is the aggressor's,
not a resting bid's, and fills no one (an auction print, ``T`` side ``N``, has no
aggressor: its ``F`` records all count). A hidden execution (a ``T`` with
no ``F``, side ``N`` on Nasdaq) touches no displayed order and fills no one.
Each virtual order is its own owner: one print may fill several virtual orders,
each up to its size, as if each were alone in the market.

The engine walks the records once to collect every execution, every new offer
on the ask side and every piece of a bid order's life (price, size, priority,
from which record to which); each order's fills and its queue ahead at any
instant are then a few numpy operations over those.
"""

from __future__ import annotations

import attrs
import numpy as np

from feeds.mbo import MboEvents

NOT_FILLED = -1
_A, _C, _M, _R, _F, _T, _N = (ord(c) for c in "ACMRFTN")
_BID, _ASK = ord("B"), ord("A")
_NO_PRICE = np.iinfo(np.int64).max


@attrs.frozen(eq=False)
class OrderBookHistory:
    """Everything the truth needs from one venue's MBO records, as columns indexed by record.

    ``priority[i]`` is the priority counter after record ``i``: an order that
    joins after record ``i`` stands behind every priority handed out by then.
    ``hits`` are executions of resting bids (record, price, priority, size);
    ``offers`` are shares newly offered on the ask side (record, price, size, and
    the order's price and size before the record, ``_NO_PRICE``/0 for a new one);
    ``pieces`` are the spans over which a bid order had one price, size and priority
    (it rests after record ``start`` and up to, not after, record ``stop``).
    """

    ts_event: np.ndarray
    priority: np.ndarray
    hit_record: np.ndarray
    hit_price: np.ndarray
    hit_priority: np.ndarray
    hit_size: np.ndarray
    offer_record: np.ndarray
    offer_price: np.ndarray
    offer_size: np.ndarray
    offer_old_price: np.ndarray
    offer_old_size: np.ndarray
    piece_price: np.ndarray
    piece_priority: np.ndarray
    piece_size: np.ndarray
    piece_start: np.ndarray
    piece_stop: np.ndarray

    def after(self, ts: np.ndarray) -> np.ndarray:
        """Return, per instant, the last record stamped at or before it (-1 before the first)."""
        return np.searchsorted(self.ts_event, ts, side="right") - 1


def book_history(events: MboEvents) -> OrderBookHistory:
    """Walk ``events`` (one venue) once and collect the columns of ``OrderBookHistory``."""
    n = len(events)
    priority = np.zeros(n, dtype=np.int64)
    hits: list[tuple[int, int, int, int]] = []
    offers: list[tuple[int, int, int, int, int]] = []
    pieces: list[tuple[int, int, int, int, int]] = []
    orders: dict[int, list[int]] = {}  # order id -> [side, price, size, priority, piece start]
    counter = 0
    # The aggressor's side in the current instant: on CME an order that aggresses from the
    # book (a modify that crosses) gets an F of its own, on the aggressor's side.
    aggressor, aggressor_ts = 0, None

    def close(order: list[int], i: int) -> None:
        if order[0] == _BID and order[2] > 0:
            pieces.append((order[1], order[3], order[2], order[4], i))

    cols = [getattr(events, k).tolist() for k in ("ts_event", "action", "side", "price", "size", "order_id")]
    for i, (ts, act, side, px, qty, oid) in enumerate(zip(*cols, strict=True)):
        if act == _T:
            aggressor, aggressor_ts = side, ts
        if act == _A:
            old = orders.pop(oid, None)
            if old is not None:
                close(old, i)
            counter += 1
            orders[oid] = [side, px, qty, counter, i]
            if side == _ASK:
                offers.append((i, px, qty, _NO_PRICE, 0))
        elif act == _C:
            order = orders.get(oid)
            if order is not None:
                close(order, i)
                order[2] -= min(qty, order[2])
                order[4] = i
                if order[2] <= 0:
                    del orders[oid]
        elif act == _M:
            order = orders.get(oid)
            if order is None:
                counter += 1
                order = orders[oid] = [side, px, qty, counter, i]
                old_px, old_qty = _NO_PRICE, 0
            else:
                close(order, i)
                old_px, old_qty = order[1], order[2]
                if px != old_px or qty > old_qty:
                    counter += 1
                    order[3] = counter
                order[1], order[2], order[4] = px, qty, i
                if qty <= 0:
                    del orders[oid]
            if order[0] == _ASK:
                offers.append((i, px, qty, old_px, old_qty))
        elif act == _R:
            for order in orders.values():
                close(order, i)
            orders.clear()
        elif act == _F and not (side == aggressor != _N and ts == aggressor_ts):
            order = orders.get(oid)
            if order is not None and order[0] == _BID:
                hits.append((i, order[1], order[3], qty))
        priority[i] = counter
    for order in orders.values():
        close(order, n)

    def columns(rows: list[tuple], width: int) -> list[np.ndarray]:
        arr = np.array(rows, dtype=np.int64).reshape(-1, width)
        return [arr[:, k].copy() for k in range(width)]

    h_rec, h_px, h_pri, h_sz = columns(hits, 4)
    o_rec, o_px, o_sz, o_old_px, o_old_sz = columns(offers, 5)
    p_px, p_pri, p_sz, p_start, p_stop = columns(pieces, 5)
    return OrderBookHistory(
        ts_event=events.ts_event,
        priority=priority,
        hit_record=h_rec,
        hit_price=h_px,
        hit_priority=h_pri,
        hit_size=h_sz,
        offer_record=o_rec,
        offer_price=o_px,
        offer_size=o_sz,
        offer_old_price=o_old_px,
        offer_old_size=o_old_sz,
        piece_price=p_px,
        piece_priority=p_pri,
        piece_size=p_sz,
        piece_start=p_start,
        piece_stop=p_stop,
    )


@attrs.frozen(eq=False)
class TrueFills:
    """The truth for a set of virtual orders: when each first and fully filled, and its queue ahead.

    Times are ``ts_event`` of the filling record, ``NOT_FILLED`` if none did by
    the order's deadline. ``ahead_on_entry`` is the real queue ahead of each order
    when it joined; ``ahead[j]`` the real queue ahead of order ``probe_order[j]``
    at probe ``j`` (``NOT_FILLED`` where that order had filled by then).
    """

    first: np.ndarray
    full: np.ndarray
    ahead_on_entry: np.ndarray
    ahead: np.ndarray


def true_fills(
    history: OrderBookHistory,
    entry_ts: np.ndarray,
    price: np.ndarray,
    qty: np.ndarray,
    deadline_ts: np.ndarray,
    probe_ts: np.ndarray,
    probe_order: np.ndarray,
) -> TrueFills:
    """Fill virtual buy orders at the back of the real queues (see the module docstring).

    Parameters
    ----------
    history : OrderBookHistory
        The venue's records, from ``book_history``.
    entry_ts, price, qty, deadline_ts : numpy.ndarray
        Per order: when it joins (after every record stamped at or before), its
        price, its size, and the last instant a fill still counts.
    probe_ts, probe_order : numpy.ndarray
        Instants at which to read the queue ahead of an order (after every record
        stamped at or before the instant).
    """
    h = history
    entry = h.after(entry_ts)
    stop = h.after(deadline_ts)
    rank = np.where(entry >= 0, h.priority[np.maximum(entry, 0)], 0)
    n = entry_ts.shape[0]
    first = np.full(n, NOT_FILLED, dtype=np.int64)
    full = first.copy()
    for j in range(n):
        p, lo, hi = int(price[j]), int(entry[j]), int(stop[j])
        hit = (h.hit_record > lo) & (h.hit_record <= hi)
        hit &= (h.hit_price < p) | ((h.hit_price == p) & (h.hit_priority > rank[j]))
        offer = (h.offer_record > lo) & (h.offer_record <= hi) & (h.offer_price <= p)
        fresh = np.where(h.offer_old_price > p, h.offer_size, np.maximum(h.offer_size - h.offer_old_size, 0))
        offer &= fresh > 0
        record = np.concatenate([h.hit_record[hit], h.offer_record[offer]])
        if record.size == 0:
            continue
        size = np.concatenate([h.hit_size[hit], fresh[offer]])
        order = np.argsort(record, kind="stable")
        record, size = record[order], size[order]
        first[j] = h.ts_event[record[0]]
        done = np.flatnonzero(np.cumsum(size) >= qty[j])
        if done.size:
            full[j] = h.ts_event[record[done[0]]]
    ahead_on_entry = queue_ahead(h, entry, price, rank)
    at = h.after(probe_ts)
    k = probe_order
    live = (first[k] == NOT_FILLED) | (first[k] > probe_ts)
    ahead = np.full(probe_ts.shape[0], NOT_FILLED, dtype=np.int64)
    ahead[live] = queue_ahead(h, at[live], price[k[live]], rank[k[live]])
    return TrueFills(first=first, full=full, ahead_on_entry=ahead_on_entry, ahead=ahead)


def queue_ahead(history: OrderBookHistory, at: np.ndarray, price: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Return the real bid shares at ``price[j]`` with priority up to ``rank[j]``, after record ``at[j]``."""
    h = history
    out = np.zeros(at.shape[0], dtype=np.int64)
    by_price = np.argsort(h.piece_price, kind="stable")
    sorted_px = h.piece_price[by_price]
    for p in np.unique(price).tolist():
        lo, hi = np.searchsorted(sorted_px, [p, p + 1])
        sel = by_price[lo:hi]
        mine = np.flatnonzero(price == p)
        start, stop = h.piece_start[sel], h.piece_stop[sel]
        alive = (start[None, :] <= at[mine, None]) & (stop[None, :] > at[mine, None])
        ahead = h.piece_priority[sel][None, :] <= rank[mine, None]
        out[mine] = ((alive & ahead) * h.piece_size[sel][None, :]).sum(axis=1)
    return out


__all__ = ["NOT_FILLED", "OrderBookHistory", "TrueFills", "book_history", "true_fills", "queue_ahead"]
