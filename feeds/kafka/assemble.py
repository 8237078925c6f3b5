"""Snapshots of a run put back in ``seq`` order, duplicates dropped, in a window of bounded size.

Messages arrive from several partitions in any interleaving; each row carries its
global ``seq``. ``SeqWindow`` holds the rows ``[base, base + capacity)`` in
preallocated columns, marks which are filled, and hands out the contiguous prefix.
With ``capacity`` equal to the run's count it is the whole run, written in place.
"""

from __future__ import annotations

import numpy as np

from feeds.kafka import schema

_FLAT = tuple(name for name in schema.FIELDS if name not in schema.BOOK)


class SeqWindow:
    """Rows ``base .. base + capacity - 1`` of a run, filled as messages arrive (see the module docstring)."""

    def __init__(self, capacity: int, levels: int):
        self.capacity = max(int(capacity), 1)
        self.levels = levels
        self.base = 0
        self.columns = {name: np.zeros(self.capacity, dtype=np.int64) for name in _FLAT}
        self.columns |= {name: np.zeros((self.capacity, levels), dtype=np.int64) for name in schema.BOOK}
        self.filled = np.zeros(self.capacity, dtype=bool)
        self.ready = 0  # rows [0, ready) of the window are filled
        self.duplicates = 0
        self.received = 0  # distinct rows placed so far, over the whole run

    def fits(self, msg: schema.Snapshots) -> bool:
        """Return whether every row of ``msg`` is below the window's end (or already behind it)."""
        return int(msg.seq.max()) < self.base + self.capacity

    def place_fitting(self, msg: schema.Snapshots) -> schema.Snapshots | None:
        """Place the rows of ``msg`` that fit the window; return the others (None when all fit)."""
        if self.fits(msg):
            self.place(msg)
            return None
        fit = msg.seq < self.base + self.capacity
        if fit.any():
            self.place(schema.Snapshots(msg.run, {k: v[fit] for k, v in msg.columns.items()}))
        rest = ~fit
        return schema.Snapshots(msg.run, {k: v[rest] for k, v in msg.columns.items()})

    def place(self, msg: schema.Snapshots) -> None:
        """Write the rows of ``msg`` (which must fit); a row already there or behind counts as a duplicate."""
        pos = msg.seq - self.base
        fresh = pos >= 0
        fresh[fresh] = ~self.filled[pos[fresh]]
        if not fresh.all():
            # Two copies inside one message also count: keep the first.
            self.duplicates += int((~fresh).sum())
        if not fresh.any():
            return
        if not fresh.all():
            msg_cols = {name: col[fresh] for name, col in msg.columns.items()}
            pos = pos[fresh]
        else:
            msg_cols = msg.columns
        uniq, first = np.unique(pos, return_index=True)
        if len(uniq) != len(pos):
            self.duplicates += len(pos) - len(uniq)
            msg_cols = {name: col[first] for name, col in msg_cols.items()}
            pos = uniq
        for name in _FLAT:
            self.columns[name][pos] = msg_cols[name]
        for name in schema.BOOK:
            col = msg_cols[name]
            width = col.shape[1]
            if width == self.levels:
                self.columns[name][pos] = col
            else:
                # A book narrower (or wider) than the run's: empty levels pad, extra ones go.
                keep = min(width, self.levels)
                self.columns[name][pos, :keep] = col[:, :keep]
        self.filled[pos] = True
        self.received += len(pos)
        if self.filled[self.ready : self.ready + 1].all():
            rest = self.filled[self.ready :]
            gap = np.flatnonzero(~rest)
            self.ready += int(gap[0]) if len(gap) else len(rest)

    def take(self, n: int) -> dict[str, np.ndarray]:
        """Remove the first ``n`` ready rows from the window and return them as columns."""
        n = min(n, self.ready)
        if n == self.capacity:
            out = self.columns
            self.columns = {name: np.zeros_like(col) for name, col in out.items()}
        else:
            out = {name: col[:n].copy() for name, col in self.columns.items()}
            for col in self.columns.values():
                col[: self.capacity - n] = col[n:]
                col[self.capacity - n :] = 0
        self.filled[: self.capacity - n] = self.filled[n:]
        self.filled[self.capacity - n :] = False
        self.base += n
        self.ready -= n
        return out

    def grow(self, capacity: int) -> None:
        """Make room for ``capacity`` rows (never less than now)."""
        extra = capacity - self.capacity
        if extra <= 0:
            return
        for name, col in self.columns.items():
            self.columns[name] = np.concatenate([col, np.zeros((extra, *col.shape[1:]), dtype=np.int64)])
        self.filled = np.concatenate([self.filled, np.zeros(extra, dtype=bool)])
        self.capacity = capacity

    def seen(self) -> np.ndarray:
        """Return the distinct seqs held in the window (for a gap report)."""
        return self.base + np.flatnonzero(self.filled)
