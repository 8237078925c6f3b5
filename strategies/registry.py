"""Finding strategy classes by name: built-ins and third-party plugins alike."""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from strategies.base import Strategy

ENTRY_POINT_GROUP = "sor.strategies"

# The built-ins, so a source checkout that was never pip-installed still runs.
_BUILTIN = {
    "best_ask": "strategies.best_ask:BestAsk",
    "twap": "strategies.twap:Twap",
    "vwap": "strategies.vwap:Vwap",
    "ck_static": "strategies.ck_static:CkStatic",
    "cont_kukanov": "strategies.cont_kukanov:ContKukanov",
}


class UnknownStrategy(KeyError):
    """No installed strategy has that name."""

    def __str__(self) -> str:
        return self.args[0]


def _load(target: str) -> type[Strategy]:
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)


def available() -> dict[str, str]:
    """Return every installed strategy name with where it comes from (``module:Class``)."""
    found = dict(_BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.value
    return dict(sorted(found.items()))


def resolve(name: str) -> type[Strategy]:
    """Return the strategy class registered as ``name``."""
    targets = available()
    if name not in targets:
        raise UnknownStrategy(f"unknown strategy {name!r} (installed: {', '.join(targets)})")
    try:
        cls = _load(targets[name])
    except (ImportError, AttributeError) as exc:
        raise UnknownStrategy(
            f"strategy {name!r} is registered as {targets[name]} but cannot load: {exc}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise UnknownStrategy(f"strategy {name!r} ({targets[name]}) is not a sor Strategy subclass")
    return cls
