"""The Cont–Kukanov order-placement model as pure numpy functions.

A trader must buy ``S`` shares over a short horizon. The decision is
``X = [M, L_1, ..., L_K]``: a market order of ``M`` shares and a limit order of
``L_k`` shares at the back of venue ``k``'s bid queue of ``Q_k`` shares. Over the
horizon the queue at venue ``k`` loses ``xi_k`` shares (cancels plus sells hitting
it), so the limit order fills ``(xi_k - Q_k)+ - (xi_k - Q_k - L_k)+`` shares. The
shared ``docs/cont-kukanov.md``, section 2, defines the cost ``V(X, xi)`` that this
module evaluates and minimises.

Units: shares are plain numbers (floats inside the optimiser, integers after
:func:`round_allocation`); every cost parameter is in dollars per share and every
cost is in dollars, as a float. Floats are deliberate here: these are the terms of
an optimiser's objective, compared with one another, never booked as cash. The
simulator's ledger keeps money as integers elsewhere.

Shapes: ``K`` venues, ``N`` outflow samples (``xi`` has shape ``[N, K]``) and, for
a parameter sweep, ``P`` parameter sets held in one :class:`CostParamsBatch`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
XiSource = ArrayLike | Callable[[np.random.Generator, int], ArrayLike]

# Relative slack for "F(x) >= p": an equality that holds in real arithmetic
# (F = 0.3 from summed probabilities, p = 0.3 from a quotient) must count as one.
_TIE_RTOL = 1e-12


def _finite(_instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not np.isfinite(value):
        raise ValueError(f"{attribute.name} must be finite, got {value!r}")


def _nonnegative(_instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _float_tuple(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


@attrs.frozen(kw_only=True)
class CostParams:
    """Per-share prices and penalties of one Cont–Kukanov cost function, in $/share.

    Attributes
    ----------
    h : float
        Half-spread: paid by a market order, earned by a filled limit order.
    f : float
        Taker fee of the market order.
    r : tuple of float
        Maker rebate of each venue, length ``K``.
    theta : float
        Linear market-impact cost per share sent, including any catch-up order.
    lambda_u : float
        Penalty per share left unfilled at the horizon.
    lambda_o : float
        Penalty per share bought beyond the target.
    """

    h: float = attrs.field(converter=float, validator=_finite)
    f: float = attrs.field(converter=float, validator=_finite)
    r: tuple[float, ...] = attrs.field(converter=_float_tuple)
    theta: float = attrs.field(converter=float, validator=[_finite, _nonnegative])
    lambda_u: float = attrs.field(converter=float, validator=[_finite, _nonnegative])
    lambda_o: float = attrs.field(converter=float, validator=[_finite, _nonnegative])

    @r.validator
    def _check_r(self, attribute: attrs.Attribute, value: tuple[float, ...]) -> None:
        if len(value) == 0 or not all(np.isfinite(value)):
            raise ValueError(f"r must be a non-empty tuple of finite rebates, got {value!r}")

    @property
    def n_venues(self) -> int:
        """Return the number of venues ``K``."""
        return len(self.r)


def _readonly_array(ndim: int) -> Callable[[ArrayLike], FloatArray]:
    def convert(value: ArrayLike) -> FloatArray:
        array = np.array(value, dtype=np.float64)
        if array.ndim != ndim or not np.all(np.isfinite(array)):
            raise ValueError(f"expected a finite array with {ndim} dimension(s), got shape {array.shape}")
        array.setflags(write=False)
        return array

    return convert


@attrs.frozen(kw_only=True, eq=False)
class CostParamsBatch:
    """``P`` cost functions of a parameter sweep, one per row, for vectorised calls.

    Each field is the column of the matching :class:`CostParams` field across the
    sweep: ``h``, ``f``, ``theta``, ``lambda_u`` and ``lambda_o`` have shape ``[P]``,
    ``r`` has shape ``[P, K]``. The arrays are read-only copies.
    """

    h: FloatArray = attrs.field(converter=_readonly_array(1))
    f: FloatArray = attrs.field(converter=_readonly_array(1))
    r: FloatArray = attrs.field(converter=_readonly_array(2))
    theta: FloatArray = attrs.field(converter=_readonly_array(1))
    lambda_u: FloatArray = attrs.field(converter=_readonly_array(1))
    lambda_o: FloatArray = attrs.field(converter=_readonly_array(1))

    def __attrs_post_init__(self) -> None:
        size = self.h.shape[0]
        for name in ("f", "theta", "lambda_u", "lambda_o"):
            if getattr(self, name).shape != (size,):
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, expected ({size},)")
        if self.r.shape[0] != size or self.r.shape[1] == 0:
            raise ValueError(f"r has shape {self.r.shape}, expected ({size}, K) with K >= 1")
        for name in ("theta", "lambda_u", "lambda_o"):
            if np.any(getattr(self, name) < 0):
                raise ValueError(f"{name} must be >= 0")

    @classmethod
    def from_params(cls, params: Sequence[CostParams]) -> CostParamsBatch:
        """Stack single parameter sets (all with the same number of venues) into a batch."""
        if len(params) == 0:
            raise ValueError("need at least one parameter set")
        if len({p.n_venues for p in params}) != 1:
            raise ValueError("all parameter sets must have the same number of venues")
        return cls(
            h=[p.h for p in params],
            f=[p.f for p in params],
            r=[p.r for p in params],
            theta=[p.theta for p in params],
            lambda_u=[p.lambda_u for p in params],
            lambda_o=[p.lambda_o for p in params],
        )

    def __len__(self) -> int:
        return self.h.shape[0]

    @property
    def n_venues(self) -> int:
        """Return the number of venues ``K``."""
        return self.r.shape[1]

    def __getitem__(self, index: int) -> CostParams:
        """Return parameter set ``index`` as a :class:`CostParams`."""
        return CostParams(
            h=self.h[index],
            f=self.f[index],
            r=tuple(self.r[index]),
            theta=self.theta[index],
            lambda_u=self.lambda_u[index],
            lambda_o=self.lambda_o[index],
        )


def _columns(params: CostParams | CostParamsBatch) -> tuple[FloatArray, ...]:
    """Return (h, f, r, theta, lambda_u, lambda_o): scalars and ``r`` of shape [K], or [P] and [P, K]."""
    return tuple(
        np.asarray(getattr(params, name), dtype=np.float64)
        for name in ("h", "f", "r", "theta", "lambda_u", "lambda_o")
    )


def expected_cost(
    M: ArrayLike,
    L: ArrayLike,
    S: float,
    Q: ArrayLike,
    xi_samples: ArrayLike,
    params: CostParams | CostParamsBatch,
    *,
    weights: ArrayLike | None = None,
) -> float | FloatArray:
    """Return the mean of ``V(X, xi)`` over outflow samples, for one or many decisions.

    Parameters
    ----------
    M : array_like, shape ``batch``
        Market-order shares of each decision (a scalar for one decision).
    L : array_like, shape ``batch + (K,)``
        Limit-order shares per venue.
    S : float
        Target shares.
    Q : array_like, shape ``[K]``
        Queue ahead of the limit order at each venue, in shares.
    xi_samples : array_like, shape ``[N, K]``
        Outflow of each venue's bid queue over the horizon, one row per outcome.
    params : CostParams or CostParamsBatch
        Cost function; a batch's ``[P]`` columns broadcast against ``batch``.
    weights : array_like, shape ``[N]``, optional
        Probability of each row (normalised here); equal weights when omitted.

    Returns
    -------
    float or ndarray of shape ``batch``
        Expected cost in dollars.
    """
    h, f, r, theta, lambda_u, lambda_o = _columns(params)
    M = np.asarray(M, dtype=np.float64)
    L = np.asarray(L, dtype=np.float64)
    xi = np.atleast_2d(np.asarray(xi_samples, dtype=np.float64))
    excess = xi - np.asarray(Q, dtype=np.float64)
    if L.shape[-1:] != excess.shape[-1:]:
        raise ValueError(f"L has {L.shape[-1:]} venues but xi_samples has {excess.shape[-1:]}")
    # Decisions gain a sample axis before the venue axis: fill has shape batch + (N, K).
    fill = np.clip(excess, 0.0, None) - np.clip(excess - L[..., None, :], 0.0, None)
    market = M[..., None]
    executed = market + fill.sum(axis=-1)
    under = np.clip(S - executed, 0.0, None)
    over = np.clip(executed - S, 0.0, None)
    h_, f_, theta_, lambda_u_, lambda_o_ = (a[..., None] for a in (h, f, theta, lambda_u, lambda_o))
    maker_gain = h_[..., None] + r[..., None, :]
    cost = (
        (h_ + f_) * market
        - (maker_gain * fill).sum(axis=-1)
        + theta_ * (market + L.sum(axis=-1)[..., None] + under)
        + lambda_u_ * under
        + lambda_o_ * over
    )
    if weights is None:
        mean = cost.mean(axis=-1)
    else:
        w = np.asarray(weights, dtype=np.float64)
        mean = cost @ (w / w.sum())
    return float(mean) if np.ndim(mean) == 0 else mean


def _discrete_law(xi_values: ArrayLike, xi_probs: ArrayLike | None) -> tuple[FloatArray, FloatArray]:
    """Return the sorted support and its distribution function F, dropping null atoms."""
    values = np.asarray(xi_values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("the outflow law needs at least one value")
    if not np.array_equal(values, np.round(values)):
        raise ValueError("outflows must be whole shares for the discrete closed form")
    if xi_probs is None:
        probs = np.full(values.size, 1.0 / values.size)
    else:
        probs = np.asarray(xi_probs, dtype=np.float64).ravel()
        if probs.shape != values.shape or np.any(probs < 0) or not probs.sum() > 0:
            raise ValueError("xi_probs must be non-negative, not all zero, one per value")
    keep = probs > 0
    values, probs = values[keep], probs[keep]
    order = np.argsort(values, kind="stable")
    cdf = np.cumsum(probs[order])
    return values[order], cdf / cdf[-1]


def single_venue_optimum(
    S: int,
    Q: int,
    xi_values: ArrayLike,
    xi_probs: ArrayLike | None = None,
    *,
    params: CostParams,
) -> tuple[int, int]:
    """Return the cost-minimising integer split ``(M, L)`` of ``S`` shares on one venue.

    With one venue the feasible set forces ``M + L = S``. For whole-share outflows,
    moving the ``(L+1)``-th share from market to limit changes the expected cost by
    ``D * (F(Q + L) - p)`` with ``D = lambda_u + theta + h + r`` and
    ``p = (2h + f + r) / D``, which is nondecreasing in ``L``. The optimum is therefore
    ``L = clip(F^{-1}(p) - Q, 0, S)`` with ``F^{-1}(p)`` the smallest ``x`` such that
    ``F(x) >= p``: market only when ``F(Q) >= p``, limit only when ``F(Q + S - 1) < p``
    (implied by the continuous rule's ``F(Q + S) <= p`` up to ties).

    When ``F(Q + L) = p`` exactly, shares ``L`` and ``L + 1`` cost the same; the
    smallest optimal ``L`` (the most certain execution) is returned.

    Parameters
    ----------
    S : int
        Target shares, ``S >= 0``.
    Q : int
        Queue ahead of the limit order, in shares.
    xi_values : array_like
        Support points of the outflow law, in whole shares; empirical samples when
        ``xi_probs`` is omitted.
    xi_probs : array_like, optional
        Probability of each value (normalised here).
    params : CostParams
        Cost function with exactly one rebate.

    Returns
    -------
    tuple of int
        ``(M, L)`` with ``M + L = S``.
    """
    if params.n_venues != 1:
        raise ValueError(f"single_venue_optimum needs one rebate, got {params.n_venues}")
    if S < 0 or S != int(S) or Q != int(Q):
        raise ValueError(f"S and Q must be whole shares with S >= 0, got S={S!r}, Q={Q!r}")
    r = params.r[0]
    scale = params.lambda_u + params.theta + params.h + r
    if not scale > 0:
        raise ValueError("lambda_u + theta + h + r must be > 0 for the closed form")
    p = (2 * params.h + params.f + r) / scale
    support, cdf = _discrete_law(xi_values, xi_probs)
    if p <= 0:
        limit = 0
    else:
        first = int(np.searchsorted(cdf, p * (1 - _TIE_RTOL), side="left"))
        quantile = support[first] if first < support.size else np.inf
        limit = int(np.clip(quantile - Q, 0, S))
    return int(S) - limit, limit


def _project_box(Y: FloatArray, S: float | FloatArray) -> FloatArray:
    """Project rows of Y onto B = {0 <= M <= S, 0 <= L_k <= S - M}, exactly; S is a scalar or [P, 1].

    For fixed M the nearest L_k is clip(l_k, 0, S - M); the remaining function of M
    has derivative (M - m) + sum_k (l_k - S + M)+, the maximum over j of the lines
    through the j largest l_k, so its root is the smallest of the lines' roots.
    """
    m = Y[:, :1]
    l_desc = np.sort(Y[:, 1:], axis=1)[:, ::-1]
    j = np.arange(1, l_desc.shape[1] + 1, dtype=np.float64)
    roots = (m + j * S - np.cumsum(l_desc, axis=1)) / (1.0 + j)
    M = np.maximum(np.minimum(np.minimum(m, roots.min(axis=1, keepdims=True)), S), 0.0)
    out = np.empty_like(Y)
    out[:, :1] = M
    np.minimum(np.maximum(Y[:, 1:], 0.0), S - M, out=out[:, 1:])
    return out


def _project_simplex(Y: FloatArray, S: float | FloatArray) -> FloatArray:
    """Project rows of Y onto {X >= 0, sum X = S}: X = (Y - tau)+ with tau = max_j (prefix_j - S) / j."""
    desc = np.sort(Y, axis=1)[:, ::-1]
    j = np.arange(1, Y.shape[1] + 1, dtype=np.float64)
    tau = ((np.cumsum(desc, axis=1) - S) / j).max(axis=1, keepdims=True)
    return np.maximum(Y - tau, 0.0)


def _project_rows(Y: FloatArray, S: float | FloatArray) -> FloatArray:
    """Project rows of Y onto C; S is a scalar or a column of shape [P, 1]."""
    box = _project_box(Y, S)
    covered = box.sum(axis=1, keepdims=True) >= S
    if covered.all():
        return box
    return np.where(covered, box, _project_simplex(Y, S))


def project_feasible(X: ArrayLike, S: ArrayLike) -> FloatArray:
    """Return the Euclidean projection of each decision onto the feasible set.

    The feasible set is ``C = {0 <= M <= S, 0 <= L_k <= S - M, M + sum_k L_k >= S}``.
    ``C`` is ``B ∩ {sum X >= S}`` with ``B`` the set without the last constraint. If
    the projection onto ``B`` covers ``S`` it is the answer; otherwise the answer lies
    on ``sum X = S``, and ``C ∩ {sum X = S}`` is the simplex ``{X >= 0, sum X = S}``
    (there ``M + L_k <= sum X = S`` holds by itself), so it is the simplex projection.
    Both projections are closed forms after a sort over the ``K + 1`` coordinates.

    Parameters
    ----------
    X : array_like, shape ``[K + 1]`` or ``[P, K + 1]``
        Decisions ``[M, L_1, ..., L_K]`` in shares.
    S : float or array_like of shape ``[P]``
        Target shares, ``S >= 0``.

    Returns
    -------
    ndarray
        Projected decisions, same shape as ``X``.
    """
    Y = np.asarray(X, dtype=np.float64)
    single = Y.ndim == 1
    Y2 = np.atleast_2d(Y)
    if Y2.ndim != 2 or Y2.shape[1] < 2:
        raise ValueError(f"X must have shape [K + 1] or [P, K + 1] with K >= 1, got {Y.shape}")
    target = np.asarray(S, dtype=np.float64)
    if np.any(target < 0):
        raise ValueError("S must be >= 0")
    if target.ndim > 0:
        target = np.broadcast_to(target, (Y2.shape[0],))[:, None]
    out = _project_rows(Y2, target)
    return out[0] if single else out


def round_allocation(X: ArrayLike, S: int) -> NDArray[np.int64]:
    """Return a feasible whole-share decision near a continuous one.

    Rule: round every coordinate to the nearest share (halves up), cap each ``L_k``
    at ``S - M``, then raise ``M`` by any shortfall so that ``M + sum_k L_k >= S``.
    The shortfall goes to the market order because its fill is certain. The result
    is in ``C``: ``0 <= M <= S``; the cap gives ``L_k <= S - M``; and when ``M`` is
    raised to ``S - sum L``, ``M + L_k <= M + sum L = S``.

    Nearest rather than floor: the continuous optimum of this piecewise-linear cost
    is often a whole-share point met only to within float error or SA noise
    (``12.93`` for ``13``), and flooring every coordinate would move it a share
    per venue.

    Parameters
    ----------
    X : array_like, shape ``[K + 1]`` or ``[P, K + 1]``
        Continuous decisions ``[M, L_1, ..., L_K]`` in shares.
    S : int
        Target shares.

    Returns
    -------
    ndarray of int64
        Whole-share decisions in ``C``, same shape as ``X``.
    """
    Y = np.asarray(X, dtype=np.float64)
    whole = np.clip(np.floor(Y + 0.5), 0, S).astype(np.int64)
    market, limit = whole[..., 0], whole[..., 1:]
    np.minimum(limit, (S - market)[..., None], out=limit)
    np.maximum(market, S - limit.sum(axis=-1), out=market)
    return whole


def sa_step_size(S: float, n_iter: int, params: CostParams | CostParamsBatch) -> float | FloatArray:
    """Return the constant step ``gamma`` of the stochastic approximation (doc section 2).

    ``gamma = sqrt(K) S / sqrt(N [(h + f + theta + lu + lo)^2 + sum_k (h + r_k + theta + lu + lo)^2])``
    where the bracket bounds the squared norm of a sample gradient.
    """
    h, f, r, theta, lambda_u, lambda_o = _columns(params)
    k = r.shape[-1]
    common = h + theta + lambda_u + lambda_o
    bound = (common + f) ** 2 + ((common[..., None] + r) ** 2).sum(axis=-1)
    gamma = np.sqrt(k) * S / np.sqrt(n_iter * bound)
    return float(gamma) if np.ndim(gamma) == 0 else gamma


def _draw_outflows(xi: XiSource, n_iter: int, k: int, rng: np.random.Generator) -> FloatArray:
    if callable(xi):
        draws = np.asarray(xi(rng, n_iter), dtype=np.float64)
    else:
        pool = np.atleast_2d(np.asarray(xi, dtype=np.float64))
        draws = pool[rng.integers(0, pool.shape[0], size=n_iter)]
    if draws.shape != (n_iter, k):
        raise ValueError(f"outflow draws have shape {draws.shape}, expected ({n_iter}, {k})")
    return draws


def sa_allocate(
    S: float | ArrayLike,
    Q: ArrayLike,
    xi: XiSource,
    params: CostParams | CostParamsBatch,
    n_iter: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Minimise the expected cost over ``C`` by projected stochastic approximation.

    Iterate ``X <- Pi_C(X - gamma g(X, xi^n))`` for ``n = 1..n_iter`` and return the
    average of ``X_1..X_n_iter``, with ``g`` the per-sample gradient and ``gamma`` the
    constant step of the doc (:func:`sa_step_size`). A batch of parameter sets runs
    as one vectorised iteration on common outflow draws, so that the sweep compares
    parameters, not sampling noise.

    The start point is ``M = 0, L_k = S / K``: feasible, symmetric across venues,
    and all-passive, so any market order in the answer was put there by the
    gradient (the marginal underfill penalty beating ``h + f``) rather than by the
    start. The average forgets the start as the SA bound's first term,
    ``|X_0 - X*|^2 / (2 gamma n_iter)``, which is ``O(1 / sqrt(n_iter))`` for this step.

    Parameters
    ----------
    S : float or array_like of shape ``[P]``
        Target shares; with a :class:`CostParamsBatch`, one per parameter set if
        given as an array (the lanes of a sweep fill differently over time).
    Q : array_like, shape ``[K]``
        Queue ahead at each venue, in shares.
    xi : array_like of shape ``[N, K]`` or callable
        Outflow samples, drawn with replacement by ``rng``; or a sampler
        ``xi(rng, n)`` returning ``n`` outflow rows of shape ``[n, K]``.
    params : CostParams or CostParamsBatch
        One cost function, or ``P`` of them.
    n_iter : int
        Number of iterations (one outflow draw each).
    rng : numpy.random.Generator
        Source of the draws; the only randomness used.

    Returns
    -------
    ndarray
        Continuous decision ``[M, L_1, ..., L_K]`` in shares, shape ``[K + 1]`` for a
        :class:`CostParams`, ``[P, K + 1]`` for a :class:`CostParamsBatch`.
        Use :func:`round_allocation` for whole shares.
    """
    if n_iter < 1:
        raise ValueError(f"n_iter must be >= 1, got {n_iter}")
    single = isinstance(params, CostParams)
    h, f, r, theta, lambda_u, lambda_o = (np.atleast_1d(a) for a in _columns(params))
    r = np.atleast_2d(r)
    n_sets, k = r.shape
    queue = np.broadcast_to(np.asarray(Q, dtype=np.float64), (k,))
    excess = _draw_outflows(xi, n_iter, k, rng) - queue
    passive_fill = np.clip(excess, 0.0, None)

    target = np.asarray(S, dtype=np.float64)
    if target.ndim == 1:
        if single or target.shape[0] != n_sets:
            sets = 1 if single else n_sets
            raise ValueError(f"S has {target.shape[0]} targets for {sets} parameter set(s)")
        project_to = target[:, None]
    else:
        target = float(target)
        project_to = target
    gamma = np.atleast_1d(sa_step_size(target, n_iter, params))[:, None]
    market_base = h + f + theta
    under_pen = lambda_u + theta
    maker_gain = h[:, None] + r

    X = np.zeros((n_sets, k + 1))
    X[:, 1:] = (project_to if np.ndim(project_to) else target) / k
    total = np.zeros_like(X)
    grad = np.empty_like(X)
    for n in range(n_iter):
        M, L = X[:, 0], X[:, 1:]
        executed = M + np.minimum(passive_fill[n], L).sum(axis=1)
        miss = lambda_o * (executed > target) - under_pen * (executed < target)
        grad[:, 0] = market_base + miss
        # d fill_k / d L_k is 1 while the outflow reaches past the order's back.
        np.multiply(excess[n] > L, miss[:, None] - maker_gain, out=grad[:, 1:])
        grad[:, 1:] += theta[:, None]
        X = _project_rows(X - gamma * grad, project_to)
        total += X
    mean = total / n_iter
    return mean[0] if single else mean
