"""Choosing one instrument of a multi-instrument file, and TBBO records across venues.

The counts for the real DBEQ day file are worked out here with a plain loop over
``databento_dbn``'s own decoded records (no ``feeds`` code), then pinned as numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from feeds.errors import FeedError
from feeds.feed import MemoryFeed
from feeds.market import _COLUMNS
from feeds.sources import load_instruments, load_source, open_source
from feeds.timeparse import parse_ns

dbn = pytest.importorskip("databento_dbn")

from tests.dbn_fixtures import UNDEF, mbp1, metadata, write  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DAY_FILE = DATA / "dbeq-basic-tbbo" / "dbeq-basic-20240801.tbbo.dbn.zst"
needs_day = pytest.mark.skipif(not DAY_FILE.exists(), reason="shared DBEQ download not present")
RIOT = 13724
T = 1_722_519_392_000_000_000  # 2024-08-01T13:36:32Z
USD = 1_000_000_000


def reference_counts(path: Path, instrument: int, start_ns: int | None = None, end_ns: int | None = None):
    """Count a DBN file's records the obvious way: databento_dbn objects, one at a time."""
    decoder = dbn.DBNDecoder(compression=dbn.Compression.ZSTD)
    decoder.write(path.read_bytes())
    records = [r for r in decoder.decode() if isinstance(r, dbn.MBP1Msg)]
    dropped: dict[str, int] = {}
    seen = set()
    kept = []

    def count(reason):
        dropped[reason] = dropped.get(reason, 0) + 1

    for r in records:
        if r.instrument_id != instrument:
            count("other_instrument")
            continue
        level = r.levels[0]
        bid = None if level.bid_px == UNDEF else level.bid_px
        ask = None if level.ask_px == UNDEF else level.ask_px
        if (bid is not None and bid <= 0) or (ask is not None and ask <= 0):
            count("nonpositive_price")
        elif (bid is None and level.bid_sz) or (ask is None and level.ask_sz):
            count("size_without_price")
        elif (bid is not None and level.bid_sz <= 0) or (ask is not None and level.ask_sz <= 0):
            count("nonpositive_size")
        elif bid is not None and ask is not None and bid >= ask:
            count("crossed_book")
        elif (r.ts_event, r.publisher_id) in seen:
            count("duplicate_ts_venue")
        else:
            seen.add((r.ts_event, r.publisher_id))
            kept.append(r)
    inside = [
        r
        for r in kept
        if (start_ns is None or r.ts_event >= start_ns) and (end_ns is None or r.ts_event <= end_ns)
    ]
    if len(inside) != len(kept):
        dropped["outside_window"] = len(kept) - len(inside)
    empty = {
        "bid": sum(r.levels[0].bid_px == UNDEF for r in inside),
        "ask": sum(r.levels[0].ask_px == UNDEF for r in inside),
    }
    return len(records), inside, dropped, empty


# ---------------------------------------------------------------- the real day file


@needs_day
def test_riot_counts_on_one_day_file_match_a_plain_decode_loop():
    rows, kept, dropped, empty = reference_counts(DAY_FILE, RIOT)
    # Pinned: 18,565 records in the file, 4,023 of RIOT, 595 repeating an instant of their venue.
    assert (rows, len(kept), dropped) == (
        18_565,
        3_428,
        {"other_instrument": 14_542, "duplicate_ts_venue": 595},
    )
    assert empty == {"bid": 22, "ask": 116}
    md = load_source(str(DAY_FILE), symbol="RIOT")
    assert (md.rows_read, len(md), md.dropped) == (rows, len(kept), dropped)
    assert md.symbol == "RIOT"
    assert md.meta == {"schema": "tbbo", "instrument_id": RIOT, "empty_book_sides": empty}
    assert md.venues == (39, 40, 41)
    # Replayed in ts_event order, ties in file order: the reference rows sorted stably.
    order = sorted(range(len(kept)), key=lambda i: kept[i].ts_event)
    assert md.ts_event.tolist() == [kept[i].ts_event for i in order]
    assert md.ts_recv.tolist() == [kept[i].ts_recv for i in order]
    assert md.price.tolist() == [kept[i].price for i in order]
    assert md.size.tolist() == [kept[i].size for i in order]
    assert [chr(a) for a in md.action] == ["T"] * len(kept)
    asks = [0 if kept[i].levels[0].ask_px == UNDEF else kept[i].levels[0].ask_px for i in order]
    assert md.ask_px[:, 0].tolist() == asks


