"""Finding models and strategies by name: the built-ins, and plugins registered through entry points.

Every family of pluggable classes is a ``Registry``: a name a scenario writes maps to
``module:Class``, either built in or declared by an installed distribution under the
family's entry-point group (``sor.strategies``, ``sor.queue_models``,
``sor.latency_models``, ``sor.feed_delays``, ``sor.fee_models``, ``sor.fill_rules``).
Nothing is ever imported from a path written in a scenario file: only installed
names resolve.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

import attrs

from feeds.market import units_to_decimal
from venues import params
from venues.params import ConfigError


class UnknownName(ConfigError, KeyError):
    """No installed class of a family has that name, or it cannot load."""

    def __str__(self) -> str:
        return self.args[0]


@attrs.frozen
class Registry:
    """One family of pluggable classes: its entry-point group, built-ins, and what members must be."""

    family: str
    group: str
    builtin: Mapping[str, str]
    check: type | None = None

    def available(self) -> dict[str, str]:
        """Return every installed name with where it comes from (``module:Class``), sorted."""
        found = dict(self.builtin)
        for ep in entry_points(group=self.group):
            found[ep.name] = ep.value
        return dict(sorted(found.items()))

    def resolve(self, name: str) -> type:
        """Return the class registered as ``name``."""
        targets = self.available()
        if not isinstance(name, str) or name not in targets:
            raise UnknownName(f"unknown {self.family} {name!r} (installed: {', '.join(targets)})")
        module, _, attr = targets[name].partition(":")
        try:
            cls = getattr(import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownName(
                f"{self.family} {name!r} is registered as {targets[name]} but cannot load: {exc}"
            ) from exc
        if not isinstance(cls, type) or (self.check is not None and not _conforms(cls, self.check)):
            raise UnknownName(f"{self.family} {name!r} ({targets[name]}) is not a sor {self.family}")
        return cls

    def build(self, where: str, table: Mapping[str, Any]) -> Any:
        """Build the model a scenario table names: ``model = "name"`` plus its parameters."""
        table = params.table(where, table)
        if "model" not in table:
            raise ConfigError(f"{where}: missing key 'model' (installed: {', '.join(self.available())})")
        name = table["model"]
        try:
            cls = self.resolve(name)
        except UnknownName as exc:
            raise ConfigError(f"{where}: {exc}") from None
        given = {k: v for k, v in table.items() if k != "model"}
        try:
            return params.from_table(cls, f"{where} ({name})", given)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"{where} ({name}): {exc}") from None

    def name_of(self, model: Any) -> str:
        """Return the registered name of ``model``'s class (its class path when unregistered)."""
        path = f"{type(model).__module__}:{type(model).__qualname__}"
        for name, target in self.available().items():
            if target == path:
                return name
        return path


def _conforms(cls: type, check: type) -> bool:
    if getattr(check, "_is_protocol", False):
        # A runtime-checkable Protocol: the class must have every hook.
        return all(callable(getattr(cls, hook, None)) for hook in _hooks(check))
    return issubclass(cls, check)


def _hooks(protocol: type) -> list[str]:
    return [n for n in vars(protocol) if not n.startswith("_") and callable(getattr(protocol, n))]


def describe(model: Any) -> dict[str, Any]:
    """Return a model's parameters as written in a scenario (money in dollars), for results and listings."""
    out: dict[str, Any] = {}
    for name, rule in params.rules(type(model)).items():
        value = getattr(model, name)
        if rule.kind is params.Dollars and value is not None:
            value = units_to_decimal(int(value))
        out[name] = value
    return out
