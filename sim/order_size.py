"""The order's size in shares: fixed, or a share of the symbol's volume in the previous session.

``[order] quantity = N`` buys ``N`` shares. ``[order] volume_fraction = f`` buys
``floor(f * V)`` shares, ``V`` being the symbol's regular-session traded volume in
the previous session's file of the same batch download (``feeds.sessions``): the
same session's volume would be look-ahead. ``f`` is read as the decimal it is
written as (``0.01`` is exactly one hundredth), so the quantity is exact.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from feeds.market import MarketData
from feeds.sessions import SessionVolume, previous_session_volume
from sim.scenario import Scenario, ScenarioError


@attrs.frozen
class OrderSize:
    """How many shares the parent order buys, and how that number was reached."""

    quantity: int
    basis: str
    volume_fraction: float | None = None
    previous_session: SessionVolume | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the result's ``order`` block."""
        block: dict[str, Any] = {"side": "buy", "quantity": self.quantity, "basis": self.basis}
        if self.volume_fraction is not None:
            block["volume_fraction"] = self.volume_fraction
            block["previous_session"] = self.previous_session.as_json()
        return block


def resolve_quantity(scenario: Scenario, md: MarketData | None = None) -> OrderSize:
    """Return the scenario's order size in shares (one call for the runner).

    Parameters
    ----------
    scenario
        The scenario; its ``[data] source`` must be a dated file of a batch download
        when the order is a ``volume_fraction``.
    md
        The market data being replayed (or a ``feeds.feed.FeedInfo``): its ``symbol``
        and ``meta["instrument_id"]`` name the instrument to look up when the scenario
        chose none itself.

    Raises
    ------
    ScenarioError
        When the order is a volume fraction of a source that has no previous session,
        or comes to less than one share.
    FeedError
        When the previous session's file is missing or cannot be read.
    """
    if scenario.volume_fraction is None:
        return OrderSize(quantity=int(scenario.quantity), basis="quantity")
    where = f"{scenario.path}: [order] volume_fraction"
    source = scenario.data.source
    if source.startswith(("synthetic:", "kafka://")):
        raise ScenarioError(
            f"{where}: needs a file of a dated batch download as [data] source, not {source!r}"
        )
    symbol = scenario.data.symbol or (md.symbol if md is not None and md.symbol else None)
    instrument_id = scenario.data.instrument_id
    if symbol is None and instrument_id is None and md is not None:
        ident = md.meta.get("instrument_id")
        instrument_id = ident if isinstance(ident, int) else None
    volume = previous_session_volume(source, symbol=symbol, instrument_id=instrument_id)
    fraction = Decimal(repr(scenario.volume_fraction))
    quantity = int(fraction * volume.shares)
    if quantity < 1:
        raise ScenarioError(
            f"{where}: {scenario.volume_fraction} of the {volume.shares:,} shares "
            f"{volume.symbol or 'the symbol'} traded in the previous session "
            f"({volume.session}, {volume.file}) is less than one share"
        )
    return OrderSize(
        quantity=quantity,
        basis="volume_fraction",
        volume_fraction=scenario.volume_fraction,
        previous_session=volume,
    )
