"""Score the queue models against order-by-order ground truth: the queue-truth experiment.

From one venue's MBO events we build the MBP-10 book it publishes
(``feeds.mbo_book``) and place virtual resting buy orders on a grid: every
``every`` seconds from ``start`` to ``end``, one at the best bid and one a tick
below (entries at a crossed or empty-bid book are skipped). Each order is filled
twice:

* **model**: on the MBP-10 rows, through ``venues.queue.QueueTracker`` with one
  ``QueueModel`` (what a back-test can do; ``venues.queue_replay``);
* **truth**: at the back of the real FIFO queue in the MBO events
  (``venues.fifo_truth``).

Both are the market without us, and both stop watching an order ``max(horizons)``
after its entry. Per model the report gives the share of orders with the same
outcome (filled or not) within each horizon; the fill-time error
``|model - truth|`` of the first fill (median, p90, and the median signed error:
negative means the model fills early) over the orders both filled within the
longest horizon; and the queue-ahead error, the mean ``|model - truth|`` of the
shares ahead of an order, read every ``probe_every`` seconds after entry while
the order truly rests unfilled (an order the model has filled has 0 ahead). The
best model has the highest agreement at the middle horizon (60 s of 10, 60, 300),
then the smallest queue-ahead error. The truth assumes continuous trading: in
an auction (the CME pre-open) nothing matches until the uncross, so pick a window
after it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import attrs
import numpy as np

from feeds.market import MarketData, units_to_decimal
from feeds.mbo import MboEvents
from feeds.mbo_book import mbp_from_mbo
from feeds.timeparse import NS_PER_SECOND, format_ns
from venues.fifo_truth import NOT_FILLED, TrueFills, book_history, true_fills
from venues.queue_models import (
    DEFAULT_QUEUE_MODEL,
    FrontFirst,
    LogProbability,
    ProbabilisticQueue,
    Proportional,
    QueueModel,
    RiskAverse,
)
from venues.queue_replay import ModelFills, Probes, ReplayFeed, VirtualOrders, model_fills

#: The models compared, by the name the report uses.
MODELS: Mapping[str, QueueModel] = {
    "front_first": FrontFirst(),
    "proportional": Proportional(),
    "probabilistic_p2": ProbabilisticQueue(power=2.0),
    "probabilistic_p3": ProbabilisticQueue(power=3.0),
    "log_probability": LogProbability(),
    "risk_averse": RiskAverse(),
}
HORIZONS_S = (10, 60, 300)


class TruthError(ValueError):
    """The experiment cannot run on this input (a one-line reason)."""


@attrs.frozen
class TruthSettings:
    """The grid of virtual orders and how they are scored.

    ``start_ns``/``end_ns`` bound the entry times (``None``: the first live record,
    the last record); ``probe_every_ns`` defaults to ``every_ns``; ``tick`` is the
    venue's price increment in 1e-9 units (``None``: inferred from the file).
    """

    start_ns: int | None = None
    end_ns: int | None = None
    every_ns: int = 10 * NS_PER_SECOND
    horizons_ns: tuple[int, ...] = tuple(h * NS_PER_SECOND for h in HORIZONS_S)
    probe_every_ns: int | None = None
    ticks_below: tuple[int, ...] = (0, 1)
    qty: int = 1
    tick: int | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("every_ns", "probe_every_ns", "qty", "tick"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise TruthError(f"{name.removesuffix('_ns')} must be above zero, got {value}")
        if not self.horizons_ns or min(self.horizons_ns) <= 0:
            raise TruthError(f"horizons must be above zero, got {list(self.horizons_ns)}")
        if not self.ticks_below or min(self.ticks_below) < 0:
            raise TruthError(f"ticks below the bid must be 0 or more, got {list(self.ticks_below)}")
        if self.start_ns is not None and self.end_ns is not None and self.end_ns <= self.start_ns:
            raise TruthError(f"end {format_ns(self.end_ns)} is not after start {format_ns(self.start_ns)}")

    @property
    def horizon_ns(self) -> int:
        """Return the longest horizon: how long an order is watched."""
        return max(self.horizons_ns)

    @property
    def probe_step_ns(self) -> int:
        """Return the time between two readings of an order's queue ahead."""
        return self.every_ns if self.probe_every_ns is None else self.probe_every_ns


def infer_tick(events: MboEvents) -> int:
    """Return the venue's tick: the greatest common divisor of the gaps between its order prices."""
    rest = (events.action == ord("A")) | (events.action == ord("M"))
    prices = np.unique(events.price[rest & (events.price > 0)])
    if prices.size < 2:
        raise TruthError(f"{events.source}: too few order prices to infer the tick")
    return int(np.gcd.reduce(np.diff(prices)))


