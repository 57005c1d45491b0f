"""Point-in-time news features: a headline is never visible before its ``available_at`` plus
the processing lag (strictly before the candle's close), no coverage is NaN (never 0), the
features at a candle do not change when later headlines are removed, and the arithmetic of
counts, decayed sentiment and intensity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.news.config import NewsConfig
from plugins.altdata.news.features import (
    COVERED,
    FEATURES,
    FREQAI_COLUMNS,
    NewsFeatures,
    news_features,
)
from plugins.altdata.news.schema import SCORE
from plugins.altdata.news.store import NewsStore
from plugins.altdata.providers.cryptopanic import CryptoPanicProvider
from plugins.altdata.providers.rss import RssNewsProvider
from tests.conftest import bundle_dir

T0 = pd.Timestamp("2024-09-01", tz="UTC")
CFG = NewsConfig(processing_lag_minutes=5, coverage_gap_hours=48, min_intensity_days=2)


def headlines(rows: list[tuple[str, str, float | None]]) -> pd.DataFrame:
    """(published_at, title, score) rows as a scored headline frame (CryptoPanic: +1 min)."""
    provider = CryptoPanicProvider(api_key="unused-key-000")
    raw = pd.DataFrame({"published_at": [r[0] for r in rows], "title": [r[1] for r in rows],
                        "source": "outlet.example"})
    frame = provider.finalize(raw)
    scores = {r[1]: (np.nan if r[2] is None else r[2]) for r in rows}
    return frame.assign(**{SCORE: frame["title"].map(scores).astype("float64")})


def candles(start: str, periods: int, freq: str = "1h") -> pd.DataFrame:
    dates = pd.date_range(start, periods=periods, freq=freq, tz="UTC")
    return pd.DataFrame({"date": dates, "close": np.linspace(1, 2, periods)})


def at(frame: pd.DataFrame, features: pd.DataFrame, when: str) -> pd.Series:
    return features.loc[frame.index[frame["date"] == pd.Timestamp(when, tz="UTC")][0]]


def test_features_when_headline_available_then_visible_only_strictly_after_available_plus_lag():
    # published 10:54, available 10:55 (CryptoPanic +1 min), +5 min lag = 11:00 exactly
    news = headlines([("2024-09-02 09:00", "Bitcoin steady", 0.0),
                      ("2024-09-02 10:54", "Bitcoin soars to record", 0.8)])
    bars = candles("2024-09-02 08:00", 6)

    out = news_features(bars, news, timeframe="1h", pair="BTC/USDT", config=CFG)

    assert at(bars, out, "2024-09-02 09:00")["news_count"] == 1  # closes 10:00: 09:06 visible
    assert at(bars, out, "2024-09-02 10:00")["news_count"] == 1  # closes 11:00 == 10:54+6 min
    assert at(bars, out, "2024-09-02 11:00")["news_count"] == 2  # closes 12:00
    assert at(bars, out, "2024-09-02 08:00")[COVERED] == 0  # nothing visible by 09:00


def test_features_when_lag_longer_then_headline_appears_later():
    news = headlines([("2024-09-02 09:00", "Bitcoin steady", 0.0),
                      ("2024-09-02 10:20", "Ether rallies", 0.5)])
    bars = candles("2024-09-02 08:00", 6)
    slow = CFG.model_copy(update={"processing_lag_minutes": 45})

    out = news_features(bars, news, timeframe="1h", pair="ETH/USDT", config=slow)

    assert at(bars, out, "2024-09-02 10:00")["news_pair_count"] == 0  # 10:21 + 45 min = 11:06
    assert at(bars, out, "2024-09-02 11:00")["news_pair_count"] == 1


def test_features_when_not_covered_then_nan_never_zero():
    news = headlines([("2024-09-02 09:00", "Bitcoin steady", 0.1)])
    bars = candles("2024-09-01 00:00", 24 * 6)

    out = news_features(bars, news, timeframe="1h", pair="BTC/USDT", config=CFG)

    before = out[bars["date"] < pd.Timestamp("2024-09-02 08:00", tz="UTC")]
    after = out[bars["date"] > pd.Timestamp("2024-09-04 10:00", tz="UTC")]  # > 48 h later
    quiet = at(bars, out, "2024-09-03 12:00")  # covered, nothing in the last 24 h
    for part in (before, after):
        assert part[list(FEATURES)].isna().all().all() and (part[COVERED] == 0).all()
    assert quiet[COVERED] == 1 and quiet["news_count"] == 0 and math.isnan(quiet["news_sent_mean"])
    weight = 2 ** (-27.9 / 12)  # visible 09:06 (+1 min, +5 min), close 13:00 a day later
    assert quiet["news_sent_decay"] == pytest.approx(0.1 * weight / (weight + 1), rel=1e-6)


def test_features_when_pair_tagged_then_pair_columns_count_only_its_headlines():
    news = headlines([("2024-09-02 09:00", "Bitcoin up", 0.4), ("2024-09-02 09:10", "XRP down", -0.6),
                      ("2024-09-02 09:20", "Ripple wins in court", 0.6)])
    bars = candles("2024-09-02 10:00", 1)

    btc = news_features(bars, news, timeframe="1h", pair="BTC/USDT", config=CFG).iloc[0]
    xrp = news_features(bars, news, timeframe="1h", pair="XRP/USDT", config=CFG).iloc[0]

    assert btc["news_count"] == xrp["news_count"] == 3
    assert btc["news_pair_count"] == 1 and xrp["news_pair_count"] == 2
    assert xrp["news_pair_sent_mean"] == pytest.approx(0.0)
    assert btc["news_sent_mean"] == pytest.approx((0.4 - 0.6 + 0.6) / 3)


def test_features_when_scorer_abstained_then_sentiment_nan_and_counts_kept():
    news = headlines([("2024-09-02 09:00", "Bitcoin up", None), ("2024-09-02 09:30", "Ether", None)])
    bars = candles("2024-09-02 10:00", 3)

    out = news_features(bars, news, timeframe="1h", pair="BTC/USDT", config=CFG)

    assert (out["news_count"] == 2).all()
    for column in ("news_sent_mean", "news_sent_decay", "news_pair_sent_mean",
                   "news_pair_sent_decay"):
        assert out[column].isna().all(), column


def test_features_when_one_half_life_passed_then_decayed_weight_halved():
    news = headlines([("2024-09-02 08:54", "Bitcoin soars", 0.8)])  # visible from 09:00
    bars = candles("2024-09-02 20:00", 1)  # closes 21:00: 12 h after visibility

    out = news_features(bars, news, timeframe="1h", pair="BTC/USDT", config=CFG).iloc[0]

    assert out["news_sent_decay"] == pytest.approx(0.8 * 0.5 / (0.5 + 1.0))


def test_features_when_busier_day_then_intensity_is_log_ratio_to_median():
    rows = [(f"2024-09-{d:02d} 12:00", f"Story {d}", 0.0) for d in range(1, 11)]
    rows += [("2024-09-10 13:00", "Extra one", 0.0), ("2024-09-10 14:00", "Extra two", 0.0)]
    bars = candles("2024-09-10 23:00", 1)

    out = news_features(bars, headlines(rows), timeframe="1h", pair="BTC/USDT", config=CFG).iloc[0]

    assert out["news_count"] == 3
    assert out["news_intensity"] == pytest.approx(math.log(4 / 2))  # median of 30 days: 1


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    provider = CryptoPanicProvider(api_key="unused-key-000")
    frame = provider.finalize(provider.parse(provider.wire_from_shared(bundle_dir())))
    rng = np.random.default_rng(7)
    return frame.assign(**{SCORE: rng.uniform(-1, 1, len(frame))})


@pytest.mark.parametrize("cut", ["2024-11-06 10:00", "2024-12-05 03:00", "2025-01-20 17:00"])
def test_features_when_later_headlines_removed_then_earlier_candles_unchanged(shipped, cut):
    bars = candles("2024-10-01", 24 * 120)
    cut = pd.Timestamp(cut, tz="UTC")
    known = shipped[shipped[AVAILABLE_AT] <= cut]

    full = news_features(bars, shipped, timeframe="1h", pair="BTC/USDT", config=NewsConfig())
    past = news_features(bars, known, timeframe="1h", pair="BTC/USDT", config=NewsConfig())

    closed = (bars["date"] + pd.Timedelta(hours=1)) <= cut
    pd.testing.assert_frame_equal(full[closed], past[closed])
    assert full[closed][COVERED].sum() > 100


def test_add_features_when_store_filled_then_freqai_columns_and_flag(tmp_path):
    provider = RssNewsProvider()
    frame = provider.finalize(provider.parse(provider.wire_from_shared(bundle_dir())))
    NewsStore(tmp_path / "news").update("rss", frame)
    news = NewsFeatures(NewsConfig(providers=("rss",)), tmp_path)
    news.reload(pd.Timestamp("2022-07-06", tz="UTC"))
    bars = candles("2022-03-01", 24 * 7)

    out = news.add_features(bars, "1h", "BTC/USDT")

    assert [c for c in out.columns if c.startswith("%-")] == [f"%-{c}" for c in FREQAI_COLUMNS]
    assert (out[COVERED] == 1).all() and out[[f"%-{c}" for c in FREQAI_COLUMNS]].notna().all().all()
    assert out["close"].equals(bars["close"])
