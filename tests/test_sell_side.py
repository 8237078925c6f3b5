"""Selling: the mirror of buying. A sell on a market gives the fills of a buy on that market mirrored."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SEC, T0, book_row, make_md, run_engine, venue
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.market import MarketData
from feeds.market import price_to_units as usd
from feeds.synthetic import SynthConfig, default_venue_settings, generate
from sim.engine import Engine, StrategySlot
from strategies.best_ask import BestAsk
from strategies.ck_static import CkStatic
from strategies.cont_kukanov import ContKukanov
from strategies.twap import Twap
from strategies.vwap import Vwap
from venues.config import VenueConfig

_B, _A = ord("B"), ord("A")


def mirror(md: MarketData, center: int) -> MarketData:
    """Reflect every price around ``center`` (p -> 2c - p): bids become asks and buyers sellers."""

    def flip(px, sz):
        return np.where(sz > 0, 2 * center - px, 0)

    side = np.where(md.side == _B, _A, np.where(md.side == _A, _B, md.side))
    return MarketData(
        ts_event=md.ts_event,
        ts_recv=md.ts_recv,
        venue=md.venue,
        action=md.action,
        side=side,
        price=np.where(md.price != 0, 2 * center - md.price, 0),
        size=md.size,
        bid_px=flip(md.ask_px, md.ask_sz),
        bid_sz=md.ask_sz,
        ask_px=flip(md.bid_px, md.bid_sz),
        ask_sz=md.bid_sz,
        source=md.source,
        symbol=md.symbol,
    )


def venues_of(seed: int):
    return [
        VenueConfig.flat(
            r["venue"],
            fee=int(round(r["fee_per_share"] * 1e9)),
            rebate=int(round(r["rebate_per_share"] * 1e9)),
            latency_ns=r["latency_ns"] + 7_000 * seed,
        )
        for r in default_venue_settings(3)
    ]


def fills(md, cls, params, side, seed):
    engine = Engine(
        md,
        venues_of(seed),
        [StrategySlot("s", cls, tuple(params))],
        target=1500,
        side=side,
        start_ns=int(md.ts_event[0]),
        end_ns=int(md.ts_event[-1]),
        seed=seed,
    )
    ledger = engine.run().ledgers[0]
    out = [(f.ts, f.venue, f.price, f.qty.tolist(), f.liquidity.value, f.catch_up) for f in ledger.fills]
    return out, ledger


CASES = [
    (BestAsk, [{}]),
    (Twap, [{"bucket_s": 4}]),
    (Vwap, [{}]),
    (CkStatic, [{}, {"lambda_over": 1.0}]),
    (
        ContKukanov,
        [
            {"horizon_s": 3, "estimation_s": 6, "sa_samples": 50},
            {"horizon_s": 3, "estimation_s": 6, "sa_samples": 50, "lambda_under": 0.002},
        ],
    ),
]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), case=st.sampled_from(CASES))
def test_a_sell_gives_the_mirrored_buys_fills(seed, case):
    cls, params = case
    md = generate(SynthConfig(seconds=15, seed=seed, venues=3))
    center = usd("200.00")
    sold, sell_ledger = fills(md, cls, params, "sell", seed)
    bought, buy_ledger = fills(mirror(md, center), cls, params, "buy", seed)
    assert sold, "the sell traded"
    assert [(t, v, 2 * center - p, q, liq, c) for t, v, p, q, liq, c in bought] == sold
    assert sell_ledger.filled.tolist() == buy_ledger.filled.tolist()
    assert sell_ledger.fees.tolist() == buy_ledger.fees.tolist()


def test_a_sell_takes_bids_best_first_and_books_proceeds_net_of_fees():
    # Bids: venue 1 10.00 x 100, venue 2 10.02 x 50 (best). Sell 120 with best_ask's rule:
    # 50 @ 10.02 then 70 @ 10.00. Proceeds 501 + 700 = 1201 less 120 x $0.003 fee = 1200.64.
    md = make_md(
        [
            book_row(T0, 1, bids=[("10.00", 100)], asks=[("10.05", 100)]),
            book_row(T0, 2, bids=[("10.02", 50)], asks=[("10.04", 100)]),
        ]
    )
    engine = Engine(
        md,
        [venue(1, fee="0.003"), venue(2, fee="0.003")],
        [StrategySlot("s", BestAsk, ({},))],
        target=120,
        side="sell",
        start_ns=T0,
        end_ns=T0,
        seed=0,
    )
    ledger = engine.run().ledgers[0]
    assert [(f.venue, f.price, int(f.qty[0])) for f in ledger.fills] == [
        (1, usd("10.02"), 50),
        (0, usd("10.00"), 70),
    ]
    assert int(ledger.cash[0]) == usd("1200.64")


def test_a_resting_sell_joins_the_ask_queue_and_fills_on_buys_at_its_price():
    # Post 100 at the 10.05 ask behind 200; a buy of 250 at 10.05 lifts the 200 ahead, then 50 of ours.
    rows = [
        book_row(T0, 1, bids=[("10.00", 100)], asks=[("10.05", 200)]),
        book_row(
            T0 + SEC,
            1,
            bids=[("10.00", 100)],
            asks=[("10.06", 300)],
            action="T",
            side="B",
            price="10.05",
            size=250,
        ),
    ]

    class PostAtBestAsk(BestAsk):
        kind = "post"

        def on_start(self, view):
            self.call_at(T0, lambda: self.post(0, 100, int(view.near_px[0, 0])))

        def on_book(self, view):
            pass

        @property
        def watching(self):
            return False

    _, ledger = run_engine(
        make_md(rows), [venue(1, rebate="0.002")], PostAtBestAsk, target=100, end_ns=T0 + SEC, side="sell"
    )
    maker = [f for f in ledger.fills if not f.catch_up]
    assert [(f.price, int(f.qty[0]), f.liquidity.value) for f in maker] == [(usd("10.05"), 50, "maker")]


def test_a_sell_scenario_runs_end_to_end(tmp_path):
    from click.testing import CliRunner

    from sim.cli import main

    out = tmp_path / "r.json"
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        '[data]\nsource = "synthetic:venues=3,seconds=30,seed=4"\n[order]\nside = "sell"\nquantity = 2000\n'
        '[[strategies]]\nname = "best_ask"\n[[strategies]]\nname = "twap"\nparams = { bucket_s = 10 }\n'
    )
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "proceeds $" in result.output
    import json

    data = json.loads(out.read_text())
    assert data["order"] == {"side": "sell", "quantity": 2000}
    assert "on the proceeds" in data["savings_rule"]
    assert all(s["filled_shares"] == 2000 for s in data["strategies"].values())


@pytest.mark.parametrize(("side", "touch"), [("buy", "10.01"), ("sell", "10.04")])
def test_the_closing_mid_and_the_touch_an_overfill_unwinds_into(side, touch):
    # Last books: venue 1 10.00 x 10.05, venue 2 10.01 x 10.04: consolidated 10.01 x 10.04, mid
    # 10.025 for either side. A buy's excess would be sold back at the best bid, 10.01; a sell's
    # bought back at the best ask, 10.04.
    md = make_md(
        [
            book_row(T0, 1, bids=[("10.00", 100)], asks=[("10.05", 100)]),
            book_row(T0, 2, bids=[("10.01", 50)], asks=[("10.04", 100)]),
        ]
    )
    engine = Engine(
        md,
        [venue(1), venue(2)],
        [StrategySlot("s", BestAsk, ({},))],
        target=1,
        side=side,
        start_ns=T0,
        end_ns=T0,
        seed=0,
    )
    outcome = engine.run()
    assert (outcome.final_mid, outcome.unwind_px) == (usd("10.025"), usd(touch))
