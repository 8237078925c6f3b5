"""``sor study``: run a scenario over many markets on Dask and print what the evidence says."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from sim.commands.run import USER_ERRORS, _Progress
from sim.jsonio import write_json
from sim.output import check_target
from sim.scenario import Scenario
from sim.terminal import clean

STUDY_HEADERS = (
    "strategy",
    "vs",
    "n",
    "mean bps",
    "95% CI (t)",
    "95% CI (bootstrap)",
    "sd",
    "median",
    "win rate",
    "incomplete",
    "n for 80% power",
)


def _n(value: Any) -> str:
    return "-" if value is None else str(value)


def _ci(cell: dict[str, Any], prefix: str = "") -> str:
    low, high = cell[f"{prefix}ci95_low_bps"], cell[f"{prefix}ci95_high_bps"]
    return "-" if low is None else f"{low} .. {high}"


def _row(label: str, baseline: str, cell: dict[str, Any]) -> list[str]:
    rate = cell["win_rate"]
    return [
        label,
        baseline,
        str(cell["n"]),
        _n(cell["mean_bps"]),
        _ci(cell),
        _ci(cell, "bootstrap_"),
        _n(cell["sd_bps"]),
        _n(cell["median_bps"]),
        "-" if rate is None else f"{rate * 100:.1f}%",
        str(cell["incomplete"]),
        _n(cell["markets_for_80pct_power"]),
    ]


def study_table(result: dict[str, Any]) -> str:
    """Return the table a person reads first: every strategy against every baseline, and out of sample."""
    study = result["study"]
    swept = (study.get("sweep") or {}).get("strategy")
    rows = []
    for name, against in study["summary"].items():
        label = clean(f"{name} (in-sample best)" if name == swept else name)
        rows.extend(_row(label, clean(baseline), cell) for baseline, cell in against.items())
    for name, against in study["out_of_sample"].items():
        rows.extend(_row(clean(f"{name} (out of sample)"), clean(b), cell) for b, cell in against.items())
    return tabulate(rows, headers=STUDY_HEADERS, tablefmt="github", disable_numparse=True)


def quotes_line(quotes: dict) -> str:
    """Say how often the markets' consolidated last quotes were crossed or locked."""
    n = quotes["instants"]
    line = (
        f"consolidated quotes over {quotes['markets']} markets: crossed at {quotes['crossed'] / n:.1%}"
        f" and locked at {quotes['locked'] / n:.1%} of {n:,} instants"
    )
    fresh = quotes.get("with_stale_quotes_dropped")
    if fresh:
        line += f"; with stale quotes dropped {fresh['crossed']:,} crossed and {fresh['locked']:,} locked"
    return line


@click.command("study")
@click.argument("scenario_path", metavar="SCENARIO", type=click.Path(dir_okay=False))
@click.option("--workers", type=click.IntRange(min=1), help="Local worker processes [one per core].")
@click.option("--cluster", help="Submit to a running Dask scheduler instead, e.g. tcp://HOST:8786.")
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False), help="Result JSON path [out/<scenario>-study.json]."
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(file_okay=False),
    help="Checkpoint each finished market here; markets already in it are not run again.",
)
@click.option(
    "--plot", "plot_dir", type=click.Path(file_okay=False), help="Also write the figure and report.html here."
)
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def study(scenario_path, workers, cluster, out_path, resume_dir, plot_dir, quiet) -> None:
    """Run SCENARIO's [study]: every market as `sor run` would, then savings with confidence intervals."""
    from sim.study.driver import run_study

    if workers is not None and cluster is not None:
        raise click.UsageError(
            "give --workers (local processes) or --cluster (a running scheduler), not both"
        )

    def started(to_run: int, done: int) -> None:
        if not quiet:
            n = workers or os.cpu_count()
            where = f"the scheduler at {cluster}" if cluster else f"{n} local worker{'' if n == 1 else 's'}"
            resumed = f"; {done} already done in {resume_dir}" if done else ""
            click.echo(clean(f"study: {to_run} markets to run on {where}{resumed}"), err=True)

    out = Path(out_path) if out_path else Path("out") / f"{Path(scenario_path).stem}-study.json"
    try:
        # Refuse an output that cannot be written before the study, not after it.
        check_target(out)
        if plot_dir:
            from sim.report import check_targets

            check_targets(Path(plot_dir))
        scenario = Scenario.from_toml(scenario_path)
        done = run_study(
            scenario,
            workers=workers,
            cluster=cluster,
            resume=resume_dir,
            progress=None if quiet else _Progress("markets"),
            warn=lambda line: click.echo(clean(line), err=True),
            on_start=started,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(done.result, out)
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    if not quiet:
        study_block = done.result["study"]
        click.echo(study_table(done.result))
        click.echo(f"\nout of sample: {clean(study_block['method']['out_of_sample'])}")
        click.echo(
            f"{study_block['markets_run']} of {study_block['markets_planned']} markets "
            f"({study_block['markets_skipped']} skipped, {done.resumed} from checkpoints); "
            f"ran {done.markets - done.resumed} in {done.wall_s:.1f} s"
        )
        quotes = study_block["quotes"]
        if quotes is not None and quotes["instants"]:
            click.echo(quotes_line(quotes))
        click.echo(f"wrote {clean(out)}")
    if plot_dir:
        from sim.report import ReportError, write_report

        try:
            paths = write_report(done.result, Path(plot_dir), source=str(out))
        except (ReportError, OSError) as exc:
            raise click.ClickException(str(exc)) from None
        if not quiet:
            click.echo(f"wrote {len(paths)} report files to {plot_dir}")
