"""DefiLlama stablecoin provider: publication time and values against the shipped file."""

from __future__ import annotations

import pandas as pd

from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.providers.defillama import SHARED_FILE, DefiLlamaStablecoinProvider
from tests.conftest import bundle_dir


def test_finalize_when_day_d_then_available_at_is_d_plus_1_day_1_hour():
    provider = DefiLlamaStablecoinProvider()
    wire = provider.wire_from_shared(bundle_dir())[-10:]

    frame = provider.finalize(provider.parse(wire))

    assert (frame[AVAILABLE_AT] - frame.index == pd.Timedelta(days=1, hours=1)).all()
    assert frame[AVAILABLE_AT].iloc[-1] == pd.Timestamp("2026-08-22 01:00", tz="UTC")


def test_fetch_shared_when_parsed_then_values_match_shipped_csv():
    provider = DefiLlamaStablecoinProvider()
    shipped = pd.read_csv(bundle_dir() / SHARED_FILE, parse_dates=["as_of"])
    shipped = shipped.set_index(shipped["as_of"].dt.tz_localize("UTC"))["value"]

    frame = provider.finalize(provider.parse(provider.wire_from_shared(bundle_dir())))

    assert len(frame) == len(shipped)
    assert frame.loc[pd.Timestamp("2024-03-01", tz="UTC"), "stablecoin_supply_usd"] == 1.40749e11
    pd.testing.assert_series_equal(frame["stablecoin_supply_usd"], shipped, check_names=False,
                                   check_index=False)
    assert (frame.index == shipped.index).all()
