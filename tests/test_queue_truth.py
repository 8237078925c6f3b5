"""Queue models against the MBO ground truth of the shared ARL day, and the truth engine itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

from venues.queue import DEFAULT_QUEUE_MODEL, FrontFirst, Proportional
from venues.queue_truth import (
    ARL_MBO,
    ARL_MBP,
    MINUTE_NS,
    MODELS,
    NOT_FILLED,
    MboEvents,
    VirtualOrders,
    agreement_report,
    compare_fills,
    model_fills,
    place_grid,
    read_mbo,
    read_mbp10,
    true_fills,
)

HOUR = 60 * MINUTE_NS
DEFAULT = "proportional"

needs_arl = pytest.mark.skipif(
    not (ARL_MBP.exists() and ARL_MBO.exists()), reason="shared ARL files not present"
)


@pytest.fixture(scope="module")
def arl():
    md, mbo = read_mbp10(), read_mbo()
    return md, mbo, place_grid(md)


@pytest.fixture(scope="module")
def report(arl):
    md, mbo, orders = arl
    return agreement_report(md, mbo, orders=orders)


# -- the ARL day -------------------------------------------------------------------------


@needs_arl
def test_default_model_is_the_one_the_report_calls_proportional():
    assert MODELS[DEFAULT] == DEFAULT_QUEUE_MODEL


@needs_arl
def test_grid_places_enough_orders_and_both_books_agree_on_entry(arl):
    md, mbo, orders = arl
    # 762 entry minutes with a bid (08:05:09 to 20:47:09 UTC), at the best bid and a tick below.
    assert len(orders) == 1524
    truth = true_fills(mbo, orders)
    # The MBP-10 size at our price on entry is the real queue ahead of us in the MBO book.
    assert np.array_equal(truth.ahead_on_entry, orders.displayed)


@needs_arl
def test_default_model_figures_are_pinned(report):
    # Pinned on the shared ARL day (2025-07-17, XNAS); change only with an explained reason.
    hour, day = report[HOUR][DEFAULT], report[None][DEFAULT]
    f = hour.first_fill
    assert (f.orders, f.filled_truth, f.filled_model, f.both_filled) == (1524, 46, 90, 46)
    assert f.outcome_agreement == pytest.approx(1480 / 1524, abs=1e-9)  # 0.9711
    assert (f.median_error_s, f.p90_error_s, f.bias_s) == (0.0, 0.0, 0.0)
    f = day.first_fill
    assert (f.orders, f.filled_truth, f.filled_model, f.both_filled) == (1524, 406, 406, 406)
    assert f.outcome_agreement == 1.0
    assert f.median_error_s == 0.0
    # 44 orders behind the 100-lot at $13.11 take 2-28 shares at 16:51:49 in the model
    # and nothing until an ask comes down to them at 19:18:05 in truth.
    assert f.p90_error_s == pytest.approx(8776.2, abs=0.5)
    # A print below our bid fills us only up to its size (on both sides), so fewer
    # orders are complete within the hour than first fill, and some later than that.
    hour_full, day_full = report[HOUR][DEFAULT].full_fill, report[None][DEFAULT].full_fill
    assert (hour_full.outcome_agreement, hour_full.filled_truth) == (1.0, 16)
    assert (hour_full.median_error_s, hour_full.p90_error_s) == (0.0, 0.0)
    assert (day_full.outcome_agreement, day_full.filled_truth) == (1.0, 406)
    assert day_full.median_error_s == 0.0
    assert day_full.p90_error_s == pytest.approx(59.18, abs=0.5)
    assert day.probes == 63319
    assert day.ahead_mae == pytest.approx(0.2167, abs=5e-4)
    assert day.ahead_exact == pytest.approx(0.9866, abs=5e-4)


@needs_arl
def test_every_model_agreement_is_a_share(report):
    for by_model in report.values():
        for agreement in by_model.values():
            for fills in (agreement.first_fill, agreement.full_fill):
                assert 0.0 <= fills.outcome_agreement <= 1.0
                assert fills.both_filled <= min(fills.filled_truth, fills.filled_model) <= fills.orders
            assert 0.0 <= agreement.ahead_exact <= 1.0


@needs_arl
def test_default_model_agrees_at_least_as_well_as_any_other(report):
    for by_model in report.values():
        best = max(a.first_fill.outcome_agreement for a in by_model.values())
        assert by_model[DEFAULT].first_fill.outcome_agreement == best
        assert by_model[DEFAULT].full_fill.outcome_agreement == 1.0
    # Among the models without a tuned parameter it tracks the real queue best.
    day = report[None]
    assert day[DEFAULT].ahead_mae < day["front_first"].ahead_mae
    assert day[DEFAULT].ahead_mae < day["probabilistic_p2"].ahead_mae


@needs_arl
def test_front_first_never_fills_later_than_proportional(arl):
    md, _, orders = arl
    front = model_fills(md, orders, FrontFirst())
    prop = model_fills(md, orders, Proportional())
    for f, p in ((front.first, prop.first), (front.full, prop.full)):
        assert not ((f == NOT_FILLED) & (p != NOT_FILLED)).any()
        both = (f != NOT_FILLED) & (p != NOT_FILLED)
        assert (f[both] <= p[both]).all()


@needs_arl
def test_filling_on_a_vanished_level_agrees_far_worse(arl):
    # The rule "the level vanished and the best bid fell below us: fill in full" fills
    # 1430 of 1524 orders by the end of the day where the truth fills 406, hours early.
    md, mbo, orders = arl
    truth = true_fills(mbo, orders).times
    vanish = model_fills(md, orders, DEFAULT_QUEUE_MODEL, vanish_fills=True)
    day = compare_fills(vanish.first, truth.first, orders.entry_ts, None)
    assert day.filled_model == 1430
    assert day.outcome_agreement == pytest.approx(500 / 1524, abs=1e-9)  # 0.328
    assert day.bias_s < -3600


# -- the truth engine on hand-built MBO events ------------------------------------------------

P = 13_110_000_000
TICK = 10_000_000


def _mbo(*events: tuple[int, str, str, int, int, int]) -> MboEvents:
    """Events as (ts, action, side, price, size, order_id)."""
    cols = list(zip(*events, strict=True))
    return MboEvents(
        ts_event=np.array(cols[0], dtype=np.int64),
        action=np.array([ord(a) for a in cols[1]], dtype=np.int64),
        side=np.array([ord(s) for s in cols[2]], dtype=np.int64),
        price=np.array(cols[3], dtype=np.int64),
        size=np.array(cols[4], dtype=np.int64),
        order_id=np.array(cols[5], dtype=np.int64),
    )


def _one_order(entry_ts: int, price: int = P, qty: int = 100) -> VirtualOrders:
    return VirtualOrders(
        entry_ts=np.array([entry_ts]), price=np.array([price]), qty=np.array([qty]), displayed=np.array([0])
    )


def test_truth_execution_of_the_order_ahead_does_not_fill_us_but_one_behind_does():
    # Order 1 (100 at P) rests; we enter at ts 2 behind it; order 2 (50 at P) joins
    # behind us at ts 3. At ts 4 order 1 trades in full (T, F, C): nothing for us.
    # At ts 5 order 2 trades 30: it stood behind us, so those 30 would have hit us.
    # At ts 6 a bid of 10 a tick below rests and trades at ts 7: that seller went
    # through our price and would have reached us first: 10 more fill us (40 left).
    events = _mbo(
        (1, "A", "B", P, 100, 1),
        (3, "A", "B", P, 50, 2),
        (4, "T", "A", P, 100, 0),
        (4, "F", "B", P, 100, 1),
        (4, "C", "B", P, 100, 1),
        (5, "T", "A", P, 30, 0),
        (5, "F", "B", P, 30, 2),
        (5, "C", "B", P, 30, 2),
        (6, "A", "B", P - TICK, 10, 3),
        (7, "F", "B", P - TICK, 10, 3),
        (7, "C", "B", P - TICK, 10, 3),
    )
    truth = true_fills(events, _one_order(2))
    assert truth.ahead_on_entry.tolist() == [100]
    assert truth.times.first.tolist() == [5]
    assert truth.times.full.tolist() == [NOT_FILLED]


def test_truth_ask_at_our_price_fills_up_to_its_size():
    # A sell order of 5 placed at our bid trades with us: 5 of our 100; 95 come from
    # a sell of 200 placed a tick below.
    events = _mbo(
        (1, "A", "B", P, 100, 1),
        (3, "A", "A", P + TICK, 5, 2),
        (4, "A", "A", P, 5, 3),
        (6, "A", "A", P - TICK, 200, 4),
    )
    truth = true_fills(events, _one_order(2))
    assert truth.times.first.tolist() == [4] and truth.times.full.tolist() == [6]


def test_truth_order_that_grows_loses_its_place_and_queues_behind_us():
    # Order 1 (100 at P) is ahead of us, then grows to 150 (a modify that loses
    # priority): it now stands behind us, so its execution of 40 fills us with 40.
    events = _mbo(
        (1, "A", "B", P, 100, 1),
        (3, "M", "B", P, 150, 1),
        (4, "F", "B", P, 40, 1),
        (4, "C", "B", P, 40, 1),
    )
    truth = true_fills(events, _one_order(2))
    assert truth.times.first.tolist() == [4]
    assert truth.times.full.tolist() == [NOT_FILLED]


def test_truth_cancel_ahead_then_hidden_trade_changes_nothing():
    events = _mbo((1, "A", "B", P, 100, 1), (3, "C", "B", P, 100, 1), (4, "T", "N", P, 100, 0))
    truth = true_fills(events, _one_order(2))
    assert truth.times.first.tolist() == [NOT_FILLED]


def test_compare_fills_scores_outcomes_and_errors_by_hand():
    # Four orders entered at 0. Truth fills at 10 s, 20 s, never, 5000 s; model at
    # 12 s, never, never, 4 s. Horizon 1 h: order 4's true fill is out of it.
    # Outcomes: (T, T) (T, F) (F, F) (F, T) -> agree on orders 1 and 3: 0.5.
    # Both filled: order 1 only, error +2 s.
    s = 1_000_000_000
    truth = np.array([10 * s, 20 * s, NOT_FILLED, 5000 * s])
    model = np.array([12 * s, NOT_FILLED, NOT_FILLED, 4 * s])
    got = compare_fills(model, truth, np.zeros(4, dtype=np.int64), HOUR)
    assert (got.filled_truth, got.filled_model, got.both_filled) == (2, 2, 1)
    assert got.outcome_agreement == 0.5
    assert (got.median_error_s, got.p90_error_s, got.bias_s) == (2.0, 2.0, 2.0)
    none = compare_fills(model[2:3], truth[2:3], np.zeros(1, dtype=np.int64), HOUR)
    assert none.outcome_agreement == 1.0 and math.isnan(none.median_error_s)
