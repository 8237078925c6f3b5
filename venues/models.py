"""The model families a venue is assembled from, each a registry of named, installable classes.

| family | protocol | built in | entry-point group |
|---|---|---|---|
| queue | ``venues.queue.QueueModel`` | the five of ``venues.queue_models`` | ``sor.queue_models`` |
| latency | ``venues.latency.LatencyModel`` | constant, lognormal | ``sor.latency_models`` |
| feed | ``venues.latency.FeedDelay`` | none, ts_recv, constant | ``sor.feed_delays`` |
| fees | ``venues.fees.FeeModel`` | maker_taker, inverted | ``sor.fee_models`` |
| fill | ``venues.fill_rules.TakerRule`` | walk_book, top_of_book, displayed_share | ``sor.fill_rules`` |

A model class is an attrs class whose fields are its parameters (declared with
``venues.params.param``), so a scenario table ``{model = "lognormal", median_us = 200}``
builds it directly, every value checked once.
"""

from __future__ import annotations

from venues.fees import FeeModel
from venues.fill_rules import TakerRule
from venues.latency import FeedDelay, LatencyModel
from venues.queue import QueueModel
from venues.registry import Registry

QUEUE = Registry(
    "queue model",
    "sor.queue_models",
    {
        "proportional": "venues.queue_models:Proportional",
        "front_first": "venues.queue_models:FrontFirst",
        "probabilistic": "venues.queue_models:ProbabilisticQueue",
        "risk_averse": "venues.queue_models:RiskAverse",
        "log_probability": "venues.queue_models:LogProbability",
    },
    check=QueueModel,
)
LATENCY = Registry(
    "latency model",
    "sor.latency_models",
    {"constant": "venues.latency:ConstantLatency", "lognormal": "venues.latency:LognormalLatency"},
    check=LatencyModel,
)
FEED = Registry(
    "feed delay",
    "sor.feed_delays",
    {
        "none": "venues.latency:NoFeedDelay",
        "ts_recv": "venues.latency:RecordedFeedDelay",
        "constant": "venues.latency:ConstantFeedDelay",
    },
    check=FeedDelay,
)
FEES = Registry(
    "fee model",
    "sor.fee_models",
    {"maker_taker": "venues.fees:MakerTaker", "inverted": "venues.fees:Inverted"},
    check=FeeModel,
)
FILL = Registry(
    "taker fill rule",
    "sor.fill_rules",
    {
        "walk_book": "venues.fill_rules:WalkBook",
        "top_of_book": "venues.fill_rules:TopOfBook",
        "displayed_share": "venues.fill_rules:DisplayedShare",
    },
    check=TakerRule,
)

#: The families by the key a scenario's venue table uses for them.
FAMILIES: dict[str, Registry] = {"queue": QUEUE, "latency": LATENCY, "feed": FEED, "fees": FEES, "fill": FILL}
