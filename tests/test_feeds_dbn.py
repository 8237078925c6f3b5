"""The DBN reader: Databento's own test files, files built record by record, and failure modes."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest

from feeds.databento_csv import read_csv
from feeds.errors import FeedError
from feeds.market import _COLUMNS

dbn = pytest.importorskip("databento_dbn")

from feeds.dbn import MissingDependency, read_dbn  # noqa: E402
from tests.dbn_fixtures import mbp1 as _mbp1  # noqa: E402
from tests.dbn_fixtures import metadata, write  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MBP1 = DATA / "databento_test_data.mbp-1.v3.dbn.zst"
MBP10 = DATA / "databento_test_data.mbp-10.dbn"
needs_data = pytest.mark.skipif(not (MBP1.exists() and MBP10.exists()), reason="shared DBN files not present")
UNDEF = 2**63 - 1


@needs_data
def test_mbp1_zst_file():
    md = read_dbn(MBP1)
    # Two MBP-1 records of ESH1 on GLBX (publisher 1), distinct instants: both kept.
    assert (md.rows_read, len(md), md.levels, md.dropped) == (2, 2, 1, {})
    assert md.symbol == "ESH1"
    assert md.venue.tolist() == [1, 1]
    assert md.ts_event.tolist() == [1_609_160_400_006_001_487, 1_609_160_400_006_146_661]
    assert md.ts_recv.tolist() == [1_609_160_400_006_136_329, 1_609_160_400_006_246_513]
    assert [chr(a) for a in md.action] == ["A", "A"] and [chr(s) for s in md.side] == ["A", "A"]
    assert md.price.tolist() == [3_720_500_000_000] * 2  # 3720.50
    assert md.bid_px.tolist() == [[3_720_250_000_000]] * 2
    assert md.ask_px.tolist() == [[3_720_500_000_000]] * 2
    assert md.bid_sz.tolist() == [[24], [24]] and md.ask_sz.tolist() == [[11], [12]]


@needs_data
def test_mbp10_plain_file():
    md = read_dbn(MBP10)
    assert (md.rows_read, len(md), md.levels, md.dropped) == (2, 2, 10, {})
    assert md.ts_event.tolist() == [1_609_160_400_000_429_831, 1_609_160_400_000_435_673]
    first = md.snapshot(0)
    assert (first.action, first.side, first.price, first.size) == ("C", "A", 3_722_750_000_000, 1)
    assert first.bid_px[0] == 3_720_250_000_000 and first.bid_px[9] == 3_718_000_000_000
    assert first.ask_px[9] == 3_722_750_000_000
    assert first.bid_sz == (24, 31, 32, 39, 50, 42, 44, 64, 53, 67)
    assert first.ask_sz == (10, 34, 39, 28, 33, 45, 55, 59, 49, 44)
    assert md.bid_sz[1, 1] == 30  # the second record cancels one lot at 3720.00


@needs_data
@pytest.mark.parametrize("pretty", [True, False], ids=["dollars-iso", "fixed-int"])
def test_dbn_and_its_csv_transcoding_read_the_same(tmp_path, pretty):
    # databento_dbn's own CSV encoder is an independent path to the same numbers.
    out = io.BytesIO()
    transcoder = dbn.Transcoder(
        out, dbn.Encoding.CSV, dbn.Compression.NONE, pretty_px=pretty, pretty_ts=pretty
    )
    transcoder.write(MBP10.read_bytes())
    transcoder.flush()
    path = tmp_path / "t.csv"
    path.write_bytes(out.getvalue())
    from_csv, from_dbn = read_csv(path), read_dbn(MBP10)
    for name in _COLUMNS:
        assert np.array_equal(getattr(from_csv, name), getattr(from_dbn, name)), name


def _write(path: Path, *records: bytes, compress: bool = False) -> Path:
    path = write(path, *records, compress=compress)
    if compress:
        assert path.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic
    return path


T = 1_722_519_392_491_911_683


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "zstd"])
def test_snapshot_rule_and_undefined_prices(tmp_path, compress):
    px = 222_810_000_000
    path = _write(
        tmp_path / "x.dbn",  # the name does not say zstd: the magic bytes do
        _mbp1(T, 2, px, px + 20_000_000),
        _mbp1(T, 2, px, px + 30_000_000, bid_sz=1),  # same instant, same venue: dropped
        _mbp1(T, 5, px, UNDEF, ask_sz=0),  # same instant, another venue, no ask
        _mbp1(T + 1, 2, px + 30_000_000, px + 20_000_000),  # crossed
        _mbp1(T + 2, 2, px, px + 10_000_000, action=dbn.Action.TRADE, price=px, size=5),
        compress=compress,
    )
    md = read_dbn(path)
    assert md.rows_read == 5
    assert md.dropped == {"crossed_book": 1, "duplicate_ts_venue": 1}
    assert md.venue.tolist() == [2, 5, 2]
    assert md.ask_px[:, 0].tolist() == [px + 20_000_000, 0, px + 10_000_000]
    assert md.bid_sz[:, 0].tolist() == [100, 100, 100]
    assert md.price.tolist() == [0, 0, px]
    assert chr(md.action[2]) == "T" and md.size[2] == 5
    assert md.symbol == "AAPL"


def test_window_is_applied(tmp_path):
    px = 10_000_000_000
    path = _write(tmp_path / "w.dbn", *[_mbp1(T + i, 2, px, px + 10_000_000) for i in range(5)])
    md = read_dbn(path, T + 1, T + 3)
    assert md.ts_event.tolist() == [T + 1, T + 2, T + 3]
    assert md.dropped == {"outside_window": 2}


def test_out_of_order_ts_event_is_an_error(tmp_path):
    px = 10_000_000_000
    path = _write(tmp_path / "o.dbn", _mbp1(T + 5, 2, px, px + 1), _mbp1(T, 2, px, px + 1))
    with pytest.raises(FeedError) as info:
        read_dbn(path)
    assert (info.value.row, info.value.field) == (2, "ts_event")


def test_undefined_timestamp_is_a_feed_error(tmp_path):
    px = 10_000_000_000
    path = _write(tmp_path / "u.dbn", _mbp1(T, 2, px, px + 1, recv=dbn.UNDEF_TIMESTAMP))
    with pytest.raises(FeedError, match="undefined"):
        read_dbn(path)


def test_missing_file_is_a_feed_error(tmp_path):
    with pytest.raises(FeedError, match="no such file"):
        read_dbn(tmp_path / "nope.dbn")


def test_junk_is_a_feed_error(tmp_path):
    path = tmp_path / "junk.dbn"
    path.write_bytes(b"not a dbn file" * 20)
    with pytest.raises(FeedError, match="not a readable DBN file"):
        read_dbn(path)


@needs_data
def test_truncated_file_is_a_feed_error(tmp_path):
    path = tmp_path / "cut.dbn"
    path.write_bytes(MBP10.read_bytes()[:-100])
    with pytest.raises(FeedError, match="truncated"):
        read_dbn(path)


def test_file_without_mbp_records_is_a_feed_error(tmp_path):
    path = tmp_path / "empty.dbn"
    path.write_bytes(metadata())
    with pytest.raises(FeedError, match="no MBP-1 or MBP-10 records"):
        read_dbn(path)


def test_missing_package_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "databento_dbn", None)
    with pytest.raises(MissingDependency) as info:
        read_dbn(tmp_path / "any.dbn")
    assert "pip install 'sor[dbn]'" in str(info.value)
    assert isinstance(info.value, ImportError) and isinstance(info.value, FeedError)


DBEQ_DAY = DATA / "dbeq-basic-tbbo" / "dbeq-basic-20240801.tbbo.dbn.zst"


@pytest.mark.skipif(not DBEQ_DAY.exists(), reason="shared DBEQ TBBO days not present")
def test_a_tbbo_csv_export_reads_as_its_dbn_file(tmp_path):
    # databento_dbn transcodes the real day to CSV; named as Databento names TBBO exports, the
    # CSV is a TBBO file too: the same sides inferred from the quotes, the same schema.
    decoder = dbn.DBNDecoder(compression=dbn.Compression.ZSTD)
    decoder.write(DBEQ_DAY.read_bytes())
    head, *records = decoder.decode()
    out = io.BytesIO()
    transcoder = dbn.Transcoder(out, dbn.Encoding.CSV, dbn.Compression.NONE, pretty_px=True, pretty_ts=True)
    transcoder.write(head.encode() + b"".join(bytes(r) for r in records))
    transcoder.flush()
    path = tmp_path / "dbeq-basic-20240801.tbbo.csv"
    path.write_bytes(out.getvalue())
    from_csv, from_dbn = read_csv(path, instrument_id=13724), read_dbn(DBEQ_DAY, instrument_id=13724)
    assert len(from_dbn) > 1000
    for name in _COLUMNS:
        assert np.array_equal(getattr(from_csv, name), getattr(from_dbn, name)), name
    assert from_csv.meta["schema"] == from_dbn.meta["schema"] == "tbbo"
    sides = {chr(s): int(n) for s, n in zip(*np.unique(from_csv.side, return_counts=True), strict=True)}
    assert sides["A"] > 100 and sides["B"] > 100  # most DBEQ prints say N in the file
    # The same text under a name that does not say TBBO is an MBP-1 file: sides as written.
    plain = tmp_path / "day.csv"
    plain.write_bytes(out.getvalue())
    as_mbp1 = read_csv(plain, instrument_id=13724)
    assert "schema" not in as_mbp1.meta
    assert (as_mbp1.side == ord("N")).sum() > (from_csv.side == ord("N")).sum()
