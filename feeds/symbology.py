"""Which instrument a file's rows belong to, and choosing one: symbols and instrument ids.

Real Databento files usually hold many instruments. A file's own symbology says
which ``instrument_id`` is which symbol:

- a DBN file's metadata mappings (``raw_symbol`` -> ``instrument_id`` per date
  range, as every historical download carries them);
- else a batch download's ``symbology.json`` beside the file (same content, as the
  ``result`` table);
- a CSV's ``symbol`` column (and ``instrument_id`` column, if present), row by row.

A mapping's date range ``[d0, d1)`` must overlap the file's time span to count.
``select`` turns a scenario's ``symbol = "RIOT"`` or ``instrument_id = N`` into the
instrument ids to keep, with one-line errors for a symbol or id the file does not
hold, a file with several instruments and no choice, and a symbol asked of a file
without symbology.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from feeds.errors import FeedError
from feeds.timeparse import NS_PER_DAY

SYMBOLOGY_FILE = "symbology.json"
# A listing in an error message names at most this many symbols.
_LISTED = 30


@attrs.frozen
class Symbology:
    """Instrument id -> symbol for one file's time span, and where that knowledge came from."""

    symbols: dict[int, str] = attrs.field(factory=dict)
    origin: str = ""

    def ids_of(self, symbol: str) -> tuple[int, ...]:
        """Return the instrument ids mapped to ``symbol``, ascending (several if the id changed)."""
        return tuple(sorted(i for i, s in self.symbols.items() if s == symbol))

    def name(self, instrument_id: int) -> str:
        """Return the symbol of ``instrument_id``, or its number as text when unmapped."""
        return self.symbols.get(int(instrument_id), str(int(instrument_id)))


@attrs.frozen
class Selection:
    """The instrument chosen from a file: its ids (``None`` when the file has none) and its symbol.

    ``keys`` are the per-row instrument keys to keep: the ids, or for a CSV without
    an ``instrument_id`` column the numbers its reader gave the symbols.
    """

    instrument_ids: tuple[int, ...] | None
    symbol: str = ""
    keys: tuple[int, ...] = ()

    def meta(self) -> dict[str, object]:
        """Return the ``meta`` entries naming the instrument (for the result's ``data`` block)."""
        if not self.instrument_ids:
            return {}
        ids = self.instrument_ids
        return {"instrument_id": ids[0] if len(ids) == 1 else list(ids)}


def _date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _overlaps(d0: object, d1: object, start_ns: int | None, end_ns: int | None) -> bool:
    # Mapping dates are UTC days, d1 exclusive; a span without bounds overlaps everything.
    lo = (_date(d0) - dt.date(1970, 1, 1)).days * NS_PER_DAY
    hi = (_date(d1) - dt.date(1970, 1, 1)).days * NS_PER_DAY
    if start_ns is not None and hi <= start_ns:
        return False
    return not (end_ns is not None and lo >= end_ns)


def _build(
    entries: Iterable[tuple[str, object, object, str]],
    stype_in: str,
    start_ns: int | None,
    end_ns: int | None,
) -> dict[int, str]:
    # entries: (key, d0, d1, mapped value). By instrument id the key is the id, else the symbol.
    symbols: dict[int, str] = {}
    by_id = stype_in == "instrument_id"
    for key, d0, d1, value in entries:
        if not _overlaps(d0, d1, start_ns, end_ns):
            continue
        ident, name = (key, value) if by_id else (value, key)
        if str(ident).isdigit() and name:
            symbols.setdefault(int(ident), str(name))
    return symbols


def from_dbn_metadata(metadata, start_ns: int | None, end_ns: int | None) -> Symbology:
    """Read the mappings of a decoded ``databento_dbn.Metadata`` (empty when it has none)."""
    mappings: Mapping = getattr(metadata, "mappings", None) or {}
    stype_in = str(getattr(metadata, "stype_in", "") or "")
    entries = [
        (str(key), m["start_date"], m["end_date"], str(m["symbol"]))
        for key, intervals in mappings.items()
        for m in intervals
    ]
    return Symbology(_build(entries, stype_in, start_ns, end_ns), "the DBN metadata")


