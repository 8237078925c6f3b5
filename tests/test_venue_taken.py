"""Marketable orders against a displayed book: the taken-liquidity rule against a slow reference."""

from __future__ import annotations

import numpy as np
from conftest import T0, book_row, make_md, venue
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.tape import Tape
from venues.book import VenueBook
from venues.latency import NoFeedDelay
from venues.taken import TakenLiquidity


class ReferenceVenue:
    """Share-level bookkeeping written the slow, obvious way (one lane)."""

    def __init__(self):
        self.book: list[tuple[int, int]] = []  # visible asks (price, size), cheapest first
        self.taken: dict[int, int] = {}

    def show(self, asks):
        self.book = [(p, s) for p, s in asks if s > 0]
        if not self.book:
            self.taken = {}
            return
        shown = dict(self.book)
        deepest = max(shown)
        for px in list(self.taken):
            if px in shown:
                self.taken[px] = min(self.taken[px], shown[px])
            elif px <= deepest:
                self.taken[px] = 0
        self.taken = {p: t for p, t in self.taken.items() if t > 0}

    def take(self, qty, limit):
        fills = []
        for px, size in self.book:
            if px > limit or qty == 0:
                break
            offered = max(0, size - self.taken.get(px, 0))
            got = min(qty, offered)
            if got:
                self.taken[px] = self.taken.get(px, 0) + got
                qty -= got
                fills.append((px, got))
        return fills


prices = st.integers(min_value=0, max_value=6)  # ticks above 10.00
level = st.tuples(prices, st.integers(min_value=0, max_value=400))
event = st.one_of(
    st.tuples(st.just("book"), st.lists(level, min_size=0, max_size=4)),
    st.tuples(st.just("order"), st.tuples(st.integers(min_value=1, max_value=900), prices)),
)


def ticks(t: int) -> int:
    return 10_000_000_000 + t * 10_000_000


@settings(max_examples=300, deadline=None)
@given(st.lists(event, min_size=1, max_size=25))
def test_venue_matches_reference_share_by_share(events):
    rows = []
    for kind, payload in events:
        if kind == "book":
            asks = sorted({p: s for p, s in payload}.items())
            rows.append([(ticks(p), s) for p, s in asks if s > 0])
    if not rows:
        rows = [[]]
    md = make_md(
        [
            book_row(T0 + i, 1, asks=[(f"{p / 1e9:.2f}", s) for p, s in r], levels=4)
            for i, r in enumerate(rows)
        ]
    )
    # The book is pure: a tape, the venue's settings and a list for what it emits; no engine.
    tape = Tape((1,), [NoFeedDelay()], "buy")
    tape.load(md)
    fills = []
    book = VenueBook(0, venue(1), tape, fills.append)
    ref = ReferenceVenue()
    row = 0
    for kind, payload in events:
        if kind == "book":
            book.advance(int(md.ts_event[row]))
            ref.show([(int(md.ask_px[row, j]), int(md.ask_sz[row, j])) for j in range(md.levels)])
            row += 1
        else:
            qty, limit_tick = payload
            before = len(fills)
            rem = np.array([qty], dtype=np.int64)
            book.take(0, 1, rem, ticks(limit_tick), T0)
            got = [(f.price, int(f.qty[0])) for f in fills[before:]]
            assert got == ref.take(qty, ticks(limit_tick))
            assert int(rem[0]) == qty - sum(g for _, g in got)


def test_taken_is_cut_when_the_level_shrinks_and_kept_beyond_visible_depth():
    taken = TakenLiquidity(lanes=2)
    taken.add(100, np.array([300, 50]))
    taken.add(105, np.array([10, 10]))
    # 100 now shows 120: lane 0 keeps 120 taken (180 of its 300 were consumed by others)
    # 105 is beyond the deepest visible level (102): unknown, kept.
    taken.on_book(np.array([100, 102, 0]), np.array([120, 40, 0]))
    assert taken.at(100).tolist() == [120, 50]
    assert taken.at(105).tolist() == [10, 10]
    assert taken.available(np.array([100, 102, 0]), np.array([120, 40, 0])).tolist() == [
        [0, 40, 0],
        [70, 40, 0],
    ]
    # the best ask moves above 100: the level is gone, so is what we took there
    taken.on_book(np.array([101, 106, 0]), np.array([10, 10, 0]))
    assert taken.at(100) is None and taken.at(105) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(level, min_size=0, max_size=4), min_size=1, max_size=12),
    st.lists(st.tuples(prices, st.integers(0, 500)), min_size=1, max_size=3),
)
def test_cutting_many_rows_at_once_equals_cutting_them_one_by_one(books, held):
    one, many = TakenLiquidity(lanes=1), TakenLiquidity(lanes=1)
    for p, q in held:
        one.add(ticks(p), np.array([q]))
        many.add(ticks(p), np.array([q]))
    levels = 4
    ask_px = np.zeros((len(books), levels), dtype=np.int64)
    ask_sz = np.zeros((len(books), levels), dtype=np.int64)
    for i, book in enumerate(books):
        for j, (p, s) in enumerate(sorted({p: s for p, s in book if s > 0}.items())):
            ask_px[i, j], ask_sz[i, j] = ticks(p), s
        one.on_book(ask_px[i], ask_sz[i])
    many.cut_rows(ask_px, ask_sz)
    assert {p: h.tolist() for p, h in one.by_px.items()} == {p: h.tolist() for p, h in many.by_px.items()}
