"""The ``sor`` command: parses arguments and hands over to the engine; nothing more.

Each subcommand lives in its own module under ``sim/commands`` and is imported only
when it runs (or when ``--help`` lists it), so ``sor run`` does not pay for Kafka,
plotting or Dask.
"""

from __future__ import annotations

import importlib

import click

from sim import __version__
from sim.terminal import CleanErrors

#: Every subcommand: its name on the command line, and where it lives.
_COMMANDS = {
    "run": "sim.commands.run:run",
    "strategies": "sim.commands.run:strategies_cmd",
    "models": "sim.commands.models:models_cmd",
    "data": "sim.commands.data:data",
    "kafka": "sim.commands.kafka:kafka",
    "stream": "sim.commands.kafka:stream",
    "report": "sim.commands.report:report",
    "study": "sim.commands.study:study",
    "queue-truth": "sim.commands.queue_truth:queue_truth",
}


class _LazyGroup(CleanErrors):
    """The top-level group: subcommands resolved by name, their modules imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = _COMMANDS.get(name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sor")
def main() -> None:
    """sor: a smart order router lab. Replay market data, route a parent order, compare strategies."""
