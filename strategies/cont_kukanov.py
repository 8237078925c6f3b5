"""Cont–Kukanov: a market order plus queue-aware limit orders, re-decided every horizon.

Every horizon ``T`` (from the window's start), for what each lane still has to
buy, the strategy solves the paper's placement problem (``docs/cont-kukanov.md``
§2, ``strategies.ck_model``) and sends the answer ``X = (M, L_1..L_K)``:

* ``M`` as marketable orders, cheapest ask plus taker fee first, across venues and
  levels, each venue's order limited at the dearest level it needs;
* each ``L_k`` as a buy limit order at venue ``k``'s best bid.

Inputs at a decision (all read from the books and feed up to the decision instant):

* ``h``: the consolidated half-spread, ``(best ask - best bid) / 2`` across venues;
* ``f``: the taker fee of the venue whose best ask plus fee is cheapest;
* ``r_k``: venue ``k``'s maker rebate; ``Q_k``: the size displayed at its best bid;
* ``xi``: the empirical outflow samples of ``strategies.outflow.OutflowEstimator``
  over the last ``estimation_s`` seconds, read from the feed with the simulator's
  fill rules (the queue at a window's start plus what an order at its back filled),
  so the model's fill agrees with the venues'. The rows applied since the last
  decision reach the estimator in one batch when the strategy decides.

Rules
-----
Decision instant
    A horizon's timer first cancels every limit order still working, then waits
    until nothing of the strategy is working: every cancel has landed (after the
    venue's latency) and every marketable order has reported. It then decides on
    ``remaining()`` (target less filled), which is exact because nothing is in
    flight. Rows stamped with the timer's own instant are applied first.
Before history
    Until one whole horizon of feed has been seen, the strategy waits: no order is
    sent, and the decision is retried at the next horizon. (The outflow law would
    otherwise be a guess; the catch-up sweep covers what a late start leaves.)
One venue with a bid
    The closed form (``ck_model.single_venue_optimum``); none: market order only.
Several venues
    Exact line searches over the cost's breakpoints from a few starts, all lanes in
    one vectorised call (``strategies.ck_search.allocate``), giving whole shares. With
    ``sa_samples > 0`` the projected stochastic approximation of the doc
    (``ck_model.sa_allocate``, that many iterations, drawing from ``self.rng``) adds
    its rounded answer as one more start; the default, 0, skips it (the descent alone
    is within 0.1% of the optimum in the cases measured, and SA costs about as much).
Never more than the target
    Overbooking (``M + sum L > remaining``) is the model's choice. When every lane
    has its target, all working orders are cancelled. A lane that completes while
    other lanes still trade cannot cancel alone (an order carries every lane), so
    its resting shares are capped at the venue: the engine's ``headroom(owner)`` (target
    less filled less marketable shares in flight) bounds every maker fill, and
    ``venues.resting.RestingBook`` books the excess as cancelled. That cap also
    removes the residual risk of fills landing within a cancel's latency.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from feeds.market import MarketData
from strategies import ck_search
from strategies.base import ParameterError, Strategy
from strategies.ck_model import CostParamsBatch, sa_allocate, single_venue_optimum
from strategies.outflow import OutflowEstimator
from venues.orders import Fill, OrderKind, OrderReport
from venues.view import BookView

_NS_PER_S = 1_000_000_000
_DOLLAR = 1e9  # 1e-9 dollar units per dollar
_COMMON = ("horizon_s", "estimation_s", "sa_samples")
_FEED_COLUMNS = (
    "ts_event",
    "ts_recv",
    "venue",
    "action",
    "side",
    "price",
    "size",
    "bid_px",
    "bid_sz",
    "ask_px",
    "ask_sz",
)


@attrs.frozen(eq=False)
class Decision:
    """One placement decision, for every lane: what was needed and what was sent.

    ``market`` has shape ``[lanes]``, ``limit`` ``[lanes, venues]`` (zero for venues
    without a bid), ``queue`` the best-bid sizes ``Q_k`` used, ``xi`` the outflow
    samples ``[N, venues]`` and ``params`` the cost functions (``None`` when it
    waited). ``waited`` is true when there was no history yet and nothing was sent.
    """

    ts: int
    need: np.ndarray
    market: np.ndarray
    limit: np.ndarray
    queue: np.ndarray
    xi: np.ndarray
    params: CostParamsBatch | None = None
    waited: bool = False


def _number(kind: str, name: str, value: Any, *, positive: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value <= 0):
        rule = "> 0" if positive else ">= 0"
        raise ParameterError(f"{kind}: {name} must be a finite number {rule}, got {value!r}")
    return float(value)


class ContKukanov(Strategy):
    """Route by the Cont–Kukanov model: a market order and limit orders at each venue's best bid.

    Every lane is one cost function (``lambda_over``, ``lambda_under``, ``theta`` in
    dollars per share); ``horizon_s``, ``estimation_s`` and ``sa_samples`` set the
    decision clock and must be the same in every lane. See the module docstring
    for the rules.
    """

    kind = "cont_kukanov"
    vectorized = True
    defaults = {
        "lambda_over": 0.01,
        "lambda_under": 0.05,
        "theta": 0.0005,
        "horizon_s": 10,
        "estimation_s": 120,
        "sa_samples": 0,
    }
    aliases = {"theta_queue": "theta"}

    def __init__(self, params: Sequence[Mapping[str, Any]], **kwargs: Any):
        super().__init__(params, **kwargs)
        for name in _COMMON:
            if len({p[name] for p in self.params}) != 1:
                raise ParameterError(f"{self.kind}: {name} must be the same in every parameter set")
        first = self.params[0]
        for p in self.params:
            for name in ("lambda_over", "lambda_under", "theta"):
                _number(self.kind, name, p[name])
        horizon = _number(self.kind, "horizon_s", first["horizon_s"], positive=True)
        history = _number(self.kind, "estimation_s", first["estimation_s"], positive=True)
        if history < horizon:
            raise ParameterError(f"{self.kind}: estimation_s must be >= horizon_s")
        samples = first["sa_samples"]
        if isinstance(samples, bool) or not isinstance(samples, int) or not 0 <= samples <= 1_000_000:
            raise ParameterError(
                f"{self.kind}: sa_samples must be a whole number from 0 to 1000000, got {samples!r}"
            )
        self.horizon_ns = max(1, int(round(horizon * _NS_PER_S)))
        self.history_ns = max(self.horizon_ns, int(round(history * _NS_PER_S)))
        self.sa_samples = samples
        self.lambda_over = self.param("lambda_over")
        self.lambda_under = self.param("lambda_under")
        self.theta = self.param("theta")
        self.decisions: list[Decision] = []
        self.estimator: OutflowEstimator | None = None
        self._view: BookView | None = None
        self._fed = 0  # feed rows handed to the estimator so far
        self._venue_order: np.ndarray | None = None
        self._working: dict[int, tuple[int, OrderKind]] = {}
        self._due = False
        self._closing = False

    # -- callbacks ------------------------------------------------------------------

    def on_start(self, view: BookView) -> None:
        self._view = view
        self.estimator = OutflowEstimator(
            view.venue_ids, self.horizon_ns, self.history_ns, origin_ns=self.start_ns
        )
        ids = np.asarray(view.venue_ids, dtype=np.int64)
        self._venue_order = np.argsort(ids, kind="stable")
        self.call_at(self.start_ns, self._horizon)

    def _feed_estimator(self, view: BookView) -> None:
        """Give the estimator every feed row applied since the last decision, in one batch."""
        stop = view.batch_stop
        if stop <= self._fed:
            return
        rows = MarketData(**{name: view.column(name)[self._fed : stop] for name in _FEED_COLUMNS})
        ids = np.asarray(view.venue_ids, dtype=np.int64)
        where = np.searchsorted(ids, rows.venue, sorter=self._venue_order)
        self.estimator.update(rows, self._venue_order[where])
        self._fed = stop

    def on_fill(self, fill: Fill) -> None:
        if self.done and not self._closing:
            self._closing = True
            self._cancel_limits()

    def on_report(self, report: OrderReport) -> None:
        self._working.pop(report.order_id, None)
        if self._due and not self._working:
            self._due = False
            self._decide()

    # -- the decision clock ---------------------------------------------------------

    def _horizon(self) -> None:
        if self.done or self.now >= self.end_ns:
            return
        after = self.now + self.horizon_ns
        if after < self.end_ns:
            self.call_at(after, self._horizon)
        self._cancel_limits()
        self._due = True
        # Let the feed apply the rows stamped with this instant before deciding.
        self.call_at(self.now, self._when_idle)

    def _when_idle(self) -> None:
        if self._due and not self._working:
            self._due = False
            self._decide()

    def _cancel_limits(self) -> None:
        for order_id, (venue, kind) in list(self._working.items()):
            if kind is OrderKind.LIMIT:
                self.cancel(venue, order_id)

    # -- the decision ---------------------------------------------------------------

    def _decide(self) -> None:
        view = self._view
        need = np.maximum(self.remaining(), 0)
        k = view.venues
        if not need.any():
            return
        zeros = np.zeros((self.lanes, k), dtype=np.int64)
        bid = view.best_bid()
        ask = view.best_ask()
        queue = np.where(bid > 0, view.bid_sz[:, 0], 0)
        now = self.now
        self._feed_estimator(view)
        if not self.estimator.ready(now) or not (ask > 0).any() or not (bid > 0).any():
            empty = np.zeros((0, k), dtype=np.int64)
            self.decisions.append(Decision(now, need, np.zeros_like(need), zeros, queue, empty, waited=True))
            return
        xi = self.estimator.samples(now)
        market, limit = self.allocate(need, view, xi)
        params = self.cost_params(view, np.arange(k))
        self.decisions.append(Decision(now, need, market, limit, queue, xi, params))
        self._send_market(view, market)
        for v in range(k):
            if limit[:, v].any():
                order_id = self.rest(v, limit[:, v], int(bid[v]))
                self._working[order_id] = (v, OrderKind.LIMIT)

    def cost_params(self, view: BookView, venues: np.ndarray) -> CostParamsBatch:
        """Return each lane's cost function at the current books, for the venues ``venues``."""
        bid, ask = view.best_bid(), view.best_ask()
        quoted = ask > 0
        best_ask = int(ask[quoted].min())
        h = max(best_ask - int(bid.max()), 0) / 2 / _DOLLAR
        taker = np.flatnonzero(quoted)[np.argmin((ask + view.fee)[quoted])]
        f = float(view.fee[taker]) / _DOLLAR
        r = view.rebate[venues].astype(np.float64) / _DOLLAR
        lanes = self.lanes
        return CostParamsBatch(
            h=np.full(lanes, h),
            f=np.full(lanes, f),
            r=np.broadcast_to(r, (lanes, r.shape[0])),
            theta=self.theta,
            lambda_u=self.lambda_under,
            lambda_o=self.lambda_over,
        )

    def allocate(self, need: np.ndarray, view: BookView, xi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the whole-share decision ``(M [lanes], L [lanes, venues])`` for ``need`` now.

        Venues without a bid get no limit order; with none, everything is a market order.
        """
        k = view.venues
        market = need.copy()
        limit = np.zeros((self.lanes, k), dtype=np.int64)
        usable = np.flatnonzero(view.best_bid() > 0)
        if usable.size == 0:
            return market, limit
        params = self.cost_params(view, usable)
        queue = view.bid_sz[usable, 0]
        samples = xi[:, usable]
        live = np.flatnonzero(need > 0)
        if usable.size == 1:
            for p in live:
                m, l1 = single_venue_optimum(int(need[p]), int(queue[0]), samples[:, 0], params=params[p])
                market[p], limit[p, usable[0]] = m, l1
            return market, limit
        extra = []
        if self.sa_samples:
            extra.append(sa_allocate(need, queue, samples, params, self.sa_samples, self.rng))
        whole = ck_search.allocate(need, queue, samples, params, extra_starts=extra)
        market[live] = whole[live, 0]
        limit[np.ix_(live, usable)] = whole[live, 1:]
        return market, limit

    def _send_market(self, view: BookView, market: np.ndarray) -> None:
        if not market.any():
            return
        offered = self.available_asks()
        ask_px, ask_sz, fee = view.ask_px, view.ask_sz, view.fee
        levels = sorted(
            (int(ask_px[v, lv]) + int(fee[v]), v, lv)
            for v in range(view.venues)
            for lv in range(ask_px.shape[1])
            if ask_sz[v, lv] > 0
        )
        rem = market.copy()
        qty = np.zeros((view.venues, self.lanes), dtype=np.int64)
        limit_px = [0] * view.venues
        for _cost, v, lv in levels:
            take = np.minimum(rem, np.maximum(offered[:, v, lv], 0))
            if take.any():
                qty[v] += take
                rem -= take
                limit_px[v] = max(limit_px[v], int(ask_px[v, lv]))
                if not rem.any():
                    break
        for v in range(view.venues):
            if qty[v].any():
                order_id = self.buy(v, qty[v], limit_px[v])
                self._working[order_id] = (v, OrderKind.MARKETABLE)