@needs_day
def test_riot_regular_session_window_counts():
    start, end = parse_ns("2024-08-01T13:30:00Z"), parse_ns("2024-08-01T20:00:00Z")
    rows, kept, dropped, _ = reference_counts(DAY_FILE, RIOT, start, end)
    assert (len(kept), dropped["outside_window"]) == (3_426, 2)
    md = load_source(str(DAY_FILE), "13:30", "20:00", symbol="RIOT")
    assert (md.rows_read, len(md), md.dropped) == (rows, len(kept), dropped)


@needs_day
def test_whole_day_file_counts_for_every_symbol():
    every = load_instruments(str(DAY_FILE))
    assert sorted(every) == sorted(
        ["RIOT", "CX", "YMM", "HL", "ERIC", "ITUB", "DBI", "UA", "APLT", "PBI", "IE", "ANGO", "CGAU", "ASAI"]
    )
    # Every record is some symbol's snapshot or a repeat of its venue's instant: 3,680 repeat
    # (counted by (instrument, venue, ts_event) over the decoded records), 14,885 are kept.
    kept = sum(len(md) for md in every.values())
    rules = sum(v for md in every.values() for k, v in md.dropped.items() if k != "other_instrument")
    assert (kept, rules, kept + rules) == (14_885, 3_680, 18_565)
    ids = {md.meta["instrument_id"]: name for name, md in every.items()}
    assert kept == sum(len(reference_counts(DAY_FILE, ident)[1]) for ident in ids)
    assert all(md.rows_read == 18_565 for md in every.values())
    for symbol in ("RIOT", "ASAI"):
        one = load_source(str(DAY_FILE), symbol=symbol)
        for name in _COLUMNS:
            assert np.array_equal(getattr(every[symbol], name), getattr(one, name)), (symbol, name)
        assert (every[symbol].dropped, every[symbol].meta) == (one.dropped, one.meta)


@needs_day
def test_a_day_file_with_several_symbols_and_no_choice_lists_them_in_one_line():
    with pytest.raises(FeedError) as info:
        load_source(str(DAY_FILE))
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith(
        'the file holds 14 instruments: choose one with [data] symbol = "..." or instrument_id = N '
        "(symbols: ANGO, APLT, ASAI, CGAU, CX, DBI, ERIC, HL, IE, ITUB, PBI, RIOT, UA, YMM)"
    )


@needs_day
@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ({"symbol": "AAPL"}, "symbol 'AAPL' is not in the file (symbols: ANGO, APLT,"),
        ({"instrument_id": 5}, "instrument_id 5 is not in the file (instrument ids: 882, 965, 1166,"),
        ({"symbol": "RIOT", "instrument_id": RIOT}, "give symbol or instrument_id, not both"),
    ],
)
def test_a_bad_choice_of_instrument_is_one_line(choice, message):
    with pytest.raises(FeedError) as info:
        load_source(str(DAY_FILE), **choice)
    assert message in str(info.value) and "\n" not in str(info.value)


@needs_day
def test_choosing_by_instrument_id_equals_choosing_by_symbol():
    by_id = load_source(str(DAY_FILE), instrument_id=RIOT)
    by_symbol = load_source(str(DAY_FILE), symbol="RIOT")
    assert by_id.symbol == "RIOT" and np.array_equal(by_id.ts_event, by_symbol.ts_event)


@needs_day
def test_feed_info_before_the_first_chunk_matches_what_the_chunks_hold():
    feed = open_source(str(DAY_FILE), symbol="HL", chunk_rows=500)
    info = feed.info
    chunks = list(feed.chunks())
    assert len(chunks) > 1 and all(len(c) >= 500 for c in chunks[:-1])
    assert info.venues == (39, 40, 41) and info.symbol == "HL" and info.meta["instrument_id"] == 7733
    whole = load_source(str(DAY_FILE), symbol="HL")
    assert info == MemoryFeed(whole).info and info.first_ts == int(whole.ts_event[0])
    assert feed.stats().snapshots == sum(len(c) for c in chunks) == len(whole)


