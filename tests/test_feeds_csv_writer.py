"""Writing Databento MBP CSV: the trial's layout, exact prices, and read-write round trips."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from feeds.csv_writer import format_price, header, write_csv
from feeds.databento_csv import read_csv
from feeds.market import _COLUMNS
from feeds.synthetic import SynthConfig, generate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EXCERPT = DATA / "l1_day_excerpt_first5rows__Avni2000_sample.csv"
ARL = DATA / "other_trial_mbp10_ARL_2025-07-17__Hemanth-Kumar-04_mbp.csv"
needs_data = pytest.mark.skipif(not (EXCERPT.exists() and ARL.exists()), reason="shared data not present")


def assert_same_arrays(a, b) -> None:
    for name in _COLUMNS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


@needs_data
def test_header_is_the_l1_day_header():
    with open(EXCERPT, newline="") as f:
        l1_day = next(csv.reader(f))
    assert header(10) == l1_day
    assert len(header(10)) == 74
    assert header(1)[-7:] == [
        "bid_px_00",
        "ask_px_00",
        "bid_sz_00",
        "ask_sz_00",
        "bid_ct_00",
        "ask_ct_00",
        "symbol",
    ]


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (222_810_000_000, "222.81"),
        (222_800_000_000, "222.80"),
        (200_000_000_000, "200.00"),
        (5_510_000_000, "5.51"),
        (1, "0.000000001"),
        (3_720_250_000_000, "3720.25"),
        (-1_500_000_000, "-1.50"),
        (123_456_789_012, "123.456789012"),
    ],
)
def test_prices_are_exact_decimal_dollars(units, text):
    assert format_price(units) == text


def test_synthetic_market_round_trips_exactly(tmp_path):
    md = generate(SynthConfig(seconds=60, seed=9))
    path = tmp_path / "syn.csv"
    write_csv(md, path)
    back = read_csv(path)
    assert_same_arrays(md, back)
    assert back.rows_read == len(md) and back.dropped == {}
    assert back.symbol == md.symbol


def test_written_rows_look_like_databento(tmp_path):
    md = generate(SynthConfig(seconds=5, seed=1))
    path = tmp_path / "syn.csv"
    write_csv(md, path)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    first = rows[0]
    assert first["ts_event"].endswith("Z") and len(first["ts_event"]) == 30
    assert first["rtype"] == "10" and first["sequence"] == "1"
    assert first["publisher_id"] == str(md.venue[0])
    assert first["bid_px_00"] == format_price(int(md.bid_px[0, 0]))
    assert "." in first["ask_px_09"]
    assert rows[-1]["sequence"] == str(len(md))


@needs_data
@pytest.mark.parametrize("path", [EXCERPT, ARL], ids=["excerpt", "arl-with-empty-levels"])
def test_real_files_round_trip(tmp_path, path):
    md = read_csv(path)
    out = tmp_path / "again.csv"
    write_csv(md, out)
    assert_same_arrays(md, read_csv(out))


@needs_data
def test_empty_levels_are_written_as_empty_cells(tmp_path):
    md = read_csv(ARL)
    out = tmp_path / "arl.csv"
    write_csv(md, out)
    with open(out, newline="") as f:
        first = next(csv.DictReader(f))
    # The day opens with a clear: no price, an empty book.
    assert first["price"] == "" and first["bid_px_00"] == "" and first["ask_px_00"] == ""
    assert first["bid_sz_00"] == "0"


def test_one_level_book_round_trips(tmp_path):
    md = generate(SynthConfig(seconds=10, seed=2))
    one = md.take(np.arange(len(md)))
    one = type(md)(
        **{name: getattr(one, name) for name in _COLUMNS if not name.endswith(("_px", "_sz"))},
        bid_px=md.bid_px[:, :1],
        bid_sz=md.bid_sz[:, :1],
        ask_px=md.ask_px[:, :1],
        ask_sz=md.ask_sz[:, :1],
        symbol="ONE",
    )
    path = tmp_path / "one.csv"
    write_csv(one, path)
    back = read_csv(path)
    assert back.levels == 1
    assert_same_arrays(one, back)
