"""The snapshot rule's fast path (a file in time order) against a plain reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.snapshot_rule import first_per_instant


def reference(ts, venue):
    seen, keep = set(), []
    for t, v in zip(ts.tolist(), venue.tolist(), strict=True):
        keep.append((t, v) not in seen)
        seen.add((t, v))
    return keep


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), max_size=60), st.booleans())
def test_first_message_per_instant_and_venue(pairs, in_time_order):
    if in_time_order:
        pairs = sorted(pairs, key=lambda p: p[0])  # stable: venues keep their file order within an instant
    ts = np.array([p[0] for p in pairs], dtype=np.int64)
    venue = np.array([p[1] for p in pairs], dtype=np.int64)
    assert first_per_instant(ts, venue).tolist() == reference(ts, venue)


def test_hand_case():
    # t=1: venue 2 twice (second dropped), venue 5 once; t=2: venue 2 once
    ts = np.array([1, 1, 1, 2])
    venue = np.array([2, 5, 2, 2])
    assert first_per_instant(ts, venue).tolist() == [True, True, False, True]
