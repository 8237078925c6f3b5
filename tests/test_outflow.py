"""The outflow estimator: xi as the simulator fills, by hand on small feeds and against the engine."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from conftest import SEC, T0, book_row, make_md

from feeds.synthetic import SynthConfig, generate
from sim.engine import Engine, StrategySlot
from strategies.base import LaneStrategy
from strategies.outflow import OutflowEstimator
from venues.config import VenueConfig
from venues.params import param
from venues.queue import FrontFirst, Proportional, QueueTracker, apply_row
from venues.queue_models import LogProbability, ProbabilisticQueue, RiskAverse

MODELS = {
    "front_first": FrontFirst(),
    "risk_averse": RiskAverse(),
    "proportional": Proportional(),
    "probabilistic": ProbabilisticQueue(),
    "log_probability": LogProbability(),
}

T = 10 * SEC
ASK = [("10.05", 500)]


def feed(estimator, rows, ids=(1, 2)):
    """Give ``estimator`` ``rows`` in one batch, as the engine will."""
    md = make_md(rows)
    estimator.update(md, np.searchsorted(np.array(ids), md.venue))
    return md


def one_window(rows, ids=(1, 2), model=None):
    """Return xi of the single window (T0, T0 + T] for ``rows`` (the first rows, at T0, set the books)."""
    est = OutflowEstimator(ids, T, T, step_ns=T, origin_ns=T0, queue_models=model)
    feed(est, rows, ids)
    [xi] = est.samples(T0 + T).tolist()
    return xi


def bid(px, sz, **kw):
    return dict(bids=[(px, sz), ("9.98", 900)], asks=ASK, **kw)


def at(i):
    return T0 + i * SEC // 10


# Each case: the rows of venue 1 after its book at T0 (10.00 x 300), and xi = Q0 + fill worked out by hand.
CASES = {
    # Two prints at the bid: 200 of the 300 ahead trade, then a print of 250 takes the last 100
    # ahead and fills the order with 150.  xi = 300 + 150.
    "trades_consume_the_queue_then_fill": (
        [
            book_row(at(1), 1, **bid("10.00", 100), action="T", side="A", price="10.00", size=200),
            book_row(at(2), 1, bids=[("9.99", 500)], asks=ASK, action="T", side="A", price="10.00", size=250),
        ],
        450,
    ),
    # The level is cancelled away (100, then the last 200): nothing fills.  The old estimate then
    # also counted the 400 cancelled at the next level, 9.99, as outflow: xi 700, a 400-share fill.
    "vanished_level_fills_nothing": (
        [
            book_row(at(1), 1, **bid("10.00", 200), action="C", side="B", price="10.00", size=100),
            book_row(at(2), 1, bids=[("9.99", 500)], asks=ASK, action="C", side="B", price="10.00", size=200),
            book_row(at(3), 1, bids=[("9.99", 100)], asks=ASK, action="C", side="B", price="9.99", size=400),
        ],
        300,
    ),
    # Cancels come from ahead first (100 of 300), size added later queues behind (+400), and a
    # print of 350 then takes the 200 ahead and fills 150.  xi = 300 + 150.
    "cancels_ahead_and_joins_behind": (
        [
            book_row(at(1), 1, **bid("10.00", 200), action="C", side="B", price="10.00", size=100),
            book_row(at(2), 1, **bid("10.00", 600), action="A", side="B", price="10.00", size=400),
            book_row(at(3), 1, **bid("10.00", 250), action="T", side="A", price="10.00", size=350),
        ],
        450,
    ),
    # The level goes by cancels; a seller then prints 120 at 9.99, below our price: that seller
    # would have reached the order first, so it fills 120 (the printed size).  xi = 300 + 120.
    "print_below_fills_its_size": (
        [
            book_row(at(1), 1, bids=[("9.99", 300)], asks=ASK, action="C", side="B", price="10.00", size=300),
            book_row(at(2), 1, bids=[("9.99", 180)], asks=ASK, action="T", side="A", price="9.99", size=120),
        ],
        420,
    ),
    # Sellers come down to 10.00 showing 150 there (and 80 at 10.01): the order fills 150 and
    # keeps resting, alone at 10.00 (the level was cancelled away); the next row shows the ask
    # back at 10.05 and a print of 500 at 10.00, which fills it 500.  xi = 300 + 150 + 500.
    "ask_down_to_the_bid_fills_the_shown_size_and_keeps_resting": (
        [
            book_row(at(1), 1, bids=[("9.99", 300)], asks=[("10.00", 150), ("10.01", 80)]),
            book_row(at(2), 1, **bid("10.00", 100), action="T", side="A", price="10.00", size=500),
        ],
        950,
    ),
    # Two rows in a row show sellers at 10.00 (150, then 200): the first fills 150, the second
    # only the 50 more it shows, since the 150 stay taken while the ask stays down.
    # xi = 300 + 150 + 50.
    "an_ask_that_stays_down_fills_only_what_it_adds": (
        [
            book_row(at(1), 1, bids=[("9.99", 300)], asks=[("10.00", 150), ("10.01", 80)]),
            book_row(at(2), 1, bids=[("9.99", 300)], asks=[("10.00", 200), ("10.01", 80)]),
        ],
        500,
    ),
    # A feed that shows a print before its fall: the print of 100 leaves the book at 300, the
    # next row's fall of 100 is that print (credit), the fall after it a cancel of 50; then a
    # print of 200 meets 150 ahead and fills 50.  xi = 300 + 50.
    "a_print_pays_for_its_fall_on_the_next_row": (
        [
            book_row(at(1), 1, **bid("10.00", 300), action="T", side="A", price="10.00", size=100),
            book_row(at(2), 1, **bid("10.00", 200), action="C", side="B", price="10.00", size=100),
            book_row(at(3), 1, **bid("10.00", 150), action="C", side="B", price="10.00", size=50),
            book_row(at(4), 1, bids=[("9.99", 500)], asks=ASK, action="T", side="A", price="10.00", size=200),
        ],
        350,
    ),
    # Two prints in a row whose falls both lag: the print of 100 leaves the book at 300, the
    # print of 50 shows the first fall (to 200), the next row the second (to 150). Both falls
    # are the prints' (the credit of 150 lives through the second print's row and the row
    # after it), so no share was cancelled: 150 stay ahead and a print of 200 fills 50.
    # xi = 300 + 50 (the closed form that carried a credit one row only said 400).
    "two_prints_whose_falls_both_lag_are_both_paid_for": (
        [
            book_row(at(1), 1, **bid("10.00", 300), action="T", side="A", price="10.00", size=100),
            book_row(at(2), 1, **bid("10.00", 200), action="T", side="A", price="10.00", size=50),
            book_row(at(3), 1, **bid("10.00", 150), action="C", side="B", price="10.00", size=50),
            book_row(at(4), 1, bids=[("9.99", 500)], asks=ASK, action="T", side="A", price="10.00", size=200),
        ],
        350,
    ),
}


def with_opening_books(rows):
    return [book_row(T0, 1, **bid("10.00", 300)), book_row(T0, 2, **bid("10.00", 50)), *rows]


@pytest.mark.parametrize("case", CASES)
def test_xi_is_the_queue_plus_what_an_order_at_its_back_fills(case):
    rows, expected = CASES[case]
    assert one_window(with_opening_books(rows)) == [expected, 50]


@attrs.frozen
class RestParams:
    qty: int = param(0, kind=int, lo=0, hi=10**9, doc="shares to rest at each venue")


class RestAtBid(LaneStrategy):
    """Rest ``qty`` shares per lane at every venue's best bid at the start, and wait."""

    kind = "rest_at_bid"
    Params = RestParams

    def on_start(self, view):
        self.view = view
        self.call_at(self.start_ns, self._place)

    def _place(self):
        qty = np.array([p.qty for p in self.lane_params])
        self.queue = self.view.near_sz[:, 0].copy()
        for v in range(self.view.venues):
            if self.view.near_sz[v, 0] > 0:
                self.post(v, qty, int(self.view.near_px[v, 0]))


