"""One function per figure: each draws a PNG and returns the numbers it drew.

matplotlib is imported only when a figure is drawn, and never through pyplot:
figures are built on ``matplotlib.figure.Figure`` and rendered by Agg, so a report
needs no display and leaves the backend of a host process (a notebook, say) alone.

Every text from the result (strategy, parameter and venue names) is drawn as
written: mathtext and TeX are off while a figure is drawn, so a name such as
``$\\frac{a}{$`` is shown, not parsed, and control characters are shown as escapes.
"""

from __future__ import annotations

import functools
import io
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, TypeVar

import attrs
import numpy as np

from sim.report import series
from sim.report.fmt import count, dollars, printable
from sim.report.load import ReportError
from sim.terminal import clean

PLOT_HINT = "drawing a report needs matplotlib: pip install 'sor[plot]'"
DPI = 110
#: Tick labels per axis at most; a longer axis labels every k-th value.
MAX_TICKS = 30
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_STRATEGY_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_VENUE_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7", "#9c755f")
_BID_COLOR, _ASK_COLOR = "#3a7d44", "#b03a2e"
_NOTE_BOX = {"boxstyle": "round,pad=0.5", "facecolor": "#fff4ce", "edgecolor": "#c9a227"}


@attrs.frozen
class Plotted(Generic[T]):
    """A drawn figure: where it goes, the data behind it, every text on it, and its PNG bytes."""

    path: Path
    data: T
    texts: tuple[str, ...]
    png: bytes = attrs.field(default=b"", repr=False, eq=False)


