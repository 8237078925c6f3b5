"""Queue-position models on hand-built feeds: every number below is worked out by hand."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.market import BookSnapshot, MarketData
from venues.queue import (
    FrontFirst,
    ProbabilisticQueue,
    Proportional,
    QueueModel,
    QueueTracker,
    apply_row,
)
from venues.queue_models import LogProbability, RiskAverse

P = 10_000_000_000  # our price, $10.00
TICK = 10_000_000  # one cent
ASK = P + 5 * TICK  # a best ask well above us
DEPTH = 10
KEY = 7

ALL_MODELS = [
    FrontFirst(),
    Proportional(),
    ProbabilisticQueue(power=2.0),
    ProbabilisticQueue(power=0.5),
    RiskAverse(),
    LogProbability(),
]


def _pad(levels: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    px = np.zeros(DEPTH, dtype=np.int64)
    sz = np.zeros(DEPTH, dtype=np.int64)
    for k, (p, s) in enumerate(levels):
        px[k], sz[k] = p, s
    return px, sz


def show(tracker: QueueTracker, ts: int, at_p: int, *, ask: int = ASK, best_bid: int | None = None) -> int:
    """Show a book with ``at_p`` shares at our price (and 500 a tick below); return the shares filled."""
    bids = [(best_bid, 200)] if best_bid is not None and best_bid > P else []
    if at_p:
        bids.append((P, at_p))
    bids.append((P - TICK, 500))
    bid_px, bid_sz = _pad(bids)
    ask_px, ask_sz = _pad([(ask, 300)])
    return _qty(tracker.on_book(ts, bid_px, bid_sz, ask_px, ask_sz))


def trade(tracker: QueueTracker, ts: int, size: int, price: int = P) -> int:
    """Apply a displayed trade; return the shares filled."""
    return _qty(tracker.on_trade(ts, price, size))


def _qty(fills) -> int:
    return int(sum(int(f.qty.sum()) for f in fills))


def ahead(tracker: QueueTracker, key: int = KEY) -> int:
    return int(tracker.position(key).ahead[0])


def joined(model: QueueModel, displayed: int = 300, qty: int = 100, **kw) -> QueueTracker:
    tracker = QueueTracker(model, **kw)
    tracker.add(KEY, P, qty, displayed)
    return tracker


# -- the worked example of the issue -------------------------------------------------


# Shown 300, we join with 100 (ahead 300), 100 more join behind us (shown 400:
# ahead 300, behind 100). A trade of 100 at P: ahead 300 - 100 = 200, shown 300
# (the trade row shows the level after the trade, as in the ARL files), so the
# fall of 100 is the trade, not a cancel. Then 100 are cancelled (shown 200), with
# ahead 200 and behind 100:
#   front-first:   all 100 from ahead               -> ahead 100
#   proportional:  100 * 200/300 = 66.67 -> 67      -> ahead 133
#   power 2:       x = 2/3, p = (4/9)/(4/9 + 1/9) = 0.8, 100 * 0.8 = 80 -> ahead 120
#   power 0.5:     p = sqrt(2/3)/(sqrt(2/3) + sqrt(1/3)) = sqrt2/(sqrt2 + 1) = 0.5858,
#                  58.58 -> 59                      -> ahead 141
# A trade of 150 at P then uses the queue ahead and fills us with the rest:
#   front-first 150 - 100 = 50, proportional 150 - 133 = 17, power 2 150 - 120 = 30,
#   power 0.5 150 - 141 = 9.
# Shown falls to 200 - 150 = 50. A trade of 60 at P goes to us alone (ahead 0):
#   front-first fills min(60, 100 - 50) = 50 (done); proportional min(60, 83) = 60;
#   power 2 min(60, 70) = 60; power 0.5 min(60, 91) = 60.
WORKED = [
    (FrontFirst(), 100, 50, 50),
    (Proportional(), 133, 17, 60),
    (ProbabilisticQueue(power=2.0), 120, 30, 60),
    (ProbabilisticQueue(power=0.5), 141, 9, 60),
]


@pytest.mark.parametrize(("model", "ahead_after_cancel", "first_fill", "second_fill"), WORKED)
def test_worked_example_trades_then_cancel_then_fills(model, ahead_after_cancel, first_fill, second_fill):
    t = joined(model)
    assert ahead(t) == 300
    assert show(t, 1, 400) == 0
    assert ahead(t) == 300  # joiners queue behind us
    assert trade(t, 2, 100) == 0
    assert show(t, 2, 300) == 0
    assert ahead(t) == 200
    assert show(t, 3, 200) == 0
    assert ahead(t) == ahead_after_cancel
    assert trade(t, 4, 150) == first_fill
    assert show(t, 4, 50) == 0
    assert ahead(t) == 0
    assert trade(t, 5, 60) == second_fill


# The worked example under the two hftbacktest references. After the trade of 100 the
# queue is 200 ahead, 100 behind; 100 are cancelled:
#   risk-averse: the 100 behind can hold them all: ahead stays 200. The trade of 150 leaves
#     50 ahead and fills nothing; the level shows 50 = the 50 ahead. The trade of 60 then
#     fills us with 60 - 50 = 10.
#   log: p = ln 201 / (ln 201 + ln 101) = 5.3033 / 9.9184 = 0.5347; 53.47 -> 53 from ahead:
#     ahead 147. The trade of 150 fills 3; then we are alone: the trade of 60 fills 60.
@pytest.mark.parametrize(
    ("model", "ahead_after_cancel", "first_fill", "ahead_after", "second_fill"),
    [(RiskAverse(), 200, 0, 50, 10), (LogProbability(), 147, 3, 0, 60)],
)
def test_worked_example_under_risk_averse_and_log(
    model, ahead_after_cancel, first_fill, ahead_after, second_fill
):
    t = joined(model)
    show(t, 1, 400)
    trade(t, 2, 100)
    show(t, 2, 300)
    show(t, 3, 200)
    assert ahead(t) == ahead_after_cancel
    assert trade(t, 4, 150) == first_fill
    show(t, 4, 50)
    assert ahead(t) == ahead_after
    assert trade(t, 5, 60) == second_fill


@pytest.mark.parametrize(
    ("a", "b", "c", "share"),
    [
        (5, 3, 4, 1),  # only 3 behind: 1 of the 4 must have been ahead
        (5, 10, 4, 0),
        (0, 7, 3, 0),
        (6, 0, 2, 2),  # nobody behind: all from ahead
    ],
)
def test_risk_averse_takes_the_least_possible_from_ahead(a, b, c, share):
    got = RiskAverse().cancel_ahead(np.array([a]), np.array([b]), np.array([c]))
    assert got.tolist() == [share]


@pytest.mark.parametrize(
    ("a", "b", "c", "share"),
    [
        (1, 3, 3, 1),  # ln 2 / (ln 2 + ln 4) = 1/3: 3 * 1/3 = 1
        (100, 300, 100, 45),  # ln 101 / (ln 101 + ln 301) = 0.4471: 44.7 -> 45
        (0, 5, 2, 0),
        (5, 0, 2, 2),
    ],
)
def test_log_probability_depends_on_the_queue_size_not_only_our_place(a, b, c, share):
    # 1 ahead of 3 and 100 ahead of 300 are the same place (a quarter of the way back), not the same split.
    got = LogProbability().cancel_ahead(np.array([a]), np.array([b]), np.array([c]))
    assert got.tolist() == [share]


def test_order_completes_and_leaves_the_tracker():
    # Front-first from the worked example: 50 + 50 = 100, the whole order.
    t = joined(FrontFirst())
    show(t, 1, 400)
    trade(t, 2, 100)
    show(t, 2, 300)
    show(t, 3, 200)
    trade(t, 4, 150)
    show(t, 4, 50)
    fills = t.on_trade(5, P, 60)
    assert [int(f.qty[0]) for f in fills] == [50]
    assert fills[0].complete and fills[0].key == KEY and fills[0].price == P
    assert KEY not in t and len(t) == 0


# -- joins, cancels, rounding ---------------------------------------------------------


@pytest.mark.parametrize("model", ALL_MODELS)
def test_size_increases_queue_behind_us(model):
    t = joined(model)
    show(t, 1, 350)
    show(t, 2, 900)
    assert ahead(t) == 300


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # Shown 500 = 300 ahead + 200 behind; 200 cancelled; x = 300/500 = 0.6.
        (FrontFirst(), 100),  # all 200 from ahead: 300 - 200
        (Proportional(), 180),  # 200 * 0.6 = 120 from ahead: 300 - 120
        # p = 0.36 / (0.36 + 0.16) = 0.6923; 200 * p = 138.46 -> 138: 300 - 138
        (ProbabilisticQueue(power=2.0), 162),
        # p = 0.7746 / (0.7746 + 0.6325) = 0.5505; 200 * p = 110.10 -> 110: 300 - 110
        (ProbabilisticQueue(power=0.5), 190),
        # the 200 behind can hold all 200 cancelled: none from ahead
        (RiskAverse(), 300),
        # p = ln 301 / (ln 301 + ln 201) = 5.7071 / 11.0104 = 0.5183; 200 * p = 103.67 -> 104: 300 - 104
        (LogProbability(), 196),
    ],
)
def test_cancel_split_between_ahead_and_behind(model, expected):
    t = joined(model)
    show(t, 1, 500)
    show(t, 2, 300)
    assert ahead(t) == expected


def test_cancel_larger_than_behind_must_come_partly_from_ahead():
    # ahead 300, behind 50 (shown 350); 150 cancelled. Proportional says
    # 150 * 300/350 = 128.57 -> 129; the feasible range is [150 - 50, 150] = [100, 150],
    # so 129 stands: ahead 171. An extreme model that says "all behind" (0) is
    # clipped up to 100: ahead 200.
    class AllBehind:
        def cancel_ahead(self, ahead, behind, cancelled):
            return np.zeros_like(cancelled)

    t = joined(Proportional())
    show(t, 1, 350)
    show(t, 2, 200)
    assert ahead(t) == 171
    t = joined(AllBehind())
    show(t, 1, 350)
    show(t, 2, 200)
    assert ahead(t) == 200


@pytest.mark.parametrize(
    ("a", "b", "c", "share"),
    [
        (1, 1, 1, 0),  # 0.5 -> ties go behind us: 0
        (3, 1, 2, 1),  # 6/4 = 1.5 -> 1
        (2, 1, 2, 1),  # 4/3 = 1.33 -> 1
        (2, 1, 1, 1),  # 2/3 = 0.67 -> 1
        (300, 50, 1, 1),  # 300/350 = 0.857 -> 1: single-share cancels still count
        (5, 0, 4, 4),  # nobody behind: all from ahead
        (0, 7, 3, 0),  # nobody ahead
    ],
)
def test_proportional_rounds_half_down(a, b, c, share):
    got = Proportional().cancel_ahead(np.array([a]), np.array([b]), np.array([c]))
    assert got.tolist() == [share]


@given(
    a=st.integers(0, 10**6),
    b=st.integers(0, 10**6),
    c=st.integers(1, 10**6),
)
def test_proportional_matches_exact_fractions(a, b, c):
    if a + b == 0:
        return
    exact = Fraction(c * a, a + b)
    whole = exact.numerator // exact.denominator
    expected = whole + (1 if exact - whole > Fraction(1, 2) else 0)
    assert Proportional().cancel_ahead(np.array([a]), np.array([b]), np.array([c]))[0] == expected


@given(a=st.integers(0, 10**5), b=st.integers(0, 10**5), c=st.integers(1, 10**5))
def test_power_one_is_proportional_up_to_a_rounding_tie(a, b, c):
    if a + b == 0:
        return
    args = (np.array([a]), np.array([b]), np.array([c]))
    diff = int(ProbabilisticQueue(power=1).cancel_ahead(*args)[0]) - int(
        Proportional().cancel_ahead(*args)[0]
    )
    tie = 2 * (c * a % (a + b)) == a + b
    assert diff == 0 or (tie and abs(diff) == 1)


def test_probabilistic_rejects_a_nonpositive_power():
    with pytest.raises(ValueError):
        ProbabilisticQueue(power=0)


# -- trades and the trade credit -------------------------------------------------------


@pytest.mark.parametrize("model", ALL_MODELS)
def test_trade_whose_fall_shows_on_a_later_row_is_not_a_cancel(model):
    # Ahead 300; trade 100 at P on a row that still shows 300, then the fall to 200
    # on the next row (same ts). The fall is the trade: ahead 200, whatever the model.
    t = joined(model)
    trade(t, 5, 100)
    show(t, 5, 300)
    assert ahead(t) == 200
    show(t, 5, 200)
    assert ahead(t) == 200


@pytest.mark.parametrize("model", ALL_MODELS)
def test_trade_fall_on_the_first_row_after_the_trade_is_not_a_cancel(model):
    # As above but the fall shows one timestamp later (a feed keeping one row per ts).
    t = joined(model)
    trade(t, 5, 100)
    show(t, 5, 300)
    show(t, 6, 200)
    assert ahead(t) == 200


@pytest.mark.parametrize(("model", "expected"), [(FrontFirst(), 100), (Proportional(), 133)])
def test_trade_credit_expires_after_the_next_update(model, expected):
    # Trade 100 (ahead 300 -> 200) but the level keeps showing 300 (100 new shares
    # behind us netted the fall). At ts 7 the credit has expired, so the fall
    # 300 -> 200 at ts 8 is a cancel with ahead 200, behind 100:
    # front-first 200 - 100 = 100; proportional 100 * 200/300 = 66.67 -> 67, 200 - 67 = 133.
    t = joined(model)
    trade(t, 5, 100)
    show(t, 5, 300)
    show(t, 7, 300)
    show(t, 8, 200)
    assert ahead(t) == expected


def test_trade_larger_than_queue_ahead_fills_us_with_the_rest():
    # Ahead 50, trade 80: 50 ahead go first, 30 fill us; then 100 more trade: 70 left to fill.
    t = joined(FrontFirst(), displayed=50)
    assert trade(t, 1, 80) == 30
    assert ahead(t) == 0
    assert trade(t, 2, 100) == 70
    assert KEY not in t


def test_trade_above_our_price_changes_nothing():
    t = joined(FrontFirst())
    assert trade(t, 1, 500, price=P + TICK) == 0
    assert ahead(t) == 300


def test_trade_at_our_price_after_level_cancelled_fills_us_first():
    # Everyone ahead cancels (shown 300 -> 0, the best bid now a tick below); we
    # are alone at P. New orders join behind us (shown 40) and a trade of 25 at P hits us.
    t = joined(Proportional())
    assert show(t, 1, 0) == 0
    assert ahead(t) == 0
    show(t, 2, 40)
    assert trade(t, 3, 25) == 25


# -- trading through our price ---------------------------------------------------------


@pytest.mark.parametrize("model", ALL_MODELS)
def test_trade_below_our_price_fills_up_to_the_printed_size(model):
    # A 30-share sale a tick below our 100-share bid: that seller reached us first, with 30.
    t = joined(model)
    fills = t.on_trade(1, P - TICK, 30)
    assert [int(f.qty[0]) for f in fills] == [30]
    assert not fills[0].complete
    # A 500-share sale below fills the 70 left, no more.
    fills = t.on_trade(2, P - TICK, 500)
    assert [int(f.qty[0]) for f in fills] == [70] and fills[0].complete


@pytest.mark.parametrize("ask", [P, P - TICK])
def test_best_ask_at_or_below_our_price_fills_up_to_the_ask_shown(ask):
    # show() offers 300 at the ask: all of our 100.
    t = joined(FrontFirst())
    assert show(t, 1, 300, ask=ask) == 100


def test_ask_shown_at_our_price_is_not_bought_twice():
    # 40 offered at P on two rows in a row: 40 fill us, the second row gives nothing
    # (the same 40 shares); the size rising to 100 is 60 new shares.
    t = joined(FrontFirst(), qty=500)
    bid_px, bid_sz = _pad([(P - TICK, 500)])
    for ask_sz, expected in ((40, 40), (40, 0), (100, 60)):
        ask_px, sz = _pad([(P, ask_sz)])
        assert _qty(t.on_book(1, bid_px, bid_sz, ask_px, sz)) == expected


def test_remaining_fills_up_to_the_print_on_trade_through_after_partial_fill():
    t = joined(FrontFirst(), displayed=50)
    assert trade(t, 1, 80) == 30
    assert t.on_trade(2, P - 2 * TICK, 1)[0].qty.tolist() == [1]


def test_level_vanishing_by_cancels_is_not_a_fill_by_default():
    # shown 300 -> 0 with the best bid a tick below; no trade printed: no fill, ahead 0.
    t = joined(Proportional())
    assert show(t, 1, 0) == 0
    assert ahead(t) == 0
    # A sale of 5 a tick below us trades through: those 5 reach us first.
    assert trade(t, 2, 5, price=P - TICK) == 5


def test_level_vanishing_fills_in_full_when_asked():
    t = joined(Proportional(), vanish_fills=True)
    assert show(t, 1, 300) == 0
    assert show(t, 2, 0) == 100


def test_vanish_rule_needs_the_best_bid_to_fall_through_us():
    # We rest a tick below a best bid P + TICK with nothing shown at P: no "vanish"
    # until the best bid, at or above P before, drops below P.
    t = joined(Proportional(), displayed=0, vanish_fills=True)
    assert show(t, 1, 0, best_bid=P + TICK) == 0
    assert show(t, 2, 0, best_bid=P + TICK) == 0
    assert show(t, 3, 0) == 100


def test_price_below_the_visible_depth_keeps_the_last_size():
    # A full 10-level book whose deepest bid is above P: our level is not shown, so
    # its size is unknown and nothing moves.
    t = joined(FrontFirst())
    bid_px, bid_sz = _pad([(P + (k + 1) * TICK, 10) for k in range(DEPTH)][::-1])
    ask_px, ask_sz = _pad([(ASK + 20 * TICK, 300)])
    assert _qty(t.on_book(1, bid_px, bid_sz, ask_px, ask_sz)) == 0
    assert ahead(t) == 300


# -- lanes and orders ---------------------------------------------------------------------


def test_lanes_fill_per_lane_and_complete_together():
    # One order, three lanes of 100, 0 and 250 shares; ahead 40.
    # Trade 90: 50 past the queue -> lanes fill 50, 0, 50.
    # Trade 120 (ahead 0): lanes fill min(120, 50) = 50, 0, min(120, 200) = 120.
    # Ask down to P with 80 shown: lane 2 fills its last 80 and the order is complete.
    t = QueueTracker(FrontFirst())
    t.add(1, P, np.array([100, 0, 250]), 40)
    assert [f.qty.tolist() for f in t.on_trade(1, P, 90)] == [[50, 0, 50]]
    fills = t.on_trade(2, P, 120)
    assert [f.qty.tolist() for f in fills] == [[50, 0, 120]] and not fills[0].complete
    bid_px, bid_sz = _pad([(P - TICK, 5)])
    ask_px, ask_sz = _pad([(P, 80)])
    fills = t.on_book(3, bid_px, bid_sz, ask_px, ask_sz)
    assert [f.qty.tolist() for f in fills] == [[0, 0, 80]] and fills[0].complete


def test_orders_at_different_prices_are_tracked_apart():
    # Order 1 at P behind 300, order 2 at P - TICK behind 500 (the level a tick below).
    t = QueueTracker(FrontFirst())
    t.add(1, P, 100, 300)
    t.add(2, P - TICK, 100, 500)
    show(t, 1, 200)  # 100 cancelled at P only
    assert ahead(t, 1) == 200 and ahead(t, 2) == 500
    fills = t.on_trade(2, P - TICK, 10)  # a sale a tick below: through order 1, queue of order 2
    assert [(f.key, f.qty.tolist()) for f in fills] == [(1, [10])]
    assert ahead(t, 2) == 490


def test_one_print_fills_one_owners_orders_in_price_time_priority_up_to_its_size():
    # One owner: order 1 at P (100), order 2 at P + TICK (60), order 3 at P - TICK
    # behind 20 displayed (50). A 200-share sale at P - TICK reaches order 2 first
    # (highest price: 60), then order 1 (100), leaving 40 at P - TICK: the 20 shown
    # ahead of order 3 go first, then 20 fill order 3. 60 + 100 + 20 = 200, the print.
    t = QueueTracker(FrontFirst())
    t.add(1, P, 100, 300, owner=9)
    t.add(2, P + TICK, 60, 0, owner=9)
    t.add(3, P - TICK, 50, 20, owner=9)
    fills = {f.key: int(f.qty[0]) for f in t.on_trade(1, P - TICK, 200)}
    assert fills == {2: 60, 1: 100, 3: 20}
    assert ahead(t, 3) == 0


def test_one_print_fills_an_owners_orders_at_its_price_in_time_order():
    # Orders 1 and 2 of one owner at P, order 1 first (ahead 50), order 2 later
    # (ahead 80: 50 + 30 that joined in between). A print of 150 at P: 50 ahead, then
    # order 1's 40, then the 30 between them count: 80 + 40 = 120 before order 2, which
    # gets 30. Alone (its own owner) order 2 would count only its 80 ahead and get 70.
    t = QueueTracker(FrontFirst())
    t.add(1, P, 40, 50, owner=5)
    t.add(2, P, 100, 80, owner=5)
    assert {f.key: int(f.qty[0]) for f in t.on_trade(1, P, 150)} == {1: 40, 2: 30}
    t = QueueTracker(FrontFirst())
    t.add(1, P, 40, 50)
    t.add(2, P, 100, 80)
    assert {f.key: int(f.qty[0]) for f in t.on_trade(1, P, 150)} == {1: 40, 2: 70}


def test_owners_do_not_share_a_print_but_lanes_of_one_owner_each_get_it():
    # Owners 1 and 2 each rest 100 at P + TICK; a 30 print below reaches each (they
    # never see each other). Lanes are separate worlds: a two-lane order of owner 3
    # gets min(30, lane) per lane.
    t = QueueTracker(FrontFirst())
    t.add(1, P + TICK, 100, 0, owner=1)
    t.add(2, P + TICK, 100, 0, owner=2)
    t.add(3, P + TICK, np.array([10, 100]), 0, owner=3)
    got = {f.key: f.qty.tolist() for f in t.on_trade(1, P, 30)}
    assert got == {1: [30], 2: [30], 3: [10, 30]}


def test_cancel_returns_what_was_left_and_stops_tracking():
    t = joined(FrontFirst(), displayed=50)
    trade(t, 1, 80)
    assert t.cancel(KEY).tolist() == [70]
    assert trade(t, 2, 500) == 0


def test_adding_an_order_twice_is_refused():
    t = joined(FrontFirst())
    with pytest.raises(ValueError, match="already rests"):
        t.add(KEY, P, 100, 0)


def test_a_non_model_is_refused():
    with pytest.raises(TypeError):
        QueueTracker(object())


def test_many_finished_orders_are_compacted_away():
    t = QueueTracker(FrontFirst())
    for key in range(3000):
        t.add(key, P, 1, 0)
        trade(t, key, 1)
    t.add(-1, P, 5, 9)
    assert len(t) == 1 and ahead(t, -1) == 9
    assert t._n < 3000  # finished slots were dropped, not kept forever


# -- driving it from MarketData rows --------------------------------------------------------


def _row(ts: int, action: str, side: str, price: int, size: int, at_p: int) -> BookSnapshot:
    bid_px, bid_sz = _pad([(P, at_p), (P - TICK, 500)] if at_p else [(P - TICK, 500)])
    ask_px, ask_sz = _pad([(ASK, 300)])
    return BookSnapshot(
        ts, ts, 2, action, side, price, size, tuple(bid_px), tuple(bid_sz), tuple(ask_px), tuple(ask_sz)
    )


def test_apply_row_reads_trades_and_books_and_ignores_hidden_trades():
    # Ahead 300. A hidden trade (side N) at P: nothing. A displayed trade of 100 at P
    # (ARL: the row shows the level after it, 200): ahead 200. Then trade 250 with
    # the row showing 0: 200 ahead, 50 fill us.
    md = MarketData.from_snapshots(
        [
            _row(1, "T", "N", P, 100, 300),
            _row(2, "T", "B", P, 100, 200),
            _row(3, "T", "A", P, 250, 0),
        ]
    )
    t = joined(Proportional())
    assert _qty(apply_row(t, md, 0)) == 0 and ahead(t) == 300
    assert _qty(apply_row(t, md, 1)) == 0 and ahead(t) == 200
    assert _qty(apply_row(t, md, 2)) == 50


# -- property tests ------------------------------------------------------------------------

# An abstract event is (kind, amount): kinds "add", "cancel", "trade" act on our level.
_events = st.lists(
    st.tuples(st.sampled_from(["add", "cancel", "trade"]), st.integers(0, 400), st.booleans(), st.booleans()),
    max_size=40,
)


class ShareFifo:
    """Slow reference for front-first: the level as an explicit list of share ids.

    Real shares get increasing ids; ours is the position after the share ids below
    ``mark``. A trade takes shares off the front: those ahead of us leave, and once
    it reaches us the rest of it fills us (the feed still loses that many real
    shares, the ones behind us). Front-first cancels also take the front real shares.
    """

    def __init__(self, displayed: int, qty: int):
        self.shares = list(range(displayed))
        self.mark = displayed
        self.next_id = displayed
        self.left = qty

    @property
    def ahead(self) -> int:
        return sum(1 for s in self.shares if s < self.mark)

    def add(self, n: int) -> None:
        self.shares += range(self.next_id, self.next_id + n)
        self.next_id += n

    def cancel(self, n: int) -> None:
        del self.shares[:n]

    def trade(self, n: int) -> int:
        got = 0
        for _ in range(n):
            if self.shares and self.shares[0] < self.mark:
                self.shares.pop(0)
            else:
                got += 1 if got < self.left else 0
                self.shares.pop(0)
        self.left -= got
        return got


def _play(tracker: QueueTracker, events, displayed: int, ref: ShareFifo | None = None):
    """Drive ``tracker`` (and ``ref``) through abstract events; yield (shown, ahead, filled) per step."""
    shown, ts, filled = displayed, 0, 0
    for kind, amount, split_trade, same_ts in events:
        ts += 0 if same_ts else 1
        if kind == "add":
            shown += amount
            filled += show(tracker, ts, shown)
            if ref is not None:
                ref.add(amount)
        elif kind == "cancel":
            amount = min(amount, shown)
            shown -= amount
            filled += show(tracker, ts, shown)
            if ref is not None:
                ref.cancel(amount)
        else:
            amount = min(amount, shown)
            if amount == 0:
                continue
            filled += trade(tracker, ts, amount)
            if split_trade:  # the row shows the level before the trade; the fall follows
                filled += show(tracker, ts, shown)
            shown -= amount
            filled += show(tracker, ts, shown)
            if ref is not None:
                ref.trade(amount)
        done = KEY not in tracker
        yield shown, 0 if done else ahead(tracker), filled
        if done:
            return


@settings(max_examples=150, deadline=None)
@given(displayed=st.integers(0, 500), qty=st.integers(1, 300), events=_events)
def test_front_first_matches_a_per_share_fifo(displayed, qty, events):
    tracker = joined(FrontFirst(), displayed=displayed, qty=qty)
    ref = ShareFifo(displayed, qty)
    for _, got_ahead, filled in _play(tracker, events, displayed, ref):
        assert got_ahead == ref.ahead
        assert filled == qty - ref.left


@settings(max_examples=100, deadline=None)
@given(
    displayed=st.integers(0, 500), qty=st.integers(1, 300), events=_events, model=st.sampled_from(ALL_MODELS)
)
def test_queue_invariants_hold_for_every_model(displayed, qty, events, model):
    tracker = joined(model, displayed=displayed, qty=qty)
    last_ahead, last_filled = displayed, 0
    for shown, got_ahead, filled in _play(tracker, events, displayed):
        assert 0 <= got_ahead <= last_ahead  # never negative, never grows
        assert got_ahead <= shown
        assert last_filled <= filled <= qty  # fills monotone, never more than the order
        last_ahead, last_filled = got_ahead, filled


@settings(max_examples=100, deadline=None)
@given(
    displayed=st.integers(0, 500), qty=st.integers(1, 300), events=_events, model=st.sampled_from(ALL_MODELS)
)
def test_front_first_is_never_behind_any_model(displayed, qty, events, model):
    _assert_never_behind(FrontFirst(), model, displayed, qty, events)


def _assert_never_behind(first: QueueModel, second: QueueModel, displayed: int, qty: int, events) -> None:
    """Assert that ``first`` never has more queue ahead, nor fewer fills, than ``second``."""
    a = list(_play(joined(first, displayed=displayed, qty=qty), events, displayed))
    b = list(_play(joined(second, displayed=displayed, qty=qty), events, displayed))
    # The one ahead may finish (and stop yielding) first; compare the steps both saw.
    for (_, ahead_a, filled_a), (_, ahead_b, filled_b) in zip(a, b, strict=False):
        assert ahead_a <= ahead_b
        assert filled_a >= filled_b
    assert len(a) <= len(b)


@settings(max_examples=100, deadline=None)
@given(
    displayed=st.integers(0, 500), qty=st.integers(1, 300), events=_events, model=st.sampled_from(ALL_MODELS)
)
def test_risk_averse_is_never_ahead_of_any_model(displayed, qty, events, model):
    # The pessimistic bound: no model has more queue ahead of us, none fills later.
    _assert_never_behind(model, RiskAverse(), displayed, qty, events)


@settings(max_examples=60, deadline=None)
@given(
    entries=st.lists(st.tuples(st.integers(0, 20), st.integers(1, 200)), min_size=1, max_size=5),
    events=_events,
    model=st.sampled_from(ALL_MODELS),
)
def test_many_orders_in_one_tracker_move_as_each_alone(entries, events, model):
    # Orders join the same level at different steps; one shared tracker must give
    # each the queue and fills it gets when tracked alone from its entry.
    def run(which: list[int]) -> dict[int, list[tuple[int, int]]]:
        tracker = QueueTracker(model)
        shown, ts = 300, 0
        seen: dict[int, list[tuple[int, int]]] = {k: [] for k in which}
        for step, (kind, amount, split_trade, _) in enumerate(events):
            for k in which:
                if entries[k][0] == step:
                    tracker.add(k, P, entries[k][1], shown)
            ts += 1
            fills = []
            if kind == "add":
                shown += amount
            elif kind == "cancel":
                shown -= min(amount, shown)
            else:
                amount = min(amount, shown)
                fills += tracker.on_trade(ts, P, amount)
                if split_trade:
                    fills += _book(tracker, ts, shown)
                shown -= amount
            fills += _book(tracker, ts, shown)
            for f in fills:
                seen[f.key].append((ts, int(f.qty[0])))
            for k in which:
                if k in tracker:
                    seen[k].append((ts, -1 - ahead(tracker, k)))
        return seen

    together = run(list(range(len(entries))))
    for k in range(len(entries)):
        assert run([k])[k] == together[k]


def _book(tracker: QueueTracker, ts: int, at_p: int):
    bid_px, bid_sz = _pad([(P, at_p), (P - TICK, 500)] if at_p else [(P - TICK, 500)])
    ask_px, ask_sz = _pad([(ASK, 300)])
    return tracker.on_book(ts, bid_px, bid_sz, ask_px, ask_sz)
