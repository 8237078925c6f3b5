"""The snapshot rules block by block: same rows however the file is cut, a bounded reorder window.

A slow reference below applies the documented rules row by row to a whole list of
rows; the streaming ``SnapshotStream`` must give exactly its result whatever the
block and chunk sizes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.errors import FeedError
from feeds.feed import MemoryFeed, collect
from feeds.pipeline import REORDER_NS, RawBlock, SnapshotStream
from feeds.snapshot_rule import joined

SEC = 1_000_000_000
T = 1_722_519_392_000_000_000
PX = 10 * SEC


def block_of(rows: list[tuple], first_row: int = 1) -> RawBlock:
    """Rows are (ts, venue, bid, ask, bid_sz, ask_sz); a price of 0 is an absent level."""
    n = len(rows)
    a = np.array(rows, dtype=np.int64).reshape(n, 6)
    cols = {
        "ts_event": a[:, 0],
        "ts_recv": a[:, 0] + 7,
        "venue": a[:, 1],
        "action": np.full(n, ord("A")),
        "side": np.full(n, ord("N")),
        "price": np.zeros(n, dtype=np.int64),
        "size": np.zeros(n, dtype=np.int64),
        "bid_px": a[:, 2:3],
        "ask_px": a[:, 3:4],
        "bid_sz": a[:, 4:5],
        "ask_sz": a[:, 5:6],
        "bid_present": a[:, 2:3] != 0,
        "ask_present": a[:, 3:4] != 0,
    }
    return RawBlock(cols, np.arange(first_row, first_row + n, dtype=np.int64))


def stream_rows(rows, cuts, chunk_rows=3, start=None, end=None, venues=None, reorder_ns=REORDER_NS):
    stream = SnapshotStream(
        "f", 1, start=start, end=end, chunk_rows=chunk_rows, venues=venues, reorder_ns=reorder_ns
    )
    parts, at = [], 0
    for cut in [*cuts, len(rows)]:
        if cut > at:
            parts += list(stream.push(block_of(rows[at:cut], at + 1)))
            at = cut
    parts += list(stream.finish())
    return parts, joined(parts, stream)


def reference(rows, start=None, end=None):
    """The documented rules, row by row, on the whole list."""
    last = {}
    for i, (ts, venue, *_) in enumerate(rows):
        if ts < last.get(venue, ts):
            raise FeedError("f", "order", row=i + 1, field="ts_event")
        last[venue] = ts
    dropped, seen, kept = {}, set(), []
    for row in rows:
        ts, venue, bid, ask, bid_sz, ask_sz = row
        if bid < 0 or ask < 0:
            reason = "nonpositive_price"
        elif (bid == 0 and bid_sz) or (ask == 0 and ask_sz):
            reason = "size_without_price"
        elif (bid and bid_sz <= 0) or (ask and ask_sz <= 0):
            reason = "nonpositive_size"
        elif bid and ask and bid >= ask:
            reason = "crossed_book"
        elif (ts, venue) in seen:
            reason = "duplicate_ts_venue"
        else:
            seen.add((ts, venue))
            kept.append(row)
            continue
        dropped[reason] = dropped.get(reason, 0) + 1
    inside = [r for r in kept if (start is None or r[0] >= start) and (end is None or r[0] <= end)]
    if len(inside) != len(kept):
        dropped["outside_window"] = len(kept) - len(inside)
    return sorted(inside, key=lambda r: r[0]), dropped


@st.composite
def markets(draw):
    """Rows of up to 3 venues, each in time order, interleaved within the reorder window."""
    n = draw(st.integers(1, 40))
    clocks = {v: T + draw(st.integers(0, SEC)) for v in (2, 5, 7)}
    rows = []
    for _ in range(n):
        venue = draw(st.sampled_from(sorted(clocks)))
        clocks[venue] += draw(st.sampled_from([0, 0, 1, 1000, SEC // 4]))
        bid = draw(st.sampled_from([PX, PX, PX, 0, -1, PX + 20]))
        ask = draw(st.sampled_from([PX + 10, PX + 10, 0, PX]))
        size = draw(st.sampled_from([100, 100, 0, -5]))
        rows.append(
            (
                clocks[venue],
                venue,
                bid,
                ask,
                size if bid else 0,
                300 if ask else draw(st.sampled_from([0, 9])),
            )
        )
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=5)))
    return rows, cuts


@settings(max_examples=300, deadline=None)
@given(market=markets(), chunk_rows=st.integers(1, 12), window=st.booleans(), known=st.booleans())
def test_streaming_equals_the_row_by_row_rules_however_the_rows_are_cut(market, chunk_rows, window, known):
    rows, cuts = market
    start, end = (T + SEC // 2, T + SEC) if window else (None, None)
    if max(clocks_lag(rows)) > REORDER_NS:
        return
    want, dropped = reference(rows, start, end)
    parts, got = stream_rows(rows, cuts, chunk_rows, start, end, venues=(2, 5, 7) if known else None)
    assert got.ts_event.tolist() == [r[0] for r in want]
    assert got.venue.tolist() == [r[1] for r in want]
    assert got.bid_px[:, 0].tolist() == [max(r[2], 0) for r in want]
    assert got.dropped == dropped and got.rows_read == len(rows)
    # Chunks hold whole instants, in order.
    for a, b in zip(parts, parts[1:], strict=False):
        assert a.ts_event[-1] < b.ts_event[0]


def clocks_lag(rows):
    newest = rows[0][0]
    for ts, *_ in rows:
        newest = max(newest, ts)
        yield newest - ts


def test_venues_interleaved_within_the_window_are_replayed_in_time_order():
    rows = [(T + SEC, 2, PX, PX + 10, 1, 1), (T, 5, PX, PX + 10, 1, 1), (T + SEC, 5, PX, PX + 10, 1, 1)]
    _, got = stream_rows(rows, [1, 2])
    # Ties (T + SEC on venues 2 and 5) keep file order.
    assert got.ts_event.tolist() == [T, T + SEC, T + SEC] and got.venue.tolist() == [5, 2, 5]


def test_a_row_beyond_the_reorder_window_is_one_line_naming_it():
    rows = [
        (T + 3 * SEC, 2, PX, PX + 10, 1, 1),
        (T + 3 * SEC, 5, PX, PX + 10, 1, 1),
        (T, 7, PX, PX + 10, 1, 1),
    ]
    with pytest.raises(FeedError) as info:
        stream_rows(rows, [1])
    assert (info.value.row, info.value.field) == (3, "ts_event")
    assert "more than 2 s earlier than a row read before it" in info.value.message
    # No bound: the whole file is sorted, as a reader holding it whole would.
    _, got = stream_rows(rows, [1], reorder_ns=None)
    assert got.venue.tolist() == [7, 2, 5]


def test_a_venue_going_back_in_time_across_a_block_boundary_names_the_row():
    rows = [(T + 5, 2, PX, PX + 10, 1, 1), (T + 9, 5, PX, PX + 10, 1, 1), (T + 4, 2, PX, PX + 10, 1, 1)]
    with pytest.raises(FeedError) as info:
        stream_rows(rows, [2])
    assert (info.value.row, info.value.field) == (3, "ts_event")
    assert "earlier than the same venue's previous row's" in info.value.message


def test_a_repeated_instant_across_a_block_boundary_is_a_duplicate():
    rows = [(T, 2, PX, PX + 10, 1, 1), (T, 2, PX, PX + 20, 1, 1), (T + 1, 2, PX, PX + 10, 1, 1)]
    _, got = stream_rows(rows, [1])
    assert got.ask_px[:, 0].tolist() == [PX + 10, PX + 10] and got.dropped == {"duplicate_ts_venue": 1}


def test_with_the_venues_known_rows_leave_before_the_end():
    # Three venues all moving on: each block releases what no later row can precede.
    rows = [(T + i * SEC // 10, 2 + i % 3, PX, PX + 10, 1, 1) for i in range(60)]
    stream = SnapshotStream("f", 1, chunk_rows=5, venues=(2, 3, 4))
    early = []
    for at in range(0, 60, 10):
        early += list(stream.push(block_of(rows[at : at + 10], at + 1)))
    assert sum(len(c) for c in early) >= 50
    rest = list(stream.finish())
    assert sum(len(c) for c in early + rest) == 60


def test_a_time_of_day_window_reads_the_day_of_the_first_snapshot():
    rows = [(T + i * SEC, 2, PX, PX + 10, 1, 1) for i in range(10)]
    _, got = stream_rows(rows, [4], start="13:36:34", end="13:36:36")
    assert got.ts_event.tolist() == [T + 2 * SEC, T + 3 * SEC, T + 4 * SEC]
    assert got.dropped == {"outside_window": 7}


def test_memory_feed_and_stream_agree_on_a_collected_feed():
    rows = [(T + i, 2 + i % 2, PX, PX + 10, 1, 1) for i in range(20)]
    _, got = stream_rows(rows, [3, 11], chunk_rows=4)
    back = collect(MemoryFeed(got, chunk_rows=3))
    assert np.array_equal(back.ts_event, got.ts_event) and back.rows_read == 20
