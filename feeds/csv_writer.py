"""Write ``MarketData`` as a Databento MBP CSV in the trial's ``l1_day.csv`` layout.

Columns: ``ts_recv, ts_event, rtype, publisher_id, instrument_id, action, side,
depth, price, size, flags, ts_in_delta, sequence``, then for each level
``bid_px_NN, ask_px_NN, bid_sz_NN, ask_sz_NN, bid_ct_NN, ask_ct_NN``, then
``symbol``. Timestamps are ISO-8601 with nine fractional digits; prices are
exact decimal dollars with at least two decimals (so a reader can never take
them for 1e-9 fixed-point integers), an empty cell for an empty level or an
undefined message price. ``MarketData`` does not carry what the other columns
hold, so they are written as: ``rtype`` 10 (1 for a one-level book),
``instrument_id`` 0, ``depth`` 0, ``flags`` 0, ``ts_in_delta`` 0, ``sequence``
the row number from 1, and order counts 0.
"""

from __future__ import annotations

import os
from typing import TextIO

import numpy as np

from feeds.market import PRICE_SCALE, MarketData
from feeds.timeparse import NS_PER_DAY, format_ns

HEAD = (
    "ts_recv",
    "ts_event",
    "rtype",
    "publisher_id",
    "instrument_id",
    "action",
    "side",
    "depth",
    "price",
    "size",
    "flags",
    "ts_in_delta",
    "sequence",
)
LEVEL_COLUMNS = ("bid_px", "ask_px", "bid_sz", "ask_sz", "bid_ct", "ask_ct")


def header(levels: int) -> list[str]:
    """Return the column names for a book of ``levels`` levels."""
    names = list(HEAD)
    for k in range(levels):
        names += [f"{c}_{k:02d}" for c in LEVEL_COLUMNS]
    return names + ["symbol"]


def format_price(units: int) -> str:
    """Format 1e-9 units as exact decimal dollars with at least two decimals (``222.81``, ``200.00``)."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(int(units)), PRICE_SCALE)
    digits = f"{frac:09d}".rstrip("0").ljust(2, "0")
    return f"{sign}{whole}.{digits}"


class _Prices(dict):
    # Prices repeat endlessly in a book: format each distinct one once.
    def __missing__(self, units: int) -> str:
        text = "" if units == 0 else format_price(units)
        self[units] = text
        return text


class _Stamps:
    # Format many timestamps of few days: the date part is cached.
    def __init__(self) -> None:
        self.days: dict[int, str] = {}

    def __call__(self, ns: int) -> str:
        day, rest = divmod(ns, NS_PER_DAY)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = self.days[day] = format_ns(day * NS_PER_DAY)[:11]
        seconds, frac = divmod(rest, 1_000_000_000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.{frac:09d}Z"


def write_csv(md: MarketData, target: str | os.PathLike | TextIO) -> None:
    """Write ``md`` as a Databento MBP-10 (or MBP-1) CSV to a text stream or a path.

    Parameters
    ----------
    md
        The market data; every row is written, in order.
    target
        An open text stream (``sor data synth`` hands it a ``sim.output.atomic_open``
        one, written whole or not at all) or a path, opened plainly.
    """
    levels = md.levels
    n = len(md)
    prices = _Prices()
    stamp = _Stamps()

    def price_text(values: np.ndarray) -> list[str]:
        return [prices[u] for u in values.tolist()]

    def int_text(values: np.ndarray) -> list[str]:
        return list(map(str, values.tolist()))

    zero = ["0"] * n  # a list, not an iterator: it appears in many columns
    columns = [
        list(map(stamp, md.ts_recv.tolist())),
        list(map(stamp, md.ts_event.tolist())),
        ["1" if levels == 1 else "10"] * n,
        int_text(md.venue),
        zero,
        list(map(chr, md.action.tolist())),
        list(map(chr, md.side.tolist())),
        zero,
        price_text(md.price),
        int_text(md.size),
        zero,
        zero,
        list(map(str, range(1, n + 1))),
    ]
    for k in range(levels):
        columns += [
            price_text(md.bid_px[:, k]),
            price_text(md.ask_px[:, k]),
            int_text(md.bid_sz[:, k]),
            int_text(md.ask_sz[:, k]),
            zero,
            zero,
        ]
    columns.append([md.symbol.replace(",", " ")] * n)
    lines = [",".join(header(levels))]
    lines += map(",".join, zip(*columns, strict=True))
    text = "\n".join(lines) + "\n"
    if hasattr(target, "write"):
        target.write(text)
        return
    with open(target, "w", encoding="utf-8", newline="") as f:
        f.write(text)
