"""The snapshot rules in streaming form: parsed rows in, chunks of ``MarketData`` out, memory bounded.

File readers parse their input in blocks of rows (``RawBlock``) and push them, in
file order, through one ``SnapshotStream``. It applies the rules of
``feeds.snapshot_rule`` exactly as a whole-file pass would, carrying what each rule
needs from one block to the next:

1. a venue's own ``ts_event`` must not decrease in file order (the last
   ``ts_event`` per venue is carried);
2. venues may interleave out of ``ts_event`` order, as in files Databento sorts by
   ``ts_recv``, by at most the *reorder window* (``reorder_ns``, default 2 s): a row
   more than that earlier than the newest row read before it is a ``FeedError``
   naming the row. Rows are replayed in ``ts_event`` order, ties in file order (a
   stable sort), which within the window is exactly the whole file sorted;
3. rows with a book that cannot be real are dropped and counted, each under the
   first reason that applies (see ``feeds.snapshot_rule``);
4. the first row per ``(ts_event, venue)`` is kept (the last kept ``ts_event`` per
   venue is carried), the rest count as ``duplicate_ts_venue``;
5. the window ``start <= ts_event <= end``, a time of day being read on the UTC day
   of the first snapshot; the rest count as ``outside_window``.

Rows wait in the reorder buffer until no later row can sort before them: every
row older than the newest minus the window, and, when the feed's venues are known
up front, every row older than the last row of the quietest venue. So the buffer
holds at most a window's worth of rows, and usually a few.

Chunks hold whole instants and about ``chunk_rows`` rows. Kept snapshots whose best
bid or best ask is empty (a TBBO record with no quote on that side) are counted in
``meta["empty_book_sides"]``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

import attrs
import numpy as np

from feeds.errors import FeedError
from feeds.feed import DEFAULT_CHUNK_ROWS, instant_cuts
from feeds.market import MarketData
from feeds.timeparse import NS_PER_SECOND, format_ns, parse_window_bound

#: How far out of ``ts_event`` order venues may interleave (the worst seen in the shared
#: 64-day DBEQ download is 0.32 s).
REORDER_NS = 2 * NS_PER_SECOND
ROW_COLUMNS = ("ts_event", "ts_recv", "venue", "action", "side", "price", "size")
BOOK_COLUMNS = ("bid_px", "bid_sz", "ask_px", "ask_sz")
_INT64_MIN = np.iinfo(np.int64).min
_INT64_MAX = np.iinfo(np.int64).max
# Drop reasons of rows whose book cannot be real, in the order they are tried.
BOOK_REASONS = ("nonpositive_price", "size_without_price", "nonpositive_size", "crossed_book")


@attrs.frozen(eq=False)
class RawBlock:
    """Parsed rows of one block of a file, in file order, before any rule.

    ``columns`` holds the ``ROW_COLUMNS`` (1-d int64), the ``BOOK_COLUMNS`` and the
    masks ``bid_present``/``ask_present`` (``(rows, levels)``); prices are in 1e-9
    units, absent levels may hold anything. ``row`` is each row's number in the file
    (from 1), for messages. ``instrument`` is each row's instrument key, if the file
    says; ``rounded`` counts price cells rounded onto the 1e-9 grid per row, if any.
    """

    columns: dict[str, np.ndarray]
    row: np.ndarray
    instrument: np.ndarray | None = None
    rounded: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.row.shape[0])

    def take(self, index: np.ndarray) -> RawBlock:
        """Return the rows selected by ``index`` (a mask or positions)."""
        return RawBlock(
            {k: v[index] for k, v in self.columns.items()},
            self.row[index],
            None if self.instrument is None else self.instrument[index],
            None if self.rounded is None else self.rounded[index],
        )


def _grouped(venue: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Rows ordered by venue, stably; where each venue's run starts; the venue of each run.
    order = np.argsort(venue, kind="stable")
    v = venue[order]
    starts = np.ones(v.shape[0], dtype=bool)
    starts[1:] = v[1:] != v[:-1]
    return order, starts, v[starts]


def _previous_per_venue(
    ts: np.ndarray, venue: np.ndarray, carried: dict[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's previous ``ts`` of the same venue (``carried`` before the first) and the order.

    ``carried`` is updated to each venue's last ``ts``. The result is in venue order;
    the second array maps it back to rows.
    """
    order, starts, venues = _grouped(venue)
    t = ts[order]
    prev = np.empty_like(t)
    prev[1:] = t[:-1]
    prev[starts] = [carried.get(int(v), _INT64_MIN) for v in venues]
    ends = np.flatnonzero(np.r_[starts[1:], True])
    for v, last in zip(venues.tolist(), t[ends].tolist(), strict=True):
        carried[v] = last
    return prev, order


