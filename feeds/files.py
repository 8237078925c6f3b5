"""Open a data file for reading, refusing what is not a regular file before reading a byte.

A path named ``.csv`` or ``.dbn`` may be a directory, a FIFO, a device such as
``/dev/zero`` or a socket. Reading one of those blocks forever or never ends, so
each gets a one-line ``FeedError`` saying what it is, at once. The file is opened
non-blocking (a FIFO swapped in after the check cannot hang the open) and checked
again on the open descriptor.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from feeds.errors import FeedError


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a data file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a data file: sor reads regular files only"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a data file: sor reads regular files only"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a data file"
    return "is not a regular file"


def check_regular(path: str | os.PathLike, source: str) -> os.stat_result:
    """Return the file's ``stat`` if ``path`` is a regular file, else raise ``FeedError`` saying why."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FeedError(source, "no such file") from None
    except NotADirectoryError:
        raise FeedError(source, "no such file (a part of the path is not a directory)") from None
    except OSError as exc:
        raise FeedError(source, f"cannot read the file: {exc.strerror or exc}") from None
    problem = _kind(info.st_mode)
    if problem:
        raise FeedError(source, problem)
    return info


def open_regular(path: str | os.PathLike, source: str) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file (see the module docstring)."""
    check_regular(path, source)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FeedError(source, "no such file") from None
    except OSError as exc:
        raise FeedError(source, f"cannot read the file: {exc.strerror or exc}") from None
    problem = _kind(os.fstat(fd).st_mode)
    if problem:
        os.close(fd)
        raise FeedError(source, problem)
    return os.fdopen(fd, "rb")


def identity(path: str | os.PathLike) -> tuple[str, int, int, int, int]:
    """Return what tells one version of a file from another: real path, device, inode, size, mtime."""
    info = os.stat(path)
    return (os.path.realpath(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
