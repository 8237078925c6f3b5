"""Shared fixtures: tiny hand-built markets and a one-call engine run."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from feeds.market import MarketData, price_to_units
from sim.engine import Engine, StrategySlot
from venues.config import VenueConfig

# CI runs the same property-test examples every time (a red CI must mean a real change),
# and a noisy shared machine must not fail a test for being slow.
settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")

T0 = 1_722_519_392_000_000_000  # 2024-08-01T13:36:32Z
SEC = 1_000_000_000


def book_row(
    ts: int,
    venue: int,
    asks: Sequence[tuple[str, int]] = (),
    bids: Sequence[tuple[str, int]] = (),
    *,
    action: str = "A",
    side: str = "N",
    price: str | None = None,
    size: int = 0,
    levels: int = 3,
) -> dict:
    """Describe one snapshot with dollar strings; ``make_md`` turns a list of these into columns."""
    return dict(
        ts=ts,
        venue=venue,
        asks=list(asks),
        bids=list(bids),
        action=action,
        side=side,
        price=price,
        size=size,
        levels=levels,
    )


def make_md(rows: Sequence[dict], source: str = "hand-built") -> MarketData:
    """Build ``MarketData`` from ``book_row`` dicts (sorted by ts as given)."""
    levels = max(r["levels"] for r in rows)
    n = len(rows)
    arrays = {k: np.zeros((n, levels), dtype=np.int64) for k in ("bid_px", "bid_sz", "ask_px", "ask_sz")}
    for i, r in enumerate(rows):
        for j, (px, sz) in enumerate(r["asks"]):
            arrays["ask_px"][i, j] = price_to_units(px)
            arrays["ask_sz"][i, j] = sz
        for j, (px, sz) in enumerate(r["bids"]):
            arrays["bid_px"][i, j] = price_to_units(px)
            arrays["bid_sz"][i, j] = sz
    return MarketData(
        ts_event=[r["ts"] for r in rows],
        ts_recv=[r["ts"] for r in rows],
        venue=[r["venue"] for r in rows],
        action=[ord(r["action"]) for r in rows],
        side=[ord(r["side"]) for r in rows],
        price=[price_to_units(r["price"]) if r["price"] else 0 for r in rows],
        size=[r["size"] for r in rows],
        **arrays,
        source=source,
        symbol="TEST",
        rows_read=n,
    )


def venue(venue_id: int, fee: str = "0", rebate: str = "0", latency_ns: int = 0) -> VenueConfig:
    """A venue config from dollar strings."""
    return VenueConfig.flat(
        venue_id, fee=price_to_units(fee), rebate=price_to_units(rebate), latency_ns=latency_ns
    )


def run_engine(md, venues, cls, params=({},), *, target, start_ns=None, end_ns=None, seed=0, side="buy"):
    """Run one strategy class over ``md`` and return ``(engine, ledger)``."""
    engine = Engine(
        md,
        venues,
        [StrategySlot(cls.kind or "s", cls, tuple(params))],
        target=target,
        side=side,
        start_ns=int(md.ts_event[0]) if start_ns is None else start_ns,
        end_ns=int(md.ts_event[-1]) if end_ns is None else end_ns,
        seed=seed,
    )
    outcome = engine.run()
    return engine, outcome.ledgers[0]


@pytest.fixture
def usd():
    """Convert a dollar string to 1e-9 units, for assertions."""
    return price_to_units


def one_line_error(result, *parts) -> str:
    """Check ``result`` failed with one ``Error:`` line holding ``parts``; return that line."""
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    for part in parts:
        assert part in result.output, result.output
    return result.output.strip()
