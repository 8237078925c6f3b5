"""The price-level book (MBP-10) a venue would publish, built from its MBO events.

Every order is kept by id; a price level is the sum of the orders resting at it.
A row carries one record's ``action``, ``side``, ``price`` and ``size`` and the
book *after* it (Databento's MBP convention). Rows are written

* per event (the default): once for every event that changed what the top
  ``levels`` of a side show, at its last record (flag ``F_LAST``), when the book
  is consistent: that is what a venue publishes. Inside a CME event the book
  passes through states no one sees (an aggressor's remainder added before the
  orders it took are cancelled: a crossed book), which a queue model would take
  for sellers coming down to our bid. A file with no ``F_LAST`` flag at all is
  taken as one event per record;
* or per record (``per_record=True``, the layout of Databento's MBP files): one
  row for every record that changes what is shown.

Trades are written per record in both: each ``T`` is one print.

* ``A`` adds an order; ``C`` takes ``size`` shares off one (all of them removes
  it); ``M`` gives an order a new price and size (a modify of an unknown order is
  an add, as in Databento's book examples); ``R`` empties the venue's book. A
  record deeper than the top ``levels`` of both sides changes nothing shown and
  writes no row.
* ``T`` writes a row with the book unchanged: the shares it took leave the book on
  the ``C`` or ``M`` that follows the fill. ``F`` (the resting side of the same
  execution) and ``N`` write nothing.
* The records flagged ``SNAPSHOT`` at the start of a file (the book as it stood,
  in priority order) write one row, after the last of them: action ``R``, side
  ``N``, no price, and the book they built.

Each venue (``publisher_id``) has its own book. What cannot happen in a
consistent stream (a cancel of an unknown order, a cancel larger than the
order, an add of an order id already resting) is applied as far as it can be
and counted in ``DerivedBook.anomalies``; the ESH4 and ARL files have none.
"""

from __future__ import annotations

from bisect import bisect_left, insort

import attrs
import numpy as np

from feeds.market import LEVELS, MarketData
from feeds.mbo import F_LAST, F_SNAPSHOT, MboEvents

_A, _C, _M, _R, _T, _F, _N = (ord(c) for c in "ACMRTFN")
_BID, _ASK = ord("B"), ord("A")


@attrs.frozen(eq=False)
class DerivedBook:
    """MBP rows built from MBO events: the rows, the record behind each, and what did not add up.

    ``record[i]`` is the index of the MBO record that wrote row ``i`` (for the
    snapshot row, its last record). ``anomalies`` counts records that broke the
    book's rules, by kind (see the module docstring).
    """

    md: MarketData
    record: np.ndarray
    anomalies: dict[str, int]


class _Side:
    """One side of one venue's book: size per price, and the prices sorted best first."""

    __slots__ = ("sign", "size", "keys")

    def __init__(self, descending: bool):
        # Bids are kept as negative keys so that ascending keys run best first on both sides.
        self.sign = -1 if descending else 1
        self.size: dict[int, int] = {}
        self.keys: list[int] = []

    def rank(self, px: int) -> int:
        """Return the 0-based level of ``px`` (where it is, or would be inserted)."""
        return bisect_left(self.keys, self.sign * px)

    def add(self, px: int, qty: int) -> int:
        if qty <= 0:
            return self.rank(px)
        if px in self.size:
            self.size[px] += qty
        else:
            self.size[px] = qty
            insort(self.keys, self.sign * px)
        return self.rank(px)

    def remove(self, px: int, qty: int) -> int:
        at = self.rank(px)
        left = self.size.get(px, 0) - qty
        if left > 0:
            self.size[px] = left
        elif px in self.size:
            del self.size[px]
            del self.keys[at]
        return at

    def top(self, n: int) -> tuple[list[int], list[int]]:
        prices = [self.sign * k for k in self.keys[:n]]
        return prices, [self.size[p] for p in prices]


class _Book:
    """One venue's orders and its two sides."""

    __slots__ = ("orders", "sides")

    def __init__(self) -> None:
        self.orders: dict[int, list[int]] = {}  # order id -> [side, price, size]
        self.sides = {_BID: _Side(descending=True), _ASK: _Side(descending=False)}

    def clear(self) -> None:
        self.orders.clear()
        self.sides = {_BID: _Side(descending=True), _ASK: _Side(descending=False)}


