"""The numbers behind each figure, taken from a validated result.

Nothing here draws or imports matplotlib: each function returns a small frozen
value that a figure function plots and a test can compare with hand-summed
numbers. Money stays ``Decimal`` until it is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
import numpy as np

from sim.report.fmt import to_decimal

LIQUIDITY = ("taker", "maker")
#: Values of the third sweep parameter drawn as panels at most; a parameter with
#: more values is held at the chosen row's value, like a fourth.
MAX_PANELS = 12


@attrs.frozen
class StrategyCurve:
    """One strategy's fills in time order, with running totals after each fill."""

    name: str
    ts_ns: tuple[int, ...]
    price: tuple[Decimal, ...]
    shares: tuple[int, ...]
    cash: tuple[Decimal, ...]
    catch_up: tuple[bool, ...]


@attrs.frozen
class CostCurve:
    """The cumulative-cost figure: one curve per strategy and the market's best quotes.

    ``start_ns`` and ``end_ns`` span every fill and market sample, so every curve
    can be drawn from zero at the start and held at its total to the end.
    """

    curves: dict[str, StrategyCurve]
    market_ts_ns: tuple[int, ...]
    best_bid: tuple[Decimal | None, ...]
    best_ask: tuple[Decimal | None, ...]
    start_ns: int | None
    end_ns: int | None


@attrs.frozen
class VenueMix:
    """Shares filled per strategy, venue and liquidity: ``shares[strategy, venue, liquidity]``.

    The liquidity axis follows :data:`LIQUIDITY` (taker, then maker).
    """

    strategies: tuple[str, ...]
    venues: tuple[Any, ...]
    shares: np.ndarray = attrs.field(eq=False)

    def get(self, strategy: str, venue: Any, liquidity: str) -> int:
        """Return the shares one strategy filled at one venue with one liquidity."""
        index = (self.strategies.index(strategy), self.venues.index(venue), LIQUIDITY.index(liquidity))
        return int(self.shares[index])


@attrs.frozen
class SweepGrid:
    """Sweep total cost laid out as ``cost[panel][row][column]``.

    The column parameter is ``x_name``, the row parameter ``y_name`` and the
    panel parameter ``panel_name``; with fewer than three parameters the unused
    names are ``None`` and their axis holds the single value ``None``. Cells with
    no sweep row are ``None``. Parameters past the third, and a third with more
    than :data:`MAX_PANELS` values, are held at the chosen row's values
    (``held``), so the figure is a slice through the chosen point.
    ``degenerate`` is true when every sweep row has the same ``total_cash``.
    """

    strategy: str | None
    x_name: str
    y_name: str | None
    panel_name: str | None
    x_values: tuple[Any, ...]
    y_values: tuple[Any, ...]
    panel_values: tuple[Any, ...]
    cost: tuple[tuple[tuple[Decimal | None, ...], ...], ...]
    chosen: tuple[int, int, int] | None
    chosen_cost: Decimal | None
    cheapest: Decimal | None
    degenerate: bool
    rows: int
    held: dict[str, Any]

    @property
    def parameters(self) -> int:
        """Return how many parameters the figure lays out (1, 2 or 3)."""
        return 1 + (self.y_name is not None) + (self.panel_name is not None)


@attrs.frozen
class WalkForward:
    """In-sample and out-of-sample savings per walk-forward window and baseline, in bps."""

    windows: tuple[str, ...]
    baselines: tuple[str, ...]
    in_sample: dict[str, tuple[Decimal | None, ...]]
    out_of_sample: dict[str, tuple[Decimal | None, ...]]


def cost_curve(result: Mapping[str, Any]) -> CostCurve:
    """Return the cumulative shares and cash of every strategy, and the market quotes.

    Cash per fill is ``price * size + fee - rebate``, as in ``total_cash``.
    """
    curves = {}
    times = []
    for name, strategy in result["strategies"].items():
        fills = sorted(strategy["fills"], key=lambda fill: fill["ts_ns"])
        shares, cash = 0, Decimal(0)
        running_shares, running_cash = [], []
        for fill in fills:
            shares += fill["size"]
            cash += to_decimal(fill["price"]) * fill["size"] + to_decimal(fill["fee"])
            cash -= to_decimal(fill["rebate"])
            running_shares.append(shares)
            running_cash.append(cash)
        curves[name] = StrategyCurve(
            name=name,
            ts_ns=tuple(fill["ts_ns"] for fill in fills),
            price=tuple(to_decimal(fill["price"]) for fill in fills),
            shares=tuple(running_shares),
            cash=tuple(running_cash),
            catch_up=tuple(fill["catch_up"] for fill in fills),
        )
        times.extend(curves[name].ts_ns)
    market = result.get("market") or {"ts_ns": [], "best_bid": [], "best_ask": []}
    times.extend(market["ts_ns"])
    return CostCurve(
        curves=curves,
        market_ts_ns=tuple(market["ts_ns"]),
        best_bid=tuple(to_decimal(px) for px in market["best_bid"]),
        best_ask=tuple(to_decimal(px) for px in market["best_ask"]),
        start_ns=min(times) if times else None,
        end_ns=max(times) if times else None,
    )


