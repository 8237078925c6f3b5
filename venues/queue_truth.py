"""Check the queue models against order-level ground truth (the shared ARL MBO/MBP-10 pair).

The MBO file holds every order event of one Nasdaq day of ARL; the MBP-10 file is
the book Databento built from those events. We place virtual resting buy orders on
a grid of entry times and prices and fill each one twice:

* **model**: on the MBP-10 rows, through ``venues.queue.QueueTracker`` with a
  given ``QueueModel`` (what a back-test can do);
* **truth**: in the MBO events, at the back of the real queue. Every real order
  at our price that was resting when we arrived is ahead of us; orders that arrive
  later, or lose priority by a modify, are behind. A Nasdaq execution shows as
  ``T`` (the trade), ``F`` (the resting order filled) and ``C`` (its shares leaving
  the book), so the book is kept from ``A``/``C``/``M``/``R`` alone and ``F`` only
  says who traded. A bid execution at our price of an order behind us would have
  hit us first (price-time priority: nobody is ahead any more), so it fills us, up
  to its size; a bid execution below our price, or an ask placed at or below it,
  fills us up to its size (that seller would have reached our higher bid first). Hidden executions (``T`` with
  side ``N``) touch no displayed queue.

Neither side models our order's effect on the market: both are the market without
us, which is what a back-test replays.

The two files are referenced by path (see ``shared/data/PROVENANCE.md``), never copied.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
import numpy as np

from feeds.market import LEVELS, MarketData, price_to_units
from venues.queue import FrontFirst, ProbabilisticQueue, Proportional, QueueModel, QueueTracker, apply_row

SHARED_DATA = Path("/work/shared/data")
ARL_MBP = SHARED_DATA / "other_trial_mbp10_ARL_2025-07-17__Hemanth-Kumar-04_mbp.csv"
ARL_MBO = SHARED_DATA / "other_trial_mbo_ARL_2025-07-17__Hemanth-Kumar-04_mbo.csv"

TICK = 10_000_000  # one cent in 1e-9 dollar units
MINUTE_NS = 60_000_000_000
NOT_FILLED = -1

#: The models compared, by the name the report uses.
MODELS: Mapping[str, QueueModel] = {
    "front_first": FrontFirst(),
    "proportional": Proportional(),
    "probabilistic_p2": ProbabilisticQueue(power=2.0),
    "probabilistic_p0.5": ProbabilisticQueue(power=0.5),
}


# -- reading the two files --------------------------------------------------------


def _ts_ns(texts: list[str]) -> np.ndarray:
    return np.array([t.rstrip("Z") for t in texts], dtype="datetime64[ns]").astype(np.int64)


def _px(text: str) -> int:
    return price_to_units(text) if text else 0


def _codes(texts: list[str]) -> np.ndarray:
    return np.array([ord(t) for t in texts], dtype=np.int64)


def read_mbp10(path: Path | str = ARL_MBP) -> MarketData:
    """Read a Databento MBP-10 CSV with ISO timestamps and decimal prices, keeping every row.

    No snapshot rule is applied: the comparison needs every update, trade rows included.
    """
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    book = {
        name: np.array([[_px(r[f"{name}_{k:02d}"]) for k in range(LEVELS)] for r in rows], dtype=np.int64)
        for name in ("bid_px", "ask_px")
    }
    for name in ("bid_sz", "ask_sz"):
        book[name] = np.array(
            [[int(r[f"{name}_{k:02d}"]) for k in range(LEVELS)] for r in rows], dtype=np.int64
        )
    return MarketData(
        ts_event=_ts_ns([r["ts_event"] for r in rows]),
        ts_recv=_ts_ns([r["ts_recv"] for r in rows]),
        venue=[int(r["publisher_id"]) for r in rows],
        action=_codes([r["action"] for r in rows]),
        side=_codes([r["side"] for r in rows]),
        price=[_px(r["price"]) for r in rows],
        size=[int(r["size"]) for r in rows],
        **book,
        source=str(path),
        symbol=rows[0]["symbol"] if rows else "",
        rows_read=len(rows),
    )


@attrs.frozen(eq=False)
class MboEvents:
    """Databento MBO events as columns: one row per order event, in feed order."""

    ts_event: np.ndarray
    action: np.ndarray
    side: np.ndarray
    price: np.ndarray
    size: np.ndarray
    order_id: np.ndarray

    def __len__(self) -> int:
        return int(self.ts_event.shape[0])


def read_mbo(path: Path | str = ARL_MBO) -> MboEvents:
    """Read a Databento MBO CSV with ISO timestamps and decimal prices."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return MboEvents(
        ts_event=_ts_ns([r["ts_event"] for r in rows]),
        action=_codes([r["action"] for r in rows]),
        side=_codes([r["side"] for r in rows]),
        price=np.array([_px(r["price"]) for r in rows], dtype=np.int64),
        size=np.array([int(r["size"]) for r in rows], dtype=np.int64),
        order_id=np.array([int(r["order_id"]) for r in rows], dtype=np.int64),
    )


