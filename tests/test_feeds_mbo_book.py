"""The MBP book built from MBO events: hand-made sequences worked out by hand, and the real files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from feeds.market import price_to_units
from feeds.mbo import F_LAST, F_SNAPSHOT, MboEvents, read_mbo
from feeds.mbo_book import mbp_from_mbo

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ESH4 = DATA / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
ARL_MBO = DATA / "other_trial_mbo_ARL_2025-07-17__Hemanth-Kumar-04_mbo.csv"
ARL_MBP = DATA / "other_trial_mbp10_ARL_2025-07-17__Hemanth-Kumar-04_mbp.csv"
needs_esh4 = pytest.mark.skipif(not ESH4.exists(), reason="shared ESH4 file not present")
needs_arl = pytest.mark.skipif(
    not (ARL_MBO.exists() and ARL_MBP.exists()), reason="shared ARL files not present"
)


def book(derived, row: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Return row ``row`` as (bids, asks) of (price, size), empty levels left out."""
    md = derived.md
    bids = [(int(p), int(s)) for p, s in zip(md.bid_px[row], md.bid_sz[row], strict=True) if s]
    asks = [(int(p), int(s)) for p, s in zip(md.ask_px[row], md.ask_sz[row], strict=True) if s]
    return bids, asks


def messages(derived) -> list[tuple[int, str, str, int, int]]:
    md = derived.md
    return [
        (int(md.ts_event[i]), chr(md.action[i]), chr(md.side[i]), int(md.price[i]), int(md.size[i]))
        for i in range(len(md))
    ]


# Prices in units of 1 for readability; sizes in contracts.
LIFE = [
    (1, "A", "B", 100, 5, 1),
    (2, "A", "B", 99, 3, 2),
    (3, "A", "A", 102, 4, 3),
    (4, "A", "B", 100, 2, 4),
    (5, "C", "B", 100, 2, 1),  # order 1 keeps 3 of its 5
    (6, "A", "B", 98, 1, 5),  # third bid level: below a two-level book, no row
    (7, "M", "B", 101, 3, 2),  # order 2 moves from 99 to 101
    (8, "T", "A", 101, 3, 0, 0),  # a sale of 3 at 101: the book is unchanged on the trade row
    (8, "F", "B", 101, 3, 2, 0),  # the fill writes nothing
    (8, "C", "B", 101, 3, 2),  # the shares leave the book here
    (9, "M", "B", 100, 1, 4),  # order 4 shrinks from 2 to 1
    (10, "R", "N", 0, 0, 0),
]


def test_order_life_gives_the_book_after_each_record():
    d = mbp_from_mbo(MboEvents.from_records(LIFE), levels=2)
    assert messages(d) == [
        (1, "A", "B", 100, 5),
        (2, "A", "B", 99, 3),
        (3, "A", "A", 102, 4),
        (4, "A", "B", 100, 2),
        (5, "C", "B", 100, 2),
        (7, "M", "B", 101, 3),
        (8, "T", "A", 101, 3),
        (8, "C", "B", 101, 3),
        (9, "M", "B", 100, 1),
        (10, "R", "N", 0, 0),
    ]
    assert d.record.tolist() == [0, 1, 2, 3, 4, 6, 7, 9, 10, 11]
    books = [book(d, i) for i in range(len(d.md))]
    assert books == [
        ([(100, 5)], []),
        ([(100, 5), (99, 3)], []),
        ([(100, 5), (99, 3)], [(102, 4)]),
        ([(100, 7), (99, 3)], [(102, 4)]),
        ([(100, 5), (99, 3)], [(102, 4)]),
        # 101: order 2 (3); 100: orders 1 and 4 (3 + 2); 98: order 5, not shown.
        ([(101, 3), (100, 5)], [(102, 4)]),
        ([(101, 3), (100, 5)], [(102, 4)]),
        ([(100, 5), (98, 1)], [(102, 4)]),
        ([(100, 4), (98, 1)], [(102, 4)]),
        ([], []),
    ]
    assert d.anomalies == {}


def test_one_row_per_event_at_its_last_record():
    # A cancel and an add in one event (only the add carries F_LAST): one row, after both.
    events = MboEvents.from_records(
        [
            (1, "A", "B", 100, 5, 1),
            (2, "C", "B", 100, 5, 1, 0),
            (2, "A", "B", 99, 2, 2, F_LAST),
        ]
    )
    d = mbp_from_mbo(events, levels=2)
    assert messages(d) == [(1, "A", "B", 100, 5), (2, "A", "B", 99, 2)]
    assert book(d, 1) == ([(99, 2)], [])
    per_record = mbp_from_mbo(events, levels=2, per_record=True)
    assert messages(per_record) == [(1, "A", "B", 100, 5), (2, "C", "B", 100, 5), (2, "A", "B", 99, 2)]
    assert book(per_record, 1) == ([], [])


