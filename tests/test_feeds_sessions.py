"""The previous session's file of a batch download and a symbol's regular-session volume in it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from feeds.errors import FeedError
from feeds.sessions import (
    previous_session_file,
    previous_session_volume,
    regular_session_ns,
    session_date,
    session_volume,
)
from feeds.timeparse import parse_ns

dbn = pytest.importorskip("databento_dbn")

from tests.dbn_fixtures import mbp1, metadata, write  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dbeq-basic-tbbo"
needs_download = pytest.mark.skipif(not DATA.exists(), reason="shared DBEQ download not present")
USD = 1_000_000_000


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(b"")


def test_the_previous_session_is_the_latest_earlier_date_skipping_the_weekend(tmp_path):
    _touch(tmp_path, "x-20240801.tbbo.dbn.zst", "x-20240802.tbbo.dbn.zst", "x-20240805.tbbo.dbn.zst")
    _touch(tmp_path, "y-20240804.tbbo.dbn.zst", "x-20240804.mbp-1.dbn.zst", "x-20240806.tbbo.dbn.zst")
    # Monday's previous session is Friday's file; other prefixes, schemas and later days are not.
    assert previous_session_file(tmp_path / "x-20240805.tbbo.dbn.zst").name == "x-20240802.tbbo.dbn.zst"
    assert previous_session_file(tmp_path / "x-20240802.tbbo.dbn.zst").name == "x-20240801.tbbo.dbn.zst"


def test_the_first_day_has_no_previous_session_and_says_so_naming_the_file(tmp_path):
    _touch(tmp_path, "x-20240801.tbbo.dbn.zst", "x-20240802.tbbo.dbn.zst")
    with pytest.raises(FeedError) as info:
        previous_session_file(tmp_path / "x-20240801.tbbo.dbn.zst")
    message = str(info.value)
    assert message.startswith(str(tmp_path / "x-20240801.tbbo.dbn.zst"))
    assert "no previous session's file beside it" in message and "\n" not in message


def test_a_name_without_a_date_cannot_have_a_previous_session(tmp_path):
    assert session_date("market.csv") is None and session_date("a-20241399.csv") is None
    assert session_date("dbeq-basic-20240801.tbbo.dbn.zst") == dt.date(2024, 8, 1)
    with pytest.raises(FeedError, match="this name has none"):
        previous_session_file(tmp_path / "market.csv")


def test_regular_session_is_new_york_time_through_the_clock_change():
    # Summer (EDT, UTC-4) 13:30-20:00 UTC; winter (EST, UTC-5) 14:30-21:00 UTC.
    assert regular_session_ns(dt.date(2024, 8, 1)) == (
        parse_ns("2024-08-01T13:30:00Z"),
        parse_ns("2024-08-01T20:00:00Z"),
    )
    assert regular_session_ns(dt.date(2024, 12, 2)) == (
        parse_ns("2024-12-02T14:30:00Z"),
        parse_ns("2024-12-02T21:00:00Z"),
    )


def test_volume_sums_regular_session_trades_of_the_symbol_only(tmp_path):
    px = 10 * USD
    trade = dbn.Action.TRADE
    open_ns, close_ns = parse_ns("2024-08-01T13:30:00Z"), parse_ns("2024-08-01T20:00:00Z")
    path = write(
        tmp_path / "d-20240801.tbbo.dbn",
        mbp1(open_ns - 1, 39, px, px + 1, action=trade, price=px, size=1000, instrument=7),  # pre-market
        mbp1(open_ns, 39, px, px + 1, action=trade, price=px, size=100, instrument=7),  # at the open: in
        mbp1(open_ns, 39, px, px + 1, action=trade, price=px, size=30, instrument=7),  # same instant: in
        mbp1(open_ns + 5, 40, px, px + 1, action=trade, price=px, size=7, instrument=8),  # other symbol
        mbp1(open_ns + 9, 41, px, px + 1, size=500, instrument=7),  # a quote update, not a trade
        mbp1(close_ns - 1, 41, px, px + 1, action=trade, price=px, size=20, instrument=7),  # last in
        mbp1(close_ns, 41, px, px + 1, action=trade, price=px, size=4000, instrument=7),  # the close: out
        head=metadata(schema=dbn.Schema.TBBO, symbols=["A", "B"], mappings={"A": 7, "B": 8}),
    )
    volume = session_volume(path, symbol="A")
    assert (volume.shares, volume.trades, volume.symbol, volume.instrument_id) == (150, 3, "A", 7)
    assert (volume.session, volume.start, volume.end) == (
        "2024-08-01",
        "2024-08-01T13:30:00.000000000Z",
        "2024-08-01T20:00:00.000000000Z",
    )
    assert session_volume(path, instrument_id=8).shares == 7
    with pytest.raises(FeedError, match="symbol 'C' is not in the file"):
        session_volume(path, symbol="C")


@needs_download
def test_riot_volume_of_the_session_before_august_first_matches_a_plain_loop():
    decoder = dbn.DBNDecoder(compression=dbn.Compression.ZSTD)
    decoder.write((DATA / "dbeq-basic-20240731.tbbo.dbn.zst").read_bytes())
    lo, hi = parse_ns("2024-07-31T13:30:00Z"), parse_ns("2024-07-31T20:00:00Z")
    prints = [
        r.size
        for r in decoder.decode()
        if isinstance(r, dbn.MBP1Msg) and r.instrument_id == 13724 and lo <= r.ts_event < hi and r.size > 0
    ]
    assert (sum(prints), len(prints)) == (297_929, 3_185)
    volume = previous_session_volume(DATA / "dbeq-basic-20240801.tbbo.dbn.zst", symbol="RIOT")
    assert (volume.shares, volume.trades, volume.session) == (297_929, 3_185, "2024-07-31")
    assert Path(volume.file).name == "dbeq-basic-20240731.tbbo.dbn.zst"
