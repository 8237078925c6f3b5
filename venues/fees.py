"""Fee models: what a venue charges or pays per share, for taking and for making liquidity.

A fee model answers two questions at a price: what a taker pays per share and
what a maker pays per share, in integer 1e-9 dollars; a negative amount is a
rebate we earn. Maker-taker venues charge the taker and pay the maker;
inverted ("taker-maker") venues pay the taker and charge the maker. Amounts are
written in the scenario in dollars per share.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs

from venues.params import Dollars, param

MAX_PER_SHARE = 100  # dollars: no venue charges more per share; larger is a typo


@runtime_checkable
class FeeModel(Protocol):
    """Per-share charges at one venue (1e-9 dollars; negative = a rebate we earn)."""

    def taker_per_share(self, price: int) -> int:
        """Return what we pay per share when we take liquidity at ``price`` (1e-9 dollars)."""
        ...

    def maker_per_share(self, price: int) -> int:
        """Return what we pay per share when a resting order of ours fills at ``price``."""
        ...


@attrs.frozen
class MakerTaker:
    """The usual US equities schedule: the taker pays ``fee``, the maker earns ``rebate``."""

    fee: int = param(0, kind=Dollars, hi=MAX_PER_SHARE, doc="taker fee, dollars per share")
    rebate: int = param(0, kind=Dollars, hi=MAX_PER_SHARE, doc="maker rebate, dollars per share")

    def taker_per_share(self, price: int) -> int:
        return self.fee

    def maker_per_share(self, price: int) -> int:
        return -self.rebate


@attrs.frozen
class Inverted:
    """An inverted ("taker-maker") venue: the taker earns ``taker_rebate``, the maker pays ``maker_fee``."""

    taker_rebate: int = param(0, kind=Dollars, hi=MAX_PER_SHARE, doc="taker rebate, dollars per share")
    maker_fee: int = param(0, kind=Dollars, hi=MAX_PER_SHARE, doc="maker fee, dollars per share")

    def taker_per_share(self, price: int) -> int:
        return -self.taker_rebate

    def maker_per_share(self, price: int) -> int:
        return self.maker_fee


def charge(per_share: int) -> tuple[int, int]:
    """Split a signed per-share amount into ``(fee, rebate)``, both >= 0 (what the ledger books)."""
    return (per_share, 0) if per_share >= 0 else (0, -per_share)
