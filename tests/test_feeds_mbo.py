"""The MBO reader: Databento DBN (plain, zstd) and CSV into columns, and its one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from feeds.errors import FeedError
from feeds.mbo import F_LAST, F_SNAPSHOT, MboEvents, read_mbo

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ESH4 = DATA / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
ARL_MBO = DATA / "other_trial_mbo_ARL_2025-07-17__Hemanth-Kumar-04_mbo.csv"
ARL_MBP = DATA / "other_trial_mbp10_ARL_2025-07-17__Hemanth-Kumar-04_mbp.csv"
MBP10_DBN = DATA / "databento_test_data.mbp-10.dbn"

needs = pytest.mark.skipif(not (ESH4.exists() and ARL_MBO.exists()), reason="shared data files not present")
dbn = pytest.importorskip("databento_dbn")

HEADER = (
    "ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,price,size,"
    "channel_id,order_id,flags,ts_in_delta,sequence,symbol"
)


def _csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "mbo.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _row(
    ts: str, action: str, side: str, price: str, size: int, oid: int, flags: int = 130, rtype: int = 160
) -> str:
    return f"{ts},{ts},{rtype},1,7,{action},{side},{price},{size},0,{oid},{flags},0,{oid},ES"


def write_dbn(path: Path, records: list[tuple]) -> Path:
    """Write a plain DBN MBO file of ``(ts_event, action, side, price, size, order_id, flags)`` records."""
    meta = dbn.Metadata(
        dataset="GLBX.MDP3",
        schema=dbn.Schema.MBO,
        start=0,
        stype_in=dbn.SType.RAW_SYMBOL,
        stype_out=dbn.SType.INSTRUMENT_ID,
        symbols=["ESX"],
        partial=[],
        not_found=[],
        mappings=[],
    )
    body = b"".join(
        bytes(
            dbn.MBOMsg(
                publisher_id=1,
                instrument_id=7,
                ts_event=ts,
                order_id=oid,
                price=price,
                size=size,
                action=dbn.Action(action),
                side=dbn.Side(side),
                ts_recv=ts + 5,
                flags=flags,
                sequence=k,
            )
        )
        for k, (ts, action, side, price, size, oid, flags) in enumerate(records)
    )
    path.write_bytes(meta.encode() + body)
    return path


# -- the real files -------------------------------------------------------------------------


@needs
def test_esh4_file_holds_the_records_its_provenance_lists():
    e = read_mbo(ESH4)
    assert len(e) == 68_792 and e.symbol == "ESH4"
    counts = {chr(a): int((e.action == a).sum()) for a in np.unique(e.action)}
    assert counts == {"A": 29_216, "C": 17_999, "M": 12_233, "F": 6_371, "T": 2_973}
    # An 8,725-order snapshot, all adds, in front of 60,067 live events.
    snap = e.snapshot
    assert int(snap.sum()) == 8_725 and snap[:8_725].all() and not snap[8_725:].any()
    assert (e.action[snap] == ord("A")).all()
    assert set(np.unique(e.venue).tolist()) == {1} and set(np.unique(e.instrument_id).tolist()) == {17077}
    # Prices in 1e-9 dollars: the first snapshot order is a bid of 2 at 4,799.
    assert (chr(e.action[0]), chr(e.side[0]), int(e.price[0]), int(e.size[0])) == (
        "A",
        "B",
        4_799_000_000_000,
        2,
    )


@needs
def test_arl_csv_reads_decimal_prices_and_iso_timestamps():
    e = read_mbo(ARL_MBO)
    assert len(e) == 5_886 and e.symbol == "ARL"
    # Row 1 clears the book (no price: 0); row 2 adds a bid of 100 at $5.51.
    assert (chr(e.action[0]), int(e.price[0]), int(e.flags[0])) == ("R", 0, 8)
    assert (chr(e.action[1]), chr(e.side[1]), int(e.price[1]), int(e.size[1])) == (
        "A",
        "B",
        5_510_000_000,
        100,
    )
    assert int(e.order_id[1]) == 817_593 and int(e.sequence[1]) == 851_012
    assert int(e.ts_event[1]) == 1_752_739_503_360_677_248  # 2025-07-17T08:05:03.360677248Z
    assert int(e.ts_recv[1]) == 1_752_739_503_360_842_448


# -- DBN, plain -----------------------------------------------------------------------------


def test_plain_dbn_file_reads_every_field(tmp_path):
    path = write_dbn(
        tmp_path / "x.dbn",
        [
            (100, "A", "B", 4_800_250_000_000, 3, 11, F_SNAPSHOT),
            (200, "A", "A", 4_800_500_000_000, 2, 12, F_LAST),
            (300, "T", "B", 4_800_500_000_000, 1, 13, 0),
            (300, "F", "A", 4_800_500_000_000, 1, 12, 0),
            (300, "M", "A", 4_800_500_000_000, 1, 12, F_LAST),
            (400, "R", "N", 2**63 - 1, 0, 0, F_LAST),
        ],
    )
    e = read_mbo(path)
    assert [chr(a) for a in e.action] == ["A", "A", "T", "F", "M", "R"]
    assert e.price.tolist() == [
        4_800_250_000_000,
        4_800_500_000_000,
        4_800_500_000_000,
        4_800_500_000_000,
        4_800_500_000_000,
        0,
    ]
    assert e.size.tolist() == [3, 2, 1, 1, 1, 0]
    assert e.order_id.tolist() == [11, 12, 13, 12, 12, 0]
    assert e.ts_event.tolist() == [100, 200, 300, 300, 300, 400]
    assert e.ts_recv.tolist() == [105, 205, 305, 305, 305, 405]
    assert e.snapshot.tolist() == [True, False, False, False, False, False]
    assert e.sequence.tolist() == [0, 1, 2, 3, 4, 5]
    assert e.symbol == "ESX"


# -- CSV --------------------------------------------------------------------------------------


def test_csv_with_fixed_point_prices_and_integer_ns(tmp_path):
    path = _csv(
        tmp_path,
        "105,100,160,1,7,A,B,4800250000000,3,0,11,130,0,1,ES",
        "205,200,160,1,7,R,N,9223372036854775807,0,0,0,8,0,2,ES",
    )
    e = read_mbo(path)
    assert e.price.tolist() == [4_800_250_000_000, 0]
    assert e.ts_event.tolist() == [100, 200] and e.ts_recv.tolist() == [105, 205]


def test_csv_needs_only_the_event_columns(tmp_path):
    path = _csv(tmp_path, "1,A,B,10.5,3,11", header="ts_event,action,side,price,size,order_id")
    e = read_mbo(path)
    assert e.price.tolist() == [10_500_000_000] and e.ts_recv.tolist() == [1]
    assert e.flags.tolist() == [0] and e.venue.tolist() == [0]


# -- bad input: one line naming file, row and field ---------------------------------------------


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(FeedError, match=r"nope\.dbn\.zst: no such file"):
        read_mbo(tmp_path / "nope.dbn.zst")


@pytest.mark.skipif(not MBP10_DBN.exists(), reason="shared data files not present")
def test_mbp_dbn_file_is_not_mbo():
    with pytest.raises(FeedError, match=r"not an MBO file \(schema mbp_10\)"):
        read_mbo(MBP10_DBN)


@pytest.mark.skipif(not ARL_MBP.exists(), reason="shared data files not present")
def test_mbp_csv_file_is_not_mbo():
    with pytest.raises(FeedError, match=r"not an MBO file: it has price levels"):
        read_mbo(ARL_MBP)


def test_csv_without_order_id_is_not_mbo(tmp_path):
    path = _csv(tmp_path, "1,A,B,10.5,3", header="ts_event,action,side,price,size")
    with pytest.raises(FeedError, match="not an MBO file: no order_id column"):
        read_mbo(path)


def test_csv_missing_a_required_column_names_it(tmp_path):
    path = _csv(tmp_path, "1,A,10.5,3,11", header="ts_event,action,price,size,order_id")
    with pytest.raises(FeedError, match="missing required column: side"):
        read_mbo(path)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (_row("1", "X", "B", "10.5", 3, 11), r"row 2, field 'action': unknown action 'X'"),
        (_row("1", "A", "Q", "10.5", 3, 11), r"row 2, field 'side': unknown side 'Q'"),
        (_row("1", "A", "B", "", 3, 11), r"row 2, field 'price': action A needs a price above zero"),
        (_row("1", "M", "N", "10.5", 3, 11), r"row 2, field 'side': action M needs side A or B"),
        (_row("1", "A", "B", "10.5", 3, 11, rtype=10), r"row 2, field 'rtype': rtype 10 is not MBO"),
        (_row("1", "A", "B", "abc", 3, 11), r"row 2, field 'price': not a decimal number: 'abc'"),
        (_row("1", "A", "B", "10.5", -3, 11), r"row 2, field 'size': negative size -3"),
        (_row("0", "A", "B", "10.5", 3, 11), r"row 2, field 'ts_event': ts_event goes back in time"),
    ],
)
def test_bad_record_is_named_by_row_and_field(tmp_path, row, message):
    path = _csv(tmp_path, _row("5", "A", "B", "10.25", 1, 9), row)
    with pytest.raises(FeedError, match=message):
        read_mbo(path)


def test_snapshot_after_live_records_is_refused(tmp_path):
    path = _csv(
        tmp_path, _row("5", "A", "B", "10.25", 1, 9), _row("6", "A", "B", "10.5", 3, 11, flags=F_SNAPSHOT)
    )
    with pytest.raises(FeedError, match="row 2, field 'flags': SNAPSHOT record after live ones"):
        read_mbo(path)


def test_from_records_builds_checked_events():
    e = MboEvents.from_records([(1, "A", "B", 5, 2, 9), (2, "C", "B", 5, 2, 9)])
    assert e.flags.tolist() == [F_LAST, F_LAST] and e.sequence.tolist() == [1, 2]
    with pytest.raises(FeedError, match="ts_event goes back in time"):
        MboEvents.from_records([(2, "A", "B", 5, 2, 9), (1, "C", "B", 5, 2, 9)])
