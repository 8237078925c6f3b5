"""The order's size: a fixed quantity, or a share of the previous session's volume; the scenario keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.order_size import resolve_quantity
from sim.scenario import Scenario, ScenarioError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dbeq-basic-tbbo"
needs_download = pytest.mark.skipif(not DATA.exists(), reason="shared DBEQ download not present")
DAY = str(DATA / "dbeq-basic-20240801.tbbo.dbn.zst")


def scenario(order: dict, data: dict | None = None) -> Scenario:
    return Scenario.from_dict(
        {"data": data or {"source": DAY, "symbol": "RIOT"}, "order": order, "strategies": [{"name": "twap"}]},
        "s.toml",
    )


def test_a_fixed_quantity_is_used_as_it_is():
    size = resolve_quantity(scenario({"quantity": 700}))
    assert (size.quantity, size.basis) == (700, "quantity")
    assert size.as_json() == {"side": "buy", "quantity": 700, "basis": "quantity"}


@needs_download
def test_a_volume_fraction_is_of_the_previous_sessions_volume():
    pytest.importorskip("databento_dbn")
    s = scenario({"volume_fraction": 0.01})
    assert (s.quantity, s.volume_fraction) == (None, 0.01)
    size = resolve_quantity(s)
    # RIOT traded 297,929 shares in the regular session of 2024-07-31: 1% is 2,979.29 -> 2,979.
    assert (size.quantity, size.basis) == (2_979, "volume_fraction")
    block = size.as_json()
    assert block["previous_session"]["shares"] == 297_929
    assert block["previous_session"]["session"] == "2024-07-31"
    assert block["volume_fraction"] == 0.01


def test_a_fraction_is_read_as_the_decimal_written(tmp_path):
    dbn = pytest.importorskip("databento_dbn")
    from tests.dbn_fixtures import mbp1, metadata, write

    px, noon = 10 * 10**9, 1_722_513_600_000_000_000  # 2024-08-01T12:00:00Z, 08:00 in New York
    head = metadata(schema=dbn.Schema.TBBO, symbols=["A"], mappings={"A": 7})
    trade = dbn.Action.TRADE
    # 100 shares on 2024-08-01 in the regular session (15:00 UTC), none before it (12:00 UTC).
    write(
        tmp_path / "d-20240801.dbn",
        mbp1(noon, 39, px, px + 1, action=trade, price=px, size=900, instrument=7),
        mbp1(noon + 3 * 3600 * 10**9, 39, px, px + 1, action=trade, price=px, size=100, instrument=7),
        head=head,
    )
    write(tmp_path / "d-20240802.dbn", mbp1(noon + 86_400 * 10**9, 39, px, px + 1, instrument=7), head=head)
    s = scenario({"volume_fraction": 0.29}, {"source": str(tmp_path / "d-20240802.dbn"), "symbol": "A"})
    # 0.29 * 100 is 28.999999999999996 in floats; the order is exactly 29 shares.
    assert resolve_quantity(s).quantity == 29


@needs_download
def test_the_first_day_of_the_download_has_no_previous_session():
    pytest.importorskip("databento_dbn")
    first = str(DATA / "dbeq-basic-20240624.tbbo.dbn.zst")
    with pytest.raises(Exception) as info:
        resolve_quantity(scenario({"volume_fraction": 0.01}, {"source": first, "symbol": "RIOT"}))
    assert str(info.value).startswith(first) and "no previous session's file" in str(info.value)


@needs_download
def test_less_than_one_share_is_an_error():
    pytest.importorskip("databento_dbn")
    with pytest.raises(ScenarioError, match="is less than one share"):
        resolve_quantity(scenario({"volume_fraction": 1e-9}))


def test_a_synthetic_source_has_no_previous_session():
    s = scenario({"volume_fraction": 0.5}, {"source": "synthetic:seconds=5"})
    with pytest.raises(ScenarioError, match="needs a file of a dated batch download"):
        resolve_quantity(s)


BAD_FRACTION = r"volume_fraction \(a share of the previous session's volume\): .*in \(0, 1\], got"


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ({"quantity": 5, "volume_fraction": 0.1}, "give exactly one of quantity"),
        ({}, "give exactly one of quantity"),
        ({"volume_fraction": 0}, BAD_FRACTION),
        ({"volume_fraction": 1.5}, BAD_FRACTION),
        ({"volume_fraction": "0.1"}, BAD_FRACTION),
        ({"volume_fraction": True}, BAD_FRACTION),
        ({"volume_fraction": float("nan")}, BAD_FRACTION),
    ],
)
def test_bad_order_keys_are_one_line(order, message):
    with pytest.raises(ScenarioError, match=message):
        scenario(order)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"source": DAY, "symbol": 5}, "symbol: expected a string"),
        ({"source": DAY, "symbol": " "}, "symbol: must not be empty"),
        ({"source": DAY, "instrument_id": "7"}, r"instrument_id: .*in \[0, 4,294,967,295\], got"),
        ({"source": DAY, "instrument_id": -1}, r"instrument_id: .*in \[0, 4,294,967,295\], got"),
        ({"source": DAY, "symbol": "RIOT", "instrument_id": 7}, "give symbol or instrument_id, not both"),
        ({"source": DAY, "ticker": "RIOT"}, "ticker"),
    ],
)
def test_bad_data_keys_are_one_line(data, message):
    with pytest.raises(ScenarioError, match=message):
        scenario({"quantity": 1}, data)


def test_the_data_keys_reach_the_source_options():
    s = scenario({"quantity": 1}, {"source": DAY, "instrument_id": 13724})
    assert s.data.source_options() == {"symbol": None, "instrument_id": 13724}
