"""A venue's settings: fees, rebates, and order-entry and response latency."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class VenueConfig:
    """What one venue charges and how far away it is.

    Money is in 1e-9 dollars per share: ``fee`` is the taker fee we pay when we
    cross the spread, ``rebate`` the maker rebate we earn when a resting order fills.
    ``latency_ns`` is the order-entry latency from a strategy's decision to the
    venue's matching (the same for sends and cancels); ``response_latency_ns`` is
    how long the venue's news of a fill or of an order's end takes to reach the
    strategy (the ledger books a fill when the venue makes it).
    """

    venue_id: int
    fee: int = attrs.field(validator=attrs.validators.ge(0))
    rebate: int = attrs.field(validator=attrs.validators.ge(0))
    latency_ns: int = attrs.field(validator=attrs.validators.ge(0))
    response_latency_ns: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    name: str = ""
