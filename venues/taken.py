"""What a strategy took from a venue's displayed asks, until the feed shows it gone.

The feed is the market without us: after we buy ``x`` of the ``D`` shares shown at a
price, the next snapshot still shows the market's own size ``D'``, unaware of our
trade. Had we really traded, the level would hold ``D' - x`` (others' trades and
cancels act on what we left). So the size offered to us is ``D' - taken``, and
``taken`` is cut to ``D'`` whenever the displayed size falls below it: once the
level empties, or shrinks below what we took, the market has consumed our share of
it and anything shown above ``taken`` is new (replenished) liquidity.
"""

from __future__ import annotations

import numpy as np


class TakenLiquidity:
    """Per price, the shares one strategy (each of its lanes) has taken and not seen replenished."""

    __slots__ = ("lanes", "by_px")

    def __init__(self, lanes: int):
        self.lanes = lanes
        self.by_px: dict[int, np.ndarray] = {}

    def __bool__(self) -> bool:
        return bool(self.by_px)

    def at(self, px: int) -> np.ndarray | None:
        """Return the taken shares per lane at ``px``, or ``None`` where nothing was taken."""
        return self.by_px.get(px)

    def add(self, px: int, qty: np.ndarray) -> None:
        """Record that each lane took ``qty[lane]`` more shares at ``px``."""
        held = self.by_px.get(px)
        if held is None:
            self.by_px[px] = qty.copy()
        else:
            held += qty

    def on_book(self, ask_px: np.ndarray, ask_sz: np.ndarray) -> None:
        """Cut what was taken to what the new displayed asks still show.

        A price between the best and the deepest visible ask that is not shown is
        empty, and so is one below the best; a price beyond the visible depth is
        unknown and keeps what was taken.
        """
        if not self.by_px:
            return
        self.cut(*visible_asks(ask_px, ask_sz))

    def cut(self, visible: dict[int, int], deepest: int) -> None:
        """Apply ``on_book`` with the asks already read by ``visible_asks`` (shared by every owner)."""
        by_px = self.by_px
        if not visible:
            by_px.clear()
            return
        for px in list(by_px):
            size = visible.get(px)
            if size is not None:
                held = by_px[px]
                np.minimum(held, size, out=held)
                if not held.any():
                    del by_px[px]
            elif px <= deepest:
                del by_px[px]

    def cut_rows(self, ask_px: np.ndarray, ask_sz: np.ndarray) -> None:
        """Apply ``on_book`` for many rows at once (``[rows, levels]``), as if one by one in order.

        Cutting is taking a minimum, so the rows' effect is the minimum over them of what
        each shows at a price taken: its size there, 0 where the price is inside the
        visible book but not shown (or nothing is visible), unknown (no cut) beyond it.
        """
        by_px = self.by_px
        if not by_px or ask_px.shape[0] == 0:
            return
        shown = ask_sz > 0
        any_shown = shown.any(axis=1)
        deepest = np.where(shown, ask_px, np.iinfo(np.int64).min).max(axis=1)
        for px in list(by_px):
            at = ((ask_px == px) & shown).any(axis=1)
            size = np.where(at, (ask_sz * ((ask_px == px) & shown)).sum(axis=1), 0)
            known = at | (px <= deepest) | ~any_shown
            if not known.any():
                continue
            held = by_px[px]
            np.minimum(held, int(size[known].min()), out=held)
            if not held.any():
                del by_px[px]

    def available(self, ask_px: np.ndarray, ask_sz: np.ndarray) -> np.ndarray:
        """Return the ask sizes offered to each lane, shape ``[lanes, levels]``."""
        out = np.broadcast_to(ask_sz, (self.lanes, ask_sz.shape[0])).copy()
        self.subtract(out, ask_px, ask_sz)
        return out

    def subtract(self, out: np.ndarray, ask_px: np.ndarray, ask_sz: np.ndarray) -> None:
        """Take what was taken off ``out`` (``[lanes, levels]``, holding ``ask_sz``) and clip it at zero."""
        if self.by_px:
            # Walk what was taken (a price or two) rather than every level of the book.
            prices = ask_px.tolist()
            sizes = ask_sz.tolist()
            for px, held in self.by_px.items():
                for level, shown in enumerate(prices):
                    if shown == px and sizes[level] > 0:
                        out[:, level] -= held
        np.maximum(out, 0, out=out)


def visible_asks(ask_px: np.ndarray, ask_sz: np.ndarray) -> tuple[dict[int, int], int]:
    """Return the shown asks as ``{price: size}`` (levels with size > 0) and the deepest such price."""
    visible = {p: s for p, s in zip(ask_px.tolist(), ask_sz.tolist(), strict=True) if s > 0}
    return visible, (max(visible) if visible else 0)
