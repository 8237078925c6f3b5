"""What a TBBO file means beyond its MBP-1 layout: its quote is the one each trade met.

Databento's TBBO schema has one MBP-1 record per trade, carrying the trading venue's
best bid and offer just before it. The records do not say TBBO: a DBN file's
metadata names the schema; a CSV export says it only in its name, by Databento's
convention ``<dataset>-<date>.tbbo.csv`` (``schema_of_name``).
"""

from __future__ import annotations

import os
from pathlib import PurePath

import numpy as np

_A, _B, _N = ord("A"), ord("B"), ord("N")
UNDEF_PRICE = 2**63 - 1


def schema_of_name(path: str | os.PathLike) -> str | None:
    """Return ``"tbbo"`` when a file's name carries Databento's ``.tbbo.`` schema part, else None."""
    parts = PurePath(path).name.lower().split(".")
    return "tbbo" if "tbbo" in parts[1:-1] else None


def infer_aggressor(side, price, bid, ask, bid_sz, ask_sz) -> np.ndarray:
    """Give a TBBO print without a side (``N``) the side its quote implies.

    A TBBO quote is the venue's just before the trade, so a print at or below that bid
    was a seller hitting the bids (``A``) and one at or above that ask a buyer lifting
    the offers (``B``); a print inside the spread stays ``N`` (a hidden or midpoint
    execution, which touches no displayed queue). A side with no quote (size 0, or
    Databento's undefined price) implies nothing.
    """
    unknown = side == _N
    hit = unknown & (bid_sz > 0) & (bid != UNDEF_PRICE) & (price <= bid)
    lift = unknown & ~hit & (ask_sz > 0) & (ask != UNDEF_PRICE) & (price >= ask)
    return np.where(hit, _A, np.where(lift, _B, side))