def mbp_from_mbo(events: MboEvents, levels: int = LEVELS, *, per_record: bool = False) -> DerivedBook:
    """Build the MBP-``levels`` rows a venue would publish from its MBO ``events`` (see the module).

    Parameters
    ----------
    events : MboEvents
        The venue's MBO records, in file order.
    levels : int
        Depth of the book written (10 for MBP-10).
    per_record : bool
        Write a row for every record that changes the displayed book, as Databento's
        MBP files do, rather than one row per event (see the module docstring).
    """
    n = len(events)
    # A file whose records never carry F_LAST is taken as one event per record.
    every_record = per_record or not bool((events.flags & F_LAST).any())
    shape = (n + 1, levels)
    bid_px, bid_sz, ask_px, ask_sz = (np.zeros(shape, dtype=np.int64) for _ in range(4))
    head = np.zeros((n + 1, 7), dtype=np.int64)  # ts_event, ts_recv, venue, action, side, price, size
    record = np.zeros(n + 1, dtype=np.int64)
    anomalies: dict[str, int] = {}
    books: dict[int, _Book] = {}
    rows = 0

    def note(kind: str) -> None:
        anomalies[kind] = anomalies.get(kind, 0) + 1

    def write(i: int, venue: int, book: _Book, msg: tuple[int, int, int, int, int, int, int]) -> None:
        nonlocal rows
        for side, px_out, sz_out in ((_BID, bid_px, bid_sz), (_ASK, ask_px, ask_sz)):
            prices, sizes = book.sides[side].top(levels)
            px_out[rows, : len(prices)] = prices
            sz_out[rows, : len(sizes)] = sizes
        head[rows] = msg
        record[rows] = i
        rows += 1

    cols = [
        getattr(events, name).tolist()
        for name in ("ts_event", "ts_recv", "venue", "action", "side", "price", "size", "order_id", "flags")
    ]
    pending: dict[int, int] = {}  # venue -> last snapshot record not yet written
    dirty: set[int] = set()  # venues whose shown book changed in an event not yet ended
    for i, (ts, ts_recv, venue, act, side, px, qty, oid, flags) in enumerate(zip(*cols, strict=True)):
        book = books.get(venue)
        if book is None:
            book = books[venue] = _Book()
        snapshot = bool(flags & F_SNAPSHOT)
        if pending and not snapshot:
            for v, j in sorted(pending.items(), key=lambda item: item[1]):
                write(j, v, books[v], (cols[0][j], cols[1][j], v, _R, _N, 0, 0))
            pending.clear()
        shown = False
        if act == _A:
            if oid in book.orders:
                note("add_of_resting_order")
                old = book.orders.pop(oid)
                shown |= book.sides[old[0]].remove(old[1], old[2]) < levels
            if qty <= 0:
                note("add_of_no_shares")
            else:
                book.orders[oid] = [side, px, qty]
                shown |= book.sides[side].add(px, qty) < levels
        elif act == _C:
            order = book.orders.get(oid)
            if order is None:
                note("cancel_of_unknown_order")
            else:
                if qty > order[2]:
                    note("cancel_beyond_order_size")
                taken = min(qty, order[2])
                order[2] -= taken
                shown = book.sides[order[0]].remove(order[1], taken) < levels
                if order[2] <= 0:
                    del book.orders[oid]
        elif act == _M:
            order = book.orders.get(oid)
            if order is None:
                note("modify_of_unknown_order")
            else:
                shown = book.sides[order[0]].remove(order[1], order[2]) < levels
                side = order[0]
            if qty > 0:
                book.orders[oid] = [side, px, qty]
                shown |= book.sides[side].add(px, qty) < levels
            else:
                book.orders.pop(oid, None)
        elif act == _R:
            book.clear()
            shown = True
        elif act == _T:
            shown = True
        if snapshot:
            pending[venue] = i
        elif act == _T or (shown and every_record):
            write(i, venue, book, (ts, ts_recv, venue, act, side, px, qty))
        elif shown or venue in dirty:
            if flags & F_LAST:
                dirty.discard(venue)
                write(i, venue, book, (ts, ts_recv, venue, act, side, px, qty))
            else:
                dirty.add(venue)
    for v, j in sorted(pending.items(), key=lambda item: item[1]):
        write(j, v, books[v], (cols[0][j], cols[1][j], v, _R, _N, 0, 0))
    md = MarketData(
        ts_event=head[:rows, 0],
        ts_recv=head[:rows, 1],
        venue=head[:rows, 2],
        action=head[:rows, 3],
        side=head[:rows, 4],
        price=head[:rows, 5],
        size=head[:rows, 6],
        bid_px=bid_px[:rows],
        bid_sz=bid_sz[:rows],
        ask_px=ask_px[:rows],
        ask_sz=ask_sz[:rows],
        source=events.source,
        symbol=events.symbol,
        rows_read=n,
        meta={"derived_from": "mbo", "mbo_records": n, "levels": levels},
    )
    return DerivedBook(md=md, record=record[:rows].copy(), anomalies=anomalies)


__all__ = ["DerivedBook", "mbp_from_mbo"]
