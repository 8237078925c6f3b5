"""Scenario files: every bad key or value is named in a one-line error."""

from __future__ import annotations

import pytest

from sim.runner import plan
from sim.scenario import Scenario, ScenarioError, dollars_to_units

BASE = """
[data]
source = "synthetic:venues=3,seconds=10,seed=1"
[order]
quantity = 500
[[strategies]]
name = "best_ask"
[[strategies]]
name = "ck_static"
[sweep]
strategy = "ck_static"
[sweep.grid]
lambda_over = [0.2, 0.4]
theta_queue = [0.1, 0.3, 0.5]
"""


def load(tmp_path, text):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return Scenario.from_toml(path)


def test_grid_sweep_expands_in_grid_order(tmp_path):
    s = load(tmp_path, BASE)
    sets = s.sweep.parameter_sets()
    assert len(sets) == 6
    assert sets[0] == {"lambda_over": 0.2, "theta_queue": 0.1}
    assert sets[1] == {"lambda_over": 0.2, "theta_queue": 0.3}
    assert sets[5] == {"lambda_over": 0.4, "theta_queue": 0.5}


def test_vectorised_sweep_is_one_engine_slot(tmp_path):
    p = plan(load(tmp_path, BASE))
    # best_ask one slot, ck_static (vectorised) one slot with six lanes
    assert len(p.slots) == 2
    assert len(p.slots[1].params) == 6
    assert p.sweep_rows == tuple((1, lane) for lane in range(6))


def test_random_sweep_is_seeded_and_within_bounds(tmp_path):
    text = (
        BASE.split("[sweep]")[0]
        + """
[sweep]
strategy = "ck_static"
method = "random"
samples = 20
seed = 3
[sweep.space]
lambda_over = [0.1, 0.5]
"""
    )
    a = load(tmp_path, text).sweep.parameter_sets()
    b = load(tmp_path, text).sweep.parameter_sets()
    assert a == b and len(a) == 20
    assert all(0.1 <= r["lambda_over"] <= 0.5 for r in a)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("quantity = 500", "quantity = 500\nqty = 3"), "[order]: unknown key 'qty'"),
        (
            ("quantity = 500", "quantity = -5"),
            "[order] quantity: must be in [1, 1,000,000,000] shares, got -5",
        ),
        (("quantity = 500", "quantity = 500\nside = 'short'"), "side: expected one of buy, sell"),
        (('name = "best_ask"', 'name = "best_ask"\nparamz = {}'), "strategies[0]: unknown key 'paramz'"),
        (('strategy = "ck_static"', 'strategy = "nope"'), "no strategy named 'nope'"),
        (("[sweep.grid]", "[sweep.grid]\nlambda_under = []"), "grid.lambda_under: expected a non-empty list"),
        (("[data]", "[datta]\nx=1\n[data]"), "unknown key 'datta'"),
    ],
)
def test_bad_scenario_keys_are_named(tmp_path, change, message):
    with pytest.raises(ScenarioError) as err:
        load(tmp_path, BASE.replace(*change, 1))
    assert message in str(err.value)
    assert str(tmp_path / "s.toml") in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_strategy_kind_is_named(tmp_path):
    s = load(tmp_path, BASE.replace('name = "best_ask"', 'name = "best_ask"\nkind = "best_bid"'))
    with pytest.raises(ScenarioError, match="unknown strategy 'best_bid' \\(installed: .*best_ask"):
        plan(s)


def test_unknown_strategy_parameter_is_named(tmp_path):
    s = load(tmp_path, BASE.replace("lambda_over = [0.2, 0.4]", "lambda_ovr = [0.2]"))
    with pytest.raises(ScenarioError, match="unknown parameter 'lambda_ovr'"):
        plan(s)


def test_invalid_toml_is_one_line(tmp_path):
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load(tmp_path, "[data\nsource=1")


def test_dollars_are_converted_exactly():
    assert dollars_to_units("x", 0.003) == 3_000_000
    assert dollars_to_units("x", "0.0032") == 3_200_000
    assert dollars_to_units("x", 0) == 0
    with pytest.raises(ScenarioError, match="more than 9 decimals"):
        dollars_to_units("x", "0.0000000001")
    with pytest.raises(ScenarioError, match=">= 0"):
        dollars_to_units("x", -0.1)
    with pytest.raises(ScenarioError, match=">= 0"):
        dollars_to_units("x", float("nan"))


def test_queue_model_is_chosen_by_name(tmp_path):
    from venues.queue import FrontFirst, ProbabilisticQueue

    s = load(tmp_path, BASE + '\n[queue]\nmodel = "probabilistic"\npower = 0.5\n')
    assert s.queue == ProbabilisticQueue(power=0.5)
    assert load(tmp_path, BASE).queue is None  # each venue's default
    assert load(tmp_path, BASE + '\n[queue]\nmodel = "front_first"\n').queue == FrontFirst()
    with pytest.raises(
        ScenarioError, match=r"\[queue\]: unknown queue model 'fifo' \(installed: .*proportional"
    ):
        load(tmp_path, BASE + '\n[queue]\nmodel = "fifo"\n')
    with pytest.raises(ScenarioError, match=r"\(front_first\): unknown parameter 'power'"):
        load(tmp_path, BASE + '\n[queue]\nmodel = "front_first"\npower = 2\n')
    # An infinite power is refused when the file is read, not after the run.
    with pytest.raises(ScenarioError, match=r"power: expected a finite number in \(0, 100\]"):
        load(tmp_path, BASE + '\n[queue]\nmodel = "probabilistic"\npower = inf\n')