SIZES = (1, 49, 50, 100, 149, 150, 151, 400, 10_000)


def engine_maker_fills(md, model, ids=(1, 2)):
    """Run RestAtBid over ``md`` (no latency) and return (queue at entry, maker shares [lane, venue])."""
    engine = Engine(
        md,
        [VenueConfig.flat(v, queue=model) for v in ids],
        [StrategySlot("r", RestAtBid, tuple(RestParams(qty=q) for q in SIZES))],
        target=10**6,
        start_ns=T0,
        end_ns=T0 + T,
        seed=0,
    )
    ledger = engine.run().ledgers[0]
    return engine.strategies[0].queue, ledger.venue_maker


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("case", CASES)
def test_model_fill_equals_the_engine_fill_under_every_queue_model(case, model):
    # In these cases nobody joins behind the order before a cancel, so every model gives the
    # same xi (the hand-worked value); the engine's fill of each size must be min(L, xi - Q).
    rows = with_opening_books(CASES[case][0])
    xi = np.array(one_window(rows, model=MODELS[model]))
    assert xi[0] == CASES[case][1]
    queue, maker = engine_maker_fills(make_md(rows), MODELS[model])
    expected = np.minimum(np.array(SIZES)[:, None], np.maximum(xi - queue, 0))
    np.testing.assert_array_equal(maker, expected)


