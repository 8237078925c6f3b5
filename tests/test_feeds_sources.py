"""``load_source``: one spec string to market data, with windows and clear errors."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from feeds.errors import FeedError
from feeds.sources import load_source, synth_config
from feeds.synthetic import SynthConfig, generate
from feeds.timeparse import parse_ns

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EXCERPT = DATA / "l1_day_excerpt_first5rows__Avni2000_sample.csv"
ARL = DATA / "other_trial_mbp10_ARL_2025-07-17__Hemanth-Kumar-04_mbp.csv"
MBP1 = DATA / "databento_test_data.mbp-1.v3.dbn.zst"
MBP10 = DATA / "databento_test_data.mbp-10.dbn"
needs_data = pytest.mark.skipif(not ARL.exists(), reason="shared data not present")


def test_synthetic_spec_builds_the_config():
    assert synth_config("synthetic:venues=3,seconds=522,seed=7") == SynthConfig()
    assert synth_config("synthetic:") == SynthConfig()
    assert synth_config("synthetic: venues = 2 , mid_price=50.5") == SynthConfig(venues=2, mid_price=50.5)


def test_synthetic_source_is_generated():
    md = load_source("synthetic:venues=2,seconds=30,seed=4")
    expected = generate(SynthConfig(venues=2, seconds=30, seed=4))
    assert np.array_equal(md.ask_px, expected.ask_px)
    assert md.source.startswith("synthetic:")


def test_synthetic_source_with_time_of_day_window():
    md = load_source("synthetic:seconds=60", "13:36:40", "13:36:50")
    assert md.ts_event[0] >= parse_ns("2024-08-01T13:36:40Z")
    assert md.ts_event[-1] <= parse_ns("2024-08-01T13:36:50Z")
    assert md.dropped["outside_window"] == 6000 - len(md)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("synthetic:venues=3,colour=red", "unknown key 'colour'"),
        ("synthetic:venues=three", "bad value for 'venues'"),
        ("synthetic:seconds", "expected key=value"),
        ("synthetic:seed=1,seed=2", "'seed' given twice"),
        ("synthetic:venues=0", "venues must be between"),
        ("market.parquet", "unknown data source"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        load_source(spec)


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "absent.csv"
    with pytest.raises(FeedError) as info:
        load_source(str(missing))
    assert str(missing) in str(info.value) and "no such file" in str(info.value)


@needs_data
def test_csv_path_with_time_of_day_window():
    md = load_source(str(ARL), "08:00", "12:00:00")
    assert len(md) == 50
    assert md.dropped == {"duplicate_ts_venue": 574, "outside_window": 3304}


@needs_data
def test_csv_path_with_integer_and_iso_bounds():
    start = parse_ns("2025-07-17T08:00:00Z")
    by_int = load_source(str(ARL), start, start + 4 * 3600 * 10**9)
    by_iso = load_source(str(ARL), "2025-07-17T08:00:00Z", "2025-07-17T12:00:00Z")
    assert np.array_equal(by_int.ts_event, by_iso.ts_event) and len(by_int) == 50


@needs_data
def test_dbn_paths_are_dispatched():
    pytest.importorskip("databento_dbn")
    assert load_source(str(MBP1)).levels == 1
    assert load_source(str(MBP10)).levels == 10


def test_kafka_spec_is_handed_to_the_consumer(monkeypatch):
    calls = []
    sentinel = generate(SynthConfig(seconds=1))

    def read_topic(spec, start, end):
        calls.append((spec, start, end))
        return sentinel

    monkeypatch.setitem(sys.modules, "feeds.kafka.consumer", types.SimpleNamespace(read_topic=read_topic))
    got = load_source("kafka://127.0.0.1:9092/mock_l1_stream", "13:36:32", 5)
    assert got is sentinel
    assert calls == [("kafka://127.0.0.1:9092/mock_l1_stream", "13:36:32", 5)]
