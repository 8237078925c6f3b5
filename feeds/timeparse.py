"""Exact timestamps: text to integer nanoseconds since the Unix epoch (UTC) and back.

Accepted forms (no float anywhere, so nanoseconds survive):

- ISO-8601 ``YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|+HH:MM|-HH:MM]`` (a space may stand
  for the ``T``; no suffix means UTC);
- integer nanoseconds, ``"1722519392491911683"``.

``parse_ns_matrix`` is the vectorized form the CSV reader uses on a whole
column; it takes the canonical Databento shape (``...SS[.fffffffff]Z``) and
leaves every other cell to ``parse_ns``.
"""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np

NS_PER_SECOND = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|[+-]\d{2}:?\d{2})?"
)
_INT = re.compile(r"\d{1,19}")
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?")


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _fraction_ns(digits: str | None) -> int:
    # "5" is half a second: pad on the right to nine digits.
    return int(digits.ljust(9, "0")) if digits else 0


def _clock_ns(hour: int, minute: int, second: int, fraction: str | None, text: str) -> int:
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"time of day out of range in {_shown(text)}")
    return ((hour * 60 + minute) * 60 + second) * NS_PER_SECOND + _fraction_ns(fraction)


def parse_ns(text: str) -> int:
    """Parse a timestamp to integer nanoseconds since the epoch, UTC.

    Parameters
    ----------
    text
        ISO-8601 with up to nine fractional digits and an optional ``Z`` or
        ``±HH:MM`` offset (none means UTC), or a string of integer nanoseconds.

    Returns
    -------
    int
        Nanoseconds since 1970-01-01T00:00:00Z.

    Raises
    ------
    ValueError
        When ``text`` is in neither form, names an impossible date or time, or
        falls outside the int64 nanosecond range.
    """
    if _INT.fullmatch(text):
        value = int(text)
        if value > _INT64_MAX:
            raise ValueError(f"timestamp out of range: {_shown(text)}")
        return value
    match = _ISO.fullmatch(text)
    if match is None:
        raise ValueError(f"not an ISO-8601 or integer-nanosecond timestamp: {_shown(text)}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        days = _dt.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        raise ValueError(f"impossible date in {_shown(text)}") from None
    ns = days * NS_PER_DAY + _clock_ns(hour, minute, second, match.group(7), text)
    offset = match.group(8)
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        off_h, off_m = int(digits[:2]), int(digits[2:])
        if off_h > 23 or off_m > 59:
            raise ValueError(f"UTC offset out of range in {_shown(text)}")
        # Local time minus its offset is UTC.
        ns -= sign * (off_h * 60 + off_m) * 60 * NS_PER_SECOND
    if not _INT64_MIN <= ns <= _INT64_MAX:
        raise ValueError(f"timestamp out of range: {_shown(text)}")
    return ns


def format_ns(ns: int) -> str:
    """Format integer nanoseconds as ``2024-08-01T13:36:32.491911683Z`` (always nine digits)."""
    days, rest = divmod(int(ns), NS_PER_DAY)
    date = _dt.date.fromordinal(days + _EPOCH_ORDINAL)
    seconds, fraction = divmod(rest, NS_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{date.isoformat()}T{hour:02d}:{minute:02d}:{second:02d}.{fraction:09d}Z"


def day_start_ns(ns: int) -> int:
    """Return midnight UTC of the day that contains ``ns``."""
    return (int(ns) // NS_PER_DAY) * NS_PER_DAY


def parse_window_bound(text: str | int, day_ns: int | None) -> int:
    """Parse one end of a time window to integer nanoseconds, UTC.

    Parameters
    ----------
    text
        A full timestamp (anything ``parse_ns`` accepts), an ``int`` of
        nanoseconds, or a time of day ``HH:MM[:SS[.fffffffff]]``.
    day_ns
        Any instant of the UTC day a time of day refers to (the data's first
        ``ts_event``); only needed for a time of day.

    Raises
    ------
    ValueError
        When ``text`` has none of these forms, or is a time of day and
        ``day_ns`` is ``None``.
    """
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        return int(text)
    if not isinstance(text, str):
        raise ValueError(f"window bound must be a string or int, not {type(text).__name__}")
    stripped = text.strip()
    match = _TIME_OF_DAY.fullmatch(stripped)
    if match is not None:
        if day_ns is None:
            raise ValueError(f"time of day {_shown(text)} needs a day: give a full timestamp")
        hour, minute = int(match.group(1)), int(match.group(2))
        second = int(match.group(3) or 0)
        return day_start_ns(day_ns) + _clock_ns(hour, minute, second, match.group(4), text)
    try:
        return parse_ns(stripped)
    except ValueError:
        raise ValueError(
            f"cannot read window bound {_shown(text)}: expected an ISO-8601 timestamp, "
            "a time of day HH:MM[:SS[.fffffffff]] or integer nanoseconds"
        ) from None


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    # Proleptic Gregorian day count, all integer (H. Hinnant's well-known derivation);
    # callers keep year >= 1 so floor division matches the textbook form.
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    mp = np.where(month > 2, month - 3, month + 9)
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
# Where the fixed characters of YYYY-MM-DDTHH:MM:SS sit, and which are digits.
_SEPARATORS = {4: ord("-"), 7: ord("-"), 10: ord("T"), 13: ord(":"), 16: ord(":")}
_DIGITS = [i for i in range(19) if i not in _SEPARATORS]
_FRACTION_POW = 10 ** np.arange(8, -1, -1, dtype=np.int64)


def parse_ns_matrix(cells: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse canonical ISO timestamps held as a zero-padded byte matrix, vectorized.

    Parameters
    ----------
    cells
        ``uint8`` array of shape ``(n, width)``: row ``i`` holds the bytes of one
        cell, padded with zeros after ``lengths[i]``.
    lengths
        Byte length of each cell.

    Returns
    -------
    tuple of numpy.ndarray
        ``(ns, ok)``: nanoseconds (int64, 0 where not ok) and a mask of the
        cells in the form ``YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`` with years
        1970-2261 and a valid date and time. Cells not ok may still be valid
        in another form: hand them to ``parse_ns``.
    """
    n = cells.shape[0]
    if cells.ndim != 2 or cells.shape[1] < 20:
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    m = cells[:, :30].astype(np.int64)
    if m.shape[1] < 30:
        m = np.pad(m, ((0, 0), (0, 30 - m.shape[1])))
    lengths = np.asarray(lengths, dtype=np.int64)
    ok = (lengths == 20) | ((lengths >= 22) & (lengths <= 30))
    for pos, char in _SEPARATORS.items():
        ok &= m[:, pos] == char
    head = m[:, _DIGITS] - 48
    ok &= ((head >= 0) & (head <= 9)).all(axis=1)
    rows = np.arange(n)
    last = np.clip(lengths - 1, 0, 29)
    ok &= m[rows, last] == ord("Z")
    ok &= (lengths == 20) | (m[:, 19] == ord("."))
    # Fraction digits occupy 20 .. length-2; anything after is 'Z' or padding.
    frac = m[:, 20:29] - 48
    in_frac = np.arange(20, 29)[None, :] < (lengths - 1)[:, None]
    ok &= ~(in_frac & ((frac < 0) | (frac > 9))).any(axis=1)
    frac_ns = (np.where(in_frac, frac, 0) * _FRACTION_POW).sum(axis=1)

    year = head[:, 0] * 1000 + head[:, 1] * 100 + head[:, 2] * 10 + head[:, 3]
    month = head[:, 4] * 10 + head[:, 5]
    day = head[:, 6] * 10 + head[:, 7]
    hour = head[:, 8] * 10 + head[:, 9]
    minute = head[:, 10] * 10 + head[:, 11]
    second = head[:, 12] * 10 + head[:, 13]
    ok &= (year >= 1970) & (year <= 2261) & (month >= 1) & (month <= 12)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = _MONTH_DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    ok &= (day >= 1) & (day <= month_days) & (hour <= 23) & (minute <= 59) & (second <= 59)

    safe_year = np.where(ok, year, 1970)
    safe_month = np.where(ok, month, 1)
    safe_day = np.where(ok, day, 1)
    days = _days_from_civil(safe_year, safe_month, safe_day)
    seconds = days * 86_400 + hour * 3600 + minute * 60 + second
    ns = np.where(ok, seconds * NS_PER_SECOND + frac_ns, 0)
    return ns.astype(np.int64), ok
