"""Order-entry and response latency: when a venue matches, and when the strategy hears of it."""

from __future__ import annotations

from conftest import SEC, T0, book_row, make_md, run_engine

from feeds.market import price_to_units as usd
from strategies.best_ask import BestAsk
from venues.config import VenueConfig

MS = 1_000_000


def market():
    # t0: 300 shown; t0+0.2 s: others took 200 (100 left); t0+1 s and t0+6 s: 250 shown.
    return make_md(
        [
            book_row(T0, 1, asks=[("10.00", 300)]),
            book_row(T0 + 200 * MS, 1, asks=[("10.00", 100)]),
            book_row(T0 + SEC, 1, asks=[("10.00", 250)]),
            book_row(T0 + 6 * SEC, 1, asks=[("10.00", 250)]),
        ]
    )


def fills(response_latency_ns):
    venue = VenueConfig.flat(1, latency_ns=500 * MS, response_latency_ns=response_latency_ns)
    _, ledger = run_engine(market(), [venue], BestAsk, target=300)
    return [(f.ts - T0, int(f.qty[0])) for f in ledger.fills if not f.catch_up], ledger


def test_order_meets_the_book_as_it_is_after_the_entry_latency():
    got, _ = fills(0)
    # Sent at t0 for 300; it lands at 0.5 s, when only 100 show: 100 fill, 200 are cancelled.
    assert got[0] == (500 * MS, 100)


def test_without_response_latency_the_strategy_acts_on_the_next_book():
    got, ledger = fills(0)
    # Told at 0.5 s that 200 came back; at 1 s 250 show, 100 of them ours already taken:
    # it sends 150, which land at 1.5 s. Total 250 at $10.00.
    assert got == [(500 * MS, 100), (1500 * MS, 150)]
    assert int(ledger.notional[0]) == usd("2500")


def test_response_latency_delays_what_the_strategy_knows():
    got, _ = fills(5 * SEC)
    # The venue's news reaches the strategy at 5.5 s: at 1 s it still thinks 300 are
    # working and sends nothing; at 6 s it sends 150, which land at 6.5 s.
    assert got == [(500 * MS, 100), (6500 * MS, 150)]
