"""The fill ledger: every fill of one strategy, and its money totals, per lane."""

from __future__ import annotations

import numpy as np

from venues.orders import Fill, Liquidity


class Ledger:
    """What one strategy bought or sold and paid, lane by lane, in exact integer units.

    Money is in 1e-9 dollars: ``notional`` = Σ price × shares, ``fees`` and
    ``rebates`` per share times shares. ``cash`` is what the order cost a buyer,
    notional + fees − rebates, or what it brought a seller, notional − fees + rebates.
    Money arrays hold Python integers (numpy ``object``), so no sum can overflow: a
    20,000-share order of a $700,000 stock is $14 billion, past int64's $9.2 billion
    in 1e-9 units.
    """

    def __init__(self, lanes: int, venues: int, side: str = "buy"):
        self.lanes = lanes
        self.side = side
        self._sign = 1 if side == "buy" else -1
        z = np.zeros

        def money(shape):
            out = np.empty(shape, dtype=object)
            out[...] = 0
            return out

        self.filled = z(lanes, dtype=np.int64)
        self.notional = money(lanes)
        self.fees = money(lanes)
        self.rebates = money(lanes)
        self.catch_up = z(lanes, dtype=np.int64)
        self.maker = z(lanes, dtype=np.int64)
        self.venue_shares = z((lanes, venues), dtype=np.int64)
        self.venue_cash = money((lanes, venues))
        self.venue_maker = z((lanes, venues), dtype=np.int64)
        self.fills: list[Fill] = []

    @property
    def cash(self) -> np.ndarray:
        return self.notional + self._sign * (self.fees - self.rebates)

    @property
    def taker(self) -> np.ndarray:
        return self.filled - self.maker

    def record(self, fill: Fill) -> None:
        """Book one fill."""
        q = fill.qty
        exact = q.astype(object)
        notional = exact * int(fill.price)
        fee = exact * int(fill.fee_per_share)
        rebate = exact * int(fill.rebate_per_share)
        self.filled += q
        self.notional += notional
        self.fees += fee
        self.rebates += rebate
        if fill.catch_up:
            self.catch_up += q
        k = fill.venue
        self.venue_shares[:, k] += q
        self.venue_cash[:, k] += notional + self._sign * (fee - rebate)
        if fill.liquidity is Liquidity.MAKER:
            self.maker += q
            self.venue_maker[:, k] += q
        self.fills.append(fill)