def test_event_that_changes_nothing_shown_writes_no_row():
    # The event's first record moves the top, its last (F_LAST) is deep: the row is still written.
    events = MboEvents.from_records(
        [
            (1, "A", "B", 100, 5, 1),
            (1, "A", "B", 99, 5, 2),
            (1, "A", "B", 98, 5, 3),
            (2, "C", "B", 100, 5, 1, 0),
            (2, "A", "B", 90, 1, 4, F_LAST),
            (3, "A", "B", 80, 1, 5, F_LAST),
        ]
    )
    d = mbp_from_mbo(events, levels=2)
    assert [m[0] for m in messages(d)] == [1, 1, 2]
    assert book(d, 2) == ([(99, 5), (98, 5)], [])


def test_snapshot_records_write_one_row_with_the_book_they_build():
    events = MboEvents.from_records(
        [
            (50, "A", "B", 100, 2, 1, F_SNAPSHOT),
            (50, "A", "B", 100, 3, 2, F_SNAPSHOT),
            (50, "A", "A", 101, 1, 3, F_SNAPSHOT),
            (900, "C", "B", 100, 2, 1, F_LAST),
        ]
    )
    d = mbp_from_mbo(events, levels=2)
    assert messages(d) == [(50, "R", "N", 0, 0), (900, "C", "B", 100, 2)]
    assert d.record.tolist() == [2, 3]
    assert book(d, 0) == ([(100, 5)], [(101, 1)])
    assert book(d, 1) == ([(100, 3)], [(101, 1)])


def test_a_file_without_last_flags_is_one_event_per_record():
    events = MboEvents.from_records([(1, "A", "B", 100, 5, 1, 0), (1, "A", "B", 99, 2, 2, 0)])
    assert len(mbp_from_mbo(events, levels=2).md) == 2


def test_modify_of_unknown_order_is_an_add_and_anomalies_are_counted():
    events = MboEvents.from_records(
        [
            (1, "M", "B", 100, 4, 1),  # unknown: an add
            (2, "C", "B", 100, 9, 1),  # cancels more than the 4 resting: removes them
            (3, "C", "A", 105, 1, 77),  # unknown: nothing to do
            (4, "A", "A", 105, 2, 8),
            (5, "A", "A", 106, 1, 8),  # order 8 again: it moves to 106
        ]
    )
    d = mbp_from_mbo(events, levels=2)
    assert [book(d, i) for i in range(len(d.md))] == [
        ([(100, 4)], []),
        ([], []),
        ([], [(105, 2)]),
        ([], [(106, 1)]),
    ]
    assert d.anomalies == {
        "modify_of_unknown_order": 1,
        "cancel_beyond_order_size": 1,
        "cancel_of_unknown_order": 1,
        "add_of_resting_order": 1,
    }


def test_venues_keep_books_of_their_own():
    a = MboEvents.from_records([(1, "A", "B", 100, 5, 1)], venue=1)
    b = MboEvents.from_records([(2, "A", "B", 99, 2, 1)], venue=2)
    both = MboEvents.joined([a, b])
    d = mbp_from_mbo(both, levels=2)
    assert d.md.venue.tolist() == [1, 2]
    assert book(d, 0) == ([(100, 5)], []) and book(d, 1) == ([(99, 2)], [])


# -- ESH4: crossed only in the pre-open auction ------------------------------------------------

REOPEN = 1_703_545_200_000_000_000  # 2023-12-25T23:00:00Z


def _crossed(md) -> np.ndarray:
    return (md.bid_sz[:, 0] > 0) & (md.ask_sz[:, 0] > 0) & (md.bid_px[:, 0] >= md.ask_px[:, 0])


@needs_esh4
def test_esh4_book_is_crossed_only_in_the_pre_open_auction():
    events = read_mbo(ESH4)
    d = mbp_from_mbo(events)
    md = d.md
    assert len(md) == 40_088 and d.anomalies == {}
    assert (chr(md.action[0]), int(md.ts_event[0])) == ("R", 1_703_422_805_243_925_307)  # the snapshot row
    crossed = _crossed(md)
    ts = md.ts_event[crossed]
    # 22:39:55.216798489 up to the uncrossing trade at 23:00:00.000000000 (the book still
    # crossed on the trade row, before its fills leave it); never after the reopen.
    assert int(ts.min()) == 1_703_543_995_216_798_489
    assert int(ts.max()) == REOPEN
    assert (md.action[crossed & (md.ts_event == REOPEN)] == ord("T")).all()
    assert not (crossed & (md.ts_event > REOPEN)).any()


