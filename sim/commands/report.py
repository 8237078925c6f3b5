"""``sor report``: figures and an HTML page for a result JSON."""

from __future__ import annotations

from pathlib import Path

import click

from sim.output import OutputError
from sim.terminal import clean


@click.command("report")
@click.argument("result", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the PNG figures and report.html. [default: the result's folder]",
)
def report(result: Path, out_dir: Path | None) -> None:
    """Draw results.png and the other figures for RESULT.json, and a report.html showing them all."""
    from sim.report import ReportError, load_result, write_report

    out_dir = result.parent if out_dir is None else out_dir
    try:
        written = write_report(load_result(result), out_dir, source=str(result))
    except (ReportError, OutputError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"{exc.filename or out_dir}: cannot write: {exc.strerror or exc}"
        ) from None
    for path in written:
        click.echo(clean(path))
