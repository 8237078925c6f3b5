"""Exact text for the numbers in a result: dollars, basis points, shares.

Dollar amounts are shown with every digit the result holds (it is exact to 1e-9
dollars) and at least cents, so a table never rounds away a difference the
engine measured.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sim.terminal import clean

MISSING = "\u2014"
_CENT = Decimal("0.01")


def to_decimal(value: Any) -> Decimal | None:
    """Convert a JSON number (``int``, ``Decimal`` or ``float``) to ``Decimal``; keep ``None``."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        # repr gives the shortest text that round-trips, not the binary expansion.
        return Decimal(repr(value))
    return Decimal(value)


def dollars(value: Any, sign: str = "") -> str:
    """Format dollars with thousands separators, at least two decimals and no rounding.

    Parameters
    ----------
    value
        A JSON number or ``None`` (shown as an em dash).
    sign
        ``"+"`` to show a plus sign on positive amounts.
    """
    amount = to_decimal(value)
    if amount is None:
        return MISSING
    amount = amount.normalize()
    if amount.as_tuple().exponent > -2:
        amount = amount.quantize(_CENT)
    return format(amount, f"{sign},f")


def bps(value: Any) -> str:
    """Format basis points as the result states them, with a sign when positive."""
    amount = to_decimal(value)
    if amount is None:
        return MISSING
    amount = amount.normalize()
    if amount.as_tuple().exponent > 0:
        amount = amount.quantize(Decimal(1))
    return format(amount, "+f")


def count(value: Any) -> str:
    """Format a share count with thousands separators."""
    amount = to_decimal(value)
    return MISSING if amount is None else format(amount.normalize().quantize(Decimal(1)), ",f")


def plain(value: Any) -> str:
    """Format a parameter value or label: numbers without float noise, text as is."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float, Decimal)):
        amount = to_decimal(value).normalize()
        if amount.as_tuple().exponent > 0:
            amount = amount.quantize(Decimal(1))
        return format(amount, "f")
    return str(value)


def printable(value: Any) -> str:
    """Format a value drawn on a figure: :func:`plain`, control characters shown as escapes."""
    return clean(plain(value))
