"""The Cont–Kukanov allocators: cost per decision and precision against a brute force.

Two allocators of ``cont_kukanov`` for several venues:

- ``descent``: ``strategies.ck_search.allocate``, exact line searches over the cost's
  breakpoints (what the strategy uses);
- ``sa``: ``strategies.ck_model.sa_allocate`` with 1,000 iterations, rounded by
  ``round_allocation`` (what it used before).

Cost: decisions taken from the benchmark's own market (outflow samples of
``strategies.outflow`` at instants 10 s apart after two minutes of history, each
venue's best-bid size as its queue), for one lane and for the 125 lanes of the
``ck_queue.toml`` grid, both with the full target and with a different target per
lane (as later decisions have). Precision: random problems small enough to enumerate
every whole-share decision, at the paper's scales and over a wider range; a decision
is *within 0.1%* when its expected cost exceeds the minimum by at most
``0.001 * max(|minimum|, S (h + f))`` (and at least a tenth of a cent a share when
``h + f = 0``).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np

from feeds.synthetic import default_venue_settings
from strategies.ck_model import CostParamsBatch, expected_cost, round_allocation, sa_allocate
from strategies.ck_search import allocate
from strategies.outflow import OutflowEstimator

NAME = "ck_allocator"
SA_ITERATIONS = 1_000
GRID = (0.002, 0.005, 0.01, 0.02, 0.05)
THETAS = (0.0001, 0.0003, 0.0005, 0.001, 0.002)
_SEC = 1_000_000_000
# The wide range has h = f = 0 lanes: there the scale is at least a tenth of a cent a share.
_FLOOR = 0.001


def decisions(md, *, quick: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return ``(Q, xi)`` of decisions at instants 10 s apart on ``md`` (see module)."""
    ids = np.array(md.venues)
    index = np.searchsorted(ids, md.venue)
    start = int(md.ts_event[0])
    history = 20 * _SEC if quick else 120 * _SEC
    est = OutflowEstimator(tuple(ids), 10 * _SEC, history, step_ns=_SEC, origin_ns=start)
    est.update(md, index)
    out = []
    for now in range(start + history, int(md.ts_event[-1]), 10 * _SEC):
        queue = np.zeros(ids.size, dtype=np.int64)
        for k in range(ids.size):
            last = np.flatnonzero((index == k) & (md.ts_event <= now))
            queue[k] = md.bid_sz[last[-1], 0] if last.size else 0
        out.append((queue, est.samples(now)))
    return out


def sweep_params(venues: int) -> CostParamsBatch:
    """The 125 lanes of ``scenarios/ck_queue.toml`` at a one-cent spread on the default venues."""
    r = [s["rebate_per_share"] for s in default_venue_settings(venues)]
    lanes = list(itertools.product(GRID, GRID, THETAS))
    return CostParamsBatch(
        h=np.full(len(lanes), 0.005),
        f=np.full(len(lanes), 0.003),
        r=np.tile(r, (len(lanes), 1)),
        theta=[t for _, _, t in lanes],
        lambda_u=[u for _, u, _ in lanes],
        lambda_o=[o for o, _, _ in lanes],
    )


def _sa(S, Q, xi, params, rng):
    X = np.atleast_2d(sa_allocate(S, Q, xi, params, SA_ITERATIONS, rng))
    return np.stack([round_allocation(x, int(s)) for x, s in zip(X, np.broadcast_to(S, len(X)), strict=True)])


def _cost_per_decision(cases, params, targets, solver) -> float:
    seconds = []
    for Q, xi in cases:
        began = time.process_time()
        solver(targets, Q, xi, params)
        seconds.append(time.process_time() - began)
    return float(np.median(seconds))


def timing(md, *, quick: bool) -> dict[str, Any]:
    cases = decisions(md, quick=quick)
    if quick:
        cases = cases[:2]
    params = sweep_params(len(md.venues))
    rng = np.random.default_rng(0)
    varied = rng.integers(100, 5_001, size=len(params))
    solvers = {"descent": allocate, "sa": lambda S, Q, xi, p: _sa(S, Q, xi, p, np.random.default_rng(1))}
    out: dict[str, Any] = {
        "decisions": len(cases),
        "samples_median": int(np.median([len(x) for _, x in cases])),
    }
    for name, solver in solvers.items():
        out[name] = {
            "us_per_decision_1_lane": 1e6 * _cost_per_decision(cases, params[0], 5000, solver),
            "us_per_decision_125_lanes": 1e6
            * _cost_per_decision(cases, params, np.full(len(params), 5000), solver),
            "us_per_decision_125_lanes_varied_targets": 1e6
            * _cost_per_decision(cases, params, varied, solver),
        }
    out["descent_over_sa_125_lanes"] = (
        out["descent"]["us_per_decision_125_lanes_varied_targets"]
        / out["sa"]["us_per_decision_125_lanes_varied_targets"]
    )
    return out


