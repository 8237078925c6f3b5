"""Best Ask: the naive taker baseline."""

from __future__ import annotations

from strategies.base import Strategy
from venues.view import BookView


def take_best_levels(strategy: Strategy, view: BookView, need: int) -> None:
    """Take up to ``need`` shares at each venue's best far level still offered, best price first.

    Ties go to the venue listed first in the run; each order is limited at its level's price.
    """
    offered = strategy.offered()[:, 0]
    far = view.far_px[:, 0]
    ranked = sorted((int(far[k]), k) for k in range(view.venues) if offered[k] > 0)
    for px, k in ranked:
        qty = min(need, int(offered[k]))
        strategy.take(k, qty, px)
        need -= qty
        if need == 0:
            break


class BestAsk(Strategy):
    """Take the best displayed far prices until the target is done (the best asks of a buy).

    At every book update, each venue's best (level-0) far price still offered to us is
    ranked (ties: the venue listed first in the run), and marketable orders take
    ``min(open quantity, offered size)`` at each in turn, limited at that price. It
    ignores fees, rebates and depth beyond the best level: it is the baseline a smart
    router must beat.
    """

    kind = "best_ask"

    def on_book(self, view: BookView) -> None:
        need = self.open_qty()
        if need > 0:
            take_best_levels(self, view, need)
