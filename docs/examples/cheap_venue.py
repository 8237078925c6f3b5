"""An example third-party strategy: one small file (see the README, "Writing a strategy plugin")."""

from strategies.base import Strategy


class CheapVenue(Strategy):
    """Buy only at one venue, at its best ask, in clips of at most ``clip`` shares."""

    kind = "cheap_venue"
    defaults = {"venue_id": 2, "clip": 300}

    def on_book(self, view):
        need = int(self.open_qty()[0])
        k = view.venue_ids.index(self.params[0]["venue_id"])
        offered = int(self.available_asks()[0, k, 0])
        if need > 0 and offered > 0:
            self.buy(k, min(need, offered, self.params[0]["clip"]), int(view.ask_px[k, 0]))
