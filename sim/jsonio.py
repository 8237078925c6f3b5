"""Writing and reading result JSON with exact money and a byte-stable layout."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

from sim.output import write_text


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"refusing to write a non-finite number: {value}")
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"refusing to write a non-finite number: {value}")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _is_flat(value: Any) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, dict | list) for v in value.values())
    if isinstance(value, list):
        return all(not isinstance(v, dict | list) for v in value)
    return True


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(str(k))}: {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)


def dumps(value: Any, indent: int = 0) -> str:
    """Return ``value`` as JSON text: ``Decimal`` as exact plain numbers, NaN/Infinity refused.

    Keys keep their insertion order; lists of scalars and objects of scalars stay on one line.
    """
    pad = "  " * (indent + 1)
    end = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        if _is_flat(value) and len(value) <= 12:
            return _inline(value)
        items = [f"{pad}{_scalar(str(k))}: {dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if _is_flat(value):
            return _inline(value)
        items = [f"{pad}{dumps(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + end + "]"
    return _scalar(value)


def write_json(value: Any, path: str | Path) -> None:
    """Write ``value`` to ``path`` safely and atomically (see ``sim.output``).

    The text is built in full first, so a value that cannot be written (NaN, an
    unknown type) leaves any file already at ``path`` untouched.

    Raises
    ------
    OutputError
        When ``path`` is not a regular file or cannot be written.
    """
    write_text(path, dumps(value) + "\n")
