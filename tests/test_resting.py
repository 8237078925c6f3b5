"""Resting limit orders through the real engine, on hand-built feeds where every fill is known."""

from __future__ import annotations

import numpy as np
from conftest import SEC, T0, book_row, make_md, venue

from feeds.market import price_to_units as usd
from sim.engine import Engine, StrategySlot
from strategies.base import Strategy
from venues.orders import Liquidity

LAT = 1_000  # 1 microsecond order-entry latency


class Scripted(Strategy):
    """Send the orders of ``script`` at their times: ``(ts, "rest"|"buy"|"cancel", venue, qty, px)``."""

    kind = "scripted"
    script: list = []

    def on_start(self, view):
        self.ids = []
        self.reports = []
        for ts, what, v, qty, px in self.script:
            self.call_at(ts, lambda what=what, v=v, qty=qty, px=px: self._act(what, v, qty, px))

    def _act(self, what, v, qty, px):
        if what == "rest":
            self.ids.append(self.post(v, qty, usd(px)))
        elif what == "buy":
            self.ids.append(self.take(v, qty, usd(px)))
        else:
            self.cancel(v, self.ids[qty])

    def on_report(self, report):
        self.reports.append(report)


def run(rows, script, *, target, venues=None, end=None):
    md = make_md(rows)
    cls = type("S", (Scripted,), {"script": script})
    venues = venues or [venue(1, fee="0.003", rebate="0.002", latency_ns=LAT)]
    engine = Engine(
        md,
        venues,
        [StrategySlot("s", cls, ({},))],
        target=target,
        start_ns=T0,
        end_ns=end or int(md.ts_event[-1]),
        seed=0,
    )
    outcome = engine.run()
    return engine, engine.strategies[0], outcome.ledgers[0]


BOOK = dict(asks=[("10.01", 200)], bids=[("10.00", 300), ("9.99", 500)])


def test_maker_fill_after_queue_ahead_trades_earns_rebate_and_records_queue_ahead():
    rows = [
        book_row(T0, 1, **BOOK),
        # A sell of 350 at 10.00: the 300 ahead of us go first, we get 50; the level is gone.
        book_row(
            T0 + SEC,
            1,
            asks=[("10.01", 200)],
            bids=[("9.99", 500)],
            action="T",
            side="A",
            price="10.00",
            size=350,
        ),
        # A sell of 60 at 9.99 trades through our price: it reaches our 50 first.
        book_row(
            T0 + 2 * SEC,
            1,
            asks=[("10.01", 200)],
            bids=[("9.99", 490)],
            action="T",
            side="A",
            price="9.99",
            size=60,
        ),
    ]
    engine, s, ledger = run(rows, [(T0, "rest", 0, 100, "10.00")], target=100)
    fills = ledger.fills
    assert [int(f.qty[0]) for f in fills] == [50, 50]
    assert [f.ts for f in fills] == [T0 + SEC, T0 + 2 * SEC]
    assert all(f.liquidity is Liquidity.MAKER and f.price == usd("10.00") for f in fills)
    assert all(int(f.queue_ahead[0]) == 300 for f in fills)
    assert int(ledger.maker[0]) == 100
    assert int(ledger.fees[0]) == 0
    assert int(ledger.rebates[0]) == usd("0.2")  # 100 x 0.002
    assert int(ledger.cash[0]) == usd("999.8")
    assert int(ledger.catch_up[0]) == 0
    [report] = s.reports
    assert (int(report.filled[0]), int(report.cancelled[0])) == (100, 0)
    assert report.ts == T0 + 2 * SEC
    assert int(s.pending[0]) == 0


