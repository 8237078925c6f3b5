"""What the Kafka consumer tells its user while it works: the run it reads, warnings, what it waits for.

Lines go to standard error (looked up at each write, so a caller that swaps it sees
them). A status (what the consumer waits for) is one line kept up to date on a
terminal, and one line every ``every_s`` seconds otherwise, so a log stays short.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

#: Seconds between two status lines when standard error is not a terminal.
STATUS_EVERY_S = 10.0
_TTY_EVERY_S = 0.2


class Notices:
    """A sink for the consumer's messages: ``say`` and ``warn`` print a line, ``status`` a throttled one.

    Parameters
    ----------
    stream
        Where lines go; standard error (at the time of writing) when None.
    every_s
        Seconds between two status lines on a stream that is not a terminal.
    tty
        Force terminal (True) or log (False) behaviour; by default asked of the stream.
    clock
        Monotonic seconds, for tests.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        every_s: float = STATUS_EVERY_S,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._stream = stream
        self.every_s = every_s
        self._tty = tty
        self.clock = clock
        self._last_status = clock()
        self._line_shown = False

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def _is_tty(self) -> bool:
        if self._tty is not None:
            return self._tty
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def _clear(self) -> None:
        if self._line_shown:
            self.stream.write("\r\x1b[K")
            self._line_shown = False

    def say(self, message: str) -> None:
        """Print one line (``kafka: message``)."""
        self._clear()
        self.stream.write(f"kafka: {message}\n")
        self.stream.flush()
        self._last_status = self.clock()

    def warn(self, message: str) -> None:
        """Print one warning line."""
        self.say(f"warning: {message}")

    def status(self, message: str) -> None:
        """Show what the consumer is waiting for: in place on a terminal, else every ``every_s`` s."""
        now = self.clock()
        if self._is_tty():
            if now - self._last_status < _TTY_EVERY_S and self._line_shown:
                return
            self.stream.write(f"\r\x1b[Kkafka: {message}")
            self._line_shown = True
        else:
            if now - self._last_status < self.every_s:
                return
            self.stream.write(f"kafka: {message}\n")
        self.stream.flush()
        self._last_status = now

    def done(self) -> None:
        """Take a terminal's status line away (call when the waiting is over)."""
        if self._line_shown:
            self._clear()
            self.stream.flush()


class Silent(Notices):
    """Notices that go nowhere (for callers that report on their own)."""

    def say(self, message: str) -> None:
        pass

    def status(self, message: str) -> None:
        pass
