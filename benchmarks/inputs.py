"""The benchmark's inputs, built deterministically and cached outside the repository.

The trial's file is a 3-venue MBP-10 CSV of about 60,000 rows over 522 seconds.
``feeds.synthetic`` builds a market of the same shape (115 rows a second for 522
seconds is 60,030 rows); longer files keep the rate and stretch the time, so a
4x file is four times as many rows over four times the seconds.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import attrs

from feeds.csv_writer import write_csv
from feeds.market import MarketData
from feeds.synthetic import SynthConfig, generate

TRIAL_SECONDS = 522.0
TRIAL_ROWS_PER_SECOND = 115.0
#: ``--quick`` builds files this many times shorter than the trial's.
QUICK_SHRINK = 20
# Rows written per call to ``write_csv``: it holds every cell of what it writes as text.
_CHUNK_ROWS = 60_000


@attrs.frozen
class DataFile:
    """One benchmark input: the CSV on disk and what it was built from."""

    path: Path
    config: SynthConfig
    scale: int
    rows: int


def config_for(scale: int, *, quick: bool) -> SynthConfig:
    """Return the synthetic market ``scale`` times as long as the trial's (shrunk for ``--quick``)."""
    seconds = TRIAL_SECONDS * scale / (QUICK_SHRINK if quick else 1)
    return SynthConfig(venues=3, seconds=seconds, seed=7, rows_per_second=TRIAL_ROWS_PER_SECOND)


def cache_dir() -> Path:
    """Return the directory holding generated inputs (``$SOR_BENCH_CACHE`` or the system temp dir)."""
    root = os.environ.get("SOR_BENCH_CACHE") or os.path.join(tempfile.gettempdir(), "sor-benchmarks")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_file(scale: int, *, quick: bool = False, directory: Path | None = None) -> DataFile:
    """Return the CSV for ``scale``, writing it first unless an identical one is cached.

    The file name carries a fingerprint of the config and of what the generator and
    the writer make of a tiny market, so a change to either that changes their
    output builds a fresh file (and removes the stale one).
    """
    config = config_for(scale, quick=quick)
    folder = directory if directory is not None else cache_dir()
    stem = f"synthetic-3v-{scale}x{'-quick' if quick else ''}"
    path = folder / f"{stem}-{_fingerprint(config)}.csv"
    if not path.is_file():
        for stale in folder.glob(f"{stem}-*.csv"):
            if quick or "-quick-" not in stale.name:
                stale.unlink()
        _write_chunked(generate(config), path)
    rows = round(config.rows_per_second * config.seconds)
    return DataFile(path=path, config=config, scale=scale, rows=rows)


def _fingerprint(config: SynthConfig) -> str:
    digest = hashlib.sha256(repr(attrs.asdict(config)).encode())
    probe = generate(attrs.evolve(config, seconds=2.0))
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "probe.csv"
        write_csv(probe, sample)
        digest.update(sample.read_bytes())
    return digest.hexdigest()[:12]


def _write_chunked(md: MarketData, path: Path) -> None:
    # Write through a temporary name, chunk by chunk (headers after the first dropped),
    # so a 16x file never holds a million rows of text at once and a crash leaves no
    # half-written file under the final name. Each chunk's ``sequence`` column restarts
    # at 1; no reader uses it.
    tmp = path.with_suffix(f".{os.getpid()}.part")
    part = path.with_suffix(f".{os.getpid()}.chunk")
    try:
        with open(tmp, "wb") as out:
            for first in range(0, len(md), _CHUNK_ROWS):
                chunk = md.take(slice(first, first + _CHUNK_ROWS))
                write_csv(chunk, part)
                with open(part, "rb") as f:
                    if first:
                        f.readline()
                    out.write(f.read())
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, part):
            if leftover.exists():
                leftover.unlink()
