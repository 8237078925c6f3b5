"""Bid-queue outflow of each venue as the simulator fills it (Cont–Kukanov's xi), estimated online.

The model fills a limit order of ``L`` shares behind a queue of ``Q`` shares with
``(xi - Q)+ - (xi - Q - L)+`` shares over a horizon ``T``. Its samples of ``xi``
are read from the feed with the simulator's own fill rules, so that the model and
the simulator agree on the rows the samples come from.

The rule (one window)
---------------------
A window starts at ``t0`` and covers the venue's rows with ``t0 < ts <= t0 + T``.
Put a virtual buy order of unbounded size at the back of the venue's best bid at
``t0`` (price ``P0``, ``Q0`` shares displayed there after the rows at ``t0``) and
run the rules of ``venues.queue`` / ``venues.book`` over the window:

* a displayed trade at ``P0`` consumes the queue ahead first; the rest of the print
  fills the order;
* a displayed trade below ``P0`` fills the order up to the printed size;
* a best ask at or below ``P0`` fills the order up to the ask size shown at or
  below ``P0``, less what it took there already (``venues.taken``: what a crossing
  row gave stays taken while the next rows keep crossing), and it keeps resting;
* a fall of the displayed size at ``P0`` that a trade does not explain (the
  trade-credit rule of ``venues.queue``) is a cancellation, split between the queue
  ahead and the size behind by the venue's queue model (``venues.queue_models``),
  clipped to what is feasible, as the tracker clips it;
* size added at ``P0`` queues behind the order; a level that vanishes by
  cancellations fills nothing.

If the order gets ``F`` shares, the sample is ``xi = Q0 + F`` (``0`` for a venue
with no bid at ``t0``). The rules are the tracker's, step for step (the queue ahead,
the size last shown, the trade credit and its expiry), run over all windows at once
one row position at a time (in closed form when every venue uses ``risk_averse``,
the default, where the cancel split reduces to ``ahead = min(ahead, shown)``). So
for an order at the back of that queue (``Q = Q0``) the model's fill
``min(L, (xi - Q)+)`` equals the simulator's fill of ``L`` shares placed at ``t0`` on
the same rows, exactly, under every queue model whose answer depends only on each order's
shares ahead, behind and cancelled (all the built-in ones): an order's place moves
the same whatever its size, so a finite order fills ``min(L, F)``. Not covered: the
order's entry latency (the virtual order joins at ``t0``).

The first estimate (the fall of the best bid's size, plus the whole queue when the
level vanished) counted cancellations behind the order and vanished levels as
outflow, and the second took every cancel from ahead (``front_first``) whatever
the venue's model; both filled the model's orders where the simulator does not.

Frame and visibility
--------------------
Rows come from the tape (``sim.tape``): in the order's frame (for a sell the bids
are the asks and prices are negated, so "below our price" and "ask at or below"
read the same for both sides) and in the order they became visible. A window holds
the rows visible by the decision that uses it.

Samples
-------
Windows start every ``step_ns`` from ``origin_ns``; the samples at ``now`` are the
windows that ended by ``now`` (``t0 + T <= now``) and started within the last
``history_ns`` (``t0 >= now - history_ns``), in time order. Only rows at or before
``now`` are used, so no sample looks ahead; rows are held only while a window
that needs them is unfinished, so memory is bounded by the horizon.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from feeds.market import MarketData
from venues.queue_models import DEFAULT_QUEUE_MODEL, QueueModel, RiskAverse
from venues.taken import TakenLiquidity

_TRADE = ord("T")
_NO_SIDE = ord("N")
_BOOK = ("bid_px", "bid_sz", "ask_px", "ask_sz")
_FLAT = ("ts_event", "action", "side", "price", "size")


class OutflowEstimator:
    """Rolling empirical law of each venue's best-bid outflow over a horizon, as the simulator fills.

    Feed it the rows that became visible, in time order, with :meth:`update`; ask
    for :meth:`samples` at decision time.

    Parameters
    ----------
    venue_ids : tuple of int
        The run's venues, in ``BookView`` order (only their number is used).
    horizon_ns : int
        Length ``T`` of one outflow sample.
    history_ns : int
        How far back samples reach (the rolling estimation window), ``>= horizon_ns``.
    step_ns : int, optional
        Stride between window starts; ``horizon_ns / 10`` when omitted.
        ``horizon_ns`` is rounded to a whole number of steps.
    origin_ns : int
        Start of the first window (the strategy's start, so windows line up with
        the decision times).
    queue_models : QueueModel or sequence of QueueModel, optional
        How each venue splits cancellations at our price (one per venue, or one for
        all; ``venues.queue_models.DEFAULT_QUEUE_MODEL`` when omitted): the samples
        follow the simulator's fills under that model.
    """

    def __init__(
        self,
        venue_ids: tuple[int, ...],
        horizon_ns: int,
        history_ns: int,
        *,
        step_ns: int | None = None,
        origin_ns: int = 0,
        queue_models: QueueModel | tuple[QueueModel, ...] | None = None,
    ):
        if horizon_ns <= 0 or history_ns < horizon_ns:
            raise ValueError(f"need 0 < horizon_ns <= history_ns, got {horizon_ns}, {history_ns}")
        self.step_ns = int(step_ns) if step_ns else max(1, int(horizon_ns) // 10)
        self.width = max(1, round(int(horizon_ns) / self.step_ns))
        self.horizon_ns = self.width * self.step_ns
        self.history_ns = int(history_ns)
        self.keep = max(1, (self.history_ns - self.horizon_ns) // self.step_ns + 1)
        self.venues = len(venue_ids)
        self.queue_models = _per_venue(queue_models, self.venues)
        self._origin = int(origin_ns)
        self._next = 0  # index of the first window not computed yet
        self._windows: deque[tuple[int, np.ndarray]] = deque(maxlen=self.keep)
        self._rows: dict[str, np.ndarray] | None = None
        self._venue = np.zeros(0, dtype=np.int64)
        self._pending: list[tuple[dict[str, np.ndarray], np.ndarray]] = []
        # Best bid (price, size) of each venue's last row dropped from the buffer.
        self._edge = np.zeros((self.venues, 2), dtype=np.int64)

    # -- feed -------------------------------------------------------------------------

    def update(self, rows: MarketData, venue_index: np.ndarray) -> None:
        """Take the rows that became visible (time order, possibly many instants) and their venue indexes.

        The columns are held, not copied, until the next estimate (the engine hands over
        copies of the tape's rows): do not change them in place.
        """
        n = len(rows)
        if n == 0:
            return
        venue_index = np.asarray(venue_index, dtype=np.int64)
        if venue_index.shape != (n,):
            raise ValueError(f"venue_index has shape {venue_index.shape}, expected ({n},)")
        # Batches are joined only when windows are computed: once per decision, not per batch.
        # The engine hands over copies (``MarketData.take``), so holding them is safe.
        self._pending.append(({name: getattr(rows, name) for name in _FLAT + _BOOK}, venue_index.copy()))

    def _join(self) -> None:
        """Append the batches received since the last estimate to the row buffer."""
        if not self._pending:
            return
        parts = ([self._rows] if self._rows is not None else []) + [cols for cols, _ in self._pending]
        venues = [self._venue] + [index for _, index in self._pending]
        self._rows = {name: np.concatenate([part[name] for part in parts]) for name in _FLAT + _BOOK}
        self._venue = np.concatenate(venues)
        self._pending.clear()

    # -- estimate ---------------------------------------------------------------------

    def ready(self, now_ns: int) -> bool:
        """Return whether at least one window has finished by ``now_ns``."""
        return self.n_windows(now_ns) > 0

    def n_windows(self, now_ns: int) -> int:
        """Return how many samples :meth:`samples` would return at ``now_ns``."""
        return len(self._held(now_ns))

    def samples(self, now_ns: int) -> np.ndarray:
        """Return the outflow samples, shape ``[N, K]`` (``N = 0`` before the first window ends)."""
        held = self._held(now_ns)
        if not held:
            return np.zeros((0, self.venues), dtype=np.int64)
        return np.stack([xi for _, xi in held])

    def _start(self, j: int) -> int:
        return self._origin + j * self.step_ns

    def _held(self, now_ns: int) -> list[tuple[int, np.ndarray]]:
        self._compute(now_ns)
        oldest = now_ns - self.history_ns
        return [(t0, xi) for t0, xi in self._windows if t0 >= oldest]

    def _compute(self, now_ns: int) -> None:
        """Compute every window that ended by ``now_ns`` and is still inside the history."""
        self._join()
        last = (now_ns - self.horizon_ns - self._origin) // self.step_ns  # last finished window
        first = max(self._next, last - self.keep + 1)
        if last < first:
            return
        starts = self._origin + np.arange(first, last + 1, dtype=np.int64) * self.step_ns
        xi = self._windows_xi(starts)
        for t0, row in zip(starts.tolist(), xi, strict=True):
            self._windows.append((t0, row))
        self._next = last + 1
        self._trim(self._start(self._next))

    def _trim(self, t0: int) -> None:
        """Drop the rows at or before ``t0`` (no unfinished window needs them); keep each venue's book."""
        if self._rows is None:
            return
        # Rows come in the order they became visible: each venue's in time order, but
        # venues interleaved, so the cut is per row rather than a prefix.
        drop = self._rows["ts_event"] <= t0
        if not drop.any():
            return
        # Each venue's last dropped row is its book at the start of the next window.
        last = np.full(self.venues, -1)
        np.maximum.at(last, self._venue[drop], np.flatnonzero(drop))
        has = last >= 0
        self._edge[has, 0] = self._rows["bid_px"][last[has], 0]
        self._edge[has, 1] = np.maximum(self._rows["bid_sz"][last[has], 0], 0)
        keep = ~drop
        self._rows = {name: col[keep] for name, col in self._rows.items()}
        self._venue = self._venue[keep]

    def _windows_xi(self, starts: np.ndarray) -> np.ndarray:
        """Return ``xi`` for windows starting at ``starts``, shape ``[len(starts), K]`` (see module)."""
        k, nw = self.venues, starts.shape[0]
        out = np.zeros((nw, k), dtype=np.int64)
        if self._rows is None:
            return out
        r = self._rows
        ts = r["ts_event"]
        if ts.shape[0] == 0:
            # No row held: every window starts from the book left by the rows already dropped.
            q0 = np.maximum(self._edge[:, 1], 0)
            return np.repeat(q0[None, :], nw, axis=0)
        order = np.argsort(self._venue, kind="stable")  # each venue's rows in time order
        bounds = np.searchsorted(self._venue[order], np.arange(k + 1))
        lo = np.empty((k, nw), dtype=np.int64)
        hi = np.empty((k, nw), dtype=np.int64)
        for v in range(k):
            seg = ts[order[bounds[v] : bounds[v + 1]]]
            lo[v] = bounds[v] + np.searchsorted(seg, starts, side="right")
            hi[v] = bounds[v] + np.searchsorted(seg, starts + self.horizon_ns, side="right")
        lo, hi = lo.ravel(), hi.ravel()  # window w = v * nw + j
        first_of_venue = np.repeat(bounds[:-1], nw)
        # The book at t0: the venue's last row at or before t0, or the last one dropped.
        state = order[np.maximum(lo - 1, 0)]
        inside = lo > first_of_venue
        edge = np.repeat(self._edge, nw, axis=0)
        p0 = np.where(inside, r["bid_px"][state, 0], edge[:, 0])
        q0 = np.where(inside, np.maximum(r["bid_sz"][state, 0], 0), edge[:, 1])
        has = q0 > 0  # a bid to join (prices are order prices: negative for a sell)
        length = hi - lo
        width = int(length.max()) if length.size else 0
        fill = np.zeros(lo.shape[0], dtype=np.int64)
        if width:
            pos = lo[:, None] + np.arange(width)
            mask = np.arange(width) < length[:, None]
            rows = order[np.minimum(pos, len(order) - 1)]
            groups = []
            distinct = [m for i, m in enumerate(self.queue_models) if m not in self.queue_models[:i]]
            for model in distinct:
                uses = np.array([m == model for m in self.queue_models])
                groups.append((model, np.repeat(uses, nw)))
            fill = _virtual_fill(r, rows, mask & has[:, None], p0, q0, groups)
        xi = np.where(has, q0 + fill, 0)
        return xi.reshape(k, nw).T


def _per_venue(models, k: int) -> tuple[QueueModel, ...]:
    if models is None:
        models = DEFAULT_QUEUE_MODEL
    if isinstance(models, QueueModel):
        return (models,) * k
    models = tuple(models)
    if len(models) != k or not all(isinstance(m, QueueModel) for m in models):
        raise ValueError(f"need one QueueModel per venue ({k}), got {models!r}")
    return models


def _virtual_fill(
    r: dict[str, np.ndarray],
    rows: np.ndarray,
    mask: np.ndarray,
    p0,
    q0,
    models: list[tuple[QueueModel, np.ndarray]],
) -> np.ndarray:
    """Return the fill of an unbounded order at the back of ``(p0, q0)`` over each window's ``rows``.

    ``rows`` ``[W, m]`` index the buffer (``mask`` marks real rows); ``models`` pairs
    each queue model with the windows (a boolean mask over ``W``) whose venue uses it.
    """
    p = p0[:, None]
    bid_px, bid_sz = r["bid_px"][rows], r["bid_sz"][rows]
    shown = np.where((bid_px == p[..., None]) & (bid_sz > 0), bid_sz, 0).sum(axis=2)
    # Below the deepest level of a full book the size is unknown: it stays as last seen.
    visible = mask & ((bid_sz[..., -1] == 0) | (p >= bid_px[..., -1]))
    action, side, price, size = (r[name][rows] for name in ("action", "side", "price", "size"))
    trade = mask & (action == _TRADE) & (side != _NO_SIDE) & (size > 0)
    at = np.where(trade & (price == p), size, 0)
    below = np.where(trade & (price < p), size, 0)
    if all(type(model) is RiskAverse for model, _ in models):
        fill = _risk_averse_fill(shown, visible, at, q0)
    else:
        fill = _tracked_fill(shown, visible, at, r["ts_event"][rows], mask, q0, models)
    fill = np.where(mask, fill + below, 0).sum(axis=1)
    # Sellers down to P0 fill the order up to the ask size shown at or below it, less what
    # it already took there, kept as the tracker keeps it (``venues.taken``). Rows that
    # cross are rare (the market trading through a bid), so they are walked one by one.
    ask_px, ask_sz = r["ask_px"][rows], r["ask_sz"][rows]
    crossed = mask & (ask_sz[..., 0] > 0) & (ask_px[..., 0] <= p)
    cross = np.zeros(rows.shape[0], dtype=np.int64)
    for w in np.flatnonzero(crossed.any(axis=1)).tolist():
        cross[w] = _cross_fill(ask_px[w], ask_sz[w], crossed[w], mask[w], int(p0[w]))
    return fill + cross


def _risk_averse_fill(shown, visible, at, q0) -> np.ndarray:
    """Return the fill by prints at ``P0`` per row when every cancel comes from behind, in closed form.

    ``RiskAverse`` takes from ahead only what the level's fall leaves no room for
    behind, so the tracker's step is ``ahead_i = min((ahead_{i-1} - s_i)+, shown_i)``
    with ``s`` the prints at ``P0`` (the trade credit changes nothing). With ``D`` the
    running sum of ``s`` that is ``ahead_i = (min(q0, min_{j<=i}(shown_j + D_j)) - D_i)+``.
    """
    col = np.arange(shown.shape[1])
    seen = np.maximum.accumulate(np.where(visible, col, -1), axis=1)
    shown = np.where(seen >= 0, np.take_along_axis(shown, np.maximum(seen, 0), axis=1), q0[:, None])
    d = np.cumsum(at, axis=1)
    ahead = np.maximum(np.minimum(q0[:, None], np.minimum.accumulate(shown + d, axis=1)) - d, 0)
    before = np.empty_like(ahead)
    before[:, 0] = q0
    before[:, 1:] = ahead[:, :-1]
    return np.maximum(at - before, 0)


def _tracked_fill(shown, visible, at, ts, mask, q0, models) -> np.ndarray:
    """Return the fill by prints at ``P0`` per row, running ``QueueTracker``'s rules column by column.

    One step per row of the longest window, each a few numpy operations over every
    window: the print (``on_trade``), then the book (``on_book``: the fall, what the
    trade credit explains, the cancel split by the venue's queue model, clipped to
    what is feasible).
    """
    w, m = shown.shape
    ahead = q0.astype(np.int64).copy()
    last = ahead.copy()
    credit = np.zeros(w, dtype=np.int64)
    credit_ts = np.zeros(w, dtype=np.int64)
    fill = np.zeros((w, m), dtype=np.int64)
    for i in range(m):
        live = mask[:, i]
        if not live.any():
            break
        s = at[:, i]
        fill[:, i] = np.maximum(s - ahead, 0)
        printed = s > 0
        ahead = ahead - np.minimum(ahead, s)
        credit = credit + s
        credit_ts = np.where(printed, ts[:, i], credit_ts)
        vis = visible[:, i]
        now = np.where(vis, shown[:, i], last)
        fall = np.maximum(last - now, 0)
        traded = np.minimum(fall, credit)
        cancelled = fall - traded
        pick = cancelled > 0
        if pick.any():
            behind = np.maximum(last - traded - ahead, 0)
            for model, windows in models:
                sel = np.flatnonzero(pick & windows)
                if sel.size == 0:
                    continue
                a, b, c = ahead[sel], behind[sel], cancelled[sel]
                share = np.asarray(model.cancel_ahead(a, b, c), dtype=np.int64)
                ahead[sel] = a - np.clip(share, np.maximum(c - b, 0), np.minimum(c, a))
        ahead = np.where(live, np.minimum(ahead, now), ahead)
        last = np.where(live, now, last)
        credit = np.where(live & (ts[:, i] > credit_ts), 0, credit - traded)
    return fill


def _cross_fill(ask_px, ask_sz, crossed, mask, price: int) -> int:
    """Return what asks at or below ``price`` give an unbounded order over one window's rows."""
    taken = TakenLiquidity(1)
    total = 0
    rows = np.flatnonzero(mask)
    first, last = np.flatnonzero(crossed)[[0, -1]]
    for i in rows[(rows >= first) & (rows <= last)].tolist():
        taken.on_book(ask_px[i], ask_sz[i])
        if not crossed[i]:
            continue
        for px, size in zip(ask_px[i].tolist(), ask_sz[i].tolist(), strict=True):
            if size > 0 and px <= price:
                held = taken.at(px)
                got = size - (0 if held is None else int(held[0]))
                if got > 0:
                    taken.add(px, np.array([got], dtype=np.int64))
                    total += got
    return total
