"""Stale quotes: a venue whose last quote is too old is not offered, and crossed books are counted."""

from __future__ import annotations

from conftest import SEC, T0, book_row, make_md, venue

from feeds.market import price_to_units as usd
from sim.engine import Engine, StrategySlot
from sim.quote_stats import QuoteStats
from strategies.best_ask import BestAsk
from strategies.twap import Twap

MS = 1_000_000


def market():
    # Venue 2 quotes once, at T0 (ask 10.00 x 100, the best); venue 1 quotes at T0, then at
    # T0 + 2 s and T0 + 3 s (ask 10.05). TBBO-like: venue 2's quote is never refreshed.
    return make_md(
        [
            book_row(T0, 1, asks=[("10.05", 100)], bids=[("10.01", 100)]),
            book_row(T0, 2, asks=[("10.00", 100)], bids=[("9.98", 100)]),
            book_row(T0 + 2 * SEC, 1, asks=[("10.05", 300)], bids=[("10.01", 100)]),
            book_row(T0 + 3 * SEC, 1, asks=[("10.05", 300)], bids=[("10.02", 100)]),
        ]
    )


def run(max_age_ns):
    md = market()
    engine = Engine(
        md,
        [venue(1, latency_ns=SEC), venue(2, latency_ns=SEC)],
        [StrategySlot("s", BestAsk, ({},))],
        target=400,
        start_ns=T0,
        end_ns=T0 + 3 * SEC,
        seed=0,
        max_quote_age_ns=max_age_ns,
    )
    return engine, engine.run()


def twap_fills(max_age_ns):
    # Venue 2 quotes 10.00 x 200 once, at T0; venue 1 10.05, refreshed at T0 + 2 s. TWAP in two
    # 2-second buckets, 100 each: bucket 0 takes 100 at venue 2 (the cheapest).
    md = make_md(
        [
            book_row(T0, 1, asks=[("10.05", 300)], bids=[("10.01", 100)]),
            book_row(T0, 2, asks=[("10.00", 200)], bids=[("9.98", 100)]),
            book_row(T0 + 2 * SEC, 1, asks=[("10.05", 300)], bids=[("10.01", 100)]),
        ]
    )
    engine = Engine(
        md,
        [venue(1), venue(2)],
        [StrategySlot("s", Twap, ({"bucket_s": 2},))],
        target=200,
        start_ns=T0,
        end_ns=T0 + 4 * SEC,
        seed=0,
        max_quote_age_ns=max_age_ns,
    )
    out = engine.run()
    return [(f.venue, int(f.qty[0]), f.price) for f in out.ledgers[0].fills if not f.catch_up], out


def test_a_venue_older_than_the_age_limit_is_not_offered():
    # Bucket 1 starts at T0 + 2 s. Venue 2's quote is then 2 s old: with no limit its other 100
    # at 10.00 are bought there; with a 1.5 s limit venue 2 is unknown and the 100 come from venue 1.
    plain, _ = twap_fills(None)
    assert plain == [(1, 100, usd("10.00")), (1, 100, usd("10.00"))]
    fresh_only, out = twap_fills(int(1.5 * SEC))
    assert fresh_only == [(1, 100, usd("10.00")), (0, 100, usd("10.05"))]
    # The books were read at T0 (both fresh) and T0 + 2 s (venue 2 stale).
    assert (out.reads, out.stale_reads) == (2, 1)


def test_a_stale_venue_shows_an_empty_book_to_strategies():
    engine, _ = run(int(1.5 * SEC))
    view = engine.view
    assert view.stale.tolist() == [False, True]
    assert view.far_sz[1].sum() == 0 and view.near_sz[1].sum() == 0


def test_crossed_and_locked_consolidated_books_are_counted_with_and_without_stale_quotes():
    # Instants: T0: best bid 10.01 (v1), best ask 10.00 (v2): crossed. T0 + 2 s: same quotes,
    # v2 is 2 s old. T0 + 3 s: bid 10.02, still crossed against v2's 10.00. Dropping quotes
    # older than 1.5 s, only T0 is crossed (v1 alone after that: 10.01/10.02 vs 10.05).
    stats = QuoteStats((1, 2), int(1.5 * SEC))
    stats.observe(market())
    assert stats.as_result() == {
        "instants": 3,
        "crossed": 3,
        "locked": 0,
        "with_stale_quotes_dropped": {"crossed": 1, "locked": 0, "instants_with_a_stale_venue": 2},
    }


def test_a_locked_book_is_counted_apart_from_a_crossed_one():
    md = make_md(
        [
            book_row(T0, 1, asks=[("10.05", 100)], bids=[("10.00", 100)]),
            book_row(T0 + MS, 2, asks=[("10.00", 100)], bids=[("9.99", 100)]),
        ]
    )
    stats = QuoteStats((1, 2), None)
    stats.observe(md)
    assert stats.as_result() == {"instants": 2, "crossed": 0, "locked": 1}