# ---------------------------------------------------------------- hand-made files


def _two_instruments(tmp_path: Path, mappings: dict[str, int] | None, name: str = "two.dbn") -> Path:
    px = 10 * USD
    return write(
        tmp_path / name,
        mbp1(T, 39, px, px + 10_000_000, instrument=7),
        mbp1(T, 40, px, px + 20_000_000, instrument=8),
        mbp1(T + 5, 39, px, px + 30_000_000, instrument=7),
        head=metadata(symbols=["A", "B"], mappings=mappings, start=T - 10**12, end=T + 10**12),
    )


def test_symbols_come_from_the_dbn_metadata_mappings(tmp_path):
    path = _two_instruments(tmp_path, {"A": 7, "B": 8})
    md = load_source(str(path), symbol="A")
    assert (md.symbol, md.meta["instrument_id"], md.rows_read, len(md)) == ("A", 7, 3, 2)
    assert md.dropped == {"other_instrument": 1}
    assert md.ask_px[:, 0].tolist() == [10_010_000_000, 10_030_000_000]


def test_symbols_come_from_symbology_json_beside_a_file_without_mappings(tmp_path):
    path = _two_instruments(tmp_path, None)
    table = {"result": {"B": [{"d0": "2024-08-01", "d1": "2024-08-02", "s": "8"}]}, "stype_in": "raw_symbol"}
    (tmp_path / "symbology.json").write_text(json.dumps(table))
    md = load_source(str(path), symbol="B")
    assert (md.symbol, md.meta["instrument_id"], len(md)) == ("B", 8, 1)


def test_a_symbol_asked_of_a_file_without_symbology_is_one_line(tmp_path):
    path = _two_instruments(tmp_path, None)
    with pytest.raises(FeedError) as info:
        load_source(str(path), symbol="A")
    assert "the file names no symbols" in str(info.value) and "(ids: 7, 8)" in str(info.value)
    # The ids still work, and without a choice the error lists them.
    assert len(load_source(str(path), instrument_id=8)) == 1
    with pytest.raises(FeedError, match=r"holds 2 instruments.*symbols: 7, 8"):
        load_source(str(path))


def test_a_broken_symbology_json_is_one_line(tmp_path):
    path = _two_instruments(tmp_path, None)
    (tmp_path / "symbology.json").write_text("{not json")
    with pytest.raises(FeedError, match="symbology.json beside it: cannot read it"):
        load_source(str(path), symbol="A")


def test_tbbo_rows_keep_the_trade_and_the_quote_before_it(tmp_path):
    px = 10 * USD
    trade = dbn.Action.TRADE
    path = write(
        tmp_path / "tbbo.dbn",
        # Pre-market: no quote at all, then one side only; the trades still count.
        mbp1(T, 41, UNDEF, UNDEF, 0, 0, action=trade, price=px, size=50, side=dbn.Side.NONE),
        mbp1(T + 1, 40, px, UNDEF, 300, 0, action=trade, price=px, size=100, side=dbn.Side.ASK),
        mbp1(T + 2, 41, px, px + 10_000_000, 200, 400, action=trade, price=px + 10_000_000, size=7),
        head=metadata(schema=dbn.Schema.TBBO),
    )
    md = load_source(str(path))
    assert (md.rows_read, len(md), md.dropped) == (3, 3, {})
    assert [chr(a) for a in md.action] == ["T", "T", "T"]
    assert [chr(s) for s in md.side] == ["N", "A", "B"]
    assert md.price.tolist() == [px, px, px + 10_000_000] and md.size.tolist() == [50, 100, 7]
    assert md.bid_px[:, 0].tolist() == [0, px, px] and md.bid_sz[:, 0].tolist() == [0, 300, 200]
    assert md.ask_px[:, 0].tolist() == [0, 0, px + 10_000_000] and md.ask_sz[:, 0].tolist() == [0, 0, 400]
    assert md.ts_recv.tolist() == [T + 1000, T + 1001, T + 1002]
    assert md.meta == {"schema": "tbbo", "instrument_id": 38, "empty_book_sides": {"bid": 1, "ask": 2}}


