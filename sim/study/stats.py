"""Statistics of paired per-market savings: one cell of ``study.summary[STRATEGY][BASELINE]``.

Savings arrive as exact decimals to 0.0001 bps (``sim.results.savings_bps``) and are
handled as integers of 0.0001 bps, so sums and the variance are exact; square roots
and the t quantile are computed at 50 significant digits and every figure is
rounded half-even to 0.0001 bps at the end. A figure that does not exist for the
data (the sd of one market, the power of a zero mean) is ``None``, never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import numpy as np

from sim.study.tdist import t_quantile

BPS = Decimal("0.0001")
RATE = Decimal("0.0001")
CONFIDENCE = 0.95
POWER = 0.80
_PREC = 50
#: Resampled sums are taken in chunks of about this many indices (bounded memory).
_CHUNK = 2_000_000


def to_units(value: Decimal) -> int:
    """Return ``value`` bps as an integer count of 0.0001 bps (it must have at most 4 decimals)."""
    units = Decimal(value).scaleb(4)
    if units != units.to_integral_value():
        raise ValueError(f"savings {value} bps has more than 4 decimals")
    return int(units)


def _bps(units: Decimal | int) -> Decimal:
    return (Decimal(units).scaleb(-4)).quantize(BPS, rounding=ROUND_HALF_EVEN)


def savings_cell(
    values: Sequence[Decimal],
    *,
    incomplete: int,
    avg_px_basis: int,
    bootstrap_samples: int,
    bootstrap_seed: int,
) -> dict[str, Any]:
    """Summarise paired savings ``values`` (bps, one per market) as a result cell.

    Parameters
    ----------
    values
        Savings in bps of a strategy against a baseline, one per market where both
        bought something, in market order (the bootstrap resamples in this order).
    incomplete
        Markets where either side did not fill its whole order.
    avg_px_basis
        Markets compared on average price (different quantities filled).
    bootstrap_samples, bootstrap_seed
        Resamples of the percentile bootstrap and the seed of its generator.

    Returns
    -------
    dict
        ``n``, ``mean_bps``, ``sd_bps`` (sample, n - 1), ``se_bps``, ``ci95_low_bps`` and
        ``ci95_high_bps`` (the t interval), ``bootstrap_ci95_low_bps`` and
        ``bootstrap_ci95_high_bps`` (percentile interval of the resampled means),
        ``median_bps``, ``wins`` and ``win_rate`` (share of markets with savings > 0), ``ties``,
        ``incomplete``, ``avg_px_basis`` and ``markets_for_80pct_power``.
    """
    units = [to_units(v) for v in values]
    n = len(units)
    cell: dict[str, Any] = {
        "n": n,
        "mean_bps": None,
        "sd_bps": None,
        "se_bps": None,
        "ci95_low_bps": None,
        "ci95_high_bps": None,
        "bootstrap_ci95_low_bps": None,
        "bootstrap_ci95_high_bps": None,
        "median_bps": None,
        "wins": sum(1 for u in units if u > 0),
        "ties": sum(1 for u in units if u == 0),
        "win_rate": None,
        "incomplete": incomplete,
        "avg_px_basis": avg_px_basis,
        "markets_for_80pct_power": None,
    }
    if n == 0:
        return cell
    total = sum(units)
    cell["mean_bps"] = _bps(Decimal(total) / n) if n else None
    cell["median_bps"] = _bps(_median(units))
    cell["win_rate"] = (Decimal(cell["wins"]) / n).quantize(RATE, rounding=ROUND_HALF_EVEN)
    if n < 2:
        return cell
    with localcontext() as ctx:
        ctx.prec = _PREC
        mean = Decimal(total) / n
        variance = Decimal(n * sum(u * u for u in units) - total * total) / (n * (n - 1))
        sd = variance.sqrt()
        se = (variance / n).sqrt()
        half = Decimal(t_quantile(1 - (1 - CONFIDENCE) / 2, n - 1)) * se
        cell["sd_bps"] = _bps(sd)
        cell["se_bps"] = _bps(se)
        cell["ci95_low_bps"] = _bps(mean - half)
        cell["ci95_high_bps"] = _bps(mean + half)
        low, high = bootstrap_interval(units, bootstrap_samples, bootstrap_seed)
        cell["bootstrap_ci95_low_bps"] = _bps(Decimal(low) / n)
        cell["bootstrap_ci95_high_bps"] = _bps(Decimal(high) / n)
        cell["markets_for_80pct_power"] = markets_for_power(float(mean), float(sd))
    return cell


def _median(units: list[int]) -> Decimal:
    ordered = sorted(units)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[mid])
    return Decimal(ordered[mid - 1] + ordered[mid]) / 2


def bootstrap_interval(units: Sequence[int], samples: int, seed: int) -> tuple[int, int]:
    """Return the 95% percentile interval of resampled *sums* of ``units`` (divide by n for means).

    ``samples`` resamples of ``n`` markets with replacement are drawn from
    ``numpy.random.default_rng(seed)``; the bounds are the ``ceil(0.025 * B)``-th and
    ``ceil(0.975 * B)``-th smallest resampled sums (no interpolation, so they are
    exact sums of observed values).
    """
    n = len(units)
    values = np.asarray(units, dtype=np.int64)
    if n and int(np.abs(values).max()) * n >= 2**62:
        raise ValueError("savings too large to resample exactly")
    rng = np.random.default_rng(seed)
    sums = np.empty(samples, dtype=np.int64)
    rows = max(1, _CHUNK // max(n, 1))
    for start in range(0, samples, rows):
        stop = min(samples, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))
        sums[start:stop] = values[idx].sum(axis=1)
    sums.sort()
    k_low = (25 * samples + 999) // 1000
    k_high = (975 * samples + 999) // 1000
    return int(sums[k_low - 1]), int(sums[k_high - 1])


def markets_for_power(
    mean: float, sd: float, power: float = POWER, confidence: float = CONFIDENCE
) -> int | None:
    """Return how many markets a paired t-test needs to detect ``mean`` at ``power`` (two-sided).

    The smallest ``n >= 2`` with ``n >= ((t_{1-a/2, n-1} + t_{power, n-1}) * sd / |mean|)^2``
    (the normal approximation with t quantiles); ``None`` for a zero mean.
    """
    if mean == 0 or not math.isfinite(mean) or not math.isfinite(sd):
        return None
    ratio = sd / abs(mean)

    def enough(n: int) -> bool:
        t_sum = t_quantile(1 - (1 - confidence) / 2, n - 1) + t_quantile(power, n - 1)
        return n >= (t_sum * ratio) ** 2

    # ``enough`` is monotone in n: search the first n that has it.
    lo, hi = 2, 2
    while not enough(hi):
        lo, hi = hi + 1, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