# -- the virtual orders -------------------------------------------------------------


@attrs.frozen(eq=False)
class VirtualOrders:
    """Virtual resting buy orders: entry time, price, size and the displayed size ahead on entry."""

    entry_ts: np.ndarray
    price: np.ndarray
    qty: np.ndarray
    displayed: np.ndarray

    def __len__(self) -> int:
        return int(self.entry_ts.shape[0])


def _displayed(md: MarketData, row: int, price: int) -> int:
    hit = (md.bid_px[row] == price) & (md.bid_sz[row] > 0)
    return int(md.bid_sz[row][hit].sum())


def place_grid(
    md: MarketData, *, every_ns: int = MINUTE_NS, ticks_below: Iterable[int] = (0, 1), qty: int = 100
) -> VirtualOrders:
    """Place one order per entry time and offset: at the best bid less ``k`` ticks, for each ``k``.

    Entry times run every ``every_ns`` from the first feed row; an order enters
    after every update stamped at or before its entry time. Times with no bid are skipped.
    """
    ts = md.ts_event
    offsets = tuple(ticks_below)
    entry, price, shown = [], [], []
    for t in range(int(ts[0]) + every_ns, int(ts[-1]), every_ns):
        row = int(np.searchsorted(ts, t, side="right")) - 1
        if md.bid_sz[row, 0] <= 0:
            continue
        for k in offsets:
            p = int(md.bid_px[row, 0]) - k * TICK
            if p > 0:
                entry.append(t)
                price.append(p)
                shown.append(_displayed(md, row, p))
    n = len(entry)
    return VirtualOrders(
        entry_ts=np.array(entry, dtype=np.int64),
        price=np.array(price, dtype=np.int64),
        qty=np.full(n, qty, dtype=np.int64),
        displayed=np.array(shown, dtype=np.int64),
    )


# -- filling them ----------------------------------------------------------------------


@attrs.frozen(eq=False)
class Probes:
    """Instants at which to read an order's queue ahead: ``(ts[j], order[j])``, sorted by time."""

    ts: np.ndarray
    order: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.shape[0])


