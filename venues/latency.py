"""Latency: how long orders take to reach a venue, news to come back, and the feed to be seen.

Two small model families, each behind a ``typing.Protocol``:

* an order ``LatencyModel`` draws the delay of each message between a strategy and a
  venue: an order on its way in (``entry_ns``), a cancel on its way in
  (``cancel_ns``), and the venue's news of a fill or an order's end on its way back
  (``response_ns``). Random models draw from the seeded generator the engine gives
  each venue, so a run is reproducible.
* a ``FeedDelay`` says when a strategy sees a feed row: at the venue's own time
  (``ts_event``, no delay), when the data says it was received (``ts_recv``), or a
  fixed delay later. Venues always match on their own (exchange) time.

A ``Link`` carries messages one way with a model's delays, in order: like a TCP
session, a message never overtakes one sent before it on the same link.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import simpy

from venues.params import param

_US = 1_000  # nanoseconds per microsecond
_MAX_US = 60_000_000.0  # one minute: beyond that a value is a typo, not a network


def _ns(us: float) -> int:
    return int(round(us * _US))


@runtime_checkable
class LatencyModel(Protocol):
    """Delays of the messages between strategies and one venue, in nanoseconds."""

    def entry_ns(self, rng: np.random.Generator) -> int:
        """Return the delay of an order from the strategy's decision to the venue's matching."""
        ...

    def cancel_ns(self, rng: np.random.Generator) -> int:
        """Return the delay of a cancel from the strategy to the venue."""
        ...

    def response_ns(self, rng: np.random.Generator) -> int:
        """Return the delay of the venue's news (a fill, an order's end) back to the strategy."""
        ...


@attrs.frozen
class ConstantLatency:
    """Fixed delays: ``entry_us`` for orders, ``cancel_us`` for cancels, ``response_us`` back."""

    entry_us: float = param(0.0, lo=0.0, hi=_MAX_US, unit="us", doc="order entry delay")
    cancel_us: float | None = param(None, lo=0.0, hi=_MAX_US, unit="us", doc="cancel delay [entry_us]")
    response_us: float = param(0.0, lo=0.0, hi=_MAX_US, unit="us", doc="delay of fills and reports")

    def entry_ns(self, rng: np.random.Generator) -> int:
        return _ns(self.entry_us)

    def cancel_ns(self, rng: np.random.Generator) -> int:
        return _ns(self.entry_us if self.cancel_us is None else self.cancel_us)

    def response_ns(self, rng: np.random.Generator) -> int:
        return _ns(self.response_us)


@attrs.frozen
class LognormalLatency:
    """Random delays with a heavy right tail: ``median_us * exp(sigma * Z)``, Z standard normal.

    ``cancel_median_us`` and ``response_median_us`` set the other two messages'
    medians (the entry median and no response delay when omitted); ``floor_us`` is
    the fastest any message can be (the wire's own length). Spikes come from the
    tail: with ``sigma = 0.5`` one message in a hundred takes over 3.2x the median.
    """

    median_us: float = param(100.0, lo=0.0, hi=_MAX_US, unit="us", doc="median order entry delay")
    sigma: float = param(0.5, lo=0.0, hi=3.0, doc="spread of log-delay")
    cancel_median_us: float | None = param(None, lo=0.0, hi=_MAX_US, unit="us", doc="median cancel delay")
    response_median_us: float = param(0.0, lo=0.0, hi=_MAX_US, unit="us", doc="median response delay")
    floor_us: float = param(0.0, lo=0.0, hi=_MAX_US, unit="us", doc="no message is faster")

    def _draw(self, median_us: float, rng: np.random.Generator) -> int:
        if median_us <= 0:
            return _ns(self.floor_us)
        us = median_us * math.exp(self.sigma * float(rng.standard_normal()))
        return _ns(min(max(us, self.floor_us), _MAX_US))

    def entry_ns(self, rng: np.random.Generator) -> int:
        return self._draw(self.median_us, rng)

    def cancel_ns(self, rng: np.random.Generator) -> int:
        median = self.median_us if self.cancel_median_us is None else self.cancel_median_us
        return self._draw(median, rng)

    def response_ns(self, rng: np.random.Generator) -> int:
        return self._draw(self.response_median_us, rng)


@runtime_checkable
class FeedDelay(Protocol):
    """When a strategy sees each feed row of a venue."""

    def visible_ns(self, ts_event: np.ndarray, ts_recv: np.ndarray) -> np.ndarray:
        """Return, per row, the time a strategy sees it (never before ``ts_event``)."""
        ...


@attrs.frozen
class NoFeedDelay:
    """Strategies see a row at the venue's own time, ``ts_event`` (the default)."""

    def visible_ns(self, ts_event: np.ndarray, ts_recv: np.ndarray) -> np.ndarray:
        return ts_event


@attrs.frozen
class RecordedFeedDelay:
    """Strategies see a row when the data says it was received: ``ts_recv`` (``ts_event`` if earlier)."""

    def visible_ns(self, ts_event: np.ndarray, ts_recv: np.ndarray) -> np.ndarray:
        return np.maximum(ts_recv, ts_event)


@attrs.frozen
class ConstantFeedDelay:
    """Strategies see a row ``delay_us`` after the venue's own time."""

    delay_us: float = param(0.0, lo=0.0, hi=_MAX_US, unit="us", doc="feed delay")

    def visible_ns(self, ts_event: np.ndarray, ts_recv: np.ndarray) -> np.ndarray:
        return ts_event + _ns(self.delay_us)


class Link:
    """A one-way link: each message arrives after its delay, and never before an earlier one.

    Delivery happens through a SimPy event, so a message sent at ``t`` with delay
    ``d`` is seen by the receiver at ``max(t + d, arrival of the previous message)``
    in simulated time.
    """

    def __init__(self, env: simpy.Environment, deliver: Callable[[Any], None]):
        self.env = env
        self._deliver = deliver
        self._last = 0

    def send(self, message: Any, delay_ns: int) -> None:
        """Put ``message`` on the wire with a delay of ``delay_ns``."""
        at = max(int(self.env.now) + int(delay_ns), self._last)
        self._last = at
        event = self.env.timeout(at - int(self.env.now), value=message)
        event.callbacks.append(self._arrive)

    def _arrive(self, event: simpy.Event) -> None:
        self._deliver(event.value)