def place_orders(
    md: MarketData, settings: TruthSettings, tick: int, start_ns: int, end_ns: int
) -> VirtualOrders:
    """Place one order per entry time and offset, at the best bid less ``offset`` ticks.

    Entries run every ``settings.every_ns`` from ``start_ns`` while before ``end_ns``;
    an order joins after every row stamped at or before its entry time. Times with
    no bid, or a crossed book, place nothing.
    """
    times = np.arange(start_ns, end_ns, settings.every_ns, dtype=np.int64)
    rows = np.searchsorted(md.ts_event, times, side="right") - 1
    r = np.maximum(rows, 0)
    bid, ask = md.bid_px[r, 0], md.ask_px[r, 0]
    ok = (rows >= 0) & (md.bid_sz[r, 0] > 0) & ((md.ask_sz[r, 0] == 0) | (bid < ask))
    offsets = np.array(settings.ticks_below, dtype=np.int64)
    entry = np.repeat(times[ok], offsets.size)
    row = np.repeat(r[ok], offsets.size)
    offset = np.tile(offsets, int(ok.sum()))
    price = md.bid_px[row, 0] - offset * tick
    keep = price > 0
    entry, row, offset, price = entry[keep], row[keep], offset[keep], price[keep]
    hit = (md.bid_px[row] == price[:, None]) & (md.bid_sz[row] > 0)
    return VirtualOrders(
        entry_ts=entry,
        price=price,
        qty=np.full(entry.shape[0], settings.qty, dtype=np.int64),
        displayed=(hit * md.bid_sz[row]).sum(axis=1),
        offset=offset,
    )


