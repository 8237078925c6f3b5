"""Best Ask: the naive taker baseline."""

from __future__ import annotations

from strategies.base import Strategy
from venues.view import BookView


class BestAsk(Strategy):
    """Take the cheapest displayed best asks until the target is bought.

    At every book update, each venue's best (level-0) ask still offered to us is
    ranked by price (ties: the venue listed first in the run), and marketable orders
    take ``min(open quantity, offered size)`` at each in turn, with the limit at that
    ask. It ignores fees, rebates and depth beyond the best level: it is the
    baseline a smart router must beat.
    """

    kind = "best_ask"

    def on_book(self, view: BookView) -> None:
        need = int(self.open_qty()[0])
        if need <= 0:
            return
        offered = self.available_asks()[0, :, 0]
        ask_px = view.ask_px[:, 0]
        ranked = sorted((int(ask_px[k]), k) for k in range(view.venues) if offered[k] > 0)
        for px, k in ranked:
            qty = min(need, int(offered[k]))
            self.buy(k, qty, px)
            need -= qty
            if need == 0:
                break
