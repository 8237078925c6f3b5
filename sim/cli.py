"""The ``sor`` command: parses arguments and hands over to the engine; nothing more."""

from __future__ import annotations

import importlib

import click

from sim import __version__
from sim.terminal import CleanErrors

# Each subcommand lives in its own module under sim/commands; a missing optional
# module must not break the rest of the CLI.
_COMMANDS = (
    ("sim.commands.run", ("run", "strategies_cmd")),
    ("sim.commands.data", ("data",)),
    ("sim.commands.kafka", ("kafka", "stream")),
    ("sim.commands.report", ("report",)),
    ("sim.commands.models", ("models_cmd",)),
    ("sim.commands.study", ("study",)),
    ("sim.commands.queue_truth", ("queue_truth",)),
)


@click.group(cls=CleanErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sor")
def main() -> None:
    """sor: a smart order router lab. Replay market data, route a parent order, compare strategies."""


for _module, _names in _COMMANDS:
    try:
        _mod = importlib.import_module(_module)
    except ModuleNotFoundError as exc:
        if exc.name != _module:
            raise
        continue
    for _name in _names:
        main.add_command(getattr(_mod, _name))
