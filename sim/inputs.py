"""Reading the small files a person hands ``sor`` (a scenario, a result) in bounded memory.

:func:`read_text` refuses a regular file larger than its cap before reading it,
reads a pipe (``sor run <(make-scenario)``) only up to the cap and gives up on
one that stays silent for :data:`PIPE_IDLE_S`, and refuses anything else (a
directory, a device such as ``/dev/zero``, a socket) without reading it. Text
must be UTF-8.
:func:`check_depth` walks a parsed document without recursion and refuses one
nested deeper than a cap, so no later step can exhaust the stack.

Every error is an :class:`InputError` with a one-line message that does not
name the file: the caller adds the file, in its own error type.
"""

from __future__ import annotations

import os
import select
import stat
from collections.abc import Iterator
from typing import Any

from sim.output import file_kind

KIB = 1024
MIB = 1024 * KIB
#: Seconds a pipe may go without a byte (or a writer) before reading it gives up.
PIPE_IDLE_S = 30.0


class InputError(ValueError):
    """A file that cannot be read as the text of a document: missing, too large, not UTF-8, too deep."""


class NotUtf8(InputError):
    """A file whose bytes are not UTF-8 text."""


class TooDeep(InputError):
    """A document nested deeper than its cap; ``field`` is the dotted path of the first value too deep."""

    def __init__(self, field: str, limit: int):
        self.field = field
        self.limit = limit
        super().__init__(f"{field}: nested more than {limit} levels deep")


def size_text(n: int) -> str:
    """Say ``n`` bytes the way the caps are written (``"1 MiB"``, ``"64 MiB"``, ``"512 KiB"``)."""
    for unit, name in ((MIB, "MiB"), (KIB, "KiB")):
        if n >= unit and n % unit == 0:
            return f"{n // unit} {name}"
    return f"{n:,} bytes"


def read_text(path: str | os.PathLike, limit: int) -> str:
    """Return the UTF-8 text of ``path`` (a leading byte-order mark dropped), at most ``limit`` bytes.

    Raises
    ------
    InputError
        When the file is missing or unreadable, is not a regular file or a pipe,
        holds more than ``limit`` bytes, or is not UTF-8.
    """
    try:
        # Non-blocking so that opening a FIFO with no writer cannot hang.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb", buffering=0):
        info = os.fstat(fd)
        if stat.S_ISFIFO(info.st_mode):
            data = _read_at_most(fd, limit + 1, pipe=True)
        elif not stat.S_ISREG(info.st_mode):
            raise InputError(f"cannot read: it is {file_kind(info.st_mode)}, not a file")
        elif info.st_size > limit:
            raise InputError(f"is {info.st_size:,} bytes, more than the {size_text(limit)} a file may hold")
        else:
            data = _read_at_most(fd, limit + 1)
    if len(data) > limit:
        raise InputError(f"holds more than the {size_text(limit)} a file may hold")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        raise NotUtf8(f"not UTF-8 text: byte 0x{bad:02x} at offset {exc.start}") from None
    return text.removeprefix("\ufeff")


def _read_at_most(fd: int, n: int, *, pipe: bool = False) -> bytes:
    # A pipe was opened without blocking: wait for data (or the writer's end) at most
    # PIPE_IDLE_S at a time. Until a writer has come, Linux reports neither, so we wait.
    poller = select.poll() if pipe else None
    if poller is not None:
        poller.register(fd, select.POLLIN)
    chunks, got = [], 0
    while got < n:
        if poller is not None and not poller.poll(PIPE_IDLE_S * 1000):
            raise InputError(f"cannot read: the pipe sent nothing for {PIPE_IDLE_S:g} s")
        try:
            chunk = os.read(fd, min(n - got, MIB))
        except BlockingIOError:
            continue
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}") from None
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def check_depth(value: Any, limit: int) -> None:
    """Refuse ``value`` (parsed JSON or TOML) when lists and tables nest more than ``limit`` deep.

    The top-level table is depth 1. Walked without recursion, so any depth the
    parser accepted is measured safely.

    Raises
    ------
    TooDeep
        Naming the dotted path of the first value past the limit.
    """
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise TooDeep(_path_to_depth(value, limit + 1), limit)
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted path, value)`` for every scalar under ``value``, without recursion.

    Paths read like the file: ``strategies[0].params.bucket_s``.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict | list):
            stack.extend(reversed(_children(path, node)))
        else:
            yield path, node


def _children(path: str, node: dict | list) -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [(f"{path}.{key}" if path else str(key), child) for key, child in node.items()]
    return [(f"{path}[{i}]", child) for i, child in enumerate(node)]


def _path_to_depth(value: Any, depth: int) -> str:
    # Only reached on failure, so the path is built on a second walk, down to ``depth``.
    stack: list[tuple[str, Any, int]] = [("", value, 1)]
    while stack:
        path, node, level = stack.pop()
        if level == depth:
            return _short(path)
        stack.extend(
            (child_path, child, level + 1)
            for child_path, child in _children(path, node)
            if isinstance(child, dict | list)
        )
    return "(top level)"


def _short(path: str) -> str:
    return path if len(path) <= 120 else f"{path[:57]}...{path[-60:]}"
