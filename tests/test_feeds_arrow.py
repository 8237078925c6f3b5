"""The CSV reader's pyarrow fast path gives exactly what its numpy parser gives, or declines."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("pyarrow")

from feeds import _arrow  # noqa: E402
from feeds.databento_csv import CsvReader  # noqa: E402
from feeds.errors import FeedError  # noqa: E402
from tests.test_feeds_databento_csv import HEAD, csv_files, mbp1, row  # noqa: E402

COLUMNS = ("ts_event", "ts_recv", "venue", "action", "side", "price", "size")
BOOK = ("bid_px", "ask_px", "bid_sz", "ask_sz", "bid_present", "ask_present")


def both(path, rule=None):
    """Return (fast, numpy) parses of a one-block file; fast is None when declined."""
    reader = CsvReader(path)
    rows = [0]
    (text,) = list(reader._bodies(rows))
    fast = (
        _arrow.parse(text.view(), reader.header, reader.columns, reader.levels, rule)
        if text.plain()
        else None
    )
    try:
        slow = reader._parse_numpy(text, 0, rule)
    except FeedError:
        slow = None
    return fast, slow


def assert_agree(fast, slow) -> None:
    columns, rule, _, _ = fast
    block, slow_rule = slow
    assert rule == slow_rule
    for name in COLUMNS:
        assert np.array_equal(columns[name], block.columns[name]), name
    present = block.columns["bid_present"], block.columns["ask_present"]
    assert np.array_equal(columns["bid_present"], present[0])
    assert np.array_equal(columns["ask_present"], present[1])
    for side, mask in (("bid", present[0]), ("ask", present[1])):
        # Absent levels may hold anything: compare where the file gave a price.
        assert np.array_equal(
            np.where(mask, columns[f"{side}_px"], 0), np.where(mask, block.columns[f"{side}_px"], 0)
        )
        assert np.array_equal(columns[f"{side}_sz"], block.columns[f"{side}_sz"])


taken = {"fast": 0, "all": 0}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=csv_files(), rule=st.sampled_from([None, None, False, True]))
def test_fast_path_agrees_with_the_numpy_parser_or_declines(tmp_path_factory, text, rule):
    path = tmp_path_factory.mktemp("arrow") / "g.csv"
    path.write_text(text, encoding="utf-8")
    fast, slow = both(path, rule)
    taken["all"] += 1
    if fast is None:
        return
    taken["fast"] += 1
    # Whatever the fast path accepts, the numpy parser accepts with the same values.
    assert slow is not None
    assert_agree(fast, slow)


def test_the_fast_path_is_taken_on_clean_files(tmp_path):
    rows = [row(ts=f"2024-08-01T13:36:3{i}.123456789Z", bid="9.99", ask="10.00") for i in range(5)]
    path = tmp_path / "clean.csv"
    path.write_text(mbp1(rows))
    fast, slow = both(path)
    assert fast is not None
    assert_agree(fast, slow)
    assert fast[0]["ask_px"][:, 0].tolist() == [10_000_000_000] * 5


@pytest.mark.parametrize(
    ("cells", "why"),
    [
        ({"ask": "1e3"}, "an exponent pyarrow would accept"),
        ({"ask": "10.0100000000001"}, "more than nine decimals"),
        ({"ask": "-10.01"}, "a signed price"),
        ({"size": "+5"}, "a signed integer"),
        ({"size": ""}, "an empty required cell"),
        ({"ts": "2024-08-01"}, "a date without a time"),
        ({"ts": "2024-08-01T13:36"}, "a time without seconds"),
        ({"ts": "2024-08-01T13:36:32+00:00"}, "an offset instead of Z"),
        ({"action": "AB"}, "a two-letter action"),
    ],
)
def test_the_fast_path_declines_what_it_cannot_vouch_for(tmp_path, cells, why):
    path = tmp_path / "odd.csv"
    path.write_text(mbp1([row(), row(**cells), row()]))
    fast, _ = both(path)
    assert fast is None, why


def test_fixed_point_files_read_alike(tmp_path):
    undef = str(2**63 - 1)
    rows = [
        row(price="10000000000", bid="9990000000", ask="10000000000"),
        row(price="10000000000", bid=undef, bid_sz="0", ask="10010000000"),
    ]
    path = tmp_path / "fixed.csv"
    path.write_text(mbp1(rows))
    for rule in (None, True):
        fast, slow = both(path, rule)
        if rule is None:
            # An UNDEF cell is 19 digits: the unsettled first block goes to the numpy parser.
            assert fast is None
            continue
        assert_agree(fast, slow)
        assert fast[0]["bid_present"][:, 0].tolist() == [True, False]


def test_integer_nanosecond_timestamps_read_alike(tmp_path):
    path = tmp_path / "ints.csv"
    path.write_text(mbp1([row(ts="1722519392491911683"), row(ts="1722519392491911690")]))
    fast, slow = both(path)
    assert fast is not None
    assert_agree(fast, slow)


def test_header_is_reused_by_name():
    assert "publisher_id" in HEAD
