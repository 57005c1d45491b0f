"""Live news refresh against a local CryptoPanic server: new headlines stored, scored and
served on the next candle; an outage logged once, headlines kept, features NaN after the gap."""

from __future__ import annotations

import logging

import pandas as pd

from plugins.altdata.news.config import NewsConfig
from plugins.altdata.news.features import NewsFeatures
from plugins.altdata.news.live import NewsRefresher
from tests.plugins.altdata.news_cases import PATH, make_keyed, page, shipped_posts

NOW = pd.Timestamp("2024-11-06 12:00", tz="UTC")


class Clock:
    def __init__(self, now: pd.Timestamp) -> None:
        self.now = now

    def __call__(self) -> pd.Timestamp:
        return self.now


def posts_before(now: pd.Timestamp, n: int) -> list[dict]:
    return [p for p in shipped_posts() if pd.Timestamp(p["published_at"]) <= now][:n]


def test_refresh_when_source_answers_then_headlines_stored_scored_and_visible(httpserver, tmp_path):
    httpserver.expect_request(PATH).respond_with_json(page(posts_before(NOW, 20), None))
    news = NewsFeatures(NewsConfig(providers=("cryptopanic",)), tmp_path)
    clock = Clock(NOW)
    refresher = NewsRefresher(news, [make_keyed(httpserver.url_for("").rstrip("/"), "k" * 16)],
                              now=clock)

    assert refresher.refresh_due() == ["cryptopanic"]

    assert len(news.store.read("cryptopanic")) == 20
    bars = pd.DataFrame({"date": [NOW - pd.Timedelta(hours=1)]})
    out = news.add_features(bars, "1h", "BTC/USDT")
    assert out["news_covered"].iloc[0] == 1 and out["%-news_count"].iloc[0] > 0
    assert out["%-news_sent_decay"].notna().all()  # scored with VADER on arrival
    assert refresher.refresh_due() == []  # not due again before refresh_interval


def test_refresh_when_source_down_then_logged_once_and_features_nan_after_gap(httpserver, tmp_path,
                                                                             caplog):
    httpserver.expect_ordered_request(PATH).respond_with_json(page(posts_before(NOW, 10), None))
    news = NewsFeatures(NewsConfig(providers=("cryptopanic",)), tmp_path)
    clock = Clock(NOW)
    provider = make_keyed(httpserver.url_for("").rstrip("/"), "k" * 16)
    refresher = NewsRefresher(news, [provider], now=clock)
    refresher.refresh_due()
    httpserver.clear()
    httpserver.expect_request(PATH).respond_with_data("down", status=503)
    caplog.set_level(logging.WARNING)

    for hours in (1, 2, 3):
        clock.now = NOW + pd.Timedelta(hours=hours)
        assert refresher.refresh_due() == []

    assert caplog.text.count("News refresh of cryptopanic failed") == 1
    assert len(news.store.read("cryptopanic")) == 10  # kept
    late = pd.DataFrame({"date": [NOW + pd.Timedelta(hours=60)]})
    assert news.add_features(late, "1h", "BTC/USDT")["%-news_count"].isna().all()
