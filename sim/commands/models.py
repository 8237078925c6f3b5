"""``sor models``: list the installed venue models, by family, with their parameters."""

from __future__ import annotations

import click
from tabulate import tabulate

from venues import params
from venues.models import FAMILIES
from venues.registry import UnknownName


def _parameters(cls: type) -> str:
    rules = params.rules(cls)
    defaults = params.defaults(cls)
    return "; ".join(f"{name}={defaults[name]} ({rule.describe()})" for name, rule in rules.items()) or "-"


@click.command("models")
def models_cmd() -> None:
    """List the installed venue models (built-in and plugins under the sor.*_models entry points)."""
    rows = []
    for family, registry in FAMILIES.items():
        for name, target in registry.available().items():
            try:
                cls = registry.resolve(name)
                doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
                shown = _parameters(cls)
            except UnknownName as exc:
                doc, shown = f"(cannot load: {exc})", "-"
            rows.append([family, name, target, shown, doc])
    click.echo(
        tabulate(
            rows,
            headers=["family", "name", "class", "parameters", "what it models"],
            tablefmt="github",
            maxcolwidths=[None, None, None, 50, 50],
        )
    )
