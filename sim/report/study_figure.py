"""The study figure: per-market savings of each strategy against each baseline, CIs marked.

One panel per baseline; in each, one column per strategy (the swept strategy twice:
its in-sample best and out of sample), every market a dot, the mean a white bar with
its 95% t interval as a thick line and the bootstrap interval as a thin one beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from sim.report.figures import Plotted, _figure, _save
from sim.report.fmt import to_decimal

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_GOLDEN = 0.6180339887498949


@attrs.frozen
class Column:
    """One strategy against one baseline: its per-market savings and the cell's statistics."""

    label: str
    values: tuple[Decimal, ...]
    n: int
    mean: Decimal | None
    ci: tuple[Decimal, Decimal] | None
    bootstrap_ci: tuple[Decimal, Decimal] | None
    win_rate: Decimal | None


@attrs.frozen
class StudySavings:
    """The figure's numbers: ``columns[baseline]`` in table order, and the market count."""

    baselines: tuple[str, ...]
    columns: dict[str, tuple[Column, ...]]
    markets: int


def _pair(cell: Mapping[str, Any], prefix: str) -> tuple[Decimal, Decimal] | None:
    low, high = cell.get(f"{prefix}ci95_low_bps"), cell.get(f"{prefix}ci95_high_bps")
    return None if low is None or high is None else (to_decimal(low), to_decimal(high))


def _column(label: str, cell: Mapping[str, Any], values: list[Decimal]) -> Column:
    return Column(
        label=label,
        values=tuple(values),
        n=int(cell["n"]),
        mean=to_decimal(cell.get("mean_bps")),
        ci=_pair(cell, ""),
        bootstrap_ci=_pair(cell, "bootstrap_"),
        win_rate=to_decimal(cell.get("win_rate")),
    )


def study_savings(result: Mapping[str, Any]) -> StudySavings:
    """Return the per-market savings and statistics the study figure draws."""
    study = result["study"]
    rows = study["markets"]
    swept = (study.get("sweep") or {}).get("strategy")
    baselines = tuple(study["baselines"])
    columns: dict[str, list[Column]] = {b: [] for b in baselines}
    for name, against in study["summary"].items():
        for baseline, cell in against.items():
            values = [to_decimal(r["savings_bps"][name][baseline]) for r in rows]
            label = f"{name}\n(in-sample)" if name == swept else name
            columns[baseline].append(_column(label, cell, [v for v in values if v is not None]))
    for name, against in study.get("out_of_sample", {}).items():
        for baseline, cell in against.items():
            values = [to_decimal(r["out_of_sample"]["savings_bps"][baseline]) for r in rows]
            columns[baseline].append(
                _column(f"{name}\n(out of sample)", cell, [v for v in values if v is not None])
            )
    return StudySavings(
        baselines=baselines, columns={b: tuple(c) for b, c in columns.items()}, markets=len(rows)
    )


def plot_study(result: Mapping[str, Any], path: Path) -> Plotted[StudySavings]:
    """Draw the per-market savings distribution per strategy and baseline, with the 95% CIs."""
    data = study_savings(result)
    panels = max(1, len(data.baselines))
    widest = max((len(c) for c in data.columns.values()), default=1)
    # Panels side by side while they are narrow, stacked once each holds many strategies.
    ncols = min(panels, 3) if widest <= 3 else 1
    nrows = math.ceil(panels / ncols)
    fig = _figure((1.0 + ncols * max(4.2, 1.6 * widest + 1.2), 1.0 + 3.9 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False, sharey=True)).ravel()
    for ax, baseline in zip(axes, data.baselines, strict=False):
        _draw_panel(ax, baseline, data.columns[baseline])
    for ax in axes[len(data.baselines) :]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel("savings (bps, + = cheaper)")
    fig.suptitle(
        f"Savings per market over {data.markets} markets\ndots: markets; bar: the mean; "
        "vertical lines: its 95% CI (thick: t, thin: bootstrap)",
        fontweight="bold",
    )
    return _save(fig, path, data)


def _draw_panel(ax: Any, baseline: str, columns: tuple[Column, ...]) -> None:
    for x, column in enumerate(columns):
        color = _COLORS[x % len(_COLORS)]
        if column.values:
            # Deterministic spread (golden-ratio sequence) so the same result draws the same dots.
            jitter = np.array([((i * _GOLDEN) % 1.0 - 0.5) * 0.42 for i in range(len(column.values))])
            y = np.array([float(v) for v in column.values])
            ax.scatter(x + jitter, y, s=14, color=color, alpha=0.55, edgecolors="none", zorder=2)
        if column.ci is not None:
            ax.vlines(x + 0.3, float(column.ci[0]), float(column.ci[1]), color="black", linewidth=3, zorder=4)
        if column.bootstrap_ci is not None:
            lo, hi = (float(v) for v in column.bootstrap_ci)
            ax.vlines(x + 0.38, lo, hi, color="#555555", linewidth=1.2, zorder=4)
        if column.mean is not None:
            ax.hlines(float(column.mean), x + 0.22, x + 0.46, color="black", linewidth=2.2, zorder=5)
            rate = "" if column.win_rate is None else f", wins {float(column.win_rate) * 100:.0f}%"
            ci = "" if column.ci is None else f"\n[{column.ci[0]:+.2f}, {column.ci[1]:+.2f}]"
            ax.annotate(
                f"{column.mean:+.2f}{ci}{rate}",
                (x + 0.34, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(0, -4),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=7.5,
            )
    ax.axhline(0, color="#333333", linewidth=0.8)
    ax.set_xticks(range(len(columns)), [c.label for c in columns], fontsize=8)
    ax.set_xlim(-0.6, len(columns) - 0.2)
    ax.margins(y=0.18)
    ax.set_title(f"vs {baseline}")
    ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