def random_problem(rng: np.random.Generator, *, wide: bool):
    """A problem small enough to enumerate: K, S, Q, xi and 8 lanes of costs."""
    K = int(rng.integers(2, 4))
    S = int(rng.integers(1, 12 if K == 3 else 23))
    N = int(rng.integers(1, 25))
    Q = rng.integers(0, 12, K)
    xi = rng.integers(0, 45, (N, K)) * (rng.integers(0, 2, (N, K)) if rng.random() < 0.5 else 1)
    P = 8
    if wide:
        params = CostParamsBatch(
            h=rng.choice([0.0, 0.005, 0.01, 0.02], P),
            f=rng.choice([0.0, 0.003], P),
            r=rng.choice([0.0, 0.002, 0.003, 0.01], (P, K)),
            theta=rng.choice([0.0, 0.0005, 0.002, 0.01], P),
            lambda_u=rng.choice([0.0, 0.005, 0.02, 0.05, 0.3, 1.0], P),
            lambda_o=rng.choice([0.0, 0.002, 0.01, 0.05, 0.3, 1.0], P),
        )
    else:
        params = CostParamsBatch(
            h=rng.uniform(0.005, 0.02, P),
            f=np.full(P, 0.003),
            r=rng.uniform(0.0, 0.0035, (P, K)),
            theta=rng.uniform(0.0, 0.002, P),
            lambda_u=rng.uniform(0.002, 0.05, P),
            lambda_o=rng.uniform(0.002, 0.05, P),
        )
    return K, S, Q, xi, params


def _grid(S: int, K: int) -> np.ndarray:
    axes = np.meshgrid(*[np.arange(S + 1)] * (K + 1), indexing="ij")
    X = np.stack([a.ravel() for a in axes], axis=1)
    keep = np.all(X[:, 1:] <= (S - X[:, 0])[:, None], axis=1) & (X.sum(axis=1) >= S)
    return X[keep]


def precision(cases: int, *, wide: bool, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng([seed, wide])
    gaps: dict[str, list[float]] = {"descent": [], "sa": []}
    for _ in range(cases):
        K, S, Q, xi, params = random_problem(rng, wide=wide)
        grid = _grid(S, K)
        target = np.full(len(params), S)
        found = {"descent": allocate(target, Q, xi, params), "sa": _sa(target, Q, xi, params, rng)}
        for p in range(len(params)):
            lane = params[p]
            best = float(expected_cost(grid[:, 0], grid[:, 1:], S, Q, xi, lane).min())
            scale = max(abs(best), S * (lane.h + lane.f), S * _FLOOR)
            for name, X in found.items():
                gaps[name].append((expected_cost(X[p, 0], X[p, 1:], S, Q, xi, lane) - best) / scale)
    out: dict[str, Any] = {"lanes": len(gaps["descent"])}
    for name, g in gaps.items():
        g = np.array(g)
        out[name] = {
            "within_0_1_pct": float(np.mean(g <= 1e-3)),
            "missed": int(np.sum(g > 1e-3)),
            "exact": float(np.mean(g <= 1e-12)),
            "worst_gap": float(g.max()),
        }
    return out


def measure(ctx) -> dict[str, Any]:
    cases = 10 if ctx.quick else 400
    return {
        "timing": timing(ctx.md, quick=ctx.quick),
        "precision_paper_scales": precision(cases, wide=False, seed=1),
        "precision_wide": precision(cases, wide=True, seed=2),
    }


def markdown(result: dict[str, Any]) -> list[str]:
    t = result["timing"]
    lines = [
        "## Cont–Kukanov allocator (`cont_kukanov`, several venues)",
        "",
        f"CPU time per decision, median over {t['decisions']} decisions of the benchmark market "
        f"(median {t['samples_median']} outflow samples, 3 venues); `sa` is 1,000 SA iterations.",
        "",
        "| allocator | 1 lane | 125 lanes, target 5,000 | 125 lanes, targets 100-5,000 |",
        "|---|---|---|---|",
    ]
    for name in ("descent", "sa"):
        row = t[name]
        cells = (row[f"us_per_decision_{k}"] for k in ("1_lane", "125_lanes", "125_lanes_varied_targets"))
        lines.append(f"| {name} | " + " | ".join(f"{us:,.0f} µs" for us in cells) + " |")
    lines += [
        "",
        f"descent / sa at 125 lanes (varied targets): {t['descent_over_sa_125_lanes']:.2f}×",
        "",
        "Precision against a brute force over every whole-share decision (K = 2, 3):",
        "",
        "| range | lanes | allocator | within 0.1% | exact | worst gap |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in (("precision_paper_scales", "paper's scales"), ("precision_wide", "wide")):
        p = result[key]
        for name in ("descent", "sa"):
            row = p[name]
            lines.append(
                f"| {label} | {p['lanes']:,} | {name} | {row['within_0_1_pct']:.2%} ({row['missed']} missed) "
                f"| {row['exact']:.2%} | {row['worst_gap']:.2%} |"
            )
    return lines
