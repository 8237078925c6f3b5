"""``sor queue-truth``: score the queue models against an MBO file's FIFO ground truth.

The command only parses arguments, calls ``venues.queue_truth`` and prints or
writes what it returns; bad input ends in one line and a non-zero exit.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import click
from tabulate import tabulate

from feeds.errors import FeedError
from feeds.mbo import read_mbo
from feeds.timeparse import NS_PER_DAY, NS_PER_SECOND, day_start_ns, parse_window_bound
from sim.jsonio import write_json
from venues.queue_truth import HORIZONS_S, MODELS, TruthError, TruthSettings, run_queue_truth

_END_OF_DAY = re.compile(r"24:00(:00(\.0{1,9})?)?")


def _positive_seconds(text: str, what: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise click.ClickException(f"{what} must be a number of seconds, got {text!r}") from None
    if not value > 0 or value > 10 * 365 * 86_400:
        raise click.ClickException(f"{what} must be a number of seconds above zero, got {text!r}")
    return round(value * NS_PER_SECOND)


def window_bound(text: str | None, day_ns: int, option: str) -> int | None:
    """Parse ``--start``/``--end``: a timestamp, integer ns, or HH:MM[:SS] on the data's day (or 24:00)."""
    if text is None:
        return None
    if _END_OF_DAY.fullmatch(text.strip()):
        return day_start_ns(day_ns) + NS_PER_DAY
    try:
        return parse_window_bound(text, day_ns)
    except ValueError as exc:
        raise click.ClickException(f"{option}: {exc}") from None


def figures_table(report: dict) -> str:
    """Return the per-model table: agreement per horizon, fill-time error, queue-ahead error."""
    horizons = list(report["orders"]["truth_filled"])
    headers = [
        "model",
        *(f"same outcome {h} s" for h in horizons),
        "fill-time error median / p90 s",
        "queue-ahead error",
    ]
    rows = []
    for name, m in report["models"].items():
        marks = [
            mark
            for mark, who in (("default", report["default_model"]), ("best", report["best_model"]))
            if who == name
        ]
        ft = m["fill_time_error_s"]
        rows.append(
            [
                name + (f" ({', '.join(marks)})" if marks else ""),
                *(_share(m["agreement"][h]) for h in horizons),
                f"{_num(ft['median'])} / {_num(ft['p90'])}",
                _num(m["queue_ahead_error"]),
            ]
        )
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _share(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


@click.command("queue-truth")
@click.argument("mbo_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--start",
    default=None,
    help="First entry: ISO-8601, integer ns, or HH:MM[:SS] on the data's day. [default: first live record]",
)
@click.option(
    "--end",
    default=None,
    help="Entries before this instant (24:00 is the end of the data's day). [default: last record]",
)
@click.option(
    "--every",
    default="10",
    show_default=True,
    help="Seconds between entry times (and between queue readings).",
)
@click.option(
    "--probe-every",
    default=None,
    help="Seconds between readings of an order's queue ahead. [default: --every]",
)
@click.option(
    "--qty", default=1, show_default=True, type=int, help="Size of each virtual order (contracts or shares)."
)
@click.option(
    "--horizons",
    default=",".join(str(h) for h in HORIZONS_S),
    show_default=True,
    help="Comma-separated horizons in seconds for the same-outcome figures.",
)
@click.option(
    "--models",
    "model_names",
    default=None,
    help=f"Comma-separated models to score. [default: all: {', '.join(MODELS)}]",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the figures as JSON here.",
)
@click.option("--quiet", is_flag=True, help="Print no progress lines.")
def queue_truth(
    mbo_file: Path,
    start: str | None,
    end: str | None,
    every: str,
    probe_every: str | None,
    qty: int,
    horizons: str,
    model_names: str | None,
    out: Path | None,
    quiet: bool,
) -> None:
    """Score the queue models against the FIFO ground truth of MBO_FILE (Databento MBO, DBN or CSV).

    Virtual buy orders join the best bid and a tick below every EVERY seconds, once at the back
    of the real queue in the MBO events and once on the MBP-10 book built from them under each model.
    """
    t0 = time.perf_counter()
    every_ns = _positive_seconds(every, "--every")
    probe_ns = None if probe_every is None else _positive_seconds(probe_every, "--probe-every")
    horizons_ns = tuple(_positive_seconds(h.strip(), "--horizons") for h in horizons.split(",") if h.strip())
    models = MODELS
    if model_names is not None:
        names = [n.strip() for n in model_names.split(",") if n.strip()]
        unknown = [n for n in names if n not in MODELS]
        if unknown or not names:
            raise click.ClickException(
                f"--models: unknown {', '.join(unknown) or 'nothing given'}; known: {', '.join(MODELS)}"
            )
        models = {n: MODELS[n] for n in names}

    def say(line: str) -> None:
        if not quiet:
            click.echo(f"[{time.perf_counter() - t0:5.1f} s] {line}", err=True)

    try:
        say(f"reading {mbo_file}")
        events = read_mbo(mbo_file)
        live = events.ts_event[~events.snapshot]
        day = int(live[0]) if live.size else int(events.ts_event[0])
        settings = TruthSettings(
            start_ns=window_bound(start, day, "--start"),
            end_ns=window_bound(end, day, "--end"),
            every_ns=every_ns,
            horizons_ns=horizons_ns,
            probe_every_ns=probe_ns,
            qty=qty,
        )
        report = run_queue_truth(events, settings, models, on_progress=say)
        if out is not None:
            write_json(report, out)
    except (FeedError, TruthError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or out}: {exc.strerror or exc}") from None
    o, s = report["orders"], report["settings"]
    click.echo(
        f"{report['symbol'] or mbo_file.name}: {o['placed']:,} virtual orders of {qty}, "
        f"{s['start']} .. {s['end']} every {s['every_s']:g} s; "
        f"truly filled within {', '.join(f'{h} s: {n}' for h, n in o['truth_filled'].items())}"
    )
    click.echo(figures_table(report))
    click.echo(
        f"best: {report['best_model']}; default: {report['default_model']}; {time.perf_counter() - t0:.1f} s"
    )
    if out is not None:
        click.echo(f"wrote {out}")
