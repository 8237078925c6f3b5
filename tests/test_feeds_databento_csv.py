"""The Databento CSV reader: real files, every class of bad input, and a slow reference reader.

The reference reader at the bottom is written independently of ``feeds``: the
``csv`` module, ``Decimal`` and ``calendar.timegm``, row by row, following the
rules of the ``feeds.databento_csv`` docstring. Hypothesis compares the two on
small generated files, good and bad.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.databento_csv import read_csv
from feeds.errors import FeedError
from feeds.market import _COLUMNS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EXCERPT = DATA / "l1_day_excerpt_first5rows__Avni2000_sample.csv"
ARL = DATA / "other_trial_mbp10_ARL_2025-07-17__Hemanth-Kumar-04_mbp.csv"
needs_data = pytest.mark.skipif(not (EXCERPT.exists() and ARL.exists()), reason="shared data not present")

# 2024-08-01T13:36:32.491911683Z, as databento_dbn prints it for this integer.
T_FIRST = 1_722_519_392_491_911_683
USD = 1_000_000_000


# ---------------------------------------------------------------- real files


@needs_data
def test_excerpt_keeps_first_row_per_ts_event_and_venue():
    md = read_csv(EXCERPT)
    assert md.rows_read == 5
    assert len(md) == 2
    assert md.dropped == {"duplicate_ts_venue": 3}
    assert md.symbol == "AAPL"
    assert md.source == str(EXCERPT)
    assert md.levels == 10
    assert md.ts_event.tolist() == [T_FIRST, T_FIRST + 992]  # ...491911683Z and ...491912675Z
    assert md.ts_recv.tolist() == [T_FIRST + 170_625, T_FIRST + 170_625]
    assert md.venue.tolist() == [2, 2]


@needs_data
def test_excerpt_prices_and_sizes_are_exact():
    md = read_csv(EXCERPT)
    first, last = md.snapshot(0), md.snapshot(1)
    # File row 1: T A 222.81 x 190; bid 222.81 x 421, ask 222.83 x 36.
    assert (first.action, first.side, first.price, first.size) == ("T", "A", 222_810_000_000, 190)
    assert first.bid_px[0] == 222_810_000_000 and first.bid_sz[0] == 421
    assert first.ask_px[0] == 222_830_000_000 and first.ask_sz[0] == 36
    assert first.ask_px[9] == 222_940_000_000 and first.ask_sz[9] == 317
    assert first.bid_px[9] == 222_720_000_000 and first.bid_sz[9] == 219
    # File row 5 (the second snapshot): A N 222.83 x 10; the 222.81 bid is gone.
    assert (last.action, last.side, last.price, last.size) == ("A", "N", 222_830_000_000, 10)
    assert last.bid_px[:2] == (222_800_000_000, 222_790_000_000)
    assert last.ask_sz[0] == 46
    assert last.bid_sz[9] == 1163


@needs_data
def test_arl_day_counts_and_empty_asks():
    md = read_csv(ARL)
    assert md.rows_read == 3928
    assert len(md) == 3354  # distinct (ts_event, publisher_id) pairs, PROVENANCE.md
    assert md.dropped == {"duplicate_ts_venue": 574}
    assert md.symbol == "ARL"
    assert md.venues == (2,)
    # ask_px_00 is empty in file rows 1, 2, 3922, 3923, 3924; each is first of its instant.
    assert int((md.ask_px[:, 0] == 0).sum()) == 5
    assert int((md.bid_px[:, 0] == 0).sum()) == 3
    empty_ask = md.ask_px[:, 0] == 0
    assert (md.ask_sz[empty_ask, 0] == 0).all()
    # The clear ('R') message opens the day with an empty book and no price.
    assert (chr(md.action[0]), md.price[0], md.bid_px[0].sum()) == ("R", 0, 0)
    assert md.snapshot(1).bid_px[0] == 5_510_000_000  # 5.51


@needs_data
def test_arl_window_counts_outside_rows():
    start = 1_752_739_200_000_000_000  # 2025-07-17T08:00:00Z
    end = start + 4 * 3600 * USD  # 12:00:00Z
    md = read_csv(ARL, start, end)
    assert len(md) == 50
    assert md.dropped == {"duplicate_ts_venue": 574, "outside_window": 3304}
    assert md.rows_read == 3928
    assert (md.ts_event >= start).all() and (md.ts_event <= end).all()


@needs_data
def test_trial_window_on_the_arl_day_removes_every_row():
    start = T_FIRST - 491_911_683  # 2024-08-01T13:36:32Z
    md = read_csv(ARL, start, start + 522 * USD)
    assert len(md) == 0
    assert md.dropped["outside_window"] == 3354


@needs_data
@pytest.mark.parametrize("path", [EXCERPT, ARL], ids=["excerpt", "arl"])
def test_real_files_match_the_reference_reader(path):
    assert_same(read_csv(path), reference_read(path))


@needs_data
def test_real_files_are_in_ts_event_order():
    for path in (EXCERPT, ARL):
        with open(path, newline="") as f:
            stamps = [row["ts_event"] for row in csv.DictReader(f)]
        assert stamps == sorted(stamps)


# ---------------------------------------------------------------- layouts


HEAD = ",".join(
    [
        "ts_recv",
        "ts_event",
        "rtype",
        "publisher_id",
        "instrument_id",
        "action",
        "side",
        "depth",
        "price",
        "size",
    ]
    + ["flags", "ts_in_delta", "sequence"]
)
MBP1_HEAD = HEAD + ",bid_px_00,ask_px_00,bid_sz_00,ask_sz_00,bid_ct_00,ask_ct_00,symbol"


def mbp1(rows: list[str], head: str = MBP1_HEAD):
    return head + "\n" + "\n".join(rows) + "\n"


def row(
    ts="2024-08-01T13:36:32.000000001Z",
    venue="2",
    action="A",
    side="B",
    price="10.00",
    size="100",
    bid="10.00",
    ask="10.01",
    bid_sz="100",
    ask_sz="200",
    recv=None,
    symbol="XYZ",
):
    recv = ts if recv is None else recv
    head = f"{recv},{ts},1,{venue},7,{action},{side},0,{price},{size},0,0,1"
    return f"{head},{bid},{ask},{bid_sz},{ask_sz},1,1,{symbol}"


def write(tmp_path: Path, text: str, name: str = "f.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_mbp1_file_has_one_level(tmp_path):
    md = read_csv(write(tmp_path, mbp1([row()])))
    assert md.levels == 1
    assert md.bid_px.tolist() == [[10 * USD]]
    assert md.ask_px.tolist() == [[10_010_000_000]]
    assert md.ask_sz.tolist() == [[200]]


def test_columns_are_found_by_name_with_index_and_extra_columns(tmp_path):
    head = ",bid_sz_00,symbol,ask_px_00,ts_event,publisher_id,ask_sz_00,bid_px_00,"
    head += "price,side,size,action,ts_recv,order_id"
    cells = "0,300,XYZ,5.02,2024-08-01T13:36:32Z,43,400,5.01,5.01,B,7,A,2024-08-01T13:36:33Z,99"
    text = head + "\n" + cells + "\n"
    md = read_csv(write(tmp_path, text))
    snap = md.snapshot(0)
    assert (snap.venue, snap.bid_px, snap.ask_px, snap.bid_sz, snap.ask_sz) == (
        43,
        (5_010_000_000,),
        (5_020_000_000,),
        (300,),
        (400,),
    )
    assert snap.ts_recv - snap.ts_event == USD
    assert (snap.action, snap.side, snap.size) == ("A", "B", 7)


def test_integer_nanoseconds_and_fixed_point_prices(tmp_path):
    text = mbp1([row(ts="1722519392491911683", price="222810000000", bid="222810000000", ask="222830000000")])
    md = read_csv(write(tmp_path, text))
    assert md.ts_event.tolist() == [T_FIRST]
    assert md.bid_px.tolist() == [[222_810_000_000]]
    assert md.price.tolist() == [222_810_000_000]


def test_fixed_point_undefined_price_is_an_empty_level(tmp_path):
    undef = str(2**63 - 1)
    text = mbp1([row(ts="1722519392491911683", price=undef, bid="222810000000", ask=undef, ask_sz="0")])
    md = read_csv(write(tmp_path, text))
    assert md.ask_px.tolist() == [[0]] and md.ask_sz.tolist() == [[0]]
    assert md.price.tolist() == [0]


def test_small_integer_prices_are_dollars(tmp_path):
    # All integers but none above 1e6: decimal dollars, by the per-file rule.
    md = read_csv(write(tmp_path, mbp1([row(price="10", bid="10", ask="11")])))
    assert md.bid_px.tolist() == [[10 * USD]] and md.ask_px.tolist() == [[11 * USD]]


def test_empty_price_cell_is_an_empty_level(tmp_path):
    md = read_csv(
        write(tmp_path, mbp1([row(ask="", ask_sz="0"), row(ts="1722519392491911684", bid="", bid_sz="")]))
    )
    assert md.ask_px[0].tolist() == [0] and md.ask_sz[0].tolist() == [0]
    assert md.bid_px[1].tolist() == [0] and md.bid_sz[1].tolist() == [0]
    assert md.dropped == {}


def test_bom_crlf_and_quotes_are_read(tmp_path):
    text = mbp1([row(symbol='"X,Y"'), row(ts="2024-08-01T13:36:33Z", symbol='"X,Y"')]).replace("\n", "\r\n")
    md = read_csv(write(tmp_path, "\ufeff" + text))
    assert len(md) == 2
    assert md.symbol == "X,Y"
    assert md.ts_event[1] - md.ts_event[0] == USD - 1


def test_iso_timestamps_with_any_fraction_length(tmp_path):
    stamps = ["2024-08-01T13:36:32Z", "2024-08-01T13:36:32.123456Z", "2024-08-01T13:36:32.5Z"]
    md = read_csv(write(tmp_path, mbp1([row(ts=s) for s in stamps])))
    base = T_FIRST - 491_911_683
    assert md.ts_event.tolist() == [base, base + 123_456_000, base + 500_000_000]


def test_same_instant_on_two_venues_keeps_both(tmp_path):
    ts = "2024-08-01T13:36:32.000000001Z"
    rows = [
        row(ts=ts, venue="2"),
        row(ts=ts, venue="5"),
        row(ts=ts, venue="2", size="1"),
        row(ts=ts, venue="5"),
    ]
    md = read_csv(write(tmp_path, mbp1(rows)))
    assert md.venue.tolist() == [2, 5]
    assert md.size.tolist() == [100, 100]
    assert md.dropped == {"duplicate_ts_venue": 2}


def test_a_dropped_first_message_lets_the_next_one_of_the_instant_stand(tmp_path):
    ts = "2024-08-01T13:36:32.000000001Z"
    rows = [row(ts=ts, bid="10.02", ask="10.01"), row(ts=ts, size="5"), row(ts=ts, size="6")]
    md = read_csv(write(tmp_path, mbp1(rows)))
    assert md.size.tolist() == [5]
    assert md.dropped == {"crossed_book": 1, "duplicate_ts_venue": 1}


# ---------------------------------------------------------------- bad input


def raises_at(path: Path, row_no: int | None, field: str | None) -> FeedError:
    with pytest.raises(FeedError) as info:
        read_csv(path)
    err = info.value
    assert (err.row, err.field) == (row_no, field)
    text = str(err)
    assert str(path) in text and "\n" not in text
    if row_no is not None:
        assert f"row {row_no}" in text
    if field is not None:
        assert repr(field) in text
    return err


@pytest.mark.parametrize(
    "bad", ["abc", "1.2.3", "1e5", "NaN", "nan", "inf", "-Infinity", " 10.00", "$10", "."]
)
def test_malformed_price_names_row_and_field(tmp_path, bad):
    text = mbp1([row(), row(ts="2024-08-01T13:36:33Z", ask=bad)])
    err = raises_at(write(tmp_path, text), 2, "ask_px_00")
    assert "not a decimal number" in err.message


def test_malformed_size_names_row_and_field(tmp_path):
    err = raises_at(write(tmp_path, mbp1([row(bid_sz="12.5")])), 1, "bid_sz_00")
    assert "12.5" in err.message


def test_nan_size_names_row_and_field(tmp_path):
    raises_at(write(tmp_path, mbp1([row(), row(), row(ask_sz="NaN")])), 3, "ask_sz_00")


def test_too_many_decimals_is_an_error(tmp_path):
    err = raises_at(write(tmp_path, mbp1([row(price="1.0000000001")])), 1, "price")
    assert "more than 9 decimals" in err.message


def test_number_beyond_int64_is_an_error(tmp_path):
    err = raises_at(write(tmp_path, mbp1([row(size="99999999999999999999")])), 1, "size")
    assert "out of range" in err.message


@pytest.mark.parametrize("field", ["ts_event", "ts_recv", "publisher_id", "size", "action", "side"])
def test_empty_required_cell_is_an_error(tmp_path, field):
    key = {"ts_event": "ts", "ts_recv": "recv", "publisher_id": "venue"}.get(field, field)
    kwargs = {key: ""}
    if field == "ts_event":
        kwargs["recv"] = "2024-08-01T13:36:32Z"
    err = raises_at(write(tmp_path, mbp1([row(), row(**kwargs)])), 2, field)
    assert "empty" in err.message


def test_empty_size_beside_a_price_is_an_error(tmp_path):
    raises_at(write(tmp_path, mbp1([row(bid_sz="")])), 1, "bid_sz_00")


@pytest.mark.parametrize(
    "bad",
    [
        "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-08-01T24:00:00Z",
        "2024-08-01T13:36:32.1234567890Z",
        "yesterday",
        "-5",
    ],
)
def test_malformed_timestamp_names_row_and_field(tmp_path, bad):
    raises_at(write(tmp_path, mbp1([row(), row(ts=bad, recv="1")])), 2, "ts_event")


@pytest.mark.parametrize("field", ["ts_event", "bid_px_00", "size"])
def test_absurdly_long_cell_is_malformed(tmp_path, field):
    key = {"ts_event": "ts", "bid_px_00": "bid"}.get(field, field)
    kwargs = {key: "1" * 5000}
    if field == "ts_event":
        kwargs["recv"] = "1"
    err = raises_at(write(tmp_path, mbp1([row(), row(**kwargs)])), 2, field)
    assert "..." in err.message and len(err.message) < 200


def test_long_symbol_is_kept_whole(tmp_path):
    md = read_csv(write(tmp_path, mbp1([row(symbol="S" * 100)])))
    assert md.symbol == "S" * 100


def test_action_must_be_one_character(tmp_path):
    raises_at(write(tmp_path, mbp1([row(action="AB")])), 1, "action")


def test_earliest_row_wins_then_leftmost_column(tmp_path):
    text = mbp1([row(), row(ask_sz="x", bid="y"), row(ts="z")])
    raises_at(write(tmp_path, text), 2, "bid_px_00")


def test_wrong_field_count_names_the_row(tmp_path):
    text = mbp1([row(), row() + ",extra", row()])
    err = raises_at(write(tmp_path, text), 2, None)
    assert "expected 20 fields, found 21" in err.message


def test_blank_line_inside_the_data_is_a_short_row(tmp_path):
    text = mbp1([row(), "", row()])
    raises_at(write(tmp_path, text), 2, None)


def test_missing_columns_are_all_named(tmp_path):
    head = HEAD.replace(",publisher_id", "") + ",bid_px_00,bid_sz_00,ask_sz_00,symbol"
    path = write(tmp_path, head + "\n1,2,3\n")
    err = raises_at(path, None, None)
    assert "missing required columns: publisher_id, ask_px_00" in err.message


def test_missing_level_column_of_a_deeper_level_is_named(tmp_path):
    head = HEAD + ",bid_px_00,ask_px_00,bid_sz_00,ask_sz_00,bid_px_01,bid_sz_01,ask_sz_01"
    err = raises_at(write(tmp_path, head + "\n" + ",".join(["1"] * 20) + "\n"), None, None)
    assert err.message == "missing required column: ask_px_01"


def test_duplicate_column_name_is_an_error(tmp_path):
    err = raises_at(
        write(
            tmp_path,
            mbp1(
                [row()],
                head=HEAD.replace("rtype", "size") + ",bid_px_00,"
                "ask_px_00,bid_sz_00,ask_sz_00,bid_ct_00,ask_ct_00,symbol",
            ),
        ),
        None,
        None,
    )
    assert "'size' appears twice" in err.message


def test_venues_interleaved_out_of_order_are_sorted_not_refused(tmp_path):
    # Databento sorts by ts_recv, so two venues' ts_event may interleave backwards.
    rows = [
        row(ts="2024-08-01T13:36:32.5Z", venue="2"),
        row(ts="2024-08-01T13:36:32.1Z", venue="5"),
        row(ts="2024-08-01T13:36:33Z", venue="2"),
    ]
    md = read_csv(write(tmp_path, mbp1(rows)))
    assert list(md.venue) == [5, 2, 2]
    assert list(np.diff(md.ts_event) >= 0) == [True, True]


def test_out_of_order_ts_event_names_the_row(tmp_path):
    rows = [row(ts="2024-08-01T13:36:32Z"), row(ts="2024-08-01T13:36:34Z"), row(ts="2024-08-01T13:36:33Z")]
    err = raises_at(write(tmp_path, mbp1(rows)), 3, "ts_event")
    assert "2024-08-01T13:36:33.000000000Z is earlier" in err.message


def test_empty_file_is_an_error(tmp_path):
    err = raises_at(write(tmp_path, ""), None, None)
    assert "empty file" in err.message


def test_whitespace_only_file_is_an_error(tmp_path):
    raises_at(write(tmp_path, "\n\n  \n"), None, None)


def test_header_only_is_an_error(tmp_path):
    err = raises_at(write(tmp_path, mbp1([]).rstrip("\n") + "\n\n"), None, None)
    assert "only a header" in err.message


def test_missing_file_is_an_error(tmp_path):
    err = raises_at(tmp_path / "nope.csv", None, None)
    assert err.message == "no such file"


def test_nul_byte_is_an_error(tmp_path):
    raises_at(write(tmp_path, mbp1([row(), row(symbol="a\x00b")])), 2, None)


# ---------------------------------------------------------------- dropped rows


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"bid": "10.02", "ask": "10.01"}, "crossed_book"),
        ({"bid": "10.01", "ask": "10.01"}, "crossed_book"),
        ({"bid": "0", "ask": "10.01"}, "nonpositive_price"),
        ({"ask": "-1.00"}, "nonpositive_price"),
        ({"ask": "0.00"}, "nonpositive_price"),
        ({"bid_sz": "0"}, "nonpositive_size"),
        ({"ask_sz": "-100"}, "nonpositive_size"),
        ({"ask": "", "ask_sz": "100"}, "size_without_price"),
    ],
)
def test_impossible_books_are_dropped_and_counted(tmp_path, kwargs, reason):
    rows = [
        row(ts="2024-08-01T13:36:32Z"),
        row(ts="2024-08-01T13:36:33Z", **kwargs),
        row(ts="2024-08-01T13:36:34Z"),
    ]
    md = read_csv(write(tmp_path, mbp1(rows)))
    assert md.rows_read == 3
    assert len(md) == 2
    assert md.dropped == {reason: 1}
    assert md.ts_event[1] - md.ts_event[0] == 2 * USD


def test_a_row_counts_under_its_first_reason_only(tmp_path):
    # Negative prices and a zero size: counted once, as the first reason.
    md = read_csv(write(tmp_path, mbp1([row(bid="-1", ask="-2", ask_sz="0"), row()])))
    assert md.dropped == {"nonpositive_price": 1}
    assert len(md) == 1


# ---------------------------------------------------------------- reference reader and property


def assert_same(got, want) -> None:
    for name in _COLUMNS:
        assert np.array_equal(getattr(got, name), want[name]), name
    assert got.rows_read == want["rows_read"]
    assert got.dropped == want["dropped"]
    assert got.symbol == want["symbol"]


_TS_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z")
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
_INTEGER = re.compile(r"[+-]?\d+")
_REQUIRED = ["ts_recv", "ts_event", "publisher_id", "action", "side", "price", "size"]
INT64_MAX = 2**63 - 1


class Bad(Exception):
    pass


def _ref_ts(cell: str) -> int:
    if re.fullmatch(r"\d+", cell):
        if int(cell) > INT64_MAX:
            raise Bad
        return int(cell)
    m = _TS_ISO.fullmatch(cell)
    if not m:
        raise Bad
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    if not (1 <= mo <= 12 and h < 24 and mi < 60 and s < 60):
        raise Bad
    if d < 1 or d > calendar.monthrange(y, mo)[1]:
        raise Bad
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 10**9 + int((m.group(7) or "").ljust(9, "0"))


def _ref_int(cell: str) -> int:
    if not _INTEGER.fullmatch(cell):
        raise Bad
    value = int(cell)
    if abs(value) > INT64_MAX:
        raise Bad
    return value


def reference_read(path, start_ns=None, end_ns=None) -> dict:
    """Read a CSV the slow, obvious way, following the documented rules."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(io.StringIO(f.read())))
    while rows and not rows[-1]:
        rows.pop()
    header = [h.strip() for h in rows[0]]
    data = rows[1:]
    col = {h: i for i, h in enumerate(header) if h}
    levels = 0
    while any(f"{f}_{levels:02d}" in col for f in ("bid_px", "ask_px", "bid_sz", "ask_sz")):
        levels += 1
    for i, r in enumerate(data):
        if len(r) != len(header):
            raise FeedError(str(path), "field count", row=i + 1)
    px_names = ["price"] + [f"{s}_px_{k:02d}" for s in ("bid", "ask") for k in range(levels)]
    cells = [r[col[n]] for r in data for n in px_names if r[col[n]]]
    fixed = all(_INTEGER.fullmatch(c) for c in cells) and any(abs(int(c)) > 10**6 for c in cells)

    def price(cell: str) -> int | None:
        if cell == "":
            return None
        if fixed:
            value = _ref_int(cell)
            return None if value == INT64_MAX else value
        if not _DECIMAL.fullmatch(cell):
            raise Bad
        units = Decimal(cell) * 10**9
        if units != units.to_integral_value() or abs(units) > INT64_MAX:
            raise Bad
        return int(units)

    parsed = []
    for i, r in enumerate(data):
        out = {}
        order = sorted(
            [n for n in _REQUIRED]
            + [f"{f}_{k:02d}" for f in ("bid_px", "ask_px", "bid_sz", "ask_sz") for k in range(levels)],
            key=lambda n: col[n],
        )
        for name in order:
            cell = r[col[name]]
            try:
                if name.startswith("ts_"):
                    out[name] = _ref_ts(cell)
                elif name in ("action", "side"):
                    if len(cell) != 1 or not cell.isascii():
                        raise Bad
                    out[name] = ord(cell)
                elif name == "price" or "_px_" in name:
                    out[name] = price(cell)
                elif "_sz_" in name:
                    px_cell = r[col[name.replace("_sz_", "_px_")]]
                    px_empty = px_cell == "" or (
                        fixed and _INTEGER.fullmatch(px_cell) and int(px_cell) == INT64_MAX
                    )
                    out[name] = 0 if (cell == "" and px_empty) else _ref_int(cell)
                else:
                    out[name] = _ref_int(cell)
            except Bad:
                raise FeedError(str(path), "bad cell", row=i + 1, field=name) from None
        parsed.append(out)
    last_by_venue: dict[int, int] = {}
    for i, out in enumerate(parsed):
        previous = last_by_venue.get(out["publisher_id"])
        if previous is not None and out["ts_event"] < previous:
            raise FeedError(str(path), "order", row=i + 1, field="ts_event")
        last_by_venue[out["publisher_id"]] = out["ts_event"]

    dropped: dict[str, int] = {}
    kept = []
    seen = set()
    for out in parsed:
        book = {
            s: [(out[f"{s}_px_{k:02d}"], out[f"{s}_sz_{k:02d}"]) for k in range(levels)]
            for s in ("bid", "ask")
        }
        levels_all = book["bid"] + book["ask"]
        if any(p is not None and p <= 0 for p, _ in levels_all):
            reason = "nonpositive_price"
        elif any(p is None and z != 0 for p, z in levels_all):
            reason = "size_without_price"
        elif any(p is not None and z <= 0 for p, z in levels_all):
            reason = "nonpositive_size"
        elif (
            book["bid"][0][0] is not None
            and book["ask"][0][0] is not None
            and book["bid"][0][0] >= book["ask"][0][0]
        ):
            reason = "crossed_book"
        else:
            reason = None
        if reason:
            dropped[reason] = dropped.get(reason, 0) + 1
            continue
        key = (out["ts_event"], out["publisher_id"])
        if key in seen:
            dropped["duplicate_ts_venue"] = dropped.get("duplicate_ts_venue", 0) + 1
            continue
        seen.add(key)
        kept.append((out, book))
    window = [
        (o, b)
        for o, b in kept
        if (start_ns is None or o["ts_event"] >= start_ns) and (end_ns is None or o["ts_event"] <= end_ns)
    ]
    if len(window) != len(kept):
        dropped["outside_window"] = len(kept) - len(window)
    # Venues may interleave out of ts_event order; the reader replays them sorted (stably).
    window.sort(key=lambda ob: ob[0]["ts_event"])
    symbols: list[str] = []
    if "symbol" in col:
        for r in data:
            s = r[col["symbol"]]
            if s and s not in symbols:
                symbols.append(s)

    def grid(side: str, part: int) -> np.ndarray:
        return np.array([[(lv[part] or 0) for lv in b[side]] for _, b in window], dtype=np.int64).reshape(
            -1, levels
        )

    return {
        "ts_event": np.array([o["ts_event"] for o, _ in window], dtype=np.int64),
        "ts_recv": np.array([o["ts_recv"] for o, _ in window], dtype=np.int64),
        "venue": np.array([o["publisher_id"] for o, _ in window], dtype=np.int64),
        "action": np.array([o["action"] for o, _ in window], dtype=np.int64),
        "side": np.array([o["side"] for o, _ in window], dtype=np.int64),
        "price": np.array([o["price"] or 0 for o, _ in window], dtype=np.int64),
        "size": np.array([o["size"] for o, _ in window], dtype=np.int64),
        "bid_px": grid("bid", 0),
        "bid_sz": grid("bid", 1),
        "ask_px": grid("ask", 0),
        "ask_sz": grid("ask", 1),
        "rows_read": len(data),
        "dropped": dropped,
        "symbol": ",".join(symbols),
    }


