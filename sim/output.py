"""Writing files safely: a fresh, uniquely named file beside the target, renamed into place.

Every file ``sor`` writes (the result JSON, the report's figures and page, a
synthetic CSV) goes through :func:`atomic_open`, which keeps these rules:

- A target that exists and is not a regular file (a symlink, a directory, a
  device such as ``/dev/null``, a FIFO) is refused: never written through,
  never replaced.
- The bytes go to a new file with a random name in the target's folder, created
  exclusively (``O_CREAT | O_EXCL``, which never follows a symlink), so two
  writers never share one and nobody can plant a link where it will be opened.
- That file is flushed to disk and renamed over the target only once everything
  is written; on any failure it is removed and the target is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


class OutputError(OSError):
    """A file that could not be written safely; the message is one line naming it."""


_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """Name what a ``st_mode`` is (``"a regular file"``, ``"a FIFO"``, ...)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_target(path: str | os.PathLike) -> Path:
    """Return ``path`` as a ``Path``; refuse it when it exists and is not a regular file.

    Raises
    ------
    OutputError
        When ``path`` is a symlink (even to a regular file), a directory, a
        device, a FIFO or a socket, or cannot be looked at.
    """
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise OutputError(f"{path}: refusing to write: it is {file_kind(mode)}, not a regular file")
    return path


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike, mode: str = "w", *, encoding: str | None = "utf-8", newline: str | None = None
) -> Iterator[IO[Any]]:
    """Open a new temporary file beside ``path``; on a clean exit, rename it to ``path``.

    Parameters
    ----------
    path
        The file to create or replace. Its folder must exist.
    mode
        ``"w"`` for text or ``"wb"`` for bytes.
    encoding, newline
        As for ``open`` (text mode only).

    Raises
    ------
    OutputError
        When the target is refused (see :func:`check_target`) or writing fails
        (a full disk, no permission); the target is then untouched and the
        temporary file removed.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes only 'w' or 'wb', not {mode!r}")
    path = check_target(path)
    folder = path.parent
    # A short prefix keeps the temporary name within the file system's name limit.
    prefix = f".{path.name[:80]}."
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    text = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
    try:
        with os.fdopen(fd, mode, **text) as fh:
            os.fchmod(fh.fileno(), _mode_for(path))
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        # Refuse a non-file that appeared at the target while we wrote (rename
        # would replace a link or a device node rather than write through it).
        check_target(path)
        os.replace(tmp, path)
    except OutputError:
        _discard(tmp)
        raise
    except OSError as exc:
        _discard(tmp)
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        _discard(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_open`."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_open`."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def remove(path: str | os.PathLike) -> None:
    """Remove the regular file ``path`` if it exists; refuse anything else, as a write would."""
    path = check_target(path)
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot remove: {exc.strerror or exc}") from None


def _discard(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _mode_for(path: Path) -> int:
    # Keep a replaced file's permissions; a new file gets what open() would give it.
    try:
        return stat.S_IMODE(os.lstat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
