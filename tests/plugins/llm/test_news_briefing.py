"""The briefing's latest scored headlines (point-in-time, deterministic) and ``python -m
plugins.llm score-news`` recording LLM scores into the score cache from the local server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from plugins.altdata.news.store import NewsStore, ScoreCache
from plugins.altdata.providers.cryptopanic import CryptoPanicProvider
from plugins.llm.__main__ import main
from plugins.llm.briefing import build_briefing, render_markdown
from plugins.llm.news_scorer import HOOK
from plugins.llm.testing.fake_server import Reply
from tests.conftest import bundle_dir

ELECTION = datetime(2024, 11, 6, 10, 49, tzinfo=UTC)  # 7 min after the "elected" headline


@pytest.fixture(scope="module")
def news_cache(tmp_path_factory, altdata_cache):
    """A copy of the session alt-data cache's calendar plus the shipped CryptoPanic headlines."""
    import shutil

    cache = tmp_path_factory.mktemp("news_cache")
    shutil.copytree(altdata_cache, cache, dirs_exist_ok=True)
    provider = CryptoPanicProvider(api_key="unused-key-000")
    NewsStore(cache / "news").update(
        "cryptopanic", provider.finalize(provider.parse(provider.wire_from_shared(bundle_dir()))))
    return cache


def test_briefing_when_headlines_visible_then_latest_scored_with_times(candle_datadir, news_cache):
    briefing = build_briefing(candle_datadir, news_cache, "BTC/USDT", ELECTION)

    assert 1 <= len(briefing.headlines) <= 5
    times = [h.published_at for h in briefing.headlines]
    assert times == sorted(times, reverse=True)
    assert "officially elected" in briefing.headlines[0].title  # 10:42:08 + 1 + 5 min <= 10:49
    assert all(h.scorer == "vader-3.3.2" and -1 <= h.score <= 1 for h in briefing.headlines)
    assert "- News 2024-11-06 10:42 UTC (@" in render_markdown(briefing)
    assert briefing.facts()["headlines"][0]["published_at"].startswith("2024-11-06T10:42:08")


def test_briefing_when_headline_not_yet_visible_then_left_out(candle_datadir, news_cache):
    early = build_briefing(candle_datadir, news_cache, "BTC/USDT", datetime(2024, 11, 6, 10, 47,
                                                                             tzinfo=UTC))
    assert all("officially elected" not in h.title for h in early.headlines)  # visible 10:48:08


def test_briefing_when_outside_news_coverage_then_no_headlines_and_facts_unchanged(
        candle_datadir, news_cache, altdata_cache):
    at = datetime(2024, 3, 15, 12, tzinfo=UTC)

    with_store = build_briefing(candle_datadir, news_cache, "BTC/USDT", at)
    without = build_briefing(candle_datadir, altdata_cache, "BTC/USDT", at)

    assert with_store.headlines == () and "headlines" not in with_store.facts()
    assert with_store.facts() == without.facts()


def test_score_news_cli_when_local_model_then_scores_recorded_once(fake_model, fake_server,
                                                                  news_cache, tmp_path, capsys,
                                                                  monkeypatch):
    fake_model.add(f"HOOK: {HOOK}", Reply.json(
        {"scores": [{"id": i, "score": 0.25} for i in range(10)]}))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"ai_suite": {"llm": {"base_url": fake_server.base_url}}}))
    common = ["--config", str(config), "--altdata-dir", str(news_cache), "--ledger",
              str(tmp_path / "ledger.sqlite"), "--cassette-dir", str(tmp_path / "cassettes")]
    window = ["--since", "2024-11-06T00:00", "--until", "2024-11-06T10:00", "--batch-size", "10"]

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-local-only")

    assert main(["score-news", *common, *window]) == 0
    first = len(fake_model.requests)
    assert main(["score-news", *common, *window]) == 0

    out = capsys.readouterr().out
    assert "headlines have a llm-claude-sonnet-4-6-v1 score" in out
    assert len(fake_model.requests) == first  # second run: everything already scored
    headlines = NewsStore(news_cache / "news").read("cryptopanic")
    window_rows = headlines[(headlines["published_at"] >= pd.Timestamp("2024-11-06", tz="UTC"))
                            & (headlines["published_at"] < pd.Timestamp("2024-11-06 10:00",
                                                                         tz="UTC"))]
    scores = ScoreCache(news_cache / "news").get("llm-claude-sonnet-4-6-v1",
                                                 window_rows["content_hash"])
    assert len(window_rows) > 0 and (scores.dropna() == 0.25).all()
