"""Hostile data files: mutated real and generated CSV and DBN bytes, and paths that are not files.

The contract: reading either gives well-formed ``MarketData`` or raises ``FeedError``
with one line that names the file (and the row and field where it applies); never
another exception, and it finishes (each example runs under a generous alarm).
"""

from __future__ import annotations

import io
import os
import signal
import stat
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.errors import FeedError
from feeds.market import _COLUMNS
from feeds.sources import load_source
from tests.test_feeds_databento_csv import csv_files

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EXCERPT = DATA / "l1_day_excerpt_first5rows__Avni2000_sample.csv"
DBN_FILES = [
    DATA / "databento_test_data.mbp-10.dbn",
    DATA / "databento_test_data.mbp-1.v3.dbn.zst",
    DATA / "dbeq-basic-fixture" / "test_data.tbbo.dbn.zst",
    DATA / "dbeq-basic-fixture" / "test_data.mbp-10.dbn.zst",
]
# Generous: an example takes milliseconds; the alarm only catches a hang.
ALARM_S = 30
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


class Hang(Exception):
    pass


@contextmanager
def finishes(seconds: int = ALARM_S):
    def on_alarm(signum, frame):
        raise Hang(f"did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_contract(path: Path, **choice) -> None:
    """Read ``path``: valid MarketData, or a one-line FeedError naming it."""
    with finishes():
        try:
            md = load_source(str(path), **choice)
        except FeedError as exc:
            message = str(exc)
            assert message.startswith(str(path)), message
            assert "\n" not in message and "\r" not in message, message
            return
    n = len(md)
    for name in _COLUMNS:
        column = getattr(md, name)
        assert column.dtype == np.int64 and column.shape[0] == n, name
    assert bool(np.all(np.diff(md.ts_event) >= 0))
    assert md.rows_read == n + sum(md.dropped.values())
    assert bool(np.all(md.bid_px >= 0)) and bool(np.all(md.ask_px >= 0))


@st.composite
def mutations(draw, data: bytes):
    """``data`` with a few bytes flipped, inserted, deleted or the tail cut off."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "cut", "repeat"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if kind == "flip" and out:
            out[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            out[at:at] = draw(
                st.sampled_from([b"\x00", b"\r", b'"', b"\xff", b",", b"\n", b"-", b"9" * 25, b".5e3"])
            )
        elif kind == "delete" and out:
            del out[at : at + draw(st.integers(1, 8))]
        elif kind == "cut":
            del out[at:]
        elif kind == "repeat" and out:
            end = out.find(b"\n", at)
            if end > at:
                out[end:end] = out[at:end]
    return bytes(out)


def _write(tmp_path_factory, name: str, data: bytes) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- CSV


@pytest.mark.skipif(not EXCERPT.exists(), reason="shared data not present")
@FUZZ
@given(data=st.data())
def test_mutated_real_csv_is_read_or_refused_in_one_line(tmp_path_factory, data):
    raw = data.draw(mutations(EXCERPT.read_bytes()))
    assert_contract(_write(tmp_path_factory, "excerpt.csv", raw))


@FUZZ
@given(data=st.data())
def test_mutated_generated_csv_is_read_or_refused_in_one_line(tmp_path_factory, data):
    text = data.draw(csv_files())
    raw = data.draw(mutations(text.encode()))
    assert_contract(_write(tmp_path_factory, "gen.csv", raw))


@FUZZ
@given(raw=st.binary(max_size=600))
def test_random_bytes_named_csv_are_refused_in_one_line(tmp_path_factory, raw):
    assert_contract(_write(tmp_path_factory, "noise.csv", raw))


# ---------------------------------------------------------------- DBN


def _plain(path: Path) -> bytes:
    # The decoded DBN stream (zstd removed), so that mutations hit records, not the compression.
    dbn = pytest.importorskip("databento_dbn")
    raw = path.read_bytes()
    if raw[:4] != b"\x28\xb5\x2f\xfd":
        return raw
    out = io.BytesIO()
    decoder = dbn.DBNDecoder(compression=dbn.Compression.ZSTD)
    decoder.write(raw)
    records = decoder.decode()
    out.write(bytes(records[0].encode()))
    for r in records[1:]:
        out.write(bytes(r))
    return out.getvalue()


@pytest.mark.skipif(not all(p.exists() for p in DBN_FILES), reason="shared DBN files not present")
@FUZZ
@given(data=st.data(), which=st.integers(0, len(DBN_FILES) - 1), compressed=st.booleans())
def test_mutated_dbn_is_read_or_refused_in_one_line(tmp_path_factory, data, which, compressed):
    source = DBN_FILES[which]
    base = source.read_bytes() if compressed else _plain(source)
    raw = data.draw(mutations(base))
    assert_contract(_write(tmp_path_factory, "m.dbn.zst" if compressed else "m.dbn", raw))


@FUZZ
@given(
    raw=st.binary(max_size=600), prefix=st.sampled_from([b"", b"DBN\x01", b"DBN\x02", b"\x28\xb5\x2f\xfd"])
)
def test_random_bytes_named_dbn_are_refused_in_one_line(tmp_path_factory, raw, prefix):
    pytest.importorskip("databento_dbn")
    assert_contract(_write(tmp_path_factory, "noise.dbn", prefix + raw))


# ---------------------------------------------------------------- paths that are not files


@pytest.mark.parametrize("suffix", [".csv", ".dbn"])
def test_a_directory_named_like_data_says_it_is_a_directory(tmp_path, suffix):
    path = tmp_path / f"dir{suffix}"
    path.mkdir()
    with pytest.raises(FeedError, match="is a directory, not a data file"):
        load_source(str(path))


@pytest.mark.parametrize("suffix", [".csv", ".dbn"])
def test_a_fifo_named_like_data_is_refused_without_blocking(tmp_path, suffix):
    path = tmp_path / f"pipe{suffix}"
    os.mkfifo(path)
    assert stat.S_ISFIFO(os.stat(path).st_mode)
    with finishes(10), pytest.raises(FeedError, match="is a FIFO"):
        load_source(str(path))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
@pytest.mark.parametrize("suffix", [".csv", ".dbn.zst"])
def test_a_device_behind_a_data_name_is_refused_at_once(tmp_path, suffix):
    path = tmp_path / f"zero{suffix}"
    path.symlink_to("/dev/zero")
    with finishes(10), pytest.raises(FeedError, match="is a device, not a data file"):
        load_source(str(path))


def test_a_missing_file_still_says_no_such_file(tmp_path):
    with pytest.raises(FeedError, match="no such file"):
        load_source(str(tmp_path / "absent.dbn"))


def test_a_sparse_file_of_zeros_is_refused_from_its_first_bytes(tmp_path):
    path = tmp_path / "sparse.csv"
    with open(path, "wb") as f:
        f.truncate(8 * 2**30)  # 8 GiB of holes: nothing on disk, zeros when read
    with finishes(10), pytest.raises(FeedError, match="NUL byte in the header"):
        load_source(str(path))


@st.composite
def dbn_records(draw):
    """MBP-1 records with any field values the format can hold."""
    dbn = pytest.importorskip("databento_dbn")
    from tests.dbn_fixtures import mbp1

    u64 = st.integers(0, 2**64 - 1)
    i64 = st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([2**63 - 1, 0, 10**10]))
    base = draw(st.integers(0, 2**62))
    records = []
    for _ in range(draw(st.integers(0, 12))):
        ts = draw(st.one_of(st.integers(base, base + 10**10), u64))
        records.append(
            mbp1(
                ts,
                draw(st.integers(0, 2**16 - 1)),
                draw(i64),
                draw(i64),
                draw(st.integers(0, 2**32 - 1)),
                draw(st.integers(0, 2**32 - 1)),
                action=draw(st.sampled_from([dbn.Action.TRADE, dbn.Action.ADD, dbn.Action.CANCEL])),
                price=draw(i64),
                size=draw(st.integers(0, 2**32 - 1)),
                recv=draw(u64),
                instrument=draw(st.sampled_from([38, 38, 38, 2**32 - 1])),
            )
        )
    return records


@FUZZ
@given(records=dbn_records(), compress=st.booleans())
def test_generated_dbn_records_are_read_or_refused_in_one_line(tmp_path_factory, records, compress):
    from tests.dbn_fixtures import write

    path = tmp_path_factory.mktemp("gen") / "g.dbn"
    write(path, *records, compress=compress)
    assert_contract(path)