# 400 join behind the order (100 ahead after a first cancel of 200 that can only have come
# from ahead), then 200 more are cancelled and a print of 300 at 10.00 ends the level. Of that
# second cancel, front_first takes all 100 ahead (the print then fills 300), proportional
# 200 * 100 / 500 = 40 (fills 300 - 60 = 240), risk_averse none, from the 400 behind (fills
# 300 - 100 = 200). xi = 300 + fill: the estimate follows the venue's model.
JOINED_BEHIND = {"front_first": 600, "proportional": 540, "risk_averse": 500}


@pytest.mark.parametrize("model", JOINED_BEHIND)
def test_xi_follows_the_venues_queue_model_once_size_joined_behind(model):
    rows = with_opening_books(
        [
            book_row(at(1), 1, **bid("10.00", 100), action="C", side="B", price="10.00", size=200),
            book_row(at(2), 1, **bid("10.00", 500), action="A", side="B", price="10.00", size=400),
            book_row(at(3), 1, **bid("10.00", 300), action="C", side="B", price="10.00", size=200),
            book_row(at(4), 1, bids=[("9.99", 500)], asks=ASK, action="T", side="A", price="10.00", size=300),
        ]
    )
    xi = one_window(rows, model=MODELS[model])
    assert xi == [JOINED_BEHIND[model], 50]
    queue, maker = engine_maker_fills(make_md(rows), MODELS[model])
    expected = np.minimum(np.array(SIZES)[:, None], np.maximum(np.array(xi) - queue, 0))
    np.testing.assert_array_equal(maker, expected)
    assert maker[SIZES.index(10_000)].tolist() == [JOINED_BEHIND[model] - 300, 0]


def test_each_venue_keeps_its_own_queue_model():
    # The same rows at two venues, one front_first and one risk_averse: 600 and 500.
    rows = [
        book_row(T0, 1, **bid("10.00", 300)),
        book_row(T0, 2, **bid("10.00", 300)),
    ]
    steps = [
        (100, dict(action="C", side="B", price="10.00", size=200)),
        (500, dict(action="A", side="B", price="10.00", size=400)),
        (300, dict(action="C", side="B", price="10.00", size=200)),
    ]
    for i, (size, change) in enumerate(steps, start=1):
        rows += [book_row(at(i), v, **bid("10.00", size), **change) for v in (1, 2)]
    end = dict(bids=[("9.99", 500)], asks=ASK, action="T", side="A", price="10.00", size=300)
    rows += [book_row(at(4), v, **end) for v in (1, 2)]
    est = OutflowEstimator((1, 2), T, T, step_ns=T, origin_ns=T0, queue_models=(FrontFirst(), RiskAverse()))
    feed(est, rows)
    assert est.samples(T0 + T).tolist() == [[600, 500]]
    with pytest.raises(ValueError, match="one QueueModel per venue"):
        OutflowEstimator((1, 2), T, T, queue_models=(FrontFirst(),))


