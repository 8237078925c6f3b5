"""A venue's settings: the models it is assembled from, grouped in one frozen value."""

from __future__ import annotations

import attrs

from venues.fees import FeeModel, MakerTaker
from venues.fill_rules import TakerRule, WalkBook
from venues.latency import ConstantLatency, FeedDelay, LatencyModel, NoFeedDelay
from venues.queue import DEFAULT_QUEUE_MODEL, QueueModel


@attrs.frozen(kw_only=True)
class VenueConfig:
    """One venue as the engine runs it: its id and name, and one model per behaviour.

    ``fees`` says what taking and making cost per share; ``latency`` how long orders,
    cancels and responses travel; ``feed`` when strategies see the venue's rows;
    ``queue`` how cancellations at our price split around our resting orders;
    ``fill`` how a marketable order meets the displayed book.
    """

    venue_id: int
    name: str = ""
    fees: FeeModel = attrs.field(factory=MakerTaker)
    latency: LatencyModel = attrs.field(factory=ConstantLatency)
    feed: FeedDelay = attrs.field(factory=NoFeedDelay)
    queue: QueueModel = DEFAULT_QUEUE_MODEL
    fill: TakerRule = attrs.field(factory=WalkBook)

    @classmethod
    def flat(
        cls,
        venue_id: int,
        *,
        fee: int = 0,
        rebate: int = 0,
        latency_ns: int = 0,
        response_latency_ns: int = 0,
        name: str = "",
        **models,
    ) -> VenueConfig:
        """Return a maker-taker venue with constant latencies, money in 1e-9 dollars, times in ns."""
        return cls(
            venue_id=venue_id,
            name=name,
            fees=MakerTaker(fee=int(fee), rebate=int(rebate)),
            latency=ConstantLatency(entry_us=latency_ns / 1000, response_us=response_latency_ns / 1000),
            **models,
        )