def from_symbology_json(path: Path, start_ns: int | None, end_ns: int | None, source: str) -> Symbology:
    """Read a batch download's ``symbology.json``; raise ``FeedError`` when it cannot be read."""
    shown = f"{source}: {path.name} beside it"
    try:
        if path.stat().st_size > 64 * 2**20:
            raise FeedError(shown, "larger than 64 MiB: not a symbology file")
        raw = json.loads(path.read_text(encoding="utf-8"))
        result = raw["result"]
        stype_in = str(raw.get("stype_in", "raw_symbol"))
        entries = [
            (str(key), m["d0"], m["d1"], str(m["s"])) for key, intervals in result.items() for m in intervals
        ]
        return Symbology(_build(entries, stype_in, start_ns, end_ns), f"{path.name} beside the file")
    except FeedError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FeedError(shown, f"cannot read it: {type(exc).__name__}") from None
    except (KeyError, TypeError, AttributeError, ValueError):
        raise FeedError(
            shown, "not a Databento symbology file (expected result: {symbol: [{d0, d1, s}]})"
        ) from None


def for_dbn(
    metadata, path: str | os.PathLike, start_ns: int | None, end_ns: int | None, source: str
) -> Symbology:
    """Return a DBN file's symbology: its metadata mappings, else ``symbology.json`` beside it."""
    found = from_dbn_metadata(metadata, start_ns, end_ns)
    if found.symbols:
        return found
    beside = Path(path).resolve().parent / SYMBOLOGY_FILE
    if beside.is_file():
        return from_symbology_json(beside, start_ns, end_ns, source)
    return Symbology({}, "")


def listing(names: Iterable[str], *, ordered: bool = False) -> str:
    """Return names for a message: sorted (unless ``ordered``), comma-separated, a few dozen at most."""
    seen = dict.fromkeys(name or "(no symbol)" for name in names)
    unique = list(seen) if ordered else sorted(seen)
    shown = ", ".join(unique[:_LISTED])
    if len(unique) > _LISTED:
        shown += f", ... ({len(unique)} in all)"
    return shown


def select(
    symbology: Symbology,
    present: Iterable[int],
    source: str,
    *,
    symbol: str | None = None,
    instrument_id: int | None = None,
    ids_are_real: bool = True,
) -> Selection:
    """Choose the instrument ids to keep among those ``present`` in the file.

    Raises
    ------
    FeedError
        When both or neither selector is needed and the choice is wrong: a symbol
        or id not in the file, a symbol asked of a file without symbology, or
        several instruments and no selection (the message lists them).

    ``ids_are_real=False`` says the keys in ``present`` only number the symbols of a
    CSV without an ``instrument_id`` column: choosing by id is then an error, and
    the selection names no id.
    """
    ids = sorted({int(i) for i in present})
    names = [symbology.name(i) for i in ids]
    if symbol is not None and instrument_id is not None:
        raise FeedError(source, "give symbol or instrument_id, not both")
    if instrument_id is not None:
        if not ids_are_real:
            raise FeedError(source, "cannot choose by instrument_id: the file has no instrument_id column")
        if int(instrument_id) not in ids:
            raise FeedError(
                source,
                f"instrument_id {instrument_id} is not in the file "
                f"(instrument ids: {listing((str(i) for i in ids), ordered=True) or 'none'})",
            )
        chosen = (int(instrument_id),)
        return Selection(chosen, symbology.symbols.get(chosen[0], ""), chosen)
    if symbol is not None:
        if not any(symbology.symbols.values()):
            shown = listing((str(i) for i in ids), ordered=True)
            raise FeedError(
                source,
                f"cannot find symbol {symbol!r}: the file names no symbols (a DBN file: no symbol "
                f"mappings in its metadata and no {SYMBOLOGY_FILE} beside it; a CSV: no symbol column); "
                f"choose by instrument_id (ids: {shown})",
            )
        chosen = tuple(i for i in symbology.ids_of(symbol) if i in ids)
        if not chosen:
            raise FeedError(
                source, f"symbol {symbol!r} is not in the file (symbols: {listing(names) or 'none'})"
            )
        return Selection(chosen if ids_are_real else None, symbol, chosen)
    if len(ids) > 1:
        raise FeedError(
            source,
            f'the file holds {len(ids)} instruments: choose one with [data] symbol = "..." '
            f"or instrument_id = N (symbols: {listing(names)})",
        )
    name = symbology.symbols.get(ids[0], "") if ids else ""
    return Selection(tuple(ids) if ids_are_real and ids else None, name, tuple(ids))
