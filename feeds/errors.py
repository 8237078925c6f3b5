"""The one error type every feed raises for bad input."""

from __future__ import annotations


class FeedError(ValueError):
    """Bad market data: says which file, row and field, in one line.

    ``row`` counts data rows from 1 (the header is not a row); ``None`` when
    the problem is with the file as a whole (a missing column, say).
    """

    def __init__(self, source: str, message: str, row: int | None = None, field: str | None = None):
        self.source = source
        self.row = row
        self.field = field
        self.message = message
        where = source
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")
