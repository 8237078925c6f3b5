"""The trial's allocator two ways: ck_static's exact solver against the brute-force enumeration.

The enumeration below is the trial's pseudocode in integer money: venue 0
outermost, quantities ascending in 100-share lots, each venue capped at
``min(remaining - allocated, displayed size)``; splits that do not sum to what
remains are skipped; cost in 1e-9 dollars with the penalties scaled to the same
units; a strict ``<`` keeps the first split found on a tie.

It grows like ``(Q / 100) ** K / K!``: at 4 and 5 venues with 5,000 shares one
decision takes seconds to minutes. There the benchmark times it at a smaller
order, measures its cost per enumerated split, counts the splits it would
enumerate at 5,000 shares exactly (``count_splits``) and extrapolates; the report
marks such numbers as extrapolated.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

import numpy as np

from benchmarks.measure import Timing, per_call, timed
from feeds.market import PRICE_SCALE
from strategies.ck_static import allocate

STEP = 100
LAMBDA_OVER, LAMBDA_UNDER, THETA_QUEUE = 0.4, 0.6, 0.3


def _units(dollars: float) -> int:
    return int(Decimal(str(dollars)) * PRICE_SCALE)


def brute_allocate(remaining, ask_px, ask_sz, fee, rebate, lambda_over, lambda_under, theta_queue):
    """Return the enumeration's cheapest split of ``remaining`` (a list per venue), or ``None``."""
    lo, lu, th = _units(lambda_over), _units(lambda_under), _units(theta_queue)
    splits = [[]]
    for v in range(len(ask_px)):
        grown = []
        for alloc in splits:
            cap = min(remaining - sum(alloc), ask_sz[v])
            for q in range(0, cap + 1, STEP):
                grown.append(alloc + [q])
        splits = grown
    best, best_cost = None, None
    for alloc in splits:
        if sum(alloc) != remaining:
            continue
        cash = 0
        executed_total = 0
        for q, px, sz, f, r in zip(alloc, ask_px, ask_sz, fee, rebate, strict=True):
            executed = min(q, sz)
            executed_total += executed
            cash += executed * (px + f)
            cash -= max(q - executed, 0) * r
        under = max(remaining - executed_total, 0)
        over = max(executed_total - remaining, 0)
        cost = cash + th * (under + over) + lu * under + lo * over
        if best_cost is None or cost < best_cost:
            best, best_cost = alloc, cost
    return best


def count_splits(remaining: int, ask_sz: list[int]) -> int:
    """Return how many splits the enumeration builds for ``remaining`` and these displayed sizes."""
    sizes = tuple(ask_sz)

    @cache
    def count(v: int, left: int) -> int:
        if v == len(sizes):
            return 1
        cap = min(left, sizes[v])
        return sum(count(v + 1, left - q) for q in range(0, cap + 1, STEP)) if cap >= 0 else 1

    return count(0, remaining)


def random_book(rng: np.random.Generator, venues: int, quantity: int) -> dict:
    """Return a book around $200 whose displayed sizes together cover ``quantity`` (a feasible decision)."""
    cents = rng.integers(20_000, 20_004, size=venues)
    ask_px = [int(c) * PRICE_SCALE // 100 for c in cents]
    fee = [_units(f) for f in rng.choice([0.0030, 0.0025, 0.0020], size=venues)]
    rebate = [_units(r) for r in rng.choice([0.0020, 0.0032], size=venues)]
    # Each venue shows more than its even share, with odd lots, so many splits are feasible.
    low = max(STEP, 2 * quantity // venues)
    ask_sz = [
        int(s) for s in rng.integers(low, quantity + 1, size=venues) + rng.integers(0, 100, size=venues)
    ]
    return {"ask_px": ask_px, "ask_sz": ask_sz, "fee": fee, "rebate": rebate}


def _decide(allocator, quantity: int, book: dict):
    return allocator(
        quantity,
        book["ask_px"],
        book["ask_sz"],
        book["fee"],
        book["rebate"],
        LAMBDA_OVER,
        LAMBDA_UNDER,
        THETA_QUEUE,
    )


def measure(venues: int, quantity: int, brute_quantity: int, repeats: int, seed: int = 0) -> dict:
    """Time one decision both ways at ``venues`` x ``quantity`` shares.

    The brute force runs at ``brute_quantity`` shares (``quantity`` itself when
    affordable); when smaller, its time at ``quantity`` is extrapolated by split
    counts. Both solvers must agree on every book timed, or this raises.
    """
    rng = np.random.default_rng([seed, venues, quantity])
    book = random_book(rng, venues, quantity)
    brute_book = book if brute_quantity == quantity else random_book(rng, venues, brute_quantity)
    for q, b in ((quantity, book), (brute_quantity, brute_book)):
        fast = _decide(allocate, q, b)
        if q == brute_quantity:
            slow = _decide(brute_allocate, q, b)
            if (fast is None) != (slow is None) or (fast is not None and fast.tolist() != slow):
                raise AssertionError(f"allocators disagree at {venues} venues x {q}: {fast} vs {slow}")
    fast_t: Timing = per_call(lambda: _decide(allocate, quantity, book), repeats)
    brute_t: Timing = timed(lambda: _decide(brute_allocate, brute_quantity, brute_book), repeats)
    splits_measured = count_splits(brute_quantity, brute_book["ask_sz"])
    splits_target = count_splits(quantity, book["ask_sz"])
    per_split = brute_t.median / splits_measured
    extrapolated = brute_quantity != quantity
    brute_s = per_split * splits_target if extrapolated else brute_t.median
    return {
        "venues": venues,
        "quantity": quantity,
        "exact_s": fast_t.median,
        "exact_repeats": fast_t.repeats,
        "brute_s": brute_s,
        "brute_measured_at_quantity": brute_quantity,
        "brute_measured_s": brute_t.median,
        "brute_repeats": brute_t.repeats,
        "splits_enumerated": splits_target,
        "brute_extrapolated": extrapolated,
        "speedup": brute_s / fast_t.median,
    }