def probe_grid(
    orders: VirtualOrders, *, every_ns: int = MINUTE_NS, horizon_ns: int = 60 * MINUTE_NS
) -> Probes:
    """Probe each order every ``every_ns`` after its entry, up to ``horizon_ns`` after it."""
    steps = np.arange(1, horizon_ns // every_ns + 1, dtype=np.int64) * every_ns
    ts = (orders.entry_ts[:, None] + steps[None, :]).ravel()
    order = np.repeat(np.arange(len(orders), dtype=np.int64), steps.size)
    keep = np.argsort(ts, kind="stable")
    return Probes(ts=ts[keep], order=order[keep])


@attrs.frozen(eq=False)
class FillTimes:
    """When each virtual order first filled and when it filled in full (``NOT_FILLED`` if never).

    ``ahead[j]`` is the queue ahead of order ``probes.order[j]`` at ``probes.ts[j]``,
    or ``NOT_FILLED`` when that order had filled (in part or in full) by then.
    """

    first: np.ndarray
    full: np.ndarray
    ahead: np.ndarray


def _no_probes() -> Probes:
    return Probes(ts=np.zeros(0, dtype=np.int64), order=np.zeros(0, dtype=np.int64))


def model_fills(
    md: MarketData,
    orders: VirtualOrders,
    model: QueueModel,
    *,
    vanish_fills: bool = False,
    probes: Probes | None = None,
) -> FillTimes:
    """Fill the virtual orders on the MBP-10 rows with ``model``; read their queue ahead at ``probes``."""
    probes = _no_probes() if probes is None else probes
    tracker = QueueTracker(model, vanish_fills=vanish_fills)
    first = np.full(len(orders), NOT_FILLED, dtype=np.int64)
    full = first.copy()
    ahead = np.full(len(probes), NOT_FILLED, dtype=np.int64)
    nxt = nprobe = 0
    for row in range(len(md) + 1):
        ts = int(md.ts_event[row]) if row < len(md) else np.iinfo(np.int64).max
        while nprobe < len(probes) and probes.ts[nprobe] < ts:
            k = int(probes.order[nprobe])
            if first[k] == NOT_FILLED and k in tracker:
                ahead[nprobe] = tracker.position(k).ahead[0]
            nprobe += 1
        while nxt < len(orders) and orders.entry_ts[nxt] < ts:
            tracker.add(nxt, int(orders.price[nxt]), int(orders.qty[nxt]), int(orders.displayed[nxt]))
            nxt += 1
        if row == len(md):
            break
        for fill in apply_row(tracker, md, row):
            if first[fill.key] == NOT_FILLED:
                first[fill.key] = fill.ts_event
            if fill.complete:
                full[fill.key] = fill.ts_event
    return FillTimes(first=first, full=full, ahead=ahead)


_ADD, _CANCEL, _MODIFY, _FILL, _CLEAR = (ord(c) for c in "ACMFR")
_BID, _ASK = ord("B"), ord("A")


@attrs.frozen(eq=False)
class TruthFills:
    """Ground-truth fill times, plus the real queue size ahead of each order on entry."""

    times: FillTimes
    ahead_on_entry: np.ndarray


def _real_ahead(book: dict[int, list[int]], price: np.ndarray, rank: np.ndarray) -> np.ndarray:
    bids = np.array([o for o in book.values() if o[0] == _BID], dtype=np.int64).reshape(-1, 4)
    ahead = (bids[None, :, 1] == price[:, None]) & (bids[None, :, 3] <= rank[:, None])
    return (ahead * bids[None, :, 2]).sum(axis=1)


def true_fills(mbo: MboEvents, orders: VirtualOrders, *, probes: Probes | None = None) -> TruthFills:
    """Fill the virtual orders at the back of the real queues of the MBO events; read them at ``probes``."""
    probes = _no_probes() if probes is None else probes
    n = len(orders)
    first = np.full(n, NOT_FILLED, dtype=np.int64)
    full = first.copy()
    left = orders.qty.copy()
    rank = np.zeros(n, dtype=np.int64)
    entry_ahead = np.zeros(n, dtype=np.int64)
    probed = np.full(len(probes), NOT_FILLED, dtype=np.int64)
    live = np.zeros(n, dtype=bool)
    book: dict[int, list[int]] = {}  # order_id -> [side, price, size, priority rank]
    counter = 0
    nxt = nprobe = 0

    def fill(ts: int, mask: np.ndarray, qty: np.ndarray) -> None:
        got = mask & (qty > 0)
        first[got & (first == NOT_FILLED)] = ts
        left[got] -= qty[got]
        done = got & (left == 0)
        full[done] = ts
        live[done] = False

    for i in range(len(mbo) + 1):
        ts = int(mbo.ts_event[i]) if i < len(mbo) else np.iinfo(np.int64).max
        stop = nprobe + int(np.searchsorted(probes.ts[nprobe:], ts, side="left"))
        if stop > nprobe:
            k = probes.order[nprobe:stop]
            ok = live[k] & (first[k] == NOT_FILLED)
            probed[nprobe:stop][ok] = _real_ahead(book, orders.price[k[ok]], rank[k[ok]])
            nprobe = stop
        while nxt < n and orders.entry_ts[nxt] < ts:
            # Behind everything resting now: our rank is the last one handed out.
            rank[nxt] = counter
            entry_ahead[nxt] = _real_ahead(book, orders.price[nxt : nxt + 1], rank[nxt : nxt + 1])[0]
            live[nxt] = True
            nxt += 1
        if i == len(mbo):
            break
        act, side, px, size, oid = (
            int(mbo.action[i]),
            int(mbo.side[i]),
            int(mbo.price[i]),
            int(mbo.size[i]),
            int(mbo.order_id[i]),
        )
        if act == _ADD:
            counter += 1
            book[oid] = [side, px, size, counter]
            if side == _ASK:
                # A sell order at or below our bid trades with us first, up to its size.
                fill(ts, live & (orders.price >= px), np.minimum(left, size))
        elif act == _CANCEL:
            o = book.get(oid)
            if o is not None:
                o[2] -= size
                if o[2] <= 0:
                    del book[oid]
        elif act == _MODIFY:
            o = book.get(oid)
            if o is None:
                counter += 1
                book[oid] = [side, px, size, counter]
            else:
                if px != o[1] or size > o[2]:
                    counter += 1
                    o[3] = counter
                o[1], o[2] = px, size
            if side == _ASK:
                fill(ts, live & (orders.price >= px), np.minimum(left, size))
        elif act == _FILL and side == _BID:
            o = book.get(oid)
            behind_us = o is not None and o[1] == px
            # An execution below our bid would have reached us first, with its size.
            through = live & (orders.price > px)
            fill(ts, through, np.minimum(left, size))
            if behind_us:
                fill(ts, live & (orders.price == px) & (rank < o[3]), np.minimum(left, size))
        elif act == _CLEAR:
            book.clear()
    return TruthFills(times=FillTimes(first=first, full=full, ahead=probed), ahead_on_entry=entry_ahead)


# -- comparing ---------------------------------------------------------------------------


@attrs.frozen
class FillAgreement:
    """How well a model's fill times match the ground truth's, within a horizon of entry.

    ``outcome_agreement`` is the share of orders with the same filled/not-filled
    outcome. The errors are ``|model - truth|`` in seconds over the ``both_filled``
    orders; ``bias_s`` is the median signed error (negative: the model fills too
    early). Errors are ``nan`` when no order filled on both sides.
    """

    orders: int
    filled_truth: int
    filled_model: int
    both_filled: int
    outcome_agreement: float
    median_error_s: float
    p90_error_s: float
    bias_s: float


@attrs.frozen
class ModelAgreement:
    """One queue model against the ground truth: first fills, full fills, and the queue ahead.

    ``ahead_mae`` is the mean absolute error of the queue ahead, in shares, over the
    ``probes`` instants at which the order rested unfilled on both sides;
    ``ahead_exact`` the share of those instants with no error at all.
    """

    first_fill: FillAgreement
    full_fill: FillAgreement
    probes: int
    ahead_mae: float
    ahead_exact: float


def compare_fills(
    model_ts: np.ndarray, truth_ts: np.ndarray, entry_ts: np.ndarray, horizon_ns: int | None
) -> FillAgreement:
    """Score fill times against true ones, counting fills within ``horizon_ns`` of entry (None: no limit)."""

    def within(times: np.ndarray) -> np.ndarray:
        ok = times != NOT_FILLED
        return ok if horizon_ns is None else ok & (times - entry_ts <= horizon_ns)

    m, t = within(model_ts), within(truth_ts)
    both = m & t
    err = (model_ts[both] - truth_ts[both]) / 1e9
    nan = float("nan")
    med, p90, bias = (
        (float(np.median(np.abs(err))), float(np.percentile(np.abs(err), 90)), float(np.median(err)))
        if err.size
        else (nan, nan, nan)
    )
    return FillAgreement(
        orders=int(entry_ts.shape[0]),
        filled_truth=int(t.sum()),
        filled_model=int(m.sum()),
        both_filled=int(both.sum()),
        outcome_agreement=float((m == t).mean()) if entry_ts.size else nan,
        median_error_s=med,
        p90_error_s=p90,
        bias_s=bias,
    )


def compare(
    model: FillTimes, truth: FillTimes, orders: VirtualOrders, horizon_ns: int | None
) -> ModelAgreement:
    """Score a model run against the ground truth (both read at the same probes)."""
    both = (model.ahead != NOT_FILLED) & (truth.ahead != NOT_FILLED)
    err = np.abs(model.ahead[both] - truth.ahead[both])
    return ModelAgreement(
        first_fill=compare_fills(model.first, truth.first, orders.entry_ts, horizon_ns),
        full_fill=compare_fills(model.full, truth.full, orders.entry_ts, horizon_ns),
        probes=int(both.sum()),
        ahead_mae=float(err.mean()) if err.size else float("nan"),
        ahead_exact=float((err == 0).mean()) if err.size else float("nan"),
    )


def agreement_report(
    md: MarketData | None = None,
    mbo: MboEvents | None = None,
    *,
    models: Mapping[str, QueueModel] = MODELS,
    orders: VirtualOrders | None = None,
    horizons_ns: Iterable[int | None] = (60 * MINUTE_NS, None),
    vanish_fills: bool = False,
) -> dict[int | None, dict[str, ModelAgreement]]:
    """Return each model's agreement with the MBO ground truth, per horizon (None: end of day).

    Defaults: the ARL day; one 100-share order at the best bid and one a tick below
    every minute (``place_grid``); horizons of one hour and the end of the day; the
    queue ahead probed every minute for the first hour after entry.
    """
    md = read_mbp10() if md is None else md
    mbo = read_mbo() if mbo is None else mbo
    orders = place_grid(md) if orders is None else orders
    probes = probe_grid(orders)
    truth = true_fills(mbo, orders, probes=probes).times
    runs = {
        name: model_fills(md, orders, m, vanish_fills=vanish_fills, probes=probes)
        for name, m in models.items()
    }
    return {h: {name: compare(run, truth, orders, h) for name, run in runs.items()} for h in horizons_ns}
