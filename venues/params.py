"""Checked values from configuration: scenario tables, strategy parameters, venue models.

Everything a scenario configures is validated once, where it is read, by these
checks. Each takes ``where`` (the file and the field, e.g. ``"s.toml: [order]
quantity"``) and the raw TOML value, and either returns the value in the type the
engine uses or raises ``ConfigError`` with one line naming the field, the value and
the rule. Ranges are closed unless the name says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs


class ConfigError(ValueError):
    """A value in a configuration (scenario file, strategy or model parameters) is not allowed."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def show(value: Any) -> str:
    """Return ``repr(value)`` cut to 60 characters, as the checks quote a value in a message."""
    return _show(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(
    where: str,
    value: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    unit: str = "",
) -> float:
    """Return ``value`` as a finite float in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    rule = _range_text(lo, hi, lo_open, unit)
    if not _is_number(value) or not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite number {rule}, got {_show(value)}")
    if (lo is not None and (value < lo or (lo_open and value == lo))) or (hi is not None and value > hi):
        raise ConfigError(f"{where}: must be {rule}, got {_show(value)}")
    return float(value)


def integer(where: str, value: Any, *, lo: int | None = None, hi: int | None = None, unit: str = "") -> int:
    """Return ``value`` as an int in ``[lo, hi]``; floats are refused (a count is whole)."""
    rule = _range_text(lo, hi, False, unit)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expected a whole number {rule}, got {_show(value)}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"{where}: must be {rule}, got {_show(value)}")
    return int(value)


#: A seed is a whole number that fits a signed 64-bit integer: results echo it as a
#: JSON integer, and tools that read JSON into int64 (pandas, numpy) keep it exact.
SEED_MAX = 2**63 - 1


def seed(where: str, value: Any) -> int:
    """Return ``value`` as a random seed: a whole number in ``[0, 2**63 - 1]``."""
    return integer(where, value, lo=0, hi=SEED_MAX)


def string(where: str, value: Any, *, choices: tuple[str, ...] | None = None, max_len: int = 4096) -> str:
    """Return ``value`` as a str (one of ``choices`` when given)."""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {_show(value)}")
    if len(value) > max_len:
        raise ConfigError(f"{where}: longer than {max_len} characters")
    if choices is not None and value not in choices:
        raise ConfigError(f"{where}: expected one of {', '.join(choices)}, got {_show(value)}")
    return value


def boolean(where: str, value: Any) -> bool:
    """Return ``value`` when it is ``true`` or ``false``."""
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {_show(value)}")
    return value


def table(where: str, value: Any) -> dict[str, Any]:
    """Return ``value`` when it is a TOML table."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table, got {_show(value)}")
    return value


def keys(where: str, given: Mapping[str, Any], allowed: set[str], required: set[str] = frozenset()) -> None:
    """Refuse keys not in ``allowed`` (naming the first) and require those in ``required``."""
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    missing = sorted(required - set(given))
    if missing:
        raise ConfigError(f"{where}: missing key {missing[0]!r}")


def dollars(where: str, value: Any, *, lo: Decimal | int = 0, hi: Decimal | int | None = None) -> int:
    """Convert a dollar amount (``0.003`` or ``"0.003"``) to integer 1e-9 units, exactly, within a range."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{where}: expected a number of dollars, got {_show(value)}")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{where}: not a number: {_show(value)}") from None
    rule = _range_text(lo, hi, False, "")
    if not d.is_finite() or d < lo or (hi is not None and d > hi):
        raise ConfigError(f"{where}: must be a finite amount of dollars {rule}, got {_show(value)}")
    units = d.scaleb(9)
    if units != units.to_integral_value():
        raise ConfigError(f"{where}: more than 9 decimals: {_show(value)}")
    return int(units)


def _num(x: Any) -> str:
    return f"{x:,g}" if isinstance(x, float) else f"{x:,}" if isinstance(x, int) else str(x)


def _range_text(lo: Any, hi: Any, lo_open: bool, unit: str) -> str:
    u = f" {unit}" if unit else ""
    lo = None if lo is None else _num(lo)
    hi = None if hi is None else _num(hi)
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo}, {hi}]{u}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo}{u}"
    if hi is not None:
        return f"<= {hi}{u}"
    return ""


# -- typed parameter sets -----------------------------------------------------------------


class Dollars(int):
    """The ``kind`` of a money parameter: written in dollars, held in integer 1e-9 dollars."""


@attrs.frozen
class Rule:
    """How one parameter is checked: its type and range, and what it means (for listings)."""

    kind: type = float
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    unit: str = ""
    choices: tuple[str, ...] | None = None
    doc: str = ""

    def check(self, where: str, value: Any) -> Any:
        """Return ``value`` in the parameter's type, or raise ``ConfigError`` naming ``where``."""
        if self.kind is bool:
            return boolean(where, value)
        if self.kind is Dollars:
            hi = None if self.hi is None else Decimal(str(self.hi))
            return dollars(where, value, lo=Decimal(str(self.lo or 0)), hi=hi)
        if self.kind is int:
            return integer(where, value, lo=self.lo, hi=self.hi, unit=self.unit)
        if self.kind is str:
            return string(where, value, choices=self.choices)
        number(where, value, lo=self.lo, hi=self.hi, lo_open=self.lo_open, unit=self.unit)
        return value  # as written (an int stays an int), so results echo the scenario

    def describe(self) -> str:
        """Return the rule in words, e.g. ``"seconds in (0, 86400]"``."""
        if self.kind is str:
            return "one of " + ", ".join(self.choices) if self.choices else "text"
        if self.kind is bool:
            return "true or false"
        if self.kind is Dollars:
            return f"dollars {_range_text(self.lo or 0, self.hi, False, '')}".strip()
        what = "whole number" if self.kind is int else "number"
        return f"{what} {_range_text(self.lo, self.hi, self.lo_open, self.unit)}".strip()


def param(default: Any, **rule: Any) -> Any:
    """Declare a field of a parameter class: its default and its ``Rule`` (``kind``, ``lo``, ``hi``...)."""
    return attrs.field(default=default, metadata={"rule": Rule(**rule)})


def rules(cls: type) -> dict[str, Rule]:
    """Return each parameter of an attrs parameter class with its rule."""
    return {f.name: f.metadata.get("rule", Rule(kind=type(f.default))) for f in attrs.fields(cls)}


def defaults(cls: type) -> dict[str, Any]:
    """Return each parameter of an attrs parameter class with its default."""
    return {f.name: f.default for f in attrs.fields(cls)}


def from_table(cls: type, where: str, given: Mapping[str, Any]) -> Any:
    """Build parameter class ``cls`` from a TOML table: unknown keys refused by name, every value checked."""
    checks = rules(cls)
    unknown = sorted(set(given) - set(checks))
    if unknown:
        known = ", ".join(sorted(checks)) or "none"
        raise ConfigError(f"{where}: unknown parameter {unknown[0]!r} (known: {known})")
    values = {name: checks[name].check(f"{where}: {name}", value) for name, value in given.items()}
    return cls(**values)
