"""Text bound for a terminal: control characters shown as escapes, never sent raw.

A strategy name, a file name or a field in a result can hold anything a file can,
including the escape codes that move a terminal's cursor, retitle its window or
hide text. ``sor`` keeps such text exact in the JSON it writes and shows it on a
terminal only through :func:`clean`, which also keeps every message on one line.
"""

from __future__ import annotations

import re
from typing import Any

import click

# C0 and C1 controls, DEL, zero-width and bidirectional marks, line and paragraph
# separators, the byte-order mark: characters that change how text is shown
# rather than being shown.
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    return ascii(match.group())[1:-1]


def clean(text: object) -> str:
    """Return ``str(text)`` with every control character written as an escape, on one line.

    ``"a\\x1b[2Jb"`` becomes ``"a\\\\x1b[2Jb"`` and a newline becomes ``"\\\\n"``;
    printable text, including non-ASCII letters, is unchanged.
    """
    return _HIDDEN.sub(_escape, str(text))


class CleanErrors(click.Group):
    """A command group whose errors reach the terminal cleaned (see :func:`clean`) and on one line.

    Every ``click.ClickException`` raised by a subcommand (its own one-line
    errors, and click's errors about its arguments) has its message cleaned, so
    no message can carry escape codes or span lines. A usage error keeps its
    exit status (2) but is shown as one line that points at ``--help``, in place
    of click's usage block.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _OneLineUsage(clean(exc.format_message()), exc.ctx) from None
        except click.ClickException as exc:
            exc.message = clean(exc.message)
            raise


class _OneLineUsage(click.UsageError):
    def show(self, file: Any = None) -> None:
        hint = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        click.echo(f"Error: {self.message}{hint}", file=file, err=file is None)
