"""``sor run`` and ``sor strategies``: parse arguments, call the runner, print and write."""

from __future__ import annotations

import contextlib
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import click

from feeds.errors import FeedError
from sim.commands.options import wait_option
from sim.jsonio import write_json
from sim.output import check_target
from sim.results import compare
from sim.scenario import Scenario, ScenarioError
from sim.terminal import clean
from strategies import registry
from venues.params import SEED_MAX

USER_ERRORS = (ScenarioError, FeedError, registry.UnknownStrategy, OSError, ValueError)


def _fmt(value: Any) -> str:
    return "-" if value is None else str(value)


def _money(value: Any) -> str:
    """Show dollars with thousands separators and at least cents, never rounding away a digit."""
    if value is None:
        return "-"
    d = Decimal(value)
    if d == d.quantize(Decimal("0.01")):
        return f"{d:,.2f}"
    return f"{d:,f}".rstrip("0")


def summary_table(result: dict[str, Any]) -> str:
    """Return the per-strategy table a person reads first."""
    from tabulate import tabulate  # imported when printing: --quiet runs never pay for it

    labels = list(result["baselines"])
    side, target = result["order"]["side"], result["order"]["quantity"]
    headers = [
        "strategy",
        "kind",
        "filled",
        "catch-up",
        "maker",
        "overfill",
        "total cash $" if side == "buy" else "proceeds $",
        "avg px $",
        "fees $",
        "rebates $",
    ]
    headers += [f"vs {clean(b)} bps" for b in labels]
    rows = []
    for name, s in result["strategies"].items():
        row = [
            clean(name),
            clean(s["kind"]),
            s["filled_shares"],
            s["catch_up_shares"],
            s["maker_shares"],
            s["overfill_shares"],
            _money(s["total_cash"]),
            _money(s["avg_fill_px"]),
            _money(s["fees"]),
            _money(s["rebates"]),
        ]
        for label in labels:
            base = result["strategies"][result["baselines"][label]["strategy"]]
            bps, basis = compare(s, base, side, target)
            row.append(
                _fmt(bps) + {"total_cash": "", "cash_at_target": " (at target)"}.get(basis, " (avg px)")
            )
        rows.append(row)
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


class _Progress:
    """A progress bar on a terminal's stderr; silent otherwise."""

    def __init__(self, label: str):
        self.enabled = sys.stderr.isatty()
        self.bar = None
        self.label = label
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done
        if done >= total:
            self.bar.__exit__(None, None, None)


class _LivePrinter:
    """Prints each fill as it happens and, every two seconds, how far the consumer is behind."""

    def __init__(self, quiet: bool):
        import time

        self.quiet = quiet
        self.clock = time.monotonic
        self.last = self.clock()
        self.rows = 0

    def fill(self, name: str, venue_id: int, fill) -> None:
        if self.quiet:
            return
        from feeds.market import units_to_decimal
        from feeds.timeparse import format_ns

        q = fill.qty
        lo, hi = int(q.min()), int(q.max())
        size = str(lo) if q.shape[0] == 1 else f"{lo if lo == hi else f'{lo}..{hi}'} ({q.shape[0]} lanes)"
        tag = " catch-up" if fill.catch_up else ""
        click.echo(
            f"{format_ns(fill.ts)[11:23]}  {clean(name):<14} venue {venue_id:<3} {fill.liquidity.value:<5} "
            f"{size} @ {units_to_decimal(fill.price)}{tag}"
        )

    def row(self, item) -> None:
        self.rows += 1
        now = self.clock()
        if not self.quiet and now - self.last >= 2.0:
            self.last = now
            click.echo(
                f"-- {self.rows} snapshots, consumer lag {item.lag_messages} msgs / {item.lag_ms:.0f} ms",
                err=True,
            )


def _open_data(scenario: Scenario, option: str | None):
    """Open the scenario's data (in memory when walk-forward needs it, else as a bounded stream).

    A source that cannot be understood is named by its field or option.
    """
    from feeds.feed import MemoryFeed
    from sim.runner import load_data, open_data

    try:
        if scenario.walk_forward is not None:
            return MemoryFeed(load_data(scenario))
        return open_data(scenario)
    except FeedError:
        raise  # names the data file, row and field itself
    except ValueError as exc:
        where = option or f"{scenario.path}: [data] source"
        raise ScenarioError(f"{where}: {exc}") from None


