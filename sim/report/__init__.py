"""Figures and an HTML page for a result JSON.

``write_report`` is the one entry point: ``sor report`` calls it on a file it has
read with :func:`load_result`, and ``sor run ... --plot DIR`` on the result it
has just built. Importing this package does not import matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.output import OutputError, check_target, remove, write_bytes, write_text
from sim.report.figures import (
    PLOT_HINT,
    Plotted,
    plot_cost_curve,
    plot_sweep,
    plot_venue_mix,
    plot_walk_forward,
    require_matplotlib,
)
from sim.report.load import ReportError, is_study, load_result, validate_result
from sim.report.page import render_page

__all__ = [
    "FIGURE_FILES",
    "PAGE_FILE",
    "PLOT_HINT",
    "STUDY_FIGURE_FILE",
    "Plotted",
    "ReportError",
    "check_targets",
    "draw_report",
    "load_result",
    "validate_result",
    "write_report",
]

FIGURE_FILES = {
    "cost_curve": "results.png",
    "venue_mix": "fills_by_venue.png",
    "sweep": "sweep.png",
    "walk_forward": "walk_forward.png",
}
#: A ``sor study`` result's one figure (its report has no other).
STUDY_FIGURE_FILE = "study_savings.png"
PAGE_FILE = "report.html"

_DRAW = {
    "cost_curve": plot_cost_curve,
    "venue_mix": plot_venue_mix,
    "sweep": plot_sweep,
    "walk_forward": plot_walk_forward,
}


def write_report(result: dict, out_dir: Path, *, source: str = "result") -> list[Path]:
    """Draw every figure the result supports and the page that shows them.

    Parameters
    ----------
    result
        A result as described in ``docs/result-format.md``; numbers may be
        ``int``, ``Decimal`` or ``float``.
    out_dir
        Where to write; created if missing. File names are fixed (see
        :data:`FIGURE_FILES` and :data:`PAGE_FILE`), so a second report into the
        same folder replaces the first, and a figure the new result has no data
        for is removed rather than left over from the old one.
    source
        What to call the result in error messages and on the page, usually its file name.

    A study result (``sor study``) gets its own figure, :data:`STUDY_FIGURE_FILE`,
    and a page of its own (``sim.report.study_figure``, ``sim.report.study_page``).

    Returns
    -------
    list of Path
        The files written: the PNG figures in :data:`FIGURE_FILES` order (a
        figure with nothing to show, such as the sweep of a run without one, is
        skipped), then ``report.html``.

    Raises
    ------
    ReportError
        When matplotlib is missing or the result lacks a field the report needs.
    OutputError
        When a file in ``out_dir`` is not a regular file or cannot be written
        (see ``sim.output``: every file is written whole or not at all).
    """
    figures = draw_report(result, out_dir, source)
    return [plotted.path for plotted in figures.values() if plotted is not None] + [Path(out_dir) / PAGE_FILE]


def draw_report(
    result: Mapping[str, Any], out_dir: Path, source: str = "result"
) -> dict[str, Plotted | None]:
    """Write the report like :func:`write_report`, returning each figure with the data behind it.

    Returns
    -------
    dict
        Figure name (a key of :data:`FIGURE_FILES`) to its :class:`Plotted`, or
        ``None`` where the figure was skipped.
    """
    require_matplotlib()
    validate_result(result, source)
    out_dir = check_targets(Path(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    if is_study(result):
        return _draw_study(result, out_dir, source)
    # Draw everything in memory first: a figure that fails leaves the folder as it was.
    figures = {name: draw(result, out_dir / FIGURE_FILES[name]) for name, draw in _DRAW.items()}
    page = render_page(result, figures, source)
    for name, plotted in figures.items():
        if plotted is None:
            remove(out_dir / FIGURE_FILES[name])
        else:
            write_bytes(plotted.path, plotted.png)
    write_text(out_dir / PAGE_FILE, page)
    return figures


def _draw_study(result: Mapping[str, Any], out_dir: Path, source: str) -> dict[str, Plotted | None]:
    from sim.report.study_figure import plot_study
    from sim.report.study_page import render_study_page

    check_target(out_dir / STUDY_FIGURE_FILE)
    # Drawn in memory first, as the run report is: a figure that fails leaves the folder as it was.
    plotted = plot_study(result, out_dir / STUDY_FIGURE_FILE)
    page = render_study_page(result, plotted, source)
    write_bytes(plotted.path, plotted.png)
    write_text(out_dir / PAGE_FILE, page)
    return {"study": plotted}


def check_targets(out_dir: Path) -> Path:
    """Refuse a report folder that is not a folder, or whose report files are not regular files.

    Called before any work (``sor run --plot`` checks before the run), so a bad
    target costs nothing. Returns ``out_dir``.

    Raises
    ------
    OutputError
        Naming the first file that a report could not safely write.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: refusing to write a report: not a directory")
    for name in (*FIGURE_FILES.values(), PAGE_FILE):
        check_target(out_dir / name)
    return out_dir
