"""What every file reader does between parsing and ``MarketData``: checks, de-duplication, window.

The order is fixed and the same for CSV and DBN:

1. A venue's own ``ts_event`` must not decrease in file order, else
   ``FeedError`` naming the row (the snapshot rule keeps the *first* message,
   which is only defined for a venue's messages in time order). Across venues
   the file may interleave out of ``ts_event`` order (Databento sorts by
   ``ts_recv``); the kept rows are then stably sorted by ``ts_event``. Files are
   read as a stream (``feeds.pipeline``), which allows venues to interleave by
   at most its reorder window (2 s) and names the row beyond it.
2. Rows with a book that cannot be real are dropped and counted, each under the
   first reason that applies: ``nonpositive_price`` (a present level priced
   ``<= 0``), ``size_without_price`` (an empty level with a non-zero size),
   ``nonpositive_size`` (a present level with size ``<= 0``), ``crossed_book``
   (best bid ``>=`` best ask, both present).
3. The trial's snapshot rule on the rows left: for every ``(ts_event, venue)``
   only the first row is kept; the rest count as ``duplicate_ts_venue``.
   Dropping bad rows first lets a later message of the same instant stand in
   for a broken first one.
4. The window ``start_ns <= ts_event <= end_ns``; rows outside count as
   ``outside_window``.
"""

from __future__ import annotations

import numpy as np

from feeds.market import MarketData
from feeds.pipeline import BOOK_COLUMNS, ROW_COLUMNS, RawBlock, SnapshotStream, empty_rows


def first_per_instant(ts_event: np.ndarray, venue: np.ndarray) -> np.ndarray:
    """Return a mask of the first row of every ``(ts_event, venue)`` pair, in row order."""
    n = ts_event.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    if bool(np.all(ts_event[1:] >= ts_event[:-1])):
        # The usual file is in time order: only rows sharing an instant with a neighbour
        # can be duplicates, so sort just those.
        same = ts_event[1:] == ts_event[:-1]
        shared = np.flatnonzero(np.r_[same, False] | np.r_[False, same])
        keep = np.ones(n, dtype=bool)
        if shared.size:
            keep[shared] = _first_of_pairs(ts_event[shared], venue[shared])
        return keep
    return _first_of_pairs(ts_event, venue)


def _first_of_pairs(ts_event: np.ndarray, venue: np.ndarray) -> np.ndarray:
    n = ts_event.shape[0]
    keep = np.zeros(n, dtype=bool)
    # lexsort is stable, so within a pair the earliest row comes first.
    order = np.lexsort((venue, ts_event))
    ts_sorted, venue_sorted = ts_event[order], venue[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = (ts_sorted[1:] != ts_sorted[:-1]) | (venue_sorted[1:] != venue_sorted[:-1])
    keep[order[starts]] = True
    return keep


def assemble(
    *,
    source: str,
    symbol: str,
    ts_event: np.ndarray,
    ts_recv: np.ndarray,
    venue: np.ndarray,
    action: np.ndarray,
    side: np.ndarray,
    price: np.ndarray,
    size: np.ndarray,
    bid_px: np.ndarray,
    bid_sz: np.ndarray,
    ask_px: np.ndarray,
    ask_sz: np.ndarray,
    bid_present: np.ndarray,
    ask_present: np.ndarray,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> MarketData:
    """Apply the checks, the snapshot rule and the window to parsed columns held whole.

    The same rules as ``feeds.pipeline.SnapshotStream`` in one block, with no reorder
    window: venues interleaved out of ``ts_event`` order are sorted stably however
    far apart they are (the whole data is in memory anyway).

    Parameters
    ----------
    bid_present, ask_present
        Boolean ``(rows, levels)`` masks: ``True`` where the file gave a price
        for the level. Prices of absent levels are written as 0.
    Other parameters
        Parsed columns in file order, prices in 1e-9 units.

    Returns
    -------
    MarketData
        The kept rows in ``ts_event`` order, with ``rows_read`` and the ``dropped``
        counts filled.
    """
    columns = dict(
        ts_event=ts_event,
        ts_recv=ts_recv,
        venue=venue,
        action=action,
        side=side,
        price=price,
        size=size,
        bid_px=bid_px,
        bid_sz=bid_sz,
        ask_px=ask_px,
        ask_sz=ask_sz,
        bid_present=bid_present,
        ask_present=ask_present,
    )
    columns = {k: np.asarray(v) for k, v in columns.items()}
    stream = SnapshotStream(
        source,
        int(columns["bid_px"].shape[1]),
        symbol=symbol,
        start=start_ns,
        end=end_ns,
        reorder_ns=None,
        chunk_rows=max(1, int(columns["ts_event"].shape[0])),
    )
    n = int(columns["ts_event"].shape[0])
    parts = list(stream.push(RawBlock(columns, np.arange(1, n + 1, dtype=np.int64))))
    parts += list(stream.finish())
    return joined(parts, stream)


def joined(parts: list[MarketData], stream: SnapshotStream) -> MarketData:
    """Return the chunks of a finished ``SnapshotStream`` as one ``MarketData`` with its counts."""
    if len(parts) == 1:
        cols = {k: getattr(parts[0], k) for k in ROW_COLUMNS + BOOK_COLUMNS}
    elif parts:
        cols = {k: np.concatenate([getattr(p, k) for p in parts]) for k in ROW_COLUMNS + BOOK_COLUMNS}
    else:
        cols = empty_rows(stream.levels)
    return MarketData(
        **cols,
        source=stream.source,
        symbol=stream.symbol,
        rows_read=stream.rows_read,
        dropped=dict(stream.dropped),
        meta=stream.final_meta(),
    )
