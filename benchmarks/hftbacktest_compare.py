"""Benchmark section: ``sor`` against hftbacktest on the same one-venue market, the best_ask job.

hftbacktest (``pip install hftbacktest``, benchmark-only; it is not a dependency of
``sor``) replays a numpy array of depth and trade events with a numba-compiled
strategy. Both replay the same synthetic one-venue MBP-10 market: for hftbacktest
each row becomes depth events for the levels that changed (and one trade event for a
trade row), converted before the clock starts. The job: buy the target at the best
ask, reacting to every book update, until done. Rows per second count the market's
rows for both, so the ratio compares the same work; numba's compile is done before
timing. Without hftbacktest installed the section says so and measures nothing.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

NAME = "hftbacktest"
TARGET = 5000


def _market(ctx):
    from feeds.synthetic import SynthConfig, generate

    seconds = 26.1 if ctx.quick else 522.0
    return generate(SynthConfig(venues=1, seconds=seconds, seed=7))


def _events(md) -> np.ndarray:
    """Convert MBP-10 rows into hftbacktest events: changed levels as depth events, trades as trades."""
    from hftbacktest import (
        BUY_EVENT,
        DEPTH_EVENT,
        EXCH_EVENT,
        LOCAL_EVENT,
        SELL_EVENT,
        TRADE_EVENT,
        event_dtype,
    )

    scale = 1e9
    out: list[tuple] = []
    last = ({}, {})
    flags = EXCH_EVENT | LOCAL_EVENT
    for i in range(len(md)):
        ts = int(md.ts_event[i])
        if md.action[i] == ord("T"):
            side = BUY_EVENT if md.side[i] == ord("B") else SELL_EVENT
            out.append(
                (flags | TRADE_EVENT | side, ts, ts, md.price[i] / scale, float(md.size[i]), 0, 0, 0.0)
            )
        for k, (px, sz, side) in enumerate(
            ((md.bid_px[i], md.bid_sz[i], BUY_EVENT), (md.ask_px[i], md.ask_sz[i], SELL_EVENT))
        ):
            now = {int(p): int(s) for p, s in zip(px.tolist(), sz.tolist(), strict=True) if s > 0}
            before = last[k]
            for p in before.keys() - now.keys():
                out.append((flags | DEPTH_EVENT | side, ts, ts, p / scale, 0.0, 0, 0, 0.0))
            for p, s in now.items():
                if before.get(p) != s:
                    out.append((flags | DEPTH_EVENT | side, ts, ts, p / scale, float(s), 0, 0, 0.0))
            last = (now, last[1]) if k == 0 else (last[0], now)
    return np.array(out, dtype=event_dtype)


def _hbt_run(events: np.ndarray, target: float):
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest

    asset = (
        BacktestAsset()
        .data(events)
        .linear_asset(1.0)
        .constant_latency(150_000, 0)
        .risk_adverse_queue_model()
        .partial_fill_exchange()
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(0.01)
        .lot_size(1.0)
    )
    hbt = HashMapMarketDepthBacktest([asset])
    filled = _best_ask_job(hbt, target)
    hbt.close()
    return float(filled)


def _compile():
    from hftbacktest import GTC, LIMIT
    from numba import njit

    @njit
    def job(hbt, target):
        oid = 1
        while hbt.wait_next_feed(True, 60_000_000_000) in (0, 2, 3):
            position = hbt.position(0)
            if position >= target:
                break
            depth = hbt.depth(0)
            qty = min(target - position, depth.ask_qty_at_tick(depth.best_ask_tick))
            orders = hbt.orders(0)
            working = False
            values = orders.values()
            while values.has_next():
                if values.get().cancellable:
                    working = True
            if qty > 0 and not working:
                hbt.submit_buy_order(0, oid, depth.best_ask, qty, GTC, LIMIT, False)
                oid += 1
            hbt.clear_inactive_orders(0)
        hbt.elapse(86_400_000_000_000)  # the rest of the data, as sor's replay does
        return hbt.position(0)

    return job


_best_ask_job = None


def measure(ctx) -> dict[str, Any]:
    """Replay the same market with both, the best_ask job; report rows per second and the ratio."""
    global _best_ask_job
    try:
        import hftbacktest  # noqa: F401
        import numba  # noqa: F401
    except ImportError:
        return {"status": "skipped: hftbacktest is not installed (pip install hftbacktest)"}
    from benchmarks.measure import timed
    from feeds.feed import MemoryFeed
    from sim.replay import replay_scenario
    from sim.scenario import Scenario

    md = _market(ctx)
    events = _events(md)
    _best_ask_job = _compile()
    _hbt_run(events[: min(len(events), 5000)], float(TARGET))  # compile before timing
    reps = 1 if ctx.quick else 3
    hbt_t = timed(lambda: _hbt_run(events, float(TARGET)), reps)
    hbt_filled = _hbt_run(events, float(TARGET))
    base = Scenario.from_dict(
        {
            "data": {"source": "synthetic:venues=1"},
            "order": {"quantity": TARGET},
            "venues": {"default": {"fee": 0, "rebate": 0, "latency_us": 150}},
            "strategies": [{"name": "best_ask"}],
        }
    )
    sor_t = timed(lambda: replay_scenario(attrs.evolve(base), MemoryFeed(md)), reps, warmup=1)
    rows = len(md)
    sor_rate, hbt_rate = rows / sor_t.median, rows / hbt_t.median
    return {
        "status": "measured",
        "rows": rows,
        "events": int(events.shape[0]),
        "sor": {**sor_t.as_dict(), "rows_per_s": sor_rate},
        "hftbacktest": {**hbt_t.as_dict(), "rows_per_s": hbt_rate, "filled": hbt_filled},
        "sor_over_hftbacktest_rows_per_s": sor_rate / hbt_rate,
    }


def markdown(result: dict[str, Any]) -> list[str]:
    """Return this section of RESULTS.md."""
    head = ["## sor against hftbacktest (the best_ask job, one venue)", ""]
    if result.get("status") != "measured":
        return [*head, result.get("status", "-")]
    return [
        *head,
        f"The same synthetic one-venue market ({result['rows']:,} rows; {result['events']:,} hftbacktest "
        "events after conversion), the best_ask job. Rows per second count the market's rows for both.",
        "",
        "| replay | median | rows/s |",
        "|---|---|---|",
        f"| sor | {result['sor']['median_s']:.3f} s | {result['sor']['rows_per_s']:,.0f} |",
        f"| hftbacktest | {result['hftbacktest']['median_s']:.3f} s | "
        f"{result['hftbacktest']['rows_per_s']:,.0f} |",
        "",
        f"sor / hftbacktest: {result['sor_over_hftbacktest_rows_per_s']:.2f}x",
    ]
