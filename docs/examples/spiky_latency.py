"""An example third-party venue model: one small file (see the README, "Writing a venue model")."""

import attrs

from venues.params import param


@attrs.frozen
class SpikyLatency:
    """A quiet wire with rare spikes: ``base_us``, and ``spike_us`` more with probability ``p``."""

    base_us: float = param(100.0, lo=0.0, hi=1e6, unit="us", doc="usual delay")
    spike_us: float = param(5000.0, lo=0.0, hi=1e7, unit="us", doc="extra delay of a spike")
    p: float = param(0.01, lo=0.0, hi=1.0, doc="chance a message spikes")

    def _draw(self, rng):
        extra = self.spike_us if rng.random() < self.p else 0.0
        return int(round((self.base_us + extra) * 1000))

    def entry_ns(self, rng):
        return self._draw(rng)

    def cancel_ns(self, rng):
        return self._draw(rng)

    def response_ns(self, rng):
        return 0
