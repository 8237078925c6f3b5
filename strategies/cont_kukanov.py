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
  over the last ``estimation_s`` seconds, read from the tape with the simulator's
  fill rules (the queue at a window's start plus what an order at its back filled),
  so the model's fill agrees with the venues'.

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
    its rounded answer as one more start; the default, 0, skips it.
A lane that has its target
    Overbooking (``M + sum L > remaining``) is the model's choice. As soon as a lane
    hears that it has its target it cancels its own lanes of every working limit
    order (the other lanes keep theirs). Fills that land before the cancel does are
    executed, as at a real venue, so a lane can end above its target: that is the
    overfill ``lambda_over`` prices, reported as ``overfill_shares``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from strategies import ck_search
from strategies.base import LaneStrategy, ParameterError
from strategies.ck_model import CostParamsBatch, sa_allocate, single_venue_optimum
from strategies.outflow import OutflowEstimator
from venues.orders import Fill, OrderKind, OrderReport
from venues.params import param
from venues.view import BookView

_NS_PER_S = 1_000_000_000
_DOLLAR = 1e9  # 1e-9 dollar units per dollar
_COMMON = ("horizon_s", "estimation_s", "sa_samples")
#: A window cut into more decisions than this is a typo, not a strategy.
MAX_DECISIONS = 100_000
_PENALTY = dict(lo=0.0, hi=1_000.0, unit="$/share")


@attrs.frozen
class ContKukanovParams:
    """One Cont–Kukanov cost function (dollars per share) and the decision clock (seconds)."""

    lambda_over: float = param(0.01, **_PENALTY, doc="penalty per share bought beyond the target")
    lambda_under: float = param(0.05, **_PENALTY, doc="penalty per share left unfilled")
    theta: float = param(0.0005, **_PENALTY, doc="impact cost per share sent")
    horizon_s: float = param(10, lo=0.01, hi=86_400.0, unit="s", doc="time between decisions")
    estimation_s: float = param(120, lo=0.01, hi=7 * 86_400.0, unit="s", doc="outflow history")
    sa_samples: int = param(0, kind=int, lo=0, hi=100_000, doc="iterations of an extra SA start (0: none)")


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


class ContKukanov(LaneStrategy):
    """Route by the Cont–Kukanov model: a market order and limit orders at each venue's best bid.

    Every lane is one cost function (``lambda_over``, ``lambda_under``, ``theta`` in
    dollars per share); ``horizon_s``, ``estimation_s`` and ``sa_samples`` set the
    decision clock and must be the same in every lane. See the module docstring
    for the rules.
    """

    kind = "cont_kukanov"
    Params = ContKukanovParams

    def __init__(self, params: Sequence[Any], **kwargs: Any):
        super().__init__(params, **kwargs)
        for name in _COMMON:
            if len({getattr(p, name) for p in self.lane_params}) != 1:
                raise ParameterError(f"{self.kind}: {name} must be the same in every parameter set")
        first = self.lane_params[0]
        if first.estimation_s < first.horizon_s:
            raise ParameterError(f"{self.kind}: estimation_s must be >= horizon_s")
        self.horizon_ns = max(1, int(round(first.horizon_s * _NS_PER_S)))
        self.history_ns = max(self.horizon_ns, int(round(first.estimation_s * _NS_PER_S)))
        decisions = max(self.end_ns - self.start_ns, 0) // self.horizon_ns
        if decisions > MAX_DECISIONS:
            raise ParameterError(
                f"{self.kind}: horizon_s = {first.horizon_s} makes {decisions:,} decisions in the window "
                f"(at most {MAX_DECISIONS:,})"
            )
        self.sa_samples = first.sa_samples
        self.lambda_over = self.param("lambda_over")
        self.lambda_under = self.param("lambda_under")
        self.theta = self.param("theta")
        self.decisions: list[Decision] = []
        self.estimator: OutflowEstimator | None = None
        self._view: BookView | None = None
        self._working: dict[int, tuple[int, OrderKind]] = {}
        self._due = False
        self._lane_done = np.zeros(self.lanes, dtype=bool)

    # -- callbacks ------------------------------------------------------------------

    def on_start(self, view: BookView) -> None:
        self._view = view
        self.estimator = OutflowEstimator(
            view.venue_ids,
            self.horizon_ns,
            self.history_ns,
            origin_ns=self.start_ns,
            queue_models=view.queue_models,
        )
        self.call_at(self.start_ns, self._horizon)

    @property
    def watching(self) -> bool:
        return False  # it decides on its own clock; the tape feeds its estimate

    def on_tape(self, rows, venue_index: np.ndarray) -> None:
        self.estimator.update(rows, venue_index)

    def on_fill(self, fill: Fill) -> None:
        # A lane that has its target pulls its own resting shares; fills that land before
        # the cancel does are real (and cost lambda_over in the model).
        done = (self.filled >= self.target) & ~self._lane_done
        if done.any():
            self._lane_done |= done
            self._cancel_limits(done)

    def on_report(self, report: OrderReport) -> None:
        if report.complete:
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

    def _cancel_limits(self, lanes: np.ndarray | None = None) -> None:
        for order_id, (venue, kind) in list(self._working.items()):
            if kind is OrderKind.LIMIT:
                self.cancel(venue, order_id, lanes)

    # -- the decision ---------------------------------------------------------------

    def _decide(self) -> None:
        view = self._view
        need = np.maximum(self.remaining(), 0)
        k = view.venues
        if not need.any():
            return
        zeros = np.zeros((self.lanes, k), dtype=np.int64)
        bid, bid_ok = view.best_near()
        ask, ask_ok = view.best_far()
        queue = np.where(bid_ok, view.near_sz[:, 0], 0)
        now = self.now
        if not self.estimator.ready(now) or not ask_ok.any() or not bid_ok.any():
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
                order_id = self.post(v, limit[:, v], int(bid[v]))
                self._working[order_id] = (v, OrderKind.LIMIT)

    def cost_params(self, view: BookView, venues: np.ndarray) -> CostParamsBatch:
        """Return each lane's cost function at the current books, for the venues ``venues``."""
        (bid, bid_ok), (ask, quoted) = view.best_near(), view.best_far()
        best_ask = int(ask[quoted].min())
        h = max(best_ask - int(bid[bid_ok].max()), 0) / 2 / _DOLLAR
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
        usable = np.flatnonzero(view.best_near()[1])
        if usable.size == 0:
            return market, limit
        params = self.cost_params(view, usable)
        queue = view.near_sz[usable, 0]
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
        offered = self.offered()
        ask_px, ask_sz, fee = view.far_px, view.far_sz, view.fee
        levels = sorted(
            (int(ask_px[v, lv]) + int(fee[v]), v, lv)
            for v in range(view.venues)
            for lv in range(ask_px.shape[1])
            if ask_sz[v, lv] > 0
        )
        rem = market.copy()
        qty = np.zeros((view.venues, self.lanes), dtype=np.int64)
        limit_px = [-(2**62)] * view.venues  # order prices are negative for a sell
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
                order_id = self.take(v, qty[v], limit_px[v])
                self._working[order_id] = (v, OrderKind.MARKETABLE)
