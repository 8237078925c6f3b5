"""The CSV reader in blocks: the same result however the text is cut, the price rule across blocks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds import databento_csv
from feeds.databento_csv import read_csv
from feeds.errors import FeedError
from feeds.feed import MemoryFeed
from feeds.market import _COLUMNS
from feeds.sources import open_source
from feeds.timeparse import parse_ns
from tests.test_feeds_databento_csv import csv_files, mbp1, row

USD = 1_000_000_000


def read_in_blocks(monkeypatch, path, block_bytes: int, **kwargs):
    with monkeypatch.context() as m:
        m.setattr(databento_csv, "BLOCK_BYTES", block_bytes)
        return read_csv(path, **kwargs)


def outcome(monkeypatch, path, block_bytes):
    try:
        return read_in_blocks(monkeypatch, path, block_bytes)
    except FeedError as exc:
        return (exc.row, exc.field)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=csv_files(), block=st.sampled_from([64, 150, 333, 2**20]), crlf=st.booleans())
def test_blocks_of_any_size_read_the_same(monkeypatch, tmp_path_factory, text, block, crlf):
    path = tmp_path_factory.mktemp("blocks") / "b.csv"
    path.write_bytes(text.replace("\n", "\r\n").encode() if crlf else text.encode())
    whole = outcome(monkeypatch, path, 2**24)
    cut = outcome(monkeypatch, path, block)
    if isinstance(whole, tuple) or isinstance(cut, tuple):
        # A problem is found either way; with several, the earliest block's comes first.
        assert isinstance(whole, tuple) and isinstance(cut, tuple)
        return
    for name in _COLUMNS:
        assert np.array_equal(getattr(whole, name), getattr(cut, name)), name
    assert (whole.rows_read, whole.dropped, whole.symbol) == (cut.rows_read, cut.dropped, cut.symbol)


def _rows(prices: list[str], step_s: int = 1) -> str:
    out = []
    for i, px in enumerate(prices):
        out.append(row(ts=f"2024-08-01T13:{36 + i // 60:02d}:{i % 60:02d}Z", price=px, bid=px, ask=px + "1"))
    return mbp1(out)


def test_small_integer_prices_wait_for_a_decimal_point_in_a_later_block(monkeypatch, tmp_path):
    path = tmp_path / "late-point.csv"
    path.write_text(_rows(["10"] * 30 + ["10.5"]))
    md = read_in_blocks(monkeypatch, path, 200)
    # "10" then "101" asks: dollars, once a later block shows "10.5".
    assert md.price.tolist() == [10 * USD] * 30 + [10_500_000_000]
    assert md.ask_px[0, 0] == 101 * USD


def test_small_integer_prices_turn_fixed_point_when_a_large_one_comes(monkeypatch, tmp_path):
    path = tmp_path / "late-large.csv"
    path.write_text(_rows(["10"] * 30 + ["10000000000"]))
    md = read_in_blocks(monkeypatch, path, 200)
    # The early blocks are read again as 1e-9 units.
    assert md.price.tolist() == [10] * 30 + [10 * USD]


def test_an_unsettled_file_past_the_hold_is_dollars(monkeypatch, tmp_path):
    path = tmp_path / "long-unsettled.csv"
    path.write_text(_rows(["10"] * 30 + ["10000000000"]))
    monkeypatch.setattr(databento_csv, "UNSETTLED_BYTES", 300)
    with pytest.raises(FeedError) as info:
        read_in_blocks(monkeypatch, path, 200)
    # 10,000,000,000 dollars is beyond int64 1e-9 units: the row is named.
    assert (info.value.row, info.value.field) == (31, "price")


def test_a_decimal_point_after_fixed_point_was_settled_names_the_row(monkeypatch, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(_rows(["10000000000"] * 20 + ["10.5"]))
    with pytest.raises(FeedError) as info:
        read_in_blocks(monkeypatch, path, 200)
    assert (info.value.row, info.value.field) == (21, "price")


def test_a_quoted_cell_may_hold_a_newline_across_a_block_cut(monkeypatch, tmp_path):
    rows = [row(ts=f"2024-08-01T13:36:3{i}Z", symbol='"A\nB"') for i in range(6)]
    path = tmp_path / "quoted.csv"
    path.write_text(mbp1(rows))
    md = read_in_blocks(monkeypatch, path, 90)
    assert (md.rows_read, md.symbol) == (6, "A\nB")


def test_error_rows_count_across_blocks(monkeypatch, tmp_path):
    rows = [row(ts=f"2024-08-01T13:36:{i:02d}Z") for i in range(40)]
    rows[33] = row(ts="2024-08-01T13:36:33Z", size="x")
    path = tmp_path / "bad.csv"
    path.write_text(mbp1(rows))
    with pytest.raises(FeedError) as info:
        read_in_blocks(monkeypatch, path, 300)
    assert (info.value.row, info.value.field) == (34, "size")


def test_a_line_longer_than_the_cap_is_refused(monkeypatch, tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(mbp1([row(), row(symbol="S" * 5000)]))
    monkeypatch.setattr(databento_csv, "MAX_LINE_BYTES", 2000)
    with pytest.raises(FeedError, match="a line longer than 16 MiB") as info:
        read_in_blocks(monkeypatch, path, 500)
    assert info.value.row == 2


def test_a_large_file_is_read_once_for_its_info_then_streamed(monkeypatch, tmp_path):
    rows = [row(ts=f"2024-08-01T13:36:{i:02d}Z", venue=str(2 + i % 3)) for i in range(50)]
    rows[7] = row(ts="2024-08-01T13:36:07Z", venue="3", bid="10.05")  # crossed: dropped
    path = tmp_path / "big.csv"
    path.write_text(mbp1(rows))
    whole = read_csv(path, parse_ns("2024-08-01T13:36:05Z"), parse_ns("2024-08-01T13:36:40Z"))
    monkeypatch.setattr(databento_csv, "HOLD_BYTES", 0)
    monkeypatch.setattr(databento_csv, "BLOCK_BYTES", 400)
    feed = open_source(str(path), "13:36:05", "13:36:40", chunk_rows=7)
    # The same info as the rows held in memory would give, before any chunk.
    assert feed.info == MemoryFeed(whole).info
    assert (feed.info.first_ts, feed.info.last_ts) == (
        parse_ns("2024-08-01T13:36:05Z"),
        parse_ns("2024-08-01T13:36:40Z"),
    )
    chunks = list(feed.chunks())
    assert len(chunks) > 3 and all(len(c) >= 7 for c in chunks[:-1])
    back = np.concatenate([c.ts_event for c in chunks])
    assert np.array_equal(back, whole.ts_event)
    assert feed.stats() == MemoryFeed(whole).stats()
