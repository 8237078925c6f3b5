"""``sor data synth``: write a seeded synthetic market as a Databento MBP-10 CSV.

The command only parses arguments and calls ``feeds``; bad input ends in one
line and a non-zero exit.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from feeds.csv_writer import write_csv
from feeds.errors import FeedError
from feeds.synthetic import SynthConfig, generate
from feeds.timeparse import format_ns
from sim.output import OutputError, atomic_open, check_target
from sim.terminal import clean


@click.group()
def data() -> None:
    """Make and inspect market data files."""


@data.command()
@click.option(
    "--venues", default=3, show_default=True, help="Number of venues (Databento publisher ids 2, 5, 38, ...)."
)
@click.option("--seconds", default=522.0, show_default=True, help="Length of the session in seconds.")
@click.option("--seed", default=7, show_default=True, help="Random seed; the same seed gives the same file.")
@click.option(
    "--start", default="2024-08-01T13:36:32Z", show_default=True, help="First instant, ISO-8601 UTC."
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV file to write.",
)
def synth(venues: int, seconds: float, seed: int, start: str, output: Path) -> None:
    """Generate a synthetic multi-venue market and write it as a Databento MBP-10 CSV."""
    try:
        check_target(output)  # before the work, not after it
        config = SynthConfig(venues=venues, seconds=seconds, seed=seed, start=start)
        md = generate(config)
        with atomic_open(output, "w", encoding="utf-8", newline="") as f:
            write_csv(md, f)
    except (FeedError, ValueError, OutputError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{output}: cannot write: {exc.strerror or exc}") from None
    trades = int(np.count_nonzero(md.action == ord("T")))
    span = f"{format_ns(int(md.ts_event[0]))} .. {format_ns(int(md.ts_event[-1]))}" if len(md) else "empty"
    click.echo(
        f"wrote {clean(output)}: {len(md):,} rows, {trades:,} trades, venues {list(md.venues)}, "
        f"{span}, seed {seed}"
    )