def test_venue_settings_layer_scenario_over_default_over_source(tmp_path):
    from sim.runner import venue_configs

    s = load(
        tmp_path,
        BASE
        + "\n[venues.default]\nrebate = 0.001\nresponse_latency_us = 80\n"
        + "[venues.5]\nfee = 0.0025\nlatency_us = 350\nname = 'BZX'\n",
    )
    by_id = {c.venue_id: c for c in venue_configs(s, venue_ids=(2, 5, 38), source="synthetic:venues=3")}
    # venue 5: fee and latency from [venues.5], rebate from [venues.default]
    five = by_id[5]
    assert (five.fees.fee, five.fees.rebate, five.latency.entry_us, five.name) == (
        2_500_000,
        1_000_000,
        350,
        "BZX",
    )
    # venue 2: fee and latency from the synthetic market's own settings ($0.0030, 150 us as published)
    from feeds.synthetic import default_venue_settings

    xnas = default_venue_settings(3)[0]
    assert by_id[2].fees.fee == 3_000_000 and by_id[2].latency.entry_us * 1000 == xnas["latency_ns"]
    assert by_id[2].fees.rebate == 1_000_000
    assert by_id[2].latency.response_us == five.latency.response_us == 80
    with pytest.raises(ScenarioError, match=r"response_latency_us: must be in \[0, 60,000,000\] us, got -1"):
        load(tmp_path, BASE + "\n[venues.default]\nresponse_latency_us = -1\n")
    # A venue the data lacks is left unused (a day it did not trade), not applied elsewhere.
    unused = venue_configs(
        load(tmp_path, BASE + "\n[venues.7]\nfee = 0.001\n"), venue_ids=(2, 5), source="x.csv"
    )
    assert [c.venue_id for c in unused] == [2, 5] and all(c.fees.fee != 1_000_000 for c in unused)
    # "02" is not venue 2: a key that would never match is refused, not ignored.
    with pytest.raises(ScenarioError, match=r"\[venues.02\]: venue keys are publisher ids"):
        load(tmp_path, BASE + "\n[venues.02]\nfee = 0.5\n")


def test_venue_models_are_built_from_tables_by_registered_name(tmp_path):
    from sim.runner import venue_configs
    from venues.fees import Inverted
    from venues.latency import LognormalLatency, RecordedFeedDelay
    from venues.queue import FrontFirst

    s = load(
        tmp_path,
        BASE
        + '\n[venues.default.latency]\nmodel = "lognormal"\nmedian_us = 200\nsigma = 0.5\n'
        + '[venues.default.queue]\nmodel = "front_first"\n'
        + '[venues.5.fees]\nmodel = "inverted"\ntaker_rebate = 0.001\nmaker_fee = 0.002\n'
        + '[venues.5.feed]\nmodel = "ts_recv"\n',
    )
    by_id = {c.venue_id: c for c in venue_configs(s, venue_ids=(2, 5), source="x.csv")}
    assert by_id[2].latency == by_id[5].latency == LognormalLatency(median_us=200, sigma=0.5)
    assert by_id[2].queue == FrontFirst()
    assert by_id[5].fees == Inverted(taker_rebate=1_000_000, maker_fee=2_000_000)
    assert by_id[5].feed == RecordedFeedDelay()
    # An inverted venue pays the taker and charges the maker.
    assert by_id[5].fees.taker_per_share(10**10) == -1_000_000
    assert by_id[5].fees.maker_per_share(10**10) == 2_000_000
    for bad, message in [
        ('[venues.2.latency]\nmodel = "warp"\n', "unknown latency model 'warp'"),
        ('[venues.2.latency]\nmodel = "lognormal"\nsigma = 9\n', r"sigma: must be in \[0, 3\]"),
        ("[venues.2.latency]\nmedian_us = 9\n", "missing key 'model'"),
        ('[venues.2]\nfee = 0.001\n[venues.2.fees]\nmodel = "maker_taker"\n', "fee or a \\[fees\\] table"),
        ('[venues.2.fees]\nmodel = "maker_taker"\nfee = 1e10\n', r"fee: must be a finite amount of dollars"),
        ("[venues.2]\nfee = 1e10\n", r"\[venues.2\] fee: must be a finite amount of dollars in \[0, 100\]"),
        ("[venues.2]\nrebate = 100.5\n", r"rebate: must be a finite amount of dollars in \[0, 100\]"),
    ]:
        with pytest.raises(ScenarioError, match=message):
            load(tmp_path, BASE + "\n" + bad)