def test_the_engine_hands_each_venues_queue_model_to_the_strategy():
    from strategies.cont_kukanov import ContKukanov

    md = generate(SynthConfig(seconds=30, seed=1))
    models = (Proportional(), RiskAverse(), FrontFirst())
    engine = Engine(
        md,
        [VenueConfig.flat(v, queue=m) for v, m in zip(md.venues, models, strict=True)],
        [StrategySlot("ck", ContKukanov, (ContKukanov.parse_params({}),))],
        target=1000,
        start_ns=int(md.ts_event[0]),
        end_ns=int(md.ts_event[-1]),
        seed=0,
    )
    engine.run()
    assert engine.view.queue_models == models
    assert engine.strategies[0].estimator.queue_models == models


def simulator_fill(md, venue_id, t0, horizon, model):
    """Fill of an unbounded order at the back of ``venue_id``'s best bid at ``t0``, row by row."""
    rows = np.flatnonzero(md.venue == venue_id)
    r0 = rows[md.ts_event[rows] <= t0][-1]
    p0, q0 = int(md.bid_px[r0, 0]), int(md.bid_sz[r0, 0])
    tracker = QueueTracker(model)
    tracker.on_book(int(md.ts_event[r0]), md.bid_px[r0], md.bid_sz[r0], md.ask_px[r0], md.ask_sz[r0])
    tracker.add(1, p0, 10**9, q0)
    fill = 0
    for r in rows[(md.ts_event[rows] > t0) & (md.ts_event[rows] <= t0 + horizon)]:
        fill += sum(int(qf.qty.sum()) for qf in apply_row(tracker, md, r))
    return q0, fill


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    ("seconds", "seed", "horizon_s", "windows"),
    [
        (40, 3, 5, range(26)),
        # Windows 66-85 of this market include a stretch where the price falls through
        # the bids the orders joined, so asks come down to them row after row.
        (120, 7, 10, range(66, 86)),
    ],
)
def test_every_window_of_a_synthetic_market_matches_the_tracker_under_every_model(
    seconds, seed, horizon_s, windows, model
):
    md = generate(SynthConfig(seconds=seconds, seed=seed))
    ids = md.venues
    origin = int(md.ts_event[0]) // SEC * SEC + SEC
    horizon = horizon_s * SEC
    history = (seconds - 10) * SEC
    est = OutflowEstimator(ids, horizon, history, step_ns=SEC, origin_ns=origin, queue_models=MODELS[model])
    est.update(md, np.searchsorted(np.array(ids), md.venue))
    now = origin + history
    xi = est.samples(now)  # windows starting at origin .. now - horizon
    assert xi.shape == ((history - horizon) // SEC + 1, 3)
    fills = 0
    for j in windows:
        for k, v in enumerate(ids):
            q0, fill = simulator_fill(md, v, origin + j * SEC, horizon, MODELS[model])
            assert xi[j, k] == q0 + fill, (j, k)
            fills += fill
    assert fills > 0


def test_no_sample_before_one_horizon_and_none_from_rows_after_now():
    est = OutflowEstimator((1, 2), 2 * SEC, 10 * SEC, step_ns=SEC, origin_ns=T0)
    rows = with_opening_books(
        [book_row(T0 + SEC // 2, 1, **bid("10.00", 100), action="T", side="A", price="10.00", size=500)]
    )
    feed(est, rows)
    assert not est.ready(T0 + SEC) and est.samples(T0 + SEC).shape == (0, 2)
    # The window (T0, T0 + 2 s] holds the print: 300 ahead, 200 filled.
    assert est.samples(T0 + 2 * SEC).tolist() == [[500, 50]]
    # A row at T0 + 2.5 s, given later, belongs to windows that end after T0 + 2 s only.
    print_ = dict(action="T", side="A", price="10.00", size=80)
    late = book_row(T0 + 5 * SEC // 2, 2, bids=[("9.99", 500)], asks=ASK, **print_)
    feed(est, [late])
    assert est.samples(T0 + 3 * SEC).tolist() == [[500, 50], [100, 50 + 30]]


def test_rolling_window_keeps_the_last_history_and_bounded_rows():
    est = OutflowEstimator((1,), SEC, 3 * SEC, step_ns=SEC, origin_ns=T0)
    rows = [book_row(T0, 1, **bid("10.00", 1000))]
    size = 1000
    for i in range(40):
        size -= 10
        print_ = dict(action="T", side="A", price="10.00", size=10)
        rows.append(book_row(T0 + i * SEC + SEC // 2, 1, **bid("10.00", size), **print_))
    md = make_md(rows)
    for i in range(len(md)):  # one row at a time, sampling as a strategy would
        est.update(md.take(np.array([i])), np.zeros(1, dtype=np.int64))
        est.samples(int(md.ts_event[i]))
    # Windows of 1 s starting in the last 3 s: three of them, each 10 traded from the queue.
    xi = est.samples(T0 + 40 * SEC)
    assert xi.shape == (3, 1)
    assert xi[:, 0].tolist() == [size + 30, size + 20, size + 10]
    assert len(est._rows["ts_event"]) <= 2


def test_update_takes_a_batch_spanning_many_instants_in_one_call():
    md = generate(SynthConfig(seconds=60, seed=2))
    ids = md.venues
    index = np.searchsorted(np.array(ids), md.venue)
    whole = OutflowEstimator(ids, 10 * SEC, 30 * SEC, origin_ns=int(md.ts_event[0]))
    whole.update(md, index)
    piecewise = OutflowEstimator(ids, 10 * SEC, 30 * SEC, origin_ns=int(md.ts_event[0]))
    cuts = np.linspace(0, len(md), 13).astype(int)
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        piecewise.update(md.take(np.arange(a, b)), index[a:b])
        piecewise.samples(int(md.ts_event[b - 1]))
    now = int(md.ts_event[-1])
    np.testing.assert_array_equal(whole.samples(now), piecewise.samples(now))


def test_a_sell_order_frame_reads_the_asks_as_its_queue():
    # A sell order joins the best ask (10.05 x 300); a buyer lifting 450 at 10.05 takes the 300
    # ahead and fills 150: xi = 300 + 150, read from the tape's order frame (prices negated).
    from sim.tape import to_order_frame

    rows = [
        book_row(T0, 1, bids=[("10.00", 200)], asks=[("10.05", 300), ("10.06", 500)]),
        book_row(T0, 2, bids=[("10.00", 200)], asks=[("10.05", 70)]),
        book_row(
            at(1),
            1,
            bids=[("10.00", 200)],
            asks=[("10.06", 350)],
            action="T",
            side="B",
            price="10.05",
            size=450,
        ),
    ]
    md = to_order_frame(make_md(rows), "sell")
    est = OutflowEstimator((1, 2), T, T, step_ns=T, origin_ns=T0)
    est.update(md, np.searchsorted(np.array([1, 2]), md.venue))
    assert est.samples(T0 + T).tolist() == [[450, 70]]


def test_windows_after_a_quiet_stretch_start_from_the_last_book():
    # One row at T0 (500 shown at 10.00), then nothing for 5 s: every window later starts
    # with 500 ahead and sees no outflow, so xi = Q0 + 0 = 500 (and the estimate does not fail
    # for holding no row).
    est = OutflowEstimator((1, 2), horizon_ns=SEC, history_ns=3 * SEC, step_ns=SEC, origin_ns=T0)
    feed(est, [book_row(T0, 1, **bid("10.00", 500))])
    assert est.ready(T0 + 5 * SEC)
    samples = est.samples(T0 + 5 * SEC)
    assert samples.shape[1] == 2 and samples.shape[0] >= 1
    assert (samples[:, 0] == 500).all() and (samples[:, 1] == 0).all()
    # Asked again two seconds on, when every row has been dropped: the new windows start from the
    # book the dropped rows left.
    later = est.samples(T0 + 7 * SEC)
    assert later.shape[0] >= 1 and (later[:, 0] == 500).all() and (later[:, 1] == 0).all()