def test_order_joins_behind_size_displayed_on_arrival_not_on_send():
    # Between send (T0) and arrival (T0 + LAT) 100 more shares join at 10.00: 400 are ahead.
    rows = [
        book_row(T0, 1, **BOOK),
        book_row(T0 + LAT // 2, 1, asks=[("10.01", 200)], bids=[("10.00", 400), ("9.99", 500)]),
        book_row(
            T0 + SEC,
            1,
            asks=[("10.01", 200)],
            bids=[("10.00", 50), ("9.99", 500)],
            action="T",
            side="A",
            price="10.00",
            size=350,
        ),
    ]
    _, s, ledger = run(rows, [(T0, "rest", 0, 100, "10.00")], target=100, end=T0 + 2 * SEC)
    assert int(ledger.maker[0]) == 0  # 350 traded, 400 were ahead
    # The window's end cancels it; the catch-up sweep buys 100 at 10.01.
    assert int(ledger.catch_up[0]) == 100
    [report] = s.reports
    assert (int(report.filled[0]), int(report.cancelled[0])) == (0, 100)


def test_cancel_lands_after_latency_and_returns_the_remainder():
    lat = 1_000_000  # 1 ms
    rows = [
        book_row(T0, 1, **BOOK),
        book_row(
            T0 + SEC,
            1,
            asks=[("10.01", 200)],
            bids=[("10.00", 0 + 80), ("9.99", 500)],
            action="T",
            side="A",
            price="10.00",
            size=320,
        ),  # 300 ahead, 20 to us
        # Cancel sent at T0 + 1.5 s lands at T0 + 1.501 s; this trade comes before: 30 more.
        book_row(
            T0 + SEC + SEC // 2 + lat // 2,
            1,
            asks=[("10.01", 200)],
            bids=[("10.00", 50), ("9.99", 500)],
            action="T",
            side="A",
            price="10.00",
            size=30,
        ),
        # After the cancel landed: nothing for us.
        book_row(
            T0 + 2 * SEC,
            1,
            asks=[("10.01", 200)],
            bids=[("10.00", 10), ("9.99", 500)],
            action="T",
            side="A",
            price="10.00",
            size=40,
        ),
    ]
    script = [(T0, "rest", 0, 100, "10.00"), (T0 + SEC + SEC // 2, "cancel", 0, 0, None)]
    venues = [venue(1, fee="0.003", rebate="0.002", latency_ns=lat)]
    _, s, ledger = run(rows, script, target=500, venues=venues)
    assert [int(f.qty[0]) for f in ledger.fills if not f.catch_up] == [20, 30]
    [report] = s.reports
    assert (int(report.filled[0]), int(report.cancelled[0])) == (50, 50)
    assert report.ts == T0 + SEC + SEC // 2 + lat


def test_limit_order_crossing_on_arrival_takes_as_taker_and_the_rest_rests():
    # 300 to buy at 10.01 against 200 offered there: 200 taken (taker fee), 100 rest at 10.01 as
    # the best bid. The next row still shows the same 200 at 10.01: ours already, so no fill.
    # At the window's end the 100 are cancelled.
    rows = [book_row(T0, 1, **BOOK), book_row(T0 + SEC, 1, **BOOK)]
    _, s, ledger = run(rows, [(T0, "rest", 0, 300, "10.01")], target=300, end=T0 + SEC)
    first = ledger.fills[0]
    assert first.liquidity is Liquidity.TAKER and int(first.qty[0]) == 200 and first.price == usd("10.01")
    assert int(ledger.fees[0]) == usd("0.6")  # 200 x 0.003
    assert [f.liquidity for f in ledger.fills if not f.catch_up] == [Liquidity.TAKER]
    [report] = s.reports
    assert (int(report.filled[0]), int(report.cancelled[0]), report.ts) == (200, 100, T0 + SEC)


def test_fills_that_land_before_a_cancel_are_executed_and_the_lane_overfills():
    # Two venues, 100 resting at each, target 100: both bids are swept at one instant, before
    # any cancel could land. A venue fills both: 200 bought, 100 more than the target.
    sweep = dict(asks=[("10.01", 200)], bids=[("9.99", 100)], action="T", side="A", price="9.99", size=100)
    rows = [
        book_row(T0, 1, asks=[("10.01", 200)], bids=[("10.00", 100)]),
        book_row(T0, 2, asks=[("10.01", 200)], bids=[("10.00", 100)]),
        book_row(T0 + SEC, 1, **sweep),
        book_row(T0 + SEC, 2, **sweep),
    ]
    venues = [venue(1, rebate="0.002", latency_ns=LAT), venue(2, rebate="0.002", latency_ns=LAT)]
    script = [(T0, "rest", 0, 100, "10.00"), (T0, "rest", 1, 100, "10.00")]
    _, s, ledger = run(rows, script, target=100, venues=venues)
    assert int(ledger.filled[0]) == int(s.filled[0]) == 200
    reports = sorted(s.reports, key=lambda r: r.venue)
    assert [(int(r.filled[0]), int(r.cancelled[0])) for r in reports] == [(100, 0), (100, 0)]
    assert int(s.pending[0]) == 0 and int(ledger.catch_up[0]) == 0


def test_a_cancel_of_some_lanes_stops_only_those():
    # One order for two lanes (100 each) at 10.00 behind 300. At T0 + 0.5 s lane 0 cancels;
    # the cancel lands at T0 + 0.5 s + LAT. At T0 + 1 s a sale of 400 at 10.00: 300 ahead go
    # first, 100 reach us: lane 1 fills 100, lane 0 nothing.
    rows = [
        book_row(T0, 1, **BOOK),
        book_row(
            T0 + SEC,
            1,
            asks=[("10.01", 200)],
            bids=[("9.99", 500)],
            action="T",
            side="A",
            price="10.00",
            size=400,
        ),
    ]

    class TwoLanes(Scripted):
        vectorized = True
        script = [(T0, "rest", 0, np.array([100, 100]), "10.00")]

        def on_start(self, view):
            super().on_start(view)
            self.call_at(T0 + SEC // 2, lambda: self.cancel(0, self.ids[0], np.array([True, False])))

    engine = Engine(
        make_md(rows),
        [venue(1, rebate="0.002", latency_ns=LAT)],
        [StrategySlot("s", TwoLanes, ({}, {}))],
        target=100,
        start_ns=T0,
        end_ns=T0 + SEC,
        seed=0,
    )
    ledger = engine.run().ledgers[0]
    maker = [f for f in ledger.fills if not f.catch_up]
    assert [f.qty.tolist() for f in maker] == [[0, 100]]
    reports = engine.strategies[0].reports
    assert [(r.filled.tolist(), r.cancelled.tolist(), r.complete) for r in reports] == [
        ([0, 0], [100, 0], False),
        ([0, 100], [0, 0], True),
    ]
    assert engine.strategies[0].pending.tolist() == [0, 0]


def test_a_venue_with_nothing_resting_gives_the_replay_no_row_to_stop_at():
    rows = [book_row(T0, 1, **BOOK), book_row(T0 + SEC, 1, **BOOK)]
    engine, _, _ = run(rows, [], target=1)
    book = engine.venues[0].book
    assert not book.busy and book.next_event() is None


def test_lanes_rest_and_fill_independently():
    rows = [
        book_row(T0, 1, **BOOK),
        book_row(
            T0 + SEC,
            1,
            asks=[("10.01", 200)],
            bids=[("10.00", 20), ("9.99", 500)],
            action="T",
            side="A",
            price="10.00",
            size=380,
        ),  # 300 ahead, 80 for us
    ]
    md = make_md(rows)

    class TwoLanes(Scripted):
        vectorized = True
        script = [(T0, "rest", 0, np.array([50, 100]), "10.00")]

    engine = Engine(
        md,
        [venue(1, rebate="0.002", latency_ns=LAT)],
        [StrategySlot("s", TwoLanes, ({}, {}))],
        target=100,
        start_ns=T0,
        end_ns=T0 + SEC,
        seed=0,
    )
    ledger = engine.run().ledgers[0]
    maker = ledger.fills[0]
    assert maker.liquidity is Liquidity.MAKER
    assert [int(x) for x in maker.qty] == [50, 80]


def test_ask_coming_down_to_our_price_fills_up_to_the_size_offered_and_the_rest_keeps_resting():
    rows = [
        book_row(T0, 1, **BOOK),
        # The 10.00 bids are cancelled and a seller offers 120 at 10.00: with us in the book
        # they would have traded with our 500 (nobody else left at 10.00): we get 120.
        book_row(
            T0 + SEC,
            1,
            asks=[("10.00", 120), ("10.01", 200)],
            bids=[("9.99", 500)],
            action="A",
            side="A",
            price="10.00",
            size=120,
        ),
        book_row(T0 + 2 * SEC, 1, asks=[("10.00", 120), ("10.01", 200)], bids=[("9.99", 500)]),
    ]
    _, s, ledger = run(rows, [(T0, "rest", 0, 500, "10.00")], target=1000, end=T0 + 2 * SEC)
    maker = [f for f in ledger.fills if f.liquidity is Liquidity.MAKER]
    # The same 120 shown again at T0 + 2 s are the ones we bought: no second fill.
    assert [(int(f.qty[0]), f.price, f.ts) for f in maker] == [(120, usd("10.00"), T0 + SEC)]
    [report] = s.reports
    assert (int(report.filled[0]), int(report.cancelled[0])) == (120, 380)
    assert report.ts == T0 + 2 * SEC  # it rested until the window closed


def test_an_ask_our_resting_order_bought_cannot_be_bought_again_by_a_marketable_order():
    # 40 offered at 10.00 reach our bid of 100 at 10.00 (maker, 40). At T0 + 1.5 s the same 40
    # still show; a marketable order for 60 at 10.00 finds nothing there (they are ours).
    rows = [
        book_row(T0, 1, **BOOK),
        book_row(T0 + SEC, 1, asks=[("10.00", 40), ("10.01", 200)], bids=[("9.99", 500)]),
        book_row(T0 + 2 * SEC, 1, asks=[("10.00", 40), ("10.01", 200)], bids=[("9.99", 500)]),
    ]
    script = [(T0, "rest", 0, 100, "10.00"), (T0 + SEC + SEC // 2, "buy", 0, 60, "10.00")]
    _, s, ledger = run(rows, script, target=1000, end=T0 + 2 * SEC)
    got = [(f.liquidity, int(f.qty[0])) for f in ledger.fills if not f.catch_up]
    assert got == [(Liquidity.MAKER, 40)]
