"""Whole-share Cont–Kukanov decisions by exact line searches over the cost's breakpoints.

With empirical outflow samples the expected cost of ``strategies.ck_model`` is
piecewise linear in ``X = (M, L_1..L_K)``: per sample it bends where a limit order
stops filling (``L_k = xi_k - Q_k``) and where the shares executed cross the target
``S``. Along any line ``X + t d`` with ``d`` in ``{-1, 0, 1}^(K+1)`` those bends sit
at known ``t``, so the cheapest whole-share point on the line inside the feasible set
``C`` is found exactly by sorting them (:func:`_line_search`). :func:`allocate`
descends from a few starts by such line searches along a fixed set of directions
until none improves, for every lane of a sweep at once. With many distinct samples
the starts first descend on eight weighted stand-ins for them (group means, ordered
by total outflow), and only each lane's best point descends on the samples
themselves: the answer is still a point no direction improves on the true cost.

The cost is not convex (an overfill penalty ``lambda_o`` above ``h + r_k`` makes the
fill of each venue count against it), so the descent finds a point no direction of
its set improves, not a proven optimum. Its directions (single coordinates, one
coordinate against another, the market order against several venues, venues against
each other with the market order fixed) and starts (all market; the cheapest
all-limit corner ``(0, S·1_T)``; an even split ``L_k = ceil(S / K)``) were chosen
against a brute force over every whole-share decision: see ``tests/test_ck_search.py``
and ``benchmarks/ck_allocator.py`` for the precision measured.

Rewriting ``lambda_o (A - S)+ = lambda_o (A - S) + lambda_o (S - A)+``, the cost of
one sample is

    V = alpha M + theta sum L - sum_k c_k min(L_k, e_k) + beta (S - A)+ - lambda_o S

with ``e_k = (xi_k - Q_k)+``, ``A = M + sum_k min(L_k, e_k)``, ``alpha = h + f + theta
+ lambda_o``, ``beta = theta + lambda_u + lambda_o`` and ``c_k = h + r_k - lambda_o``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from strategies.ck_model import CostParams, CostParamsBatch, expected_cost, round_allocation

FloatArray = NDArray[np.float64]

# A move must beat the current cost by this fraction of the cost scale (S (alpha + beta)),
# so float noise in the sums never makes the descent cycle.
_GAIN_RTOL = 1e-10
_MAX_SWEEPS = 100
# With more than twice this many distinct samples, the starts descend on this many
# weighted stand-ins first (see ``allocate``).
_COARSE = 8


@attrs.frozen(eq=False)
class _Direction:
    """A direction ``d`` and what its line search needs, worked out once per ``K``.

    ``S - A(t)`` is the maximum over subsets ``B`` of the moving venues (those still
    filling) of a line of slope ``-d_0 - sum_{k in B} d_k``; the subsets are grouped
    by slope into ``classes`` (0, the zero line of the positive part, always present).
    """

    d: np.ndarray
    venues: tuple[int, ...]  # venues k with d[k + 1] != 0
    filling: np.ndarray  # [subsets, m] 1 where the venue is still filling
    members: tuple[np.ndarray, ...]  # per class, the subsets with that slope
    classes: np.ndarray  # the distinct slopes, ascending
    denominator: int  # every bend is a multiple of 1 / denominator
    lhs: np.ndarray  # C = {X : lhs X <= S rhs}
    rhs: np.ndarray
    rate: np.ndarray  # lhs d: how fast each constraint's left side moves along d

    @classmethod
    def of(cls, d: Sequence[int]) -> _Direction:
        d = np.asarray(d, dtype=np.int64)
        venues = tuple(int(k) for k in np.flatnonzero(d[1:]))
        m = len(venues)
        filling = np.array([[mask >> j & 1 for j in range(m)] for mask in range(1 << m)], dtype=np.float64)
        slopes = -d[0] - filling.reshape(1 << m, m) @ d[1:][list(venues)].astype(np.float64)
        classes = np.array(sorted(set(slopes.astype(int).tolist()) | {0}))
        members = tuple(np.flatnonzero(slopes == c) for c in classes)
        span = int(classes[-1] - classes[0])
        lhs, rhs = _constraints(d.shape[0] - 1)
        den = math.lcm(*range(1, span + 1))
        return cls(d, venues, filling.reshape(1 << m, m), members, classes, den, lhs, rhs, lhs @ d)


def directions(k: int) -> tuple[_Direction, ...]:
    """Return the descent's directions for ``k`` venues (see the module docstring).

    For ``k <= 3``: every ``d`` in ``{-1, 0, 1}^(k+1)`` (first non-zero entry positive)
    except those moving the market order with a venue the same way (they leave the set
    ``M + L_k <= S`` at once). For more venues the set grows as ``3^k``, so only single
    coordinates and pairs are used.
    """
    out = []
    for v in itertools.product((-1, 0, 1), repeat=k + 1):
        d = np.array(v)
        nz = np.flatnonzero(d)
        if nz.size == 0 or d[nz[0]] < 0:
            continue
        if d[0] != 0 and (d[1:] == d[0]).any():
            continue
        if k > 3 and nz.size > 2:
            continue
        out.append(_Direction.of(d))
    return tuple(out)


@attrs.frozen(eq=False)
class _Rows:
    """Decisions being descended, one per row (a lane, or a lane from one of its starts)."""

    X: FloatArray  # [R, K + 1] whole shares
    S: FloatArray  # [R]
    alpha: FloatArray
    theta: FloatArray
    c: FloatArray  # [R, K]
    beta: FloatArray

    def take(self, rows: np.ndarray) -> _Rows:
        return _Rows(*(getattr(self, f.name)[rows] for f in attrs.fields(_Rows)))


def _constraints(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``A`` and ``b`` with ``C = {X : A X <= S b}``: -M, M, -L_k, M + L_k, -(M + sum L)."""
    eye = np.eye(k + 1)
    rows = [-eye[0], eye[0], *(-eye[1:]), *(eye[0] + eye[1:]), -np.ones(k + 1)]
    rhs = [0.0, 1.0, *([0.0] * k), *([1.0] * k), -1.0]
    return np.array(rows), np.array(rhs)