def venue_mix(result: Mapping[str, Any]) -> VenueMix:
    """Return the shares each strategy filled at each venue, split into taker and maker."""
    strategies = tuple(result["strategies"])
    venues = sorted(
        {fill["venue"] for strategy in result["strategies"].values() for fill in strategy["fills"]},
        key=_order_key,
    )
    shares = np.zeros((len(strategies), len(venues), len(LIQUIDITY)), dtype=np.int64)
    for i, strategy in enumerate(result["strategies"].values()):
        for fill in strategy["fills"]:
            shares[i, venues.index(fill["venue"]), LIQUIDITY.index(fill["liquidity"])] += fill["size"]
    return VenueMix(strategies=strategies, venues=tuple(venues), shares=shares)


def sweep_grid(result: Mapping[str, Any]) -> SweepGrid | None:
    """Lay the sweep's total costs on a grid of up to three parameters; ``None`` without a sweep."""
    sweep = result.get("sweep")
    if not sweep or not sweep["rows"] or not sweep["parameters"]:
        return None
    names = list(sweep["parameters"])
    rows = sweep["rows"]
    chosen_index = sweep.get("chosen")
    reference = rows[chosen_index if chosen_index is not None else 0]["parameters"]
    laid_out = 3
    if len(names) >= 3 and len({_freeze(row["parameters"][names[2]]) for row in rows}) > MAX_PANELS:
        laid_out = 2
    held = {name: _freeze(reference[name]) for name in names[laid_out:]}
    indexed = [
        (i, row)
        for i, row in enumerate(rows)
        if all(_same(row["parameters"][name], value) for name, value in held.items())
    ]
    axes = names[:laid_out] + [None] * (3 - len(names[:laid_out]))
    values = [
        tuple(sorted({_freeze(row["parameters"][name]) for _, row in indexed}, key=_order_key))
        if name is not None
        else (None,)
        for name in axes
    ]
    x_values, y_values, panel_values = values
    cost = [[[None] * len(x_values) for _ in y_values] for _ in panel_values]
    chosen = None
    for i, row in reversed(indexed):
        # Walking backwards lets the first row of a repeated cell win.
        cell = tuple(
            0 if name is None else axis.index(_freeze(row["parameters"][name]))
            for name, axis in zip(axes[::-1], values[::-1], strict=True)
        )
        cost[cell[0]][cell[1]][cell[2]] = to_decimal(row["total_cash"])
        if i == chosen_index:
            chosen = cell
    totals = [to_decimal(row["total_cash"]) for row in rows]
    known = [total for total in totals if total is not None]
    return SweepGrid(
        strategy=sweep.get("strategy"),
        x_name=axes[0],
        y_name=axes[1],
        panel_name=axes[2],
        x_values=x_values,
        y_values=y_values,
        panel_values=panel_values,
        cost=tuple(tuple(tuple(line) for line in panel) for panel in cost),
        chosen=chosen,
        chosen_cost=None if chosen_index is None else totals[chosen_index],
        cheapest=min(known) if known else None,
        # The rows decide, by the format's definition, rather than the flag beside them.
        degenerate=len(set(totals)) == 1,
        rows=len(rows),
        held=held,
    )


def walk_forward(result: Mapping[str, Any]) -> WalkForward | None:
    """Return in-sample and out-of-sample savings per window; ``None`` without walk-forward."""
    walk = result.get("walk_forward")
    if not walk or not walk["windows"]:
        return None
    windows = walk["windows"]
    baselines: list[str] = []
    for window in windows:
        for key in ("in_sample_bps", "out_of_sample_bps"):
            baselines.extend(name for name in window[key] if name not in baselines)
    return WalkForward(
        windows=tuple(str(i + 1) for i in range(len(windows))),
        baselines=tuple(baselines),
        in_sample={
            name: tuple(to_decimal(window["in_sample_bps"].get(name)) for window in windows)
            for name in baselines
        },
        out_of_sample={
            name: tuple(to_decimal(window["out_of_sample_bps"].get(name)) for window in windows)
            for name in baselines
        },
    )


def _freeze(value: Any) -> Any:
    # Grid keys must hash (a hand-written scenario may give a list) and compare
    # exactly whether the result came from a file (Decimal) or from memory (float).
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return to_decimal(value)
    return value


def _same(a: Any, b: Any) -> bool:
    return _freeze(a) == _freeze(b)


def _order_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return (0, to_decimal(value))
    return (1, str(value))