@needs_esh4
def test_esh4_book_crosses_after_the_reopen_only_inside_an_event():
    # Row per record: inside a CME match event the aggressor's remainder is added before the
    # orders it took are cancelled; at every event's last record the book is uncrossed.
    events = read_mbo(ESH4)
    d = mbp_from_mbo(events, per_record=True)
    crossed = _crossed(d.md) & (d.md.ts_event > REOPEN)
    assert crossed.sum() > 0
    last = (events.flags[d.record] & F_LAST) != 0
    assert not (crossed & last).any()


# -- ARL: the derived MBP-10 agrees with the shared MBP-10 file ------------------------------------


def _arl_rows() -> list[dict]:
    with open(ARL_MBP, newline="") as fh:
        return list(csv.DictReader(fh))


def _levels(r: dict) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    out = []
    for side in ("bid", "ask"):
        out.append(
            [
                (price_to_units(r[f"{side}_px_{k:02d}"]), int(r[f"{side}_sz_{k:02d}"]))
                for k in range(10)
                if r[f"{side}_px_{k:02d}"]
            ]
        )
    return out[0], out[1]


@needs_arl
def test_arl_derived_book_agrees_with_the_shared_mbp10_file():
    events = read_mbo(ARL_MBO)
    d = mbp_from_mbo(events, per_record=True)
    rows = _arl_rows()
    assert len(rows) == 3_928
    # Every row of the file is one MBO record, in order (same instant, sequence, action,
    # price and size; the file gives a trade the resting side where MBO gives the aggressor).
    keys = list(
        zip(
            events.ts_event.tolist(),
            events.sequence.tolist(),
            events.action.tolist(),
            events.price.tolist(),
            events.size.tolist(),
            strict=True,
        )
    )
    record_of, j = [], 0
    for r in rows:
        m = read_mbo_key(r)
        while keys[j] != m:
            j += 1
        record_of.append(j)
        j += 1
    row_of = {int(rec): i for i, rec in enumerate(d.record)}
    same = trades_after = deep = 0
    for r, rec in zip(rows, record_of, strict=True):
        i = row_of.get(rec)
        if i is None:
            # Not in ours: the file also writes changes at the 11th and 12th level.
            assert int(r["depth"]) >= 10
            deep += 1
            continue
        if book(d, i) == _levels(r):
            same += 1
        else:
            # A displayed trade: the file shows the book after its fill; we show it unchanged on
            # the trade row and changed on the cancel that follows (our next row).
            assert r["action"] == "T" and r["side"] != "N"
            assert book(d, i + 1) == _levels(r) and chr(d.md.action[i + 1]) == "C"
            trades_after += 1
    assert (same, trades_after, deep) == (3_688, 11, 229)


def read_mbo_key(r: dict) -> tuple[int, int, int, int, int]:
    return (
        int(np.datetime64(r["ts_event"].rstrip("Z"), "ns").astype(np.int64)),
        int(r["sequence"]),
        ord(r["action"]),
        price_to_units(r["price"]) if r["price"] else 0,
        int(r["size"]),
    )


@needs_arl
def test_arl_event_rows_agree_with_the_shared_file_where_both_exist():
    # One row per event: each of our rows but the 11 displayed trades shows the book of the
    # file's row for the same record, where the file has one (an event whose last record is
    # deeper than the file writes, say a cancel at the top then an add at the 12th level, has not).
    events = read_mbo(ARL_MBO)
    d = mbp_from_mbo(events)
    by_key = {read_mbo_key(r): r for r in _arl_rows()}
    compared = missing = trades = 0
    for i, rec in enumerate(d.record.tolist()):
        key = (int(events.ts_event[rec]), int(events.sequence[rec]), int(events.action[rec]))
        r = by_key.get((*key, int(events.price[rec]), int(events.size[rec])))
        if r is None:
            missing += 1
        elif r["action"] == "T" and r["side"] != "N":
            trades += 1
        else:
            assert book(d, i) == _levels(r)
            compared += 1
    assert (len(d.md), compared, trades, missing) == (3_229, 3_098, 11, 120)
