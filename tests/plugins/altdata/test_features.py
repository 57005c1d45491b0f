"""AltDataFeatures: the strategy-facing merge of every provider and the calendar."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from plugins.altdata.config import AltDataConfig
from plugins.altdata.features import ANY_STALE, BLACKOUT, AltDataFeatures
from tests.conftest import bundle_dir
from tests.plugins.altdata import NEWS_BLACKOUT_MIN


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    path = bundle_dir() / "crypto/freqtrade_binance_spot/BTC_USDT-1h.feather"
    frame = pd.read_feather(path)
    return frame[(frame["date"] >= "2024-01-01") & (frame["date"] < "2024-03-01")].reset_index(
        drop=True)


@pytest.fixture(scope="module")
def features(altdata_cache) -> AltDataFeatures:
    return AltDataFeatures(AltDataConfig(cache_dir=altdata_cache), **NEWS_BLACKOUT_MIN)


def test_add_features_when_all_sources_cached_then_freqai_columns_and_no_stale_rows(
        features, candles):
    out = features.add_features(candles, "1h")

    assert len(out) == len(candles) and list(out.index) == list(candles.index)
    assert "%-coinmetrics_mvrv" in out and "%-fred_vixcls_level" in out
    assert "%-calendar_hours_to_fomc" in out and BLACKOUT in out
    assert out[ANY_STALE].eq(0).all()
    assert out.filter(like="%-").notna().all().all()


def test_add_features_then_daily_onchain_value_first_appears_the_next_morning(features, candles):
    out = features.add_features(candles, "1h", feature_prefix="")

    mvrv = out.set_index("date")["coinmetrics_mvrv"]
    day = features.derived("coinmetrics").loc[pd.Timestamp("2024-01-15", tz="UTC"), "mvrv"]
    first = mvrv[mvrv == day].index.min()
    assert first == pd.Timestamp("2024-01-16 05:00", tz="UTC")  # candle closing 06:00


def test_add_features_when_candles_end_earlier_then_values_are_a_prefix_of_the_full_run(
        features, candles):
    full = features.add_features(candles, "1h", feature_prefix="")
    cut = features.add_features(candles.iloc[:500], "1h", feature_prefix="")

    pd.testing.assert_frame_equal(cut, full.iloc[:500])


def test_add_features_when_cache_empty_then_everything_stale_not_filled(tmp_path, candles,
                                                                         altdata_cache):
    (tmp_path / "calendar").mkdir()
    for name in ("fomc_dates.csv", "cpi_release_dates.csv"):
        (tmp_path / "calendar" / name).write_bytes((altdata_cache / "calendar" / name).read_bytes())

    out = AltDataFeatures(AltDataConfig(cache_dir=tmp_path), **NEWS_BLACKOUT_MIN).add_features(candles, "1h")

    assert out[ANY_STALE].eq(1).all()
    assert out.filter(like="%-coinmetrics").isna().all().all()


def test_replay_shift_days_moves_series_and_calendar_together(altdata_cache, candles):
    shifted = AltDataFeatures(AltDataConfig(cache_dir=altdata_cache, replay_shift_days=10),
                              **NEWS_BLACKOUT_MIN)
    plain = AltDataFeatures(AltDataConfig(cache_dir=altdata_cache), **NEWS_BLACKOUT_MIN)
    later = candles.assign(date=candles["date"] + pd.Timedelta(days=10))

    a = shifted.add_features(later, "1h").drop(columns="date")
    b = plain.add_features(candles, "1h").drop(columns="date")

    pd.testing.assert_frame_equal(a, b)


def test_config_rejects_unknown_keys_naming_the_field():
    from plugins.core.config import SuiteConfigError, load_section

    with pytest.raises(SuiteConfigError, match="ai_suite.altdata.cache_dri"):
        load_section(json.loads('{"ai_suite": {"altdata": {"cache_dri": "x"}}}'), "altdata",
                     AltDataConfig)
