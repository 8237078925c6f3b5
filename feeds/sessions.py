"""Trading sessions of a batch download: the previous session's file and a symbol's volume in it.

A Databento batch download split by day names each file with its date
(``dbeq-basic-20240801.tbbo.dbn.zst``). The *previous session* of a file is the file
beside it whose name differs only in an earlier eight-digit date, the latest such:
weekends and holidays have no file, so they are skipped without a calendar.

A symbol's traded volume in a session is the sum of the sizes of its trade records
(action ``T``, every venue of the file, every print including several at one
instant, before any snapshot rule) whose ``ts_event`` falls in the regular session
of that day, 09:30 to 16:00 New York time (13:30-20:00 UTC in summer, 14:30-21:00 in
winter), start inclusive, end exclusive. Pre-market and after-hours prints are left
out: they are thin and sparse, and an order sized from them would not match the
hours a study trades in. It is the volume on the file's venues, not the consolidated
tape's.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from feeds.errors import FeedError
from feeds.timeparse import format_ns

_DATE = re.compile(r"(?<!\d)(\d{8})(?!\d)")
REGULAR_OPEN = dt.time(9, 30)
REGULAR_CLOSE = dt.time(16, 0)
EXCHANGE_ZONE = "America/New_York"
_TRADE = ord("T")


@attrs.frozen
class SessionVolume:
    """A symbol's traded volume in one session's file: where, when, how many shares in how many prints."""

    file: str
    symbol: str
    instrument_id: int | None
    session: str
    start: str
    end: str
    shares: int
    trades: int

    def as_json(self) -> dict[str, object]:
        """Return the fields for a result's ``order`` block."""
        return attrs.asdict(self)


def session_date(path: str | os.PathLike) -> dt.date | None:
    """Return the date in a file's name (its one eight-digit ``YYYYMMDD`` run), or ``None``."""
    found = [m for m in _DATE.finditer(Path(path).name) if _as_date(m.group(1)) is not None]
    return _as_date(found[-1].group(1)) if len(found) == 1 else None


def _as_date(text: str) -> dt.date | None:
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def previous_session_file(path: str | os.PathLike) -> Path:
    """Return the file of the session before ``path``'s, beside it (see the module docstring).

    Raises
    ------
    FeedError
        When ``path``'s name has no date, or no file of an earlier date is beside it.
    """
    path = Path(path)
    source = str(path)
    day = session_date(path)
    if day is None:
        raise FeedError(
            source,
            "volume_fraction needs the previous session's file, found by the date in the file name "
            "(YYYYMMDD, as a Databento batch download names its daily files); this name has none",
        )
    match = next(m for m in _DATE.finditer(path.name) if _as_date(m.group(1)) == day)
    prefix, suffix = path.name[: match.start()], path.name[match.end() :]
    earlier = []
    try:
        siblings = list(path.parent.iterdir())
    except OSError as exc:
        raise FeedError(source, f"cannot list the folder for the previous session: {exc.strerror}") from None
    for other in siblings:
        name = other.name
        if not (name.startswith(prefix) and name.endswith(suffix)) or len(name) != len(path.name):
            continue
        other_day = _as_date(name[len(prefix) : len(prefix) + 8])
        if other_day is not None and other_day < day and other.is_file():
            earlier.append((other_day, other))
    if not earlier:
        raise FeedError(
            source,
            f"no previous session's file beside it (looked for {prefix}YYYYMMDD{suffix} before "
            f"{day:%Y%m%d}): volume_fraction needs the volume of the session before this one",
        )
    return max(earlier)[1]


def regular_session_ns(day: dt.date) -> tuple[int, int]:
    """Return ``[open, close)`` of the regular session on ``day`` as UTC nanoseconds."""
    try:
        zone = ZoneInfo(EXCHANGE_ZONE)
    except ZoneInfoNotFoundError:
        raise FeedError(EXCHANGE_ZONE, "no time-zone data on this system: pip install tzdata") from None
    bounds = []
    for moment in (REGULAR_OPEN, REGULAR_CLOSE):
        local = dt.datetime.combine(day, moment, tzinfo=zone)
        bounds.append(int(local.timestamp()) * 1_000_000_000)
    return bounds[0], bounds[1]


def session_volume(
    path: str | os.PathLike, *, symbol: str | None = None, instrument_id: int | None = None
) -> SessionVolume:
    """Sum a symbol's regular-session trade sizes in one session's file (see the module docstring).

    The symbol is looked up in that file's own symbology, so an instrument id that
    changed between days is followed. ``instrument_id`` is used when no symbol is given.
    """
    from feeds.file_feed import FileFeed
    from feeds.sources import _file_reader

    source = os.fspath(path)
    day = session_date(path)
    if day is None:
        raise FeedError(source, "the file name has no date (YYYYMMDD): its session is unknown")
    start, end = regular_session_ns(day)
    reader = _file_reader(source)
    feed = FileFeed(reader, symbol=symbol, instrument_id=None if symbol else instrument_id)
    shares = trades = 0
    for block, _ in feed.instrument_blocks():
        cols = block.columns
        ts = cols["ts_event"]
        pick = (cols["action"] == _TRADE) & (ts >= start) & (ts < end) & (cols["size"] > 0)
        shares += int(cols["size"][pick].sum())
        trades += int(pick.sum())
    name, ids = feed.instrument
    return SessionVolume(
        file=source,
        symbol=name,
        instrument_id=ids[0] if len(ids) == 1 else None,
        session=day.isoformat(),
        start=format_ns(start),
        end=format_ns(end),
        shares=shares,
        trades=trades,
    )


def previous_session_volume(
    path: str | os.PathLike, *, symbol: str | None = None, instrument_id: int | None = None
) -> SessionVolume:
    """Return the symbol's volume in the session before ``path``'s (no look-ahead into ``path``)."""
    return session_volume(previous_session_file(path), symbol=symbol, instrument_id=instrument_id)