def require_matplotlib() -> None:
    """Raise :class:`ReportError` with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise ReportError(None, PLOT_HINT) from None


def _literal_text(draw: F) -> F:
    """Run ``draw`` with mathtext and TeX off, so no text from a result is parsed as markup."""

    @functools.wraps(draw)
    def drawn(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
            return draw(*args, **kwargs)

    return drawn  # type: ignore[return-value]


@_literal_text
def plot_cost_curve(result: Mapping[str, Any], path: Path) -> Plotted[series.CostCurve]:
    """Draw cumulative shares, cumulative cash and fill prices over time, one line per strategy.

    The bottom panel puts every fill at its price against the market's best bid
    and ask; catch-up fills are marked with a cross on all three panels.
    """
    data = series.cost_curve(result)
    fig = _figure((11, 10))
    ax_shares, ax_cash, ax_price = fig.subplots(3, 1, sharex=True)
    colors = _strategy_colors(data.curves)
    verb = "sold" if (result.get("order") or {}).get("side") == "sell" else "bought"
    if data.start_ns is None:
        for ax in (ax_shares, ax_cash, ax_price):
            _centre_note(ax, "no fills and no market data")
    else:
        _draw_market(ax_price, data)
        for name, curve in data.curves.items():
            _draw_curve(ax_shares, ax_cash, ax_price, data, curve, colors[name], result["strategies"][name])
        _time_axis(ax_price, data.start_ns, data.end_ns)
    ax_shares.set_title(f"Shares {verb} so far")
    ax_shares.set_ylabel(f"shares {verb}")
    ax_shares.yaxis.set_major_formatter(_formatter(lambda v: f"{v:,.0f}"))
    spent = "Cash spent" if verb == "bought" else "Cash"
    ax_cash.set_title(f"{spent} so far (price \u00d7 size + fees \u2212 rebates)")
    ax_cash.set_ylabel("cumulative cash ($)")
    ax_cash.yaxis.set_major_formatter(_formatter(lambda v: f"${v:,.0f}"))
    ax_price.set_title("Fill prices against the market's best bid and ask")
    ax_price.set_ylabel("price ($ per share)")
    _price_axis(ax_price.yaxis)
    for ax in (ax_shares, ax_cash, ax_price):
        ax.grid(True, color="#dddddd", linewidth=0.6)
    handles, labels = ax_cash.get_legend_handles_labels()
    extra_handles, extra_labels = ax_price.get_legend_handles_labels()
    handles += extra_handles
    labels += extra_labels
    if any(any(curve.catch_up) for curve in data.curves.values()):
        from matplotlib.lines import Line2D

        handles.append(
            Line2D([], [], linestyle="", marker="X", markersize=9, color="white", markeredgecolor="black")
        )
        labels.append("catch-up fill (end-of-window sweep)")
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(3, len(labels)), fontsize=9)
    fig.suptitle(_order_title(result), fontsize=13, fontweight="bold")
    return _save(fig, path, data)


@_literal_text
def plot_venue_mix(result: Mapping[str, Any], path: Path) -> Plotted[series.VenueMix]:
    """Draw one stacked bar per strategy: shares by venue, maker shares hatched over taker."""
    data = series.venue_mix(result)
    fig = _figure((max(6.5, 1.5 * len(data.strategies) + 3.5), 5.8))
    ax = fig.subplots()
    positions = np.arange(len(data.strategies))
    bottom = np.zeros(len(data.strategies))
    from matplotlib.patches import Patch

    legend = []
    totals = data.shares.sum(axis=(1, 2))
    tallest = max(1, int(totals.max(initial=0)))
    for v, venue in enumerate(data.venues):
        color = _VENUE_COLORS[v % len(_VENUE_COLORS)]
        for liquidity in series.LIQUIDITY:
            heights = data.shares[:, v, series.LIQUIDITY.index(liquidity)].astype(float)
            if liquidity == "maker":
                style = {"facecolor": _lighten(color), "edgecolor": color, "hatch": "///", "linewidth": 0}
            else:
                style = {"facecolor": color, "edgecolor": "white", "linewidth": 0.8}
            bars = ax.bar(positions, heights, 0.6, bottom=bottom, **style)
            # Label only segments tall enough to hold the text.
            labels = [count(int(h)) if h >= 0.06 * tallest else "" for h in heights]
            ax.bar_label(bars, labels=labels, label_type="center", fontsize=8, color="#1d1d1f")
            bottom += heights
        legend.append(Patch(facecolor=color, label=f"venue {printable(venue)}"))
    for x, total in zip(positions, totals, strict=True):
        ax.annotate(count(int(total)), (x, total), xytext=(0, 3), textcoords="offset points", ha="center")
    maker = data.shares[:, :, series.LIQUIDITY.index("maker")].sum(axis=1)
    ax.set_xticks(
        positions,
        [
            f"{clean(name)}\n{_share(made, total)} maker"
            for name, made, total in zip(data.strategies, maker, totals, strict=True)
        ],
    )
    legend.append(Patch(facecolor="#888888", label="taker (solid)"))
    legend.append(
        Patch(facecolor=_lighten("#888888"), edgecolor="#888888", hatch="///", label="maker (hatched)")
    )
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, title="fills at")
    ax.set_ylabel("shares filled")
    ax.set_xlabel("strategy (percent of its shares filled as maker)")
    ax.yaxis.set_major_formatter(_formatter(lambda v: f"{v:,.0f}"))
    ax.set_ylim(0, max(1, float(totals.max(initial=0))) * 1.12)
    ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title("Where each strategy filled: shares by venue and liquidity", fontweight="bold")
    return _save(fig, path, data)


@_literal_text
def plot_sweep(result: Mapping[str, Any], path: Path) -> Plotted[series.SweepGrid] | None:
    """Draw the sweep's total cost: a heatmap per value of the third parameter, chosen cell marked.

    One parameter gives a line over its values; no sweep gives no figure (``None``).
    A degenerate sweep (every row cost the same) says so in words on the figure.
    """
    grid = series.sweep_grid(result)
    if grid is None:
        return None
    if grid.parameters == 1:
        fig = _figure((7.5, 4.8))
        _draw_sweep_line(fig.subplots(), grid)
    else:
        panels = len(grid.panel_values)
        ncols = min(panels, 3)
        nrows = math.ceil(panels / ncols)
        fig = _figure((1.2 + 4.3 * ncols, 1.4 + 3.9 * nrows))
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        _draw_heatmaps(fig, axes, grid)
    title = "Parameter sweep"
    if grid.strategy:
        title = f"Parameter sweep of {printable(grid.strategy)}: total cost"
    held = ", ".join(f"{clean(name)} = {printable(value)}" for name, value in grid.held.items())
    fig.suptitle(title + (f" (held at the chosen {held})" if held else ""), fontweight="bold")
    width_chars = int(fig.get_figwidth() * 11)
    if grid.degenerate:
        # Constrained layout ignores a text's box, so keep a strip free below the axes for it.
        note = textwrap.fill(sweep_note(grid), width_chars)
        strip = (0.3 + 0.2 * (note.count("\n") + 1)) / fig.get_figheight()
        fig.get_layout_engine().set(rect=(0, strip, 1, 1 - strip))
        fig.text(0.5, 0.015, note, ha="center", va="bottom", fontsize=10, bbox=_NOTE_BOX)
    elif grid.parameters > 1:
        cheapest = dollars(grid.cheapest)
        caption = (
            f"Cell labels: dollars above the cheapest run (${cheapest}), to the cent; darker cells cost less."
        )
        fig.supxlabel(textwrap.fill(caption, width_chars), fontsize=9, color="#444444")
    return _save(fig, path, grid)


@_literal_text
def plot_walk_forward(result: Mapping[str, Any], path: Path) -> Plotted[series.WalkForward] | None:
    """Draw in-sample against out-of-sample savings per window, one panel per baseline."""
    data = series.walk_forward(result)
    if data is None:
        return None
    ncols = min(len(data.baselines), 3) or 1
    nrows = math.ceil(len(data.baselines) / ncols) or 1
    panel_width = min(5.0, max(3.2, 0.7 * len(data.windows) + 1.4))
    fig = _figure((0.8 + panel_width * ncols, 1.2 + 3.3 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False, sharey=True)).ravel()
    positions = np.arange(len(data.windows))
    for ax, baseline in zip(axes, data.baselines, strict=False):
        for offset, values, label, color in (
            (-0.2, data.in_sample[baseline], "in-sample (tuning window)", "#9ecae1"),
            (0.2, data.out_of_sample[baseline], "out-of-sample (test window)", "#08519c"),
        ):
            heights = [np.nan if v is None else float(v) for v in values]
            bars = ax.bar(positions + offset, heights, 0.38, color=color, label=label)
            ax.bar_label(bars, labels=[_bps_label(v) for v in values], fontsize=8, padding=2)
            for x, value in zip(positions + offset, values, strict=True):
                if value is None:
                    ax.text(x, 0, "n/a", ha="center", va="bottom", fontsize=8, color="#777777")
        ax.axhline(0, color="#333333", linewidth=0.8)
        ax.set_xticks(positions, data.windows)
        ax.set_xlim(-0.6, len(data.windows) - 0.4)
        ax.set_xlabel("walk-forward window")
        ax.set_title(f"vs {clean(baseline)}")
        ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.margins(y=0.2)
    for ax in axes[len(data.baselines) :]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel("savings (bps, + = cheaper)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=9)
    fig.suptitle("Walk-forward: savings in the tuning window and out of sample", fontweight="bold")
    return _save(fig, path, data)


def sweep_note(grid: series.SweepGrid) -> str:
    """Return the sentence that says a sweep was degenerate, or ``""`` when it was not."""
    if not grid.degenerate:
        return ""
    cost = "the same" if grid.cheapest is None else f"${dollars(grid.cheapest)}"
    return (
        f"Degenerate sweep: all {grid.rows} parameter sets cost {cost}. "
        "The parameters made no difference, so the chosen point is arbitrary."
    )


def _figure(size: tuple[float, float]) -> Any:
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


def _save(fig: Any, path: Path, data: T) -> Plotted[T]:
    from matplotlib.text import Text

    png = io.BytesIO()
    fig.savefig(png, dpi=DPI, format="png", facecolor="white")
    texts = tuple(text.get_text() for text in fig.findobj(Text) if text.get_text())
    return Plotted(path=Path(path), data=data, texts=texts, png=png.getvalue())


def _formatter(fn: Any) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: fn(value))


def _price_axis(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    # Steps of 1, 2 and 5 keep ticks on whole cents, where a 2.5 step would print
    # $222.825 as $222.82; sub-cent ticks on a narrow range keep their digits.
    axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 5, 10]))
    axis.set_major_formatter(_formatter(_price_label))


def _price_label(value: float) -> str:
    text = f"{value:,.4f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def _strategy_colors(names: Sequence[str]) -> dict[str, str]:
    return {name: _STRATEGY_COLORS[i % len(_STRATEGY_COLORS)] for i, name in enumerate(names)}


def _times(ts_ns: Sequence[int]) -> np.ndarray:
    return np.array(ts_ns, dtype=np.int64).astype("datetime64[ns]")


def _draw_curve(ax_shares, ax_cash, ax_price, data, curve, color, strategy) -> None:
    x = _times([data.start_ns, *curve.ts_ns, data.end_ns])
    shares = [0, *curve.shares, curve.shares[-1] if curve.shares else 0]
    cash = [0.0, *map(float, curve.cash), float(curve.cash[-1]) if curve.cash else 0.0]
    total = dollars(strategy["total_cash"])
    text = f"{clean(curve.name)}: {count(strategy['filled_shares'])} sh, ${total}"
    ax_shares.step(x, shares, where="post", color=color, linewidth=1.6)
    ax_cash.step(x, cash, where="post", color=color, linewidth=1.6, label=text)
    fill_x = _times(curve.ts_ns)
    prices = np.array([float(px) for px in curve.price])
    ax_price.scatter(fill_x, prices, s=24, color=color, edgecolors="white", linewidths=0.5, zorder=3)
    caught = np.array(curve.catch_up, dtype=bool)
    if caught.any():
        style = {
            "marker": "X",
            "s": 70,
            "color": color,
            "edgecolors": "black",
            "linewidths": 0.8,
            "zorder": 4,
        }
        ax_shares.scatter(fill_x[caught], np.array(curve.shares)[caught], **style)
        ax_cash.scatter(fill_x[caught], np.array([float(c) for c in curve.cash])[caught], **style)
        ax_price.scatter(fill_x[caught], prices[caught], **style)


def _draw_market(ax, data: series.CostCurve) -> None:
    if not data.market_ts_ns:
        return
    x = _times(data.market_ts_ns)
    for values, label, color in (
        (data.best_ask, "market best ask", _ASK_COLOR),
        (data.best_bid, "market best bid", _BID_COLOR),
    ):
        y = np.array([np.nan if v is None else float(v) for v in values])
        ax.step(x, y, where="post", color=color, linewidth=0.9, alpha=0.75, label=label)


def _time_axis(ax, start_ns: int, end_ns: int) -> None:
    import matplotlib.dates as mdates

    start = datetime.fromtimestamp(start_ns / 1e9, tz=timezone.utc)
    end = datetime.fromtimestamp(end_ns / 1e9, tz=timezone.utc)
    same_day = start.date() == end.date()
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=timezone.utc, maxticks=10))
    fmt = "%H:%M:%S" if same_day else "%Y-%m-%d %H:%M"
    ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt, tz=timezone.utc))
    ax.set_xlabel(f"time (UTC) on {start:%Y-%m-%d}" if same_day else "time (UTC)")


def _draw_sweep_line(ax, grid: series.SweepGrid) -> None:
    costs = [grid.cost[0][0][i] for i in range(len(grid.x_values))]
    positions = np.arange(len(costs))
    y = np.array([np.nan if c is None else float(c) for c in costs])
    ax.plot(positions, y, marker="o", color=_STRATEGY_COLORS[0], linewidth=1.6)
    if grid.chosen is not None:
        i = grid.chosen[2]
        ax.scatter([i], [y[i]], s=220, facecolors="none", edgecolors="#d62728", linewidths=2.2, zorder=4)
        ax.annotate("chosen", (i, y[i]), xytext=(0, 12), textcoords="offset points", ha="center")
    _ticks(ax.set_xticks, grid.x_values)
    ax.set_xlabel(clean(grid.x_name))
    ax.set_ylabel("total cost ($)")
    ax.yaxis.set_major_formatter(_formatter(lambda v: f"${v:,.2f}"))
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.margins(y=0.25)


def _draw_heatmaps(fig, axes, grid: series.SweepGrid) -> None:
    from matplotlib.patches import Rectangle

    known = [float(c) for panel in grid.cost for line in panel for c in line if c is not None]
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    cmap = "Greys" if grid.degenerate or low == high else "viridis"
    norm_low, norm_high = (low - 1, high + 3) if cmap == "Greys" else (low, high)
    image = None
    for ax, panel_value, panel in zip(axes, grid.panel_values, grid.cost, strict=False):
        matrix = np.array([[np.nan if c is None else float(c) for c in line] for line in panel])
        image = ax.imshow(
            np.ma.masked_invalid(matrix), cmap=cmap, vmin=norm_low, vmax=norm_high, origin="lower"
        )
        ax.set_facecolor("#f3f3f3")
        # Labels shrink on busy grids and give way to the colour bar on very large ones.
        label_size = 9 if matrix.size <= 36 else 7 if matrix.size <= 100 else 0
        for row, line in enumerate(panel if label_size else ()):
            for col, value in enumerate(line):
                text, color = _cell_label(value, grid.cheapest, low, high, grid.degenerate)
                ax.text(col, row, text, ha="center", va="center", fontsize=label_size, color=color)
        _ticks(ax.set_xticks, grid.x_values)
        _ticks(ax.set_yticks, grid.y_values)
        if max(len(grid.x_values), len(grid.y_values)) <= MAX_TICKS:
            # White lines between cells, where the cells are large enough to see them.
            ax.set_xticks(np.arange(len(grid.x_values) + 1) - 0.5, minor=True)
            ax.set_yticks(np.arange(len(grid.y_values) + 1) - 0.5, minor=True)
            ax.grid(which="minor", color="white", linewidth=2)
            ax.tick_params(which="minor", length=0)
        ax.set_xlabel(clean(grid.x_name))
        ax.set_ylabel(clean(grid.y_name))
        if grid.panel_name is not None:
            ax.set_title(f"{clean(grid.panel_name)} = {printable(panel_value)}")
    if grid.chosen is not None:
        panel, row, col = grid.chosen
        axes[panel].add_patch(
            Rectangle(
                (col - 0.5, row - 0.5),
                1,
                1,
                fill=False,
                edgecolor="#e8112d",
                linewidth=3.5,
                clip_on=False,
                zorder=5,
            )
        )
        axes[panel].text(
            col,
            row - 0.3,
            "chosen",
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold",
            color="#e8112d",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"},
        )
    for ax in axes[len(grid.panel_values) :]:
        ax.set_visible(False)
    if cmap == "viridis" and image is not None:
        bar = fig.colorbar(image, ax=list(axes[: len(grid.panel_values)]), shrink=0.9)
        bar.set_label("total cost ($); darker is cheaper")
        bar.formatter = _formatter(lambda v: f"${v:,.2f}")
        bar.update_ticks()


def _ticks(set_ticks: Callable[..., Any], values: Sequence[Any]) -> None:
    """Label the cells of an axis, every k-th one when there are more than :data:`MAX_TICKS`."""
    step = max(1, math.ceil(len(values) / MAX_TICKS))
    positions = range(0, len(values), step)
    set_ticks(positions, [printable(values[i]) for i in positions])


def _cell_label(
    value: Decimal | None, cheapest: Decimal | None, low: float, high: float, degenerate: bool
) -> tuple[str, str]:
    if value is None:
        return "no run", "#888888"
    if degenerate or low == high:
        return f"${dollars(value)}", "#222222"
    above = value - cheapest
    # Rounded to the cent so a label fits its cell; the JSON keeps the exact figure.
    text = "cheapest" if above == 0 else f"+${above:,.2f}"
    # Light text on the dark (cheap) end of viridis, dark text on the light end.
    return text, "white" if (float(value) - low) / (high - low) < 0.6 else "black"


def _lighten(color: str, amount: float = 0.55) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return tuple(c + (1 - c) * amount for c in to_rgb(color))


def _centre_note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777777")


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "0%"


def _bps_label(value: Decimal | None) -> str:
    return "" if value is None else f"{value:+.2f}"


def _order_title(result: Mapping[str, Any]) -> str:
    order = result.get("order") or {}
    symbol = (result.get("data") or {}).get("symbol")
    parts = [order.get("side"), count(order["quantity"]) if "quantity" in order else None, symbol]
    what = " ".join(clean(p) for p in parts if p)
    return f"Cumulative cost of the parent order: {what}" if what else "Cumulative cost per strategy"