def _kafka_waits(wait_s: float | None):
    """Return the context that sets a Kafka feed's wait (only a Kafka run imports the consumer)."""
    if wait_s is None:
        return contextlib.nullcontext()
    from feeds.kafka.consumer import defaults

    return defaults(wait_s=wait_s)


@click.command("run")
@click.argument("scenario_path", metavar="SCENARIO", type=click.Path(dir_okay=False))
@click.option(
    "--data", "data_path", help="Replay this file (CSV/DBN) or source spec instead of the scenario's."
)
@click.option(
    "--feed", help="Read the data from a feed URL instead, e.g. kafka://127.0.0.1:9092/mock_l1_stream."
)
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False), help="Result JSON path [out/<scenario>.json]."
)
@click.option("--seed", type=click.IntRange(min=0, max=SEED_MAX), help="Override the scenario's seed.")
@click.option(
    "--plot", "plot_dir", type=click.Path(file_okay=False), help="Also write figures and report.html here."
)
@click.option(
    "--live", is_flag=True, help="With --feed kafka://: replay as the producer paces it, printing fills."
)
@wait_option
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def run(scenario_path, data_path, feed, out_path, seed, plot_dir, live, wait_s, quiet) -> None:
    """Run a scenario: replay its data once for every strategy, print the table, write the JSON."""
    from sim.runner import run_scenario

    if live and not (feed or "").startswith("kafka://"):
        raise click.UsageError("--live needs --feed kafka://HOST:PORT/TOPIC")

    out = Path(out_path) if out_path else Path("out") / f"{Path(scenario_path).stem}.json"
    try:
        # Refuse an output that cannot be written before the run, not after it.
        check_target(out)
        if plot_dir:
            from sim.report import check_targets

            check_targets(Path(plot_dir))
        scenario = Scenario.from_toml(scenario_path)
        override = feed or data_path
        if override:
            scenario = attrs.evolve(scenario, data=attrs.evolve(scenario.data, source=override))
        if seed is not None:
            scenario = attrs.evolve(scenario, seed=seed)
        if live:
            from sim.live import run_live

            printer = _LivePrinter(quiet)
            with _kafka_waits(wait_s):
                result = run_live(scenario, feed, on_fill=printer.fill, on_row=printer.row)
        else:
            with _kafka_waits(wait_s):
                data = _open_data(scenario, "--feed" if feed else "--data" if data_path else None)
                result = run_scenario(scenario, feed=data, progress=None if quiet else _Progress("replaying"))
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(result, out)
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    if not quiet:
        click.echo(summary_table(result))
        if result["sweep"]:
            sw = result["sweep"]
            note = " (degenerate: every parameter set gave the same cash)" if sw["degenerate"] else ""
            over = [r["overfill_shares"] for r in sw["rows"]]
            overfilled = sum(1 for x in over if x)
            click.echo()
            click.echo(
                clean(
                    f"sweep over {sw['strategy']}: {len(sw['rows'])} parameter sets, "
                    f"{sw['distinct_total_cash']} distinct total cash{note}; best {result['best_parameters']}"
                )
            )
            if overfilled:
                click.echo(
                    f"{overfilled} of them overfilled (fills that beat a cancel), up to {max(over)} shares; "
                    "compared at the target, the excess sold back at the closing touch"
                )
        for label, bps in result["savings_vs_baselines_bps"].items():
            click.echo(
                clean(
                    f"savings of {result['optimized']['strategy']} vs {label}: {_fmt(bps)} bps "
                    f"(on {result['savings_basis'][label]})"
                )
            )
        click.echo(f"wrote {clean(out)}")
    if plot_dir:
        from sim.report import ReportError, write_report

        try:
            paths = write_report(result, Path(plot_dir), source=str(out))
        except (ReportError, OSError) as exc:
            # The result JSON is written and stays: only the report failed.
            raise click.ClickException(f"{exc} (the result {out} was written)") from None
        if not quiet:
            click.echo(f"wrote {len(paths)} report files to {clean(plot_dir)}")


@click.command("strategies")
def strategies_cmd() -> None:
    """List the installed strategies (built-in and plugins under the entry point group sor.strategies)."""
    from tabulate import tabulate

    rows = []
    for name, target in registry.available().items():
        try:
            cls = registry.resolve(name)
            doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
            params = ", ".join(f"{k}={v}" for k, v in cls.param_defaults().items()) or "-"
        except registry.UnknownStrategy as exc:
            doc, params = f"(cannot load: {exc})", "-"
        rows.append([name, target, params, doc])
    click.echo(tabulate(rows, headers=["name", "class", "parameters", "what it does"], tablefmt="github"))