def probe_grid(orders: VirtualOrders, settings: TruthSettings, last_ts: int) -> Probes:
    """Probe each order every ``probe_step_ns`` after its entry, up to the longest horizon, in time order.

    Probes after ``last_ts`` (the last record) are left out: nothing moves there.
    """
    step = settings.probe_step_ns
    steps = np.arange(1, settings.horizon_ns // step + 1, dtype=np.int64) * step
    ts = (orders.entry_ts[:, None] + steps[None, :]).ravel()
    order = np.repeat(np.arange(len(orders), dtype=np.int64), steps.size)
    keep = ts <= last_ts
    ts, order = ts[keep], order[keep]
    by_time = np.argsort(ts, kind="stable")
    return Probes(ts=ts[by_time], order=order[by_time])


def horizon_key(ns: int) -> str:
    """Return the report's name of a horizon: its seconds, ``"60"``."""
    return str(ns // NS_PER_SECOND) if ns % NS_PER_SECOND == 0 else repr(ns / NS_PER_SECOND)


def _rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def _filled_within(first: np.ndarray, entry_ts: np.ndarray, horizon_ns: int) -> np.ndarray:
    return (first != NOT_FILLED) & (first - entry_ts <= horizon_ns)


def score(model: ModelFills, truth: TrueFills, orders: VirtualOrders, horizons_ns: tuple[int, ...]) -> dict:
    """Score one model's fills against the truth (the figures of the module docstring)."""
    agreement, filled = {}, {}
    for h in horizons_ns:
        m = _filled_within(model.first, orders.entry_ts, h)
        t = _filled_within(truth.first, orders.entry_ts, h)
        agreement[horizon_key(h)] = _rounded((m == t).mean())
        filled[horizon_key(h)] = int(m.sum())
    longest = max(horizons_ns)
    both = _filled_within(model.first, orders.entry_ts, longest) & _filled_within(
        truth.first, orders.entry_ts, longest
    )
    err = (model.first[both] - truth.first[both]) / NS_PER_SECOND
    # Asked where the truth still rests unfilled, so every model answers the same probes.
    probed = truth.ahead != NOT_FILLED
    gap = np.abs(model.ahead[probed] - truth.ahead[probed])
    return {
        "agreement": agreement,
        "fill_time_error_s": {
            "median": _rounded(np.median(np.abs(err))) if err.size else None,
            "p90": _rounded(np.percentile(np.abs(err), 90)) if err.size else None,
            "median_signed": _rounded(np.median(err)) if err.size else None,
            "orders": int(both.sum()),
        },
        "queue_ahead_error": _rounded(gap.mean()) if gap.size else None,
        "queue_ahead": {
            "probes": int(gap.size),
            "exact": _rounded((gap == 0).mean()) if gap.size else None,
            "p90": _rounded(np.percentile(gap, 90)) if gap.size else None,
        },
        "filled": filled,
    }


def run_queue_truth(
    events: MboEvents,
    settings: TruthSettings | None = None,
    models: Mapping[str, QueueModel] = MODELS,
    *,
    on_progress: Callable[[str], None] | None = None,
) -> dict:
    """Run the experiment on one venue's MBO ``events``; return the report (a JSON-ready dict).

    ``on_progress`` hears one line per stage. Raises ``TruthError`` when the events
    hold more than one venue or instrument, or no order can be placed in the window.
    """
    settings = TruthSettings() if settings is None else settings
    say = on_progress or (lambda line: None)
    for name, col in (("venue", events.venue), ("instrument", events.instrument_id)):
        if np.unique(col).size > 1:
            raise TruthError(f"{events.source}: more than one {name} in the file; give one {name}'s events")
    say(f"building the MBP-10 book from {len(events):,} MBO records")
    derived = mbp_from_mbo(events)
    md = derived.md
    tick = infer_tick(events) if settings.tick is None else settings.tick
    live = events.ts_event[~events.snapshot]
    start = (
        (int(live[0]) if live.size else int(events.ts_event[0]))
        if settings.start_ns is None
        else settings.start_ns
    )
    end = int(events.ts_event[-1]) + 1 if settings.end_ns is None else settings.end_ns
    if end <= start:
        raise TruthError(f"{events.source}: empty window {format_ns(start)} .. {format_ns(end)}")
    orders = place_orders(md, settings, tick, start, end)
    if len(orders) == 0:
        raise TruthError(
            f"{events.source}: no order can be placed between {format_ns(start)} and {format_ns(end)} "
            "(no records before it, no bid, or a crossed book)"
        )
    probes = probe_grid(orders, settings, int(events.ts_event[-1]))
    say(f"truth: {len(orders):,} virtual orders at the back of the MBO queues")
    deadline = orders.entry_ts + settings.horizon_ns
    truth = true_fills(
        book_history(events), orders.entry_ts, orders.price, orders.qty, deadline, probes.ts, probes.order
    )
    feed = ReplayFeed.of(md)
    scores = {}
    for name, model in models.items():
        say(f"model {name}")
        fills = model_fills(feed, orders, model, settings.horizon_ns, probes)
        scores[name] = score(fills, truth, orders, settings.horizons_ns)
    return {
        "source": events.source,
        "symbol": events.symbol,
        "venue": int(events.venue[0]),
        "settings": {
            "start": format_ns(start),
            "end": format_ns(end),
            "every_s": _rounded(settings.every_ns / NS_PER_SECOND),
            "horizons_s": [_rounded(h / NS_PER_SECOND) for h in settings.horizons_ns],
            "probe_every_s": _rounded(settings.probe_step_ns / NS_PER_SECOND),
            "ticks_below": list(settings.ticks_below),
            "qty": settings.qty,
            "tick": units_to_decimal(tick),
        },
        "data": {
            "mbo_records": len(events),
            "mbp_rows": len(md),
            "anomalies": dict(sorted(derived.anomalies.items())),
        },
        "orders": {
            "placed": len(orders),
            "entry_ahead_equals_displayed": int((truth.ahead_on_entry == orders.displayed).sum()),
            "truth_filled": {
                horizon_key(h): int(_filled_within(truth.first, orders.entry_ts, h).sum())
                for h in settings.horizons_ns
            },
            "probes": len(probes),
        },
        "default_model": next((name for name, m in models.items() if m == DEFAULT_QUEUE_MODEL), None),
        "best_model": best_model(
            scores, horizon_key(sorted(settings.horizons_ns)[len(settings.horizons_ns) // 2])
        ),
        "models": scores,
    }


def best_model(scores: Mapping[str, Mapping], horizon: str = "60") -> str | None:
    """Return the model that agrees most at ``horizon``; ties go to the smaller queue-ahead error."""

    def key(name: str) -> tuple[float, float, str]:
        s = scores[name]
        agree = s["agreement"].get(horizon)
        err = s["queue_ahead_error"]
        return (-(-1.0 if agree is None else agree), math.inf if err is None else err, name)

    return min(scores, key=key) if scores else None


__all__ = [
    "HORIZONS_S",
    "MODELS",
    "TruthError",
    "TruthSettings",
    "best_model",
    "horizon_key",
    "infer_tick",
    "place_orders",
    "probe_grid",
    "run_queue_truth",
    "score",
]
