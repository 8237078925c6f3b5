"""The [study] table and the market list it expands to: ids, order, sessions, one-line errors."""

from __future__ import annotations

import pytest

from feeds.csv_writer import write_csv
from feeds.synthetic import SynthConfig, generate
from sim.scenario import Scenario, ScenarioError
from sim.study.markets import expand_markets, market_scenario, with_seed

BASE = {
    "data": {"source": "synthetic:venues=2,seconds=20"},
    "order": {"quantity": 1000},
    "strategies": [{"name": "best_ask"}, {"name": "twap"}],
    "run": {"seed": 5},
}


def scenario(study, **tables) -> Scenario:
    return Scenario.from_dict({**BASE, **tables, "study": study}, "s.toml")


def test_seed_range_is_inclusive_and_a_longer_list_is_taken_as_written():
    assert scenario({"seeds": [3, 6]}).study.seeds == (3, 4, 5, 6)
    assert scenario({"seeds": [9, 2, 5]}).study.seeds == (9, 2, 5)
    assert scenario({"seed_list": [9, 2]}).study.seeds == (9, 2)
    assert scenario({"seeds": [4]}).study.seeds == (4,)


@pytest.mark.parametrize(
    ("study", "message"),
    [
        ({"seeds": [1, 4], "sedes": 1}, "s.toml: [study]: unknown key 'sedes'"),
        ({"seeds": [40, 1]}, "s.toml: [study] seeds: empty range 40..1"),
        ({"seeds": []}, "s.toml: [study] seeds: expected [first, last]"),
        ({"seeds": [1, -2, 3]}, "s.toml: [study] seeds[1]: must be >= 0"),
        ({"seeds": [1, 2, 1]}, "seed 1 is listed twice"),
        ({"seeds": [1, 2], "files": ["x.csv"]}, "give seeds or files, not both"),
        ({"seeds": [1, 2], "seed_list": [3]}, "give seeds or seed_list, not both"),
        ({}, "needs seeds = [first, last]"),
        ({"seeds": [1, 2], "windows": 0}, "[study] windows: must be in [1, 10,000]"),
        ({"seeds": [1, 2], "on_error": "ignore"}, "[study] on_error: expected one of stop, skip"),
        ({"seeds": [1, 2], "folds": 1}, "[study] folds: must be in [2,"),
        ({"seeds": [1, 2], "bootstrap_samples": 10}, "[study] bootstrap_samples: must be in [100,"),
        ({"seeds": [1, 2], "symbols": ["RIOT"]}, "[study] symbols: selects symbols in files"),
        ({"files": []}, "[study] files: expected a non-empty list of strings"),
    ],
)
def test_bad_study_tables_are_refused_in_one_line_naming_the_field(study, message):
    with pytest.raises(ScenarioError) as err:
        scenario(study)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_seed_markets_run_the_seed_as_both_market_and_run_seed():
    sc = scenario({"seeds": [1, 3]})
    markets = expand_markets(sc)
    assert [m.id for m in markets] == ["seed=1", "seed=2", "seed=3"]
    assert [m.session for m in markets] == ["seed=1", "seed=2", "seed=3"]
    assert markets[1].source == "synthetic:venues=2,seconds=20,seed=2"
    evolved = market_scenario(sc, markets[1])
    assert evolved.seed == 2 and evolved.data.source == markets[1].source
    assert evolved.walk_forward is None


def test_a_source_that_names_its_seed_gets_the_study_seed_instead():
    assert with_seed("synthetic:seed=7,venues=3", 12) == "synthetic:venues=3,seed=12"
    assert with_seed("synthetic:", 4) == "synthetic:seed=4"


def test_windows_are_markets_of_one_session_numbered_from_one():
    markets = expand_markets(scenario({"seeds": [1, 2], "windows": 3}))
    assert [m.id for m in markets] == [
        "seed=1 window=1/3",
        "seed=1 window=2/3",
        "seed=1 window=3/3",
        "seed=2 window=1/3",
        "seed=2 window=2/3",
        "seed=2 window=3/3",
    ]
    assert {m.session for m in markets[:3]} == {"seed=1"}
    assert [m.index for m in markets] == list(range(6))


def test_seeds_need_a_synthetic_source():
    sc = Scenario.from_dict({**BASE, "data": {"source": "day.csv"}, "study": {"seeds": [1, 2]}}, "s.toml")
    with pytest.raises(ScenarioError, match=r"seeds: need a synthetic \[data\] source, got 'day.csv'"):
        expand_markets(sc)


def test_files_expand_each_glob_sorted_without_repeats(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    md = generate(SynthConfig(venues=1, seconds=2, seed=1))
    for name in ("b.csv", "a.csv", "c.csv"):
        write_csv(md, tmp_path / "d" / name)
    sc = scenario({"files": ["d/[ab].csv", "d/*.csv"]})
    markets = expand_markets(sc)
    assert [m.id for m in markets] == ["file=d/a.csv", "file=d/b.csv", "file=d/c.csv"]
    assert [m.seed for m in markets] == [5, 5, 5]
    assert market_scenario(sc, markets[2]).data.source == "d/c.csv"


def test_a_glob_that_matches_nothing_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError, match=r"\[study\] files\[0\]: 'none/\*.dbn.zst' matches no file"):
        expand_markets(scenario({"files": ["none/*.dbn.zst"]}))
    with pytest.raises(ScenarioError, match=r"'missing.csv' matches no file"):
        expand_markets(scenario({"files": ["missing.csv"]}))


def test_symbols_are_refused_until_the_data_layer_selects_them(tmp_path, monkeypatch):
    import attrs

    from sim.scenario import DataSpec

    monkeypatch.chdir(tmp_path)
    write_csv(generate(SynthConfig(venues=1, seconds=2, seed=1)), tmp_path / "a.csv")
    sc = scenario({"files": ["a.csv"], "symbols": ["RIOT", "SPY"]})
    if "symbol" in attrs.fields_dict(DataSpec):
        markets = expand_markets(sc)
        assert [m.id for m in markets] == ["file=a.csv symbol=RIOT", "file=a.csv symbol=SPY"]
        assert market_scenario(sc, markets[1]).data.symbol == "SPY"
    else:
        with pytest.raises(ScenarioError, match="cannot select a symbol"):
            expand_markets(sc)


def test_more_folds_than_sessions_is_refused():
    with pytest.raises(ScenarioError, match=r"\[study\] folds: 5 folds but only 3 sessions"):
        expand_markets(scenario({"seeds": [1, 3], "windows": 2, "folds": 5}))
