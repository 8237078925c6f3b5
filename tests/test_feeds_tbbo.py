"""TBBO beyond its MBP-1 layout: which files are TBBO, the side a quote implies, the quote age rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from feeds.csv_writer import write_csv
from feeds.market import MarketData
from feeds.tbbo import infer_aggressor, schema_of_name
from sim.runner import run_scenario
from sim.scenario import Scenario

A, B, N = ord("A"), ord("B"), ord("N")
UNDEF = 2**63 - 1


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("dbeq-basic-20240801.tbbo.csv", "tbbo"),
        ("XNAS-20240801.TBBO.csv.zst", "tbbo"),
        ("dir.tbbo/day.csv", None),  # the folder does not name the file's schema
        ("tbbo.csv", None),  # a stem alone is not Databento's schema part
        ("day.mbp-1.csv", None),
        ("day.csv", None),
    ],
)
def test_a_csv_is_tbbo_when_its_name_says_so(name, schema):
    assert schema_of_name(name) == schema


def test_a_print_without_a_side_takes_the_side_its_quote_implies():
    # Quote 10.00 x 10.02 on every row; prints at 9.99, 10.00, 10.01, 10.02, 10.03, then a
    # print at 10.00 that says B, and prints against an empty bid and an undefined ask.
    px = np.array([999, 1000, 1001, 1002, 1003, 1000, 1000, 1002]) * 10**7
    bid = np.array([1000] * 8) * 10**7
    ask = np.array([1002] * 8) * 10**7
    bid_sz = np.array([5, 5, 5, 5, 5, 5, 0, 5])
    ask_sz = np.array([7] * 8)
    ask[7] = UNDEF
    side = np.array([N, N, N, N, N, B, N, N])
    got = infer_aggressor(side, px, bid, ask, bid_sz, ask_sz)
    # At or below the bid: a sale; inside: unknown; at or above the ask: a purchase; a given side
    # stays; no bid shown: 10.00 is below the ask, so unknown; no ask: at 10.02 above the bid, unknown.
    assert [chr(s) for s in got] == ["A", "A", "N", "B", "B", "B", "N", "N"]


DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DBEQ_DAY = DATA / "dbeq-basic-tbbo" / "dbeq-basic-20240801.tbbo.dbn.zst"


@pytest.mark.skipif(not DBEQ_DAY.exists(), reason="shared DBEQ TBBO days not present")
def test_a_tbbo_csv_run_gets_the_tbbo_quote_age_rule(tmp_path):
    pytest.importorskip("databento_dbn")
    from feeds.dbn import read_dbn

    md: MarketData = read_dbn(DBEQ_DAY, instrument_id=13724)  # RIOT
    lo = int(md.ts_event[0])
    day = md.window(lo, lo + 3_600 * 10**9)
    results = {}
    for name in ("riot.tbbo.csv", "riot.csv"):
        write_csv(day, tmp_path / name)
        scenario = tmp_path / f"{name}.toml"
        body = '[order]\nquantity = 500\n[[strategies]]\nname = "best_ask"\n'
        scenario.write_text(f'[data]\nsource = "{tmp_path / name}"\n' + body)
        results[name] = json.loads(json.dumps(run_scenario(Scenario.from_toml(scenario)), default=str))
    tbbo, plain = results["riot.tbbo.csv"]["data"], results["riot.csv"]["data"]
    assert tbbo["schema"] == "tbbo" and tbbo["stale_quotes"]["max_quote_age_ms"] == 1000
    assert "schema" not in plain and "stale_quotes" not in plain