_BAD_CELLS = ["", "NaN", "inf", "x", "1e3", "1..2", "-", "1.0000000001", "99999999999999999999", " 1"]


@st.composite
def csv_files(draw):
    """Small MBP CSVs in varied layouts, mostly good, sometimes with one bad cell."""
    levels = draw(st.integers(1, 3))
    fixed = draw(st.booleans())
    integer_ts = draw(st.booleans())
    names = list(_REQUIRED) + ["rtype", "symbol"]
    for k in range(levels):
        names += [f"{f}_{k:02d}" for f in ("bid_px", "ask_px", "bid_sz", "ask_sz", "bid_ct", "ask_ct")]
    names = draw(st.permutations(names))
    index_col = draw(st.booleans())
    n = draw(st.integers(1, 12))
    # One instrument per file: a file of several is refused unless one is chosen (tested apart).
    symbol = draw(st.sampled_from(["AAPL", "MSFT", ""]))
    ts = 1_722_519_392_000_000_000 + draw(st.integers(0, 10**12))
    lines = []
    for _ in range(n):
        ts += draw(st.sampled_from([0, 0, 1, 7, 999_999_999, 10**9]))
        mid = draw(st.integers(2, 40))
        cells = {
            "ts_event": str(ts) if integer_ts else _iso(ts, draw(st.integers(0, 9))),
            "ts_recv": str(ts + 5) if integer_ts else _iso(ts + 5, 9),
            "publisher_id": draw(st.sampled_from(["2", "5"])),
            "action": draw(st.sampled_from("ACTMR")),
            "side": draw(st.sampled_from("ABN")),
            "size": str(draw(st.integers(0, 500))),
            "rtype": "10",
            "symbol": symbol,
        }
        cells["price"] = _px(mid * 5, fixed, draw(st.booleans()))
        for k in range(levels):
            for s, tick in (("bid", mid - k - draw(st.integers(0, 2))), ("ask", mid + 1 + k)):
                empty = draw(st.integers(0, 9)) == 0
                cells[f"{s}_px_{k:02d}"] = "" if empty and not fixed else _px(tick * 5, fixed, empty)
                sz = draw(st.sampled_from([0, 100, 100, 250, 7, -3])) if not empty else 0
                cells[f"{s}_sz_{k:02d}"] = str(sz)
                cells[f"{s}_ct_{k:02d}"] = "1"
        if draw(st.integers(0, 6)) == 0:
            # Not the symbol: another symbol is another instrument, not a bad cell.
            target = draw(st.sampled_from(sorted(set(cells) - {"symbol"})))
            cells[target] = draw(st.sampled_from(_BAD_CELLS))
        lines.append(cells)
    head = ([""] if index_col else []) + list(names)
    text = ",".join(head) + "\n"
    for i, cells in enumerate(lines):
        text += ",".join(([str(i)] if index_col else []) + [cells[name] for name in names]) + "\n"
    return text


def _iso(ns: int, digits: int) -> str:
    seconds, frac = divmod(ns, 10**9)
    y, mo, d, h, mi, s = __import__("time").gmtime(seconds)[:6]
    text = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"
    if digits:
        text += "." + f"{frac:09d}"[:digits]
    return text + "Z"


def _px(cents5: int, fixed: bool, undefined: bool) -> str:
    # Prices on a 5-cent grid, written as dollars or as 1e-9 fixed point.
    if fixed:
        return str(INT64_MAX) if undefined else str(cents5 * 10_000_000)
    return f"{cents5 // 100}.{cents5 % 100:02d}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=csv_files())
def test_reader_matches_reference_on_generated_files(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("gen") / "g.csv"
    path.write_text(text, encoding="utf-8")
    try:
        want = reference_read(path)
    except FeedError as exc:
        with pytest.raises(FeedError) as info:
            read_csv(path)
        assert (info.value.row, info.value.field) == (exc.row, exc.field)
        return
    assert_same(read_csv(path), want)
