"""Finding strategy classes by name: built-ins and plugins (entry point group ``sor.strategies``)."""

from __future__ import annotations

from strategies.base import LaneStrategy
from venues.registry import Registry, UnknownName

ENTRY_POINT_GROUP = "sor.strategies"

#: An installed name that does not resolve to a strategy.
UnknownStrategy = UnknownName

# The built-ins, so a source checkout that was never pip-installed still runs.
STRATEGIES = Registry(
    "strategy",
    ENTRY_POINT_GROUP,
    {
        "best_ask": "strategies.best_ask:BestAsk",
        "twap": "strategies.twap:Twap",
        "vwap": "strategies.vwap:Vwap",
        "ck_static": "strategies.ck_static:CkStatic",
        "cont_kukanov": "strategies.cont_kukanov:ContKukanov",
    },
    check=LaneStrategy,
)


def available() -> dict[str, str]:
    """Return every installed strategy name with where it comes from (``module:Class``)."""
    return STRATEGIES.available()


def resolve(name: str) -> type[LaneStrategy]:
    """Return the strategy class registered as ``name``."""
    return STRATEGIES.resolve(name)
