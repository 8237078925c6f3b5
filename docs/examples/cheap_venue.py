"""An example third-party strategy: one small file (see the README, "Writing a strategy plugin")."""

import attrs

from strategies.base import Strategy
from venues.params import param


@attrs.frozen
class CheapVenueParams:
    venue_id: int = param(2, kind=int, lo=0, doc="the one venue to trade at")
    clip: int = param(300, kind=int, lo=1, doc="largest order, shares")


class CheapVenue(Strategy):
    """Take only at one venue, at its best far price, in clips of at most ``clip`` shares."""

    kind = "cheap_venue"
    Params = CheapVenueParams

    def on_book(self, view):
        need = self.open_qty()
        k = view.venue_ids.index(self.p.venue_id)
        offered = int(self.offered()[k, 0])
        if need > 0 and offered > 0:
            self.take(k, min(need, offered, self.p.clip), int(view.far_px[k, 0]))
