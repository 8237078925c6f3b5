"""Options shared by several commands, declared once."""

from __future__ import annotations

import click

from feeds.kafka.defaults import WAIT_S


def wait_option(func):
    """``--wait SECONDS``: how long a Kafka feed waits for its topic and run (``feeds.kafka.consumer``)."""
    return click.option(
        "--wait",
        "wait_s",
        type=click.FloatRange(0, 1e9),
        default=None,
        help="With a kafka:// feed: seconds to wait for the topic and a run to appear  "
        f"[default: {WAIT_S:g}; ?wait=S in the URL wins]",
    )(func)