# ---------------------------------------------------------------- CSV


HEAD = (
    "ts_recv,ts_event,publisher_id,instrument_id,action,side,price,size,"
    "bid_px_00,ask_px_00,bid_sz_00,ask_sz_00,symbol"
)


def _csv(tmp_path: Path, rows: list[tuple], head: str = HEAD) -> Path:
    lines = [head]
    for ts, venue, ident, symbol in rows:
        stamp = f"2024-08-01T13:36:{ts:02d}Z"
        cells = {"ts": stamp, "venue": venue, "id": ident, "symbol": symbol}
        line = f"{cells['ts']},{cells['ts']},{venue},{ident},A,B,10.00,1,10.00,10.01,100,200,{symbol}"
        if "instrument_id" not in head:
            line = line.replace(f",{ident},A,", ",A,", 1)
        lines.append(line)
    path = tmp_path / "multi.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_csv_with_two_symbols_is_read_one_at_a_time(tmp_path):
    path = _csv(tmp_path, [(1, 2, 7, "AAA"), (2, 2, 8, "BBB"), (3, 2, 7, "AAA")])
    with pytest.raises(FeedError, match=r"holds 2 instruments.*symbols: AAA, BBB\)$"):
        load_source(str(path))
    md = load_source(str(path), symbol="AAA")
    assert (md.symbol, md.meta, md.rows_read, len(md)) == ("AAA", {"instrument_id": 7}, 3, 2)
    assert md.dropped == {"other_instrument": 1}
    assert load_source(str(path), instrument_id=8).symbol == "BBB"
    with pytest.raises(FeedError, match=r"symbol 'CCC' is not in the file \(symbols: AAA, BBB\)"):
        load_source(str(path), symbol="CCC")


def test_a_csv_without_instrument_ids_is_chosen_by_symbol(tmp_path):
    head = HEAD.replace("instrument_id,", "")
    path = _csv(tmp_path, [(1, 2, 7, "AAA"), (2, 5, 8, "BBB")], head=head)
    md = load_source(str(path), symbol="BBB")
    assert (md.symbol, md.meta, md.venues) == ("BBB", {}, (5,))
    with pytest.raises(FeedError, match="no instrument_id column"):
        load_source(str(path), instrument_id=8)


def test_tbbo_prints_without_a_side_take_the_side_their_quote_implies():
    # A plain decode loop: a print with no side at or below the quote's bid was a sale (A),
    # at or above its ask a purchase (B), inside the spread it stays N. Each kept row is
    # matched to its record by time, venue, price and size.
    import databento_dbn as dbn

    expected: dict[tuple[int, int, int, int], str] = {}
    undef = 2**63 - 1
    with open(DAY_FILE, "rb") as f:
        decoder = dbn.DBNDecoder(compression=dbn.Compression.ZSTD)
        decoder.write(f.read())
        for r in decoder.decode():
            if not isinstance(r, dbn.MBP1Msg) or r.instrument_id != RIOT:
                continue
            side, lv = r.side.value, r.levels[0]
            if side == "N":
                if lv.bid_sz > 0 and lv.bid_px != undef and r.price <= lv.bid_px:
                    side = "A"
                elif lv.ask_sz > 0 and lv.ask_px != undef and r.price >= lv.ask_px:
                    side = "B"
            expected.setdefault((r.ts_event, r.publisher_id, r.price, r.size), side)
    md = load_source(str(DAY_FILE), symbol="RIOT")
    got = [chr(c) for c in md.side]
    keys = zip(md.ts_event.tolist(), md.venue.tolist(), md.price.tolist(), md.size.tolist(), strict=True)
    assert got == [expected[k] for k in keys]
    # RIOT's day: most prints come without a side; a third of those sat on a quote.
    assert (got.count("A") + got.count("B"), got.count("N"), len(got)) == (1063, 2365, 3428)
