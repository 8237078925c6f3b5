"""Best Ask on a hand-built three-venue market: exact fills and cash."""

from __future__ import annotations

from conftest import SEC, T0, book_row, make_md, run_engine, venue

from feeds.market import price_to_units as usd
from strategies.best_ask import BestAsk


def three_venue_market():
    # t0: A 10.01x100, B 10.00x200, C 10.02x300 -> cheapest first: B 200, A 100, C 300 (need 500).
    # t1: B shows the same 10.00x200 again: the same displayed size, not replenished -> nothing new.
    # t2: B replenished to 10.00x350 -> 150 new shares.
    return make_md(
        [
            book_row(T0, 1, asks=[("10.01", 100)], bids=[("10.00", 100)]),
            book_row(T0, 2, asks=[("10.00", 200), ("10.01", 500)], bids=[("9.99", 100)]),
            book_row(T0, 3, asks=[("10.02", 300)], bids=[("10.00", 100)]),
            book_row(T0 + SEC, 2, asks=[("10.00", 200)], bids=[("9.99", 100)]),
            book_row(T0 + 2 * SEC, 2, asks=[("10.00", 350)], bids=[("9.99", 100)]),
        ]
    )


def test_best_ask_takes_cheapest_best_asks_first():
    md = three_venue_market()
    venues = [venue(1, fee="0.003"), venue(2, fee="0.003"), venue(3, fee="0.003")]
    _, ledger = run_engine(md, venues, BestAsk, target=500)
    # 200 @ 10.00 (B) + 100 @ 10.01 (A) + 200 @ 10.02 (C) = 2000 + 1001 + 2004 = 5005.00
    assert int(ledger.filled[0]) == 500
    assert int(ledger.notional[0]) == usd("5005.00")
    assert int(ledger.fees[0]) == usd("1.50")  # 500 x 0.003
    assert int(ledger.cash[0]) == usd("5006.50")
    assert [int(x) for x in ledger.venue_shares[0]] == [100, 200, 200]
    assert int(ledger.catch_up[0]) == 0


def test_same_displayed_size_is_never_bought_twice():
    md = three_venue_market()
    venues = [venue(1), venue(2), venue(3)]
    # Need 800: t0 takes 200 B + 100 A + 300 C = 600; t1 B still shows 200 -> nothing offered;
    # t2 B shows 350 -> 150 new; the last 50 come from the catch-up sweep of B's depth... which
    # has only the 350 level left at 10.00 (all 350 now taken) -> nothing -> filled 750.
    _, ledger = run_engine(md, venues, BestAsk, target=800)
    assert int(ledger.filled[0]) == 750
    assert int(ledger.notional[0]) == usd("2000") + usd("1001") + usd("3006") + usd("1500")
    assert [int(x) for x in ledger.venue_shares[0]] == [100, 350, 300]


def test_catch_up_sweeps_last_book_depth_cheapest_first():
    md = make_md(
        [
            book_row(T0, 1, asks=[("10.05", 100), ("10.06", 100)]),
            book_row(T0, 2, asks=[("10.04", 50), ("10.07", 500)]),
        ]
    )
    venues = [venue(1, fee="0.001"), venue(2, fee="0.002")]

    class Idle(BestAsk):
        kind = "idle"

        def on_book(self, view):
            pass

    _, ledger = run_engine(md, venues, Idle, target=300)
    # Sweep: 50 @ 10.04 (v2) + 100 @ 10.05 (v1) + 100 @ 10.06 (v1) + 50 @ 10.07 (v2)
    assert int(ledger.filled[0]) == 300
    assert int(ledger.catch_up[0]) == 300
    assert int(ledger.notional[0]) == usd("502") + usd("1005") + usd("1006") + usd("503.5")
    # fees: v1 200 x 0.001 = 0.2; v2 100 x 0.002 = 0.2
    assert int(ledger.fees[0]) == usd("0.4")


def test_a_book_update_while_orders_travel_does_not_send_for_the_same_shares_again():
    # 1 s of latency. T0: 100 offered at 10.00, it sends 100. T0 + 0.5 s the same 100 show again
    # (our order has not landed): they are spoken for, so nothing more is sent. Without that rule
    # a second order of 100 would chase the same shares and come back empty.
    md = make_md(
        [
            book_row(T0, 1, asks=[("10.00", 100)]),
            book_row(T0 + SEC // 2, 1, asks=[("10.00", 100)]),
            book_row(T0 + 3 * SEC, 1, asks=[("10.00", 400)]),
        ]
    )

    class Counting(BestAsk):
        kind = "counting"
        sent: list = []

        def take(self, venue, qty, limit_px):
            self.sent.append((self.now, int(qty)))
            return super().take(venue, qty, limit_px)

    engine, ledger = run_engine(md, [venue(1, latency_ns=SEC)], Counting, target=300)
    # T0: 100; T0 + 3 s: 400 show, 100 of them ours: 300 new, 200 wanted.
    assert engine.strategies[0].sent == [(T0, 100), (T0 + 3 * SEC, 200)]
    assert int(ledger.filled[0]) == 300 and int(ledger.catch_up[0]) == 0


def test_catch_up_ranks_levels_by_price_plus_taker_fee():
    # Venue 1 offers 10.00 with a $0.02 fee (10.02 a share), venue 2 10.01 with none: venue 2 first.
    md = make_md([book_row(T0, 1, asks=[("10.00", 100)]), book_row(T0, 2, asks=[("10.01", 100)])])
    venues = [venue(1, fee="0.02"), venue(2)]

    class Idle(BestAsk):
        kind = "idle"

        def on_book(self, view):
            pass

    _, ledger = run_engine(md, venues, Idle, target=150)
    assert [(f.venue, int(f.qty[0])) for f in ledger.fills] == [(1, 100), (0, 50)]
    assert int(ledger.cash[0]) == usd("1001") + usd("500") + usd("1")  # 50 x 0.02 fee
