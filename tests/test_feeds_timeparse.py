"""Exact timestamp parsing and formatting, scalar and vectorized."""

from __future__ import annotations

import calendar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.timeparse import day_start_ns, format_ns, parse_ns, parse_ns_matrix, parse_window_bound

# 2024-08-01T13:36:32.491911683Z: the trial's first ts_event (databento_dbn prints this integer so).
T_FIRST = 1_722_519_392_491_911_683
DAY = 1_722_470_400_000_000_000  # 2024-08-01T00:00:00Z = 19,936 days * 86,400 s
SEC = 1_000_000_000


def test_trial_first_timestamp_is_exact():
    assert parse_ns("2024-08-01T13:36:32.491911683Z") == T_FIRST
    assert calendar.timegm((2024, 8, 1, 13, 36, 32, 0, 0, 0)) * SEC + 491_911_683 == T_FIRST
    assert DAY == 19_936 * 86_400 * SEC


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2024-08-01T13:36:32Z", T_FIRST - 491_911_683),
        ("2024-08-01T13:36:32", T_FIRST - 491_911_683),
        ("2024-08-01 13:36:32Z", T_FIRST - 491_911_683),
        ("2024-08-01T13:36:32.5Z", T_FIRST - 491_911_683 + 500_000_000),
        ("2024-08-01T13:36:32.000000001Z", T_FIRST - 491_911_682),
        ("2024-08-01T15:36:32.491911683+02:00", T_FIRST),
        ("2024-08-01T08:36:32.491911683-0500", T_FIRST),
        ("1722519392491911683", T_FIRST),
        ("0", 0),
        ("1970-01-01T00:00:00Z", 0),
        ("2024-02-29T00:00:00Z", calendar.timegm((2024, 2, 29, 0, 0, 0)) * SEC),
    ],
)
def test_parse_ns_accepts_iso_and_integer_forms(text, ns):
    assert parse_ns(text) == ns


@pytest.mark.parametrize(
    "text",
    [
        "2024-08-01T13:36:32.1234567890Z",  # ten fractional digits
        "2023-02-29T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-08-01T24:00:00Z",
        "2024-08-01T13:60:00Z",
        "2024-08-01T13:36:60Z",
        "2024-08-01",
        "13:36:32",
        "-1",
        "+5",
        "1.5",
        "99999999999999999999",
        "9223372036854775808",
        "",
        " 2024-08-01T13:36:32Z",
        "2024-08-01T13:36:32+25:00",
        "2300-01-01T00:00:00Z",
    ],
)
def test_parse_ns_rejects_bad_text(text):
    with pytest.raises(ValueError):
        parse_ns(text)


def test_format_ns_always_writes_nine_digits():
    assert format_ns(T_FIRST) == "2024-08-01T13:36:32.491911683Z"
    assert format_ns(DAY) == "2024-08-01T00:00:00.000000000Z"
    assert format_ns(0) == "1970-01-01T00:00:00.000000000Z"
    assert format_ns(-1) == "1969-12-31T23:59:59.999999999Z"


@given(st.integers(-(2**63), 2**63 - 1))
def test_format_then_parse_is_identity(ns):
    assert parse_ns(format_ns(ns)) == ns


def test_day_start_floors_to_midnight():
    assert day_start_ns(T_FIRST) == DAY
    assert day_start_ns(DAY) == DAY
    assert day_start_ns(DAY - 1) == DAY - 86_400 * SEC


@pytest.mark.parametrize(
    ("bound", "ns"),
    [
        ("13:36:32", DAY + (13 * 3600 + 36 * 60 + 32) * SEC),
        ("13:45:14", DAY + (13 * 3600 + 45 * 60 + 14) * SEC),
        ("13:36:32.5", DAY + (13 * 3600 + 36 * 60 + 32) * SEC + 500_000_000),
        ("13:36:32.491911683", T_FIRST),
        ("9:30", DAY + (9 * 3600 + 30 * 60) * SEC),
        ("00:00:00", DAY),
        ("2024-08-01T13:36:32.491911683Z", T_FIRST),
        ("1722519392491911683", T_FIRST),
        (T_FIRST, T_FIRST),
        (np.int64(5), 5),
    ],
)
def test_window_bound_forms(bound, ns):
    assert parse_window_bound(bound, T_FIRST) == ns


def test_window_bound_time_of_day_uses_the_utc_day_of_the_given_instant():
    # Any instant of the day gives the same day; a full timestamp ignores it.
    assert parse_window_bound("13:36:32", DAY + 1) == parse_window_bound("13:36:32", DAY + 86_399 * SEC)
    assert parse_window_bound("2024-08-02T00:00:00Z", 0) == DAY + 86_400 * SEC


@pytest.mark.parametrize("bound", ["13:61:00", "25:00", "noon", "13:36:32.1234567890", "", True, 1.5])
def test_window_bound_rejects_bad_input(bound):
    with pytest.raises(ValueError):
        parse_window_bound(bound, T_FIRST)


def test_time_of_day_without_a_day_is_an_error():
    with pytest.raises(ValueError, match="needs a day"):
        parse_window_bound("13:36:32", None)


def _matrix(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    raw = [t.encode() for t in texts]
    width = max(1, max(len(r) for r in raw))
    m = np.zeros((len(raw), width), dtype=np.uint8)
    for i, r in enumerate(raw):
        m[i, : len(r)] = list(r)
    return m, np.array([len(r) for r in raw])


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.integers(0, 2**63 - 1), st.integers(0, 9)).map(
            lambda p: format_ns(p[0])[: 20 + p[1] if p[1] else 19] + "Z"
        ),
        min_size=1,
        max_size=20,
    )
)
def test_vectorized_parse_agrees_with_scalar(texts):
    values, ok = parse_ns_matrix(*_matrix(texts))
    for text, value, good in zip(texts, values.tolist(), ok.tolist(), strict=True):
        year = int(text[:4])
        assert good == (1970 <= year <= 2261)
        if good:
            assert value == parse_ns(text)


def test_vectorized_parse_refuses_what_it_does_not_know():
    texts = [
        "2024-08-01T13:36:32.491911683Z",
        "2024-02-30T00:00:00Z",
        "2024-08-01T13:36:32.Z",
        "2024-08-01 13:36:32Z",
        "1722519392491911683",
        "2024-08-01T13:36:32.4919116831Z",
        "x",
    ]
    values, ok = parse_ns_matrix(*_matrix(texts))
    assert ok.tolist() == [True, False, False, False, False, False, False]
    assert values[0] == T_FIRST