def _bounds(X: FloatArray, S: FloatArray, line: _Direction) -> tuple[FloatArray, FloatArray]:
    """Return the whole-number range ``[lo, hi]`` of ``t`` keeping ``X + t d`` in ``C``."""
    slack = S[:, None] * line.rhs - X @ line.lhs.T
    up, down = line.rate > 0, line.rate < 0
    hi = (slack[:, up] / line.rate[up]).min(axis=1)
    lo = (slack[:, down] / line.rate[down]).max(axis=1)
    return np.ceil(lo - 1e-9), np.floor(hi + 1e-9)


def _line_search(
    rows: _Rows, e: FloatArray, w: FloatArray, line: _Direction
) -> tuple[FloatArray, FloatArray]:
    """Return, per row, the whole ``t`` minimising the cost on ``X + t d`` over ``C``, and the gain.

    Per sample, ``-c_k min(L_k + t d_k, e_k)`` bends once, at ``t = (e_k - L_k) d_k``
    (slope up by ``c_k``). ``S - A(t)`` is the maximum of one line per subset ``B`` of
    the moving venues (those still filling), so ``beta (S - A)+`` is convex with
    integer slopes; it bends, by ``beta``, where the upper envelope of its slope
    classes passes each integer slope, at ``min_{hi} max_{lo}`` of their crossings.
    The bends of all samples, sorted, give the cost along the line exactly; the best
    whole ``t`` is an end of a segment rounded inward.
    """
    X, S = rows.X, rows.S
    n_rows, n = X.shape[0], e.shape[0]
    M, L, d = X[:, 0], X[:, 1:], line.d
    moving = list(line.venues)
    fill = np.minimum(L[:, None, :], e[None])  # [R, N, K]
    # The deficit S - A with the moving venues' fills taken out, then one line per subset.
    rest = fill.sum(axis=2) - fill[:, :, moving].sum(axis=2)
    G = (S - M)[:, None] - rest
    icpt = (
        G[:, :, None]
        - (L[:, moving] @ line.filling.T)[:, None, :]
        - (e[:, moving] @ (1.0 - line.filling).T)[None, :, :]
    )
    zero = np.zeros((n_rows, n))
    top = np.stack(
        [icpt[:, :, idx].max(axis=2) if idx.size else zero for idx in line.members], axis=2
    )  # [R, N, classes], the best line of each slope
    slope_of = line.classes.astype(np.float64)
    top[:, :, slope_of == 0] = np.maximum(top[:, :, slope_of == 0], 0.0)
    bends = []
    crossings: dict[tuple[int, int], FloatArray] = {}
    for sigma in range(int(slope_of[0]) + 1, int(slope_of[-1]) + 1):
        # The envelope's slope passes sigma where the best line of slope >= sigma overtakes
        # every line of slope < sigma: min over the former of the max of its crossings.
        bend = None
        for b in np.flatnonzero(slope_of >= sigma).tolist():
            reach = None
            for a in np.flatnonzero(slope_of < sigma).tolist():
                if (a, b) not in crossings:
                    crossings[a, b] = (top[:, :, a] - top[:, :, b]) / (slope_of[b] - slope_of[a])
                reach = crossings[a, b] if reach is None else np.maximum(reach, crossings[a, b])
            bend = reach if bend is None else np.minimum(bend, reach)
        bends.append(bend)
    kinks = [(e[None, :, k] - L[:, k : k + 1]) * d[k + 1] for k in moving]
    cls = line.classes

    lo, hi = _bounds(X, S, line)
    m = len(moving)
    types = 1 << (m + 1).bit_length()  # kink types 0..m-1, bends m, markers m + 1
    den = line.denominator
    parts = [np.clip(p, lo[:, None], hi[:, None]) for p in (*kinks, *bends)]
    kind = [np.full(n, j, dtype=np.int64) for j in range(m)] + [np.full(n, m, dtype=np.int64)] * len(bends)
    origin = np.zeros((n_rows, 1))
    pos = np.concatenate([*parts, lo[:, None], origin, hi[:, None]], axis=1)
    # Each bend is tagged with its kind and sample, so one integer sort carries both.
    sample = np.concatenate([np.tile(np.arange(n), m + len(bends)), np.full(3, n)])
    tags = types * (n + 1)
    tag = np.concatenate([*kind, np.full(3, m + 1, dtype=np.int64)]) + types * sample
    key = np.rint((pos - lo[:, None]) * den).astype(np.int64) * tags + tag
    key.sort(axis=1)
    kinds, sample = np.divmod(key % tags, types)[::-1]
    pos = (key // tags) / den + lo[:, None]
    # Slope change at each bend: its kind's coefficient times its sample's weight.
    jump = np.zeros((n_rows, types))
    jump[:, :m] = rows.c[:, moving]
    jump[:, m] = rows.beta
    weight = np.append(w, 0.0)
    start = rows.alpha * d[0] + rows.theta * d[1:].sum() + rows.beta * cls[0]
    start = start - rows.c[:, [k for k in moving if d[k + 1] > 0]].sum(axis=1)
    steps = np.take_along_axis(jump, kinds, axis=1) * weight[sample]
    slope = start[:, None] + np.cumsum(steps, axis=1)
    gap = np.diff(pos, axis=1)
    value = np.zeros_like(pos)
    np.cumsum(slope[:, :-1] * gap, axis=1, out=value[:, 1:])
    # The cost is linear on a segment: its cheapest whole t is the end it falls towards,
    # rounded inward (none when the segment holds no whole number).
    s = slope[:, :-1]
    where = np.where(s >= 0, np.ceil(pos[:, :-1]), np.floor(pos[:, 1:]))
    inside = (where >= pos[:, :-1]) & (where <= pos[:, 1:])
    cand = np.where(inside, value[:, :-1] + s * (where - pos[:, :-1]), np.inf)
    pick = np.argmin(cand, axis=1)
    r = np.arange(n_rows)
    now = value[r, np.argmax(pos >= 0, axis=1)]
    return where[r, pick], now - cand[r, pick]


def _descend(
    rows: _Rows, lane: np.ndarray, e: FloatArray, w: FloatArray, lines: Sequence[_Direction]
) -> FloatArray:
    """Line-search the rows along the directions in turn; a row stops once every direction left it put.

    ``lane`` says whose decision each row is; a row that reaches a point another row of
    its lane already holds would retrace that row's path, so it stops there.
    """
    X = rows.X.copy()
    tol = _GAIN_RTOL * np.maximum(rows.S, 1.0) * (rows.alpha + rows.beta + np.abs(rows.c).max(axis=1))
    idle = np.where(rows.S > 0, 0, len(lines))  # directions in a row that did not move it
    for step in range(_MAX_SWEEPS * len(lines)):
        active = np.flatnonzero(idle < len(lines))
        if active.size == 0:
            break
        line = lines[step % len(lines)]
        sub = attrs.evolve(rows.take(active), X=X[active])
        t, gain = _line_search(sub, e, w, line)
        go = gain > tol[active]
        idle[active] += 1
        if go.any():
            X[active[go]] += t[go, None] * line.d[None, :]
            idle[active[go]] = 0
            _, first = np.unique(np.column_stack([lane, X]), axis=0, return_index=True)
            idle[np.setdiff1d(active[go], first)] = len(lines)
    return X


def _summary(e: FloatArray, w: FloatArray, n: int) -> tuple[FloatArray, FloatArray]:
    """Return ``n`` weighted whole-share stand-ins for the samples ``e``: means of groups ordered by total."""
    order = np.argsort(e.sum(axis=1), kind="stable")
    cum = np.cumsum(w[order])
    group = np.minimum((cum - w[order] / 2) * n, n - 1).astype(np.int64)
    weight = np.bincount(group, weights=w[order], minlength=n)
    mean = np.stack(
        [np.bincount(group, weights=w[order] * e[order, j], minlength=n) for j in range(e.shape[1])], 1
    )
    keep = weight > 0
    return np.rint(mean[keep] / weight[keep, None]), weight[keep] / weight[keep].sum()


def _starts(S: FloatArray, e: FloatArray, w: FloatArray, params: CostParamsBatch) -> list[FloatArray]:
    """Return the descent's starts: all market, the cheapest all-limit corner, an even split."""
    n_lanes, k = S.shape[0], e.shape[1]
    market = np.zeros((n_lanes, k + 1))
    market[:, 0] = S
    corners = np.array([c for c in itertools.product((0, 1), repeat=k) if any(c)], dtype=np.float64)
    L = S[:, None, None] * corners[None]  # [P, corners, K]
    cost = expected_cost(
        np.zeros((corners.shape[0], n_lanes)), L.transpose(1, 0, 2), S[:, None], np.zeros(k), e, params
    )
    corner = np.zeros((n_lanes, k + 1))
    corner[:, 1:] = L[np.arange(n_lanes), np.argmin(cost, axis=0)]  # cost is [corners, P]
    even = np.zeros((n_lanes, k + 1))
    even[:, 1:] = np.ceil(S / k)[:, None]
    return [market, corner, even]


def allocate(
    S: ArrayLike,
    Q: ArrayLike,
    xi: ArrayLike,
    params: CostParams | CostParamsBatch,
    *,
    extra_starts: Sequence[ArrayLike] = (),
) -> NDArray[np.int64]:
    """Return a whole-share decision ``[M, L_1..L_K]`` per lane minimising the expected cost.

    Parameters
    ----------
    S : int or array_like of shape ``[P]``
        Target shares per lane (whole shares, ``>= 0``; a lane with ``S = 0`` gets zeros).
    Q : array_like, shape ``[K]``
        Queue ahead at each venue, whole shares.
    xi : array_like, shape ``[N, K]``
        Outflow samples, whole shares, equally likely.
    params : CostParams or CostParamsBatch
        The cost of each lane.
    extra_starts : sequence of array_like of shape ``[P, K + 1]``
        More starting decisions (e.g. a stochastic approximation's answer, rounded);
        each is made feasible by ``ck_model.round_allocation`` first.

    Returns
    -------
    ndarray of int64, shape ``[P, K + 1]`` (``[K + 1]`` for a ``CostParams``)
        The best decision the descent found from any start, in ``C``.
    """
    single = isinstance(params, CostParams)
    batch = CostParamsBatch.from_params([params]) if single else params
    n_lanes, k = len(batch), batch.n_venues
    target = np.broadcast_to(np.asarray(S, dtype=np.float64), (n_lanes,)).copy()
    queue = np.asarray(Q, dtype=np.float64)
    samples = np.atleast_2d(np.asarray(xi, dtype=np.float64))
    whole = [target, queue, samples]
    if any(not np.array_equal(a, np.round(a)) for a in whole) or (target < 0).any():
        raise ValueError("S, Q and xi must be whole shares, S >= 0")
    if samples.shape[1:] != (k,) or queue.shape != (k,) or samples.shape[0] == 0:
        raise ValueError(f"need xi of shape [N >= 1, {k}] and Q of shape [{k}]")
    # Past S an outflow fills nothing more: cap it there.
    # Past S an outflow fills nothing more: cap it there, then weigh repeated samples.
    capped = np.minimum(np.maximum(samples - queue, 0.0), max(float(target.max()), 0.0))
    e, count = np.unique(capped, axis=0, return_counts=True)
    w = count / count.sum()
    lambda_o = batch.lambda_o
    rows_of_one = _Rows(
        X=np.zeros((n_lanes, k + 1)),
        S=target,
        alpha=batch.h + batch.f + batch.theta + lambda_o,
        theta=batch.theta.copy(),
        c=batch.h[:, None] + batch.r - lambda_o[:, None],
        beta=batch.theta + batch.lambda_u + lambda_o,
    )
    starts = _starts(target, e, w, batch)
    for extra in extra_starts:
        x = np.asarray(extra, dtype=np.float64).reshape(n_lanes, k + 1)
        starts.append(
            np.stack([round_allocation(x[p], int(target[p])) for p in range(n_lanes)]).astype(float)
        )
    n_starts = len(starts)
    every = np.tile(np.arange(n_lanes), n_starts)
    lines = directions(k)
    rows = attrs.evolve(rows_of_one.take(every), X=np.concatenate(starts))
    if e.shape[0] > 2 * _COARSE:
        # Every start descends on a few weighted stand-ins for the samples (cheap), and only
        # the best of them, by the true cost, descends again on the samples themselves.
        ce, cw = _summary(e, w, _COARSE)
        X = _descend(rows, every, ce, cw, lines).reshape(n_starts, n_lanes, k + 1)
        cost = expected_cost(X[..., 0], X[..., 1:], target[:, None], np.zeros(k), e, batch, weights=w)
        rows = attrs.evolve(rows_of_one, X=X[np.argmin(cost, axis=0), np.arange(n_lanes)])
        every, n_starts = np.arange(n_lanes), 1
    X = _descend(rows, every, e, w, lines).reshape(n_starts, n_lanes, k + 1)
    cost = expected_cost(X[..., 0], X[..., 1:], target[:, None], np.zeros(k), e, batch, weights=w)
    best = X[np.argmin(cost, axis=0), np.arange(n_lanes)]
    out = np.rint(best).astype(np.int64)
    return out[0] if single else out
