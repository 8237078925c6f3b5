"""Resolve a data source spec (a path, ``synthetic:...`` or ``kafka://...``) to ``MarketData``.

Specs:

- ``path/to/file.csv`` -> ``feeds.databento_csv.read_csv``;
- ``path/to/file.dbn`` or ``.dbn.zst`` -> ``feeds.dbn.read_dbn``;
- ``synthetic:`` or ``synthetic:venues=3,seconds=522,seed=7`` (any ``SynthConfig``
  field) -> ``feeds.synthetic.generate``;
- ``kafka://...`` -> ``feeds.kafka.consumer.read_topic(spec, start, end)``.

``start``/``end`` bound ``ts_event`` (inclusive): integer nanoseconds, a full
ISO-8601 timestamp, or a time of day (``"13:36:32"``) on the UTC day of the
data's first row.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import attrs

from feeds.databento_csv import read_csv
from feeds.dbn import read_dbn
from feeds.errors import FeedError
from feeds.market import MarketData
from feeds.synthetic import SynthConfig, generate
from feeds.timeparse import parse_window_bound

SYNTHETIC_PREFIX = "synthetic:"
KAFKA_PREFIX = "kafka://"


def load_source(
    spec: str | os.PathLike, start: str | int | None = None, end: str | int | None = None
) -> MarketData:
    """Load market data from a source spec, cut to the ``[start, end]`` window.

    Parameters
    ----------
    spec
        A CSV or DBN path, ``synthetic:key=value,...`` or ``kafka://...``.
    start, end
        Window bounds on ``ts_event``, inclusive; ``None`` leaves a side open.

    Raises
    ------
    FeedError
        When a file is missing or holds bad data.
    ValueError
        When the spec or a window bound cannot be understood (the message names
        the unknown key or the bad value).
    """
    spec = os.fspath(spec)
    if spec.startswith(KAFKA_PREFIX):
        consumer = importlib.import_module("feeds.kafka.consumer")
        return consumer.read_topic(spec, start, end)
    if spec.startswith(SYNTHETIC_PREFIX):
        return _window(generate(synth_config(spec)), start, end)
    lower = spec.lower()
    if lower.endswith(".csv"):
        reader = read_csv
    elif lower.endswith((".dbn", ".dbn.zst")):
        reader = read_dbn
    else:
        raise ValueError(
            f"unknown data source {spec!r}: expected a .csv, .dbn or .dbn.zst file, "
            "'synthetic:key=value,...' or 'kafka://...'"
        )
    if not Path(spec).is_file():
        raise FeedError(spec, "no such file")
    if _is_time_of_day(start) or _is_time_of_day(end):
        # A time of day needs the data's day, so read first and cut after.
        return _window(reader(spec), start, end)
    return reader(spec, _bound(start, None), _bound(end, None))


def synth_config(spec: str) -> SynthConfig:
    """Build a ``SynthConfig`` from ``synthetic:key=value,...``; reject unknown keys by name."""
    body = spec[len(SYNTHETIC_PREFIX) :] if spec.startswith(SYNTHETIC_PREFIX) else spec
    fields = attrs.fields_dict(SynthConfig)
    values: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in body.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"synthetic source: expected key=value, got {item!r}")
        if key not in fields:
            known = ", ".join(fields)
            raise ValueError(f"synthetic source: unknown key {key!r} (known keys: {known})")
        if key in values:
            raise ValueError(f"synthetic source: key {key!r} given twice")
        try:
            values[key] = fields[key].converter(value.strip())
        except (TypeError, ValueError):
            raise ValueError(f"synthetic source: bad value for {key!r}: {value.strip()!r}") from None
    try:
        return SynthConfig(**values)
    except ValueError as exc:
        raise ValueError(f"synthetic source: {exc}") from None


def _is_time_of_day(bound: str | int | None) -> bool:
    return isinstance(bound, str) and ":" in bound and "-" not in bound and "T" not in bound.upper()


def _bound(bound: str | int | None, day_ns: int | None) -> int | None:
    return None if bound is None else parse_window_bound(bound, day_ns)


def _window(md: MarketData, start: str | int | None, end: str | int | None) -> MarketData:
    if start is None and end is None:
        return md
    day_ns = int(md.ts_event[0]) if len(md) else None
    return md.window(_bound(start, day_ns), _bound(end, day_ns))
