"""The wire between a strategy and a venue: messages arrive after a fixed delay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy


class Link:
    """A one-way link that delivers each message ``delay_ns`` after it was sent.

    Delivery happens through a SimPy event, so a message sent at ``t`` is seen by the
    receiver at ``t + delay_ns`` in simulated time and never earlier.
    """

    def __init__(self, env: simpy.Environment, delay_ns: int, deliver: Callable[[Any], None]):
        self.env = env
        self.delay_ns = int(delay_ns)
        self._deliver = deliver

    def send(self, message: Any) -> None:
        """Put ``message`` on the wire."""
        event = self.env.timeout(self.delay_ns, value=message)
        event.callbacks.append(self._arrive)

    def _arrive(self, event: simpy.Event) -> None:
        self._deliver(event.value)