def _first_of(ts: np.ndarray, venue: np.ndarray, carried: dict[int, int]) -> np.ndarray:
    # Rows whose ts_event differs from their venue's previous row's (carried before the first).
    prev, order = _previous_per_venue(ts, venue, carried)
    first = np.empty(ts.shape[0], dtype=bool)
    first[order] = ts[order] != prev
    return first


def _last_per_venue(ts: np.ndarray, venue: np.ndarray, carried: dict[int, int]) -> None:
    # Set each venue's carried value to the ts_event of its last row here.
    venues, back = np.unique(venue[::-1], return_index=True)
    last = ts[venue.shape[0] - 1 - back]
    for v, t in zip(venues.tolist(), last.tolist(), strict=True):
        carried[v] = t


class SnapshotStream:
    """The snapshot rules applied block by block to one instrument's rows (see the module docstring).

    It lives while one feed is read: ``push`` each ``RawBlock`` in file order, then
    ``finish``; both yield the chunks that became ready. ``rows_read``, ``dropped``
    and ``meta`` are complete once ``finish`` is exhausted.
    """

    def __init__(
        self,
        source: str,
        levels: int,
        *,
        symbol: str = "",
        start: str | int | None = None,
        end: str | int | None = None,
        reorder_ns: int | None = REORDER_NS,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        venues: Sequence[int] | None = None,
        meta: dict[str, object] | None = None,
        whole: bool = False,
    ) -> None:
        self.source = source
        self.levels = levels
        self.symbol = symbol
        self.reorder_ns = reorder_ns
        self.chunk_rows = max(1, int(chunk_rows))
        self.venues = None if venues is None else tuple(int(v) for v in venues)
        self.meta: dict[str, object] = dict(meta or {})
        self.rows_read = 0
        self.snapshots = 0
        self.dropped: dict[str, int] = {}
        #: Venues of every row pushed, before any rule.
        self.venues_seen: set[int] = set()
        #: Venues of the chunks yielded so far.
        self.venues_kept: set[int] = set()
        #: The first and last ``ts_event`` of the chunks yielded so far.
        self.first_ts: int | None = None
        self.last_ts: int | None = None
        self._bounds = (start, end)
        # Bounds without a time of day are read now, so a bad one fails before any data.
        self._window = (
            self._read_bounds(None) if not (_is_time_of_day(start) or _is_time_of_day(end)) else None
        )
        self._last_ts: dict[int, int] = {}
        self._last_alive: dict[int, int] = {}
        self._newest = _INT64_MIN
        self._buffer: dict[str, np.ndarray] | None = None
        self._buffer_sorted = True
        self._pending: list[dict[str, np.ndarray]] = []
        self._pending_rows = 0
        # whole: every row goes straight into one growing set of columns, one chunk at the end.
        self._whole = _Columns() if whole else None
        self._empty_bid = 0
        self._empty_ask = 0
        self._rounded = 0

    # ------------------------------------------------------------ counting

    def drop(self, reason: str, count: int) -> None:
        """Count ``count`` rows of the source left out by the reader itself (e.g. other instruments)."""
        if count:
            self.rows_read += int(count)
            self.dropped[reason] = self.dropped.get(reason, 0) + int(count)

    def _count(self, reason: str, count: int) -> None:
        if count:
            self.dropped[reason] = self.dropped.get(reason, 0) + int(count)

    def final_meta(self) -> dict[str, object]:
        """Return ``meta`` with the counts known at the end (empty book sides, rounded prices)."""
        meta = dict(self.meta)
        if self._empty_bid or self._empty_ask:
            meta["empty_book_sides"] = {"bid": self._empty_bid, "ask": self._empty_ask}
        if self._rounded:
            meta["rounded_prices"] = self._rounded
        return meta

    # ------------------------------------------------------------ the rules

    def push(self, block: RawBlock) -> Iterator[MarketData]:
        """Apply the rules to one block of rows; yield the chunks that became ready."""
        n = len(block)
        if n == 0:
            return
        self.rows_read += n
        cols = block.columns
        ts, venue = cols["ts_event"], cols["venue"]
        in_order = n < 2 or bool(np.all(ts[1:] >= ts[:-1]))
        self._check_order(ts, venue, block.row, in_order)
        if block.rounded is not None:
            self._rounded += int(block.rounded.sum())
        alive, bid_px, ask_px = self._alive(cols)
        kept = None if alive is None else np.flatnonzero(alive)
        first = self._first_per_instant(
            ts if kept is None else ts[kept], venue if kept is None else venue[kept]
        )
        if first is not None:
            kept = np.flatnonzero(first) if kept is None else kept[first]
        if kept is None:
            rows = {k: cols[k] for k in ROW_COLUMNS}
            rows.update(bid_px=bid_px, bid_sz=cols["bid_sz"], ask_px=ask_px, ask_sz=cols["ask_sz"])
        elif kept.size:
            rows = {k: cols[k][kept] for k in ROW_COLUMNS}
            rows.update(bid_px=bid_px[kept], bid_sz=cols["bid_sz"][kept])
            rows.update(ask_px=ask_px[kept], ask_sz=cols["ask_sz"][kept])
        else:
            rows = None
        if rows is not None:
            self._buffer_rows(rows, in_order)
        yield from self._release(self._frontier())

    def finish(self) -> Iterator[MarketData]:
        """Release every row still buffered and yield the last chunks."""
        yield from self._release(None)
        if self._whole is not None:
            if self._whole.rows:
                yield self._chunk(self._whole.columns())
            return
        yield from self._cut(final=True)

    def expect(self, rows: int) -> None:
        """Say about how many rows the source holds, so ``whole`` columns are sized once."""
        if self._whole is not None:
            self._whole.reserve(int(rows * 1.05) + 1024)

    def _check_order(self, ts: np.ndarray, venue: np.ndarray, rows: np.ndarray, in_order: bool) -> None:
        if in_order and (not self._last_ts or int(ts[0]) >= max(self._last_ts.values())):
            # Already in time order across the whole block and after everything before it.
            _last_per_venue(ts, venue, self._last_ts)
            self.venues_seen.update(self._last_ts)
            if (
                self._newest > _INT64_MIN
                and self.reorder_ns is not None
                and ts[0] < self._newest - self.reorder_ns
            ):
                self._late(ts, rows, np.maximum.accumulate(np.r_[self._newest, ts]))
            self._newest = max(self._newest, int(ts[-1]))
            return
        prev, order = _previous_per_venue(ts, venue, self._last_ts)
        self.venues_seen.update(self._last_ts)
        back = np.flatnonzero(ts[order] < prev)
        if back.size:
            j = back[np.argmin(order[back])]
            i = int(order[j])
            raise FeedError(
                self.source,
                f"ts_event {format_ns(int(ts[i]))} is earlier than the same venue's previous row's "
                f"{format_ns(int(prev[j]))}; a venue's messages must be in ts_event order",
                row=int(rows[i]),
                field="ts_event",
            )
        newest_before = np.maximum.accumulate(np.r_[self._newest, ts])
        self._late(ts, rows, newest_before)
        self._newest = int(newest_before[-1])

    def _late(self, ts: np.ndarray, rows: np.ndarray, newest_before: np.ndarray) -> None:
        # Raise at the first row more than the reorder window before a row read before it.
        if self.reorder_ns is None:
            return
        # Clipped so the sentinel before the first row cannot wrap around.
        floor = np.maximum(newest_before[:-1], _INT64_MIN + self.reorder_ns) - self.reorder_ns
        late = np.flatnonzero(ts < floor)
        if late.size:
            i = int(late[0])
            raise FeedError(
                self.source,
                f"ts_event {format_ns(int(ts[i]))} is more than {self.reorder_ns / NS_PER_SECOND:g} s "
                f"earlier than a row read before it ({format_ns(int(newest_before[i]))}); venues may "
                "interleave out of ts_event order by at most the reorder window",
                row=int(rows[i]),
                field="ts_event",
            )

    def _first_per_instant(self, ts: np.ndarray, venue: np.ndarray) -> np.ndarray | None:
        """Return which rows are the first of their ``(ts_event, venue)`` (``None``: all); count the rest."""
        n = ts.shape[0]
        if n == 0:
            return None
        carried = self._last_alive
        if n > 1 and bool(np.all(ts[1:] >= ts[:-1])):
            # In time order, only rows sharing an instant with a neighbour, or with their
            # venue's last row before this block, can repeat an instant.
            same = ts[1:] == ts[:-1]
            suspect = np.r_[same, False] | np.r_[False, same]
            if carried:
                suspect |= np.isin(ts, np.fromiter(carried.values(), dtype=np.int64))
            pick = np.flatnonzero(suspect)
            first = None
            if pick.size:
                first = np.ones(n, dtype=bool)
                first[pick] = _first_of(ts[pick], venue[pick], dict(carried))
            _last_per_venue(ts, venue, carried)
        else:
            first = _first_of(ts, venue, carried)
        repeats = 0 if first is None else int(n - first.sum())
        self._count("duplicate_ts_venue", repeats)
        return first if repeats else None

    def _alive(self, cols: dict[str, np.ndarray]) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        # Which rows pass the book checks (None: all), and the prices with absent levels as 0.
        bid_present, ask_present = cols["bid_present"], cols["ask_present"]
        bid_px = cols["bid_px"] if bid_present.all() else np.where(bid_present, cols["bid_px"], 0)
        ask_px = cols["ask_px"] if ask_present.all() else np.where(ask_present, cols["ask_px"], 0)
        bid_sz, ask_sz = cols["bid_sz"], cols["ask_sz"]
        # One pass finds whether any row is bad; the reasons are sorted out on those rows only.
        bad_bid = np.where(bid_present, (bid_px <= 0) | (bid_sz <= 0), bid_sz != 0).any(axis=1)
        bad_ask = np.where(ask_present, (ask_px <= 0) | (ask_sz <= 0), ask_sz != 0).any(axis=1)
        bad = bad_bid | bad_ask
        if bid_px.shape[1]:
            bad |= bid_present[:, 0] & ask_present[:, 0] & (bid_px[:, 0] >= ask_px[:, 0])
        rows = np.flatnonzero(bad)
        if rows.size == 0:
            return None, bid_px, ask_px
        bp, ap, bs, az = bid_present[rows], ask_present[rows], bid_sz[rows], ask_sz[rows]
        bx, ax = bid_px[rows], ask_px[rows]
        reasons = {
            "nonpositive_price": ((bp & (bx <= 0)) | (ap & (ax <= 0))).any(axis=1),
            "size_without_price": ((~bp & (bs != 0)) | (~ap & (az != 0))).any(axis=1),
            "nonpositive_size": ((bp & (bs <= 0)) | (ap & (az <= 0))).any(axis=1),
            "crossed_book": bp[:, 0] & ap[:, 0] & (bx[:, 0] >= ax[:, 0]),
        }
        left = np.ones(rows.size, dtype=bool)
        for reason in BOOK_REASONS:
            hit = left & reasons[reason]
            self._count(reason, int(hit.sum()))
            left &= ~hit
        alive = np.ones(bid_px.shape[0], dtype=bool)
        alive[rows] = False
        return alive, bid_px, ask_px

    # ------------------------------------------------------------ reordering and the window

    def _buffer_rows(self, rows: dict[str, np.ndarray], in_order: bool) -> None:
        ts = rows["ts_event"]
        if self._buffer is None:
            self._buffer, self._buffer_sorted = rows, in_order
            return
        last = int(self._buffer["ts_event"][-1])
        self._buffer_sorted = self._buffer_sorted and in_order and int(ts[0]) >= last
        self._buffer = {k: np.concatenate([self._buffer[k], rows[k]]) for k in rows}

    def _frontier(self) -> int:
        # Every row still to come has ts_event >= the frontier, so rows before it can go.
        if self.reorder_ns is None:
            return _INT64_MIN
        frontier = (
            self._newest - self.reorder_ns if self._newest > _INT64_MIN + self.reorder_ns else _INT64_MIN
        )
        if self.venues:
            quietest = min(self._last_ts.get(v, _INT64_MIN) for v in self.venues)
            frontier = max(frontier, quietest)
        return frontier

    def _release(self, frontier: int | None) -> Iterator[MarketData]:
        buf = self._buffer
        if buf is None:
            return
        ts = buf["ts_event"]
        if self._buffer_sorted:
            # Sorted already: the ready rows are a prefix, taken without copying.
            k = ts.shape[0] if frontier is None else int(np.searchsorted(ts, frontier, side="left"))
            if k == 0:
                return
            out = {key: v[:k] for key, v in buf.items()}
            # What stays is copied (it is the last moments): the released rows' arrays can go.
            self._buffer = None if k == ts.shape[0] else {key: v[k:].copy() for key, v in buf.items()}
        else:
            ready = np.ones(ts.shape[0], dtype=bool) if frontier is None else ts < frontier
            if not ready.any():
                return
            order = np.flatnonzero(ready)
            order = order[np.argsort(ts[order], kind="stable")]
            out = {key: v[order] for key, v in buf.items()}
            rest = np.flatnonzero(~ready)
            self._buffer = {key: v[rest] for key, v in buf.items()} if rest.size else None
            if self._buffer is not None:
                rest_ts = self._buffer["ts_event"]
                self._buffer_sorted = bool(np.all(rest_ts[1:] >= rest_ts[:-1]))
        out = self._windowed(out)
        if not out["ts_event"].shape[0]:
            return
        if self._whole is not None:
            self._whole.append(out)
            return
        self._pending.append(out)
        self._pending_rows += out["ts_event"].shape[0]
        yield from self._cut(final=False)

    def _read_bounds(self, day_ns: int | None) -> tuple[int | None, int | None]:
        start, end = self._bounds
        return (
            None if start is None else parse_window_bound(start, day_ns),
            None if end is None else parse_window_bound(end, day_ns),
        )

    def _windowed(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self._window is None:
            self._window = self._read_bounds(int(rows["ts_event"][0]))
        lo, hi = self._window
        if lo is None and hi is None:
            return rows
        ts = rows["ts_event"]
        inside = np.ones(ts.shape[0], dtype=bool)
        if lo is not None:
            inside &= ts >= lo
        if hi is not None:
            inside &= ts <= hi
        outside = int(ts.shape[0] - inside.sum())
        if not outside:
            return rows
        self._count("outside_window", outside)
        return {k: v[inside] for k, v in rows.items()}

    # ------------------------------------------------------------ chunks

    def _cut(self, *, final: bool) -> Iterator[MarketData]:
        if not self._pending or (not final and self._pending_rows < self.chunk_rows):
            return
        parts = self._pending
        rows = parts[0] if len(parts) == 1 else {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        cuts = instant_cuts(rows["ts_event"], self.chunk_rows)
        # Pending rows end on an instant boundary, so any cut is safe; a short tail waits.
        last = len(cuts) - 1 if final or cuts[-1] - cuts[-2] >= self.chunk_rows else len(cuts) - 2
        for a, b in zip(cuts[:last], cuts[1 : last + 1], strict=True):
            yield self._chunk({k: v[a:b] for k, v in rows.items()})
        tail = cuts[last]
        # The short tail is copied, so the joined rows go once their chunks are done with.
        self._pending = [] if tail >= cuts[-1] else [{k: v[tail:].copy() for k, v in rows.items()}]
        self._pending_rows = cuts[-1] - tail

    def _chunk(self, rows: dict[str, np.ndarray]) -> MarketData:
        if self.first_ts is None:
            self.first_ts = int(rows["ts_event"][0])
        self.last_ts = int(rows["ts_event"][-1])
        self.venues_kept.update(np.unique(rows["venue"]).tolist())
        self.snapshots += int(rows["ts_event"].shape[0])
        self._empty_bid += int((rows["bid_px"][:, 0] == 0).sum()) if self.levels else 0
        self._empty_ask += int((rows["ask_px"][:, 0] == 0).sum()) if self.levels else 0
        return MarketData(**rows, source=self.source, symbol=self.symbol, meta=dict(self.meta))


def _empty(shape: tuple[int, ...], dtype) -> np.ndarray:
    # Large columns come from pyarrow's memory pool when pyarrow is loaded (the CSV reader
    # loads it): the pool keeps freed memory, so reading file after file in one process
    # reuses pages instead of faulting fresh ones in (on this VM that is ~0.6 s per 360 MB).
    arrow = sys.modules.get("pyarrow")
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if arrow is None or size < 2**22:
        return np.empty(shape, dtype=dtype)
    return np.frombuffer(arrow.allocate_buffer(size), dtype=dtype).reshape(shape)


class _Columns:
    """Rows appended to preallocated columns that grow by half when full (for reading a file whole).

    Written in place, the rows are touched once; joining per-block arrays at the end would
    hold every row twice and fault twice the memory in.
    """

    def __init__(self) -> None:
        self.rows = 0
        self._cols: dict[str, np.ndarray] | None = None
        self._want = 0

    def reserve(self, rows: int) -> None:
        self._want = max(self._want, rows)
        if self._cols is not None and self._cols["ts_event"].shape[0] < rows:
            self._grow(rows)

    def _grow(self, capacity: int) -> None:
        cols = self._cols
        new = {k: _empty((capacity, *v.shape[1:]), v.dtype) for k, v in cols.items()}
        for k, v in cols.items():
            new[k][: self.rows] = v[: self.rows]
        self._cols = new

    def append(self, rows: dict[str, np.ndarray]) -> None:
        n = rows["ts_event"].shape[0]
        if self._cols is None:
            capacity = max(self._want, 2 * n)
            self._cols = {k: _empty((capacity, *v.shape[1:]), v.dtype) for k, v in rows.items()}
        elif self.rows + n > self._cols["ts_event"].shape[0]:
            self._grow(max(self.rows + n, self._cols["ts_event"].shape[0] * 3 // 2))
        for k, v in rows.items():
            self._cols[k][self.rows : self.rows + n] = v
        self.rows += n

    def columns(self) -> dict[str, np.ndarray]:
        return {k: v[: self.rows] for k, v in self._cols.items()}


def _is_time_of_day(bound: str | int | None) -> bool:
    return isinstance(bound, str) and ":" in bound and "-" not in bound and "T" not in bound.upper()


def empty_rows(levels: int) -> dict[str, np.ndarray]:
    """Return zero rows in the column layout of ``SnapshotStream`` chunks."""
    cols = {k: np.zeros(0, dtype=np.int64) for k in ROW_COLUMNS}
    cols.update({k: np.zeros((0, levels), dtype=np.int64) for k in BOOK_COLUMNS})
    return cols


__all__ = ["RawBlock", "SnapshotStream", "REORDER_NS", "ROW_COLUMNS", "BOOK_COLUMNS", "empty_rows"]
