"""The LLM headline scorer on the real ``anthropic`` SDK against the local Messages API server:
batched structured output, a cassette replayed at $0 with no server, and abstention (no
features, never a neutral 0) on an exhausted budget or output that stays invalid."""

from __future__ import annotations

import pandas as pd

from plugins.altdata.news.config import NewsConfig
from plugins.altdata.news.features import news_features
from plugins.altdata.news.schema import SCORE
from plugins.altdata.news.scoring import HeadlineScorer, score_headlines
from plugins.altdata.news.store import ScoreCache
from plugins.altdata.providers.cryptopanic import CryptoPanicProvider
from plugins.llm.client import AnthropicLlm
from plugins.llm.config import LlmConfig
from plugins.llm.news_scorer import HOOK, LlmHeadlineScorer
from plugins.llm.testing.fake_server import Reply
from tests.conftest import bundle_dir

ANSWER = {"scores": [{"id": 0, "score": 0.6}, {"id": 1, "score": -0.4}, {"id": 2, "score": 0.0}]}
NOW = pd.Timestamp("2025-02-08", tz="UTC")


def shipped(n: int) -> pd.DataFrame:
    provider = CryptoPanicProvider(api_key="unused-key-000")
    frame = provider.finalize(provider.parse(provider.wire_from_shared(bundle_dir())))
    return frame[frame["published_at"] >= pd.Timestamp("2024-11-01", tz="UTC")].head(n)


def test_score_when_model_answers_then_one_score_per_title_in_batches(fake_model, make_llm):
    fake_model.add(f"HOOK: {HOOK}", Reply.json(ANSWER))
    scorer = LlmHeadlineScorer(make_llm(), batch_size=3)

    scores = scorer.score([f"headline {i}" for i in range(6)])

    assert scores == [0.6, -0.4, 0.0, 0.6, -0.4, 0.0]
    assert isinstance(scorer, HeadlineScorer)
    assert scorer.version == "llm-claude-sonnet-4-6-v1" and not scorer.abstained
    assert len(fake_model.requests) == 2  # two batches, two calls


def test_score_when_cassette_recorded_then_rerun_replays_at_zero_cost_without_server(
        fake_model, make_llm, tmp_path):
    fake_model.add(f"HOOK: {HOOK}", Reply.json(ANSWER))
    titles = shipped(6)["title"].tolist()
    recorded = LlmHeadlineScorer(make_llm(cassette_mode="auto"), batch_size=3).score(titles)
    replay_config = LlmConfig(cassette_mode="replay", cassette_dir=tmp_path / "cassettes",
                              ledger_path=tmp_path / "replay.sqlite", base_url="http://127.0.0.1:9")
    client = AnthropicLlm(replay_config)

    replayed = LlmHeadlineScorer(client, batch_size=3).score(titles)

    assert replayed == recorded == [0.6, -0.4, 0.0, 0.6, -0.4, 0.0]
    calls = client.ledger.calls()
    assert {c.source for c in calls} == {"cassette"} and sum(c.billed_usd for c in calls) == 0
    client.close()


def test_score_when_budget_exhausted_then_abstains_and_features_have_no_sentiment(
        fake_model, make_llm, tmp_path):
    fake_model.add(f"HOOK: {HOOK}", Reply.json(ANSWER))
    scorer = LlmHeadlineScorer(make_llm(daily_budget_usd=0.0), batch_size=3)
    news = shipped(30)

    scores = score_headlines(news, scorer, ScoreCache(tmp_path), scorer.version, NOW)

    assert scores.isna().all() and fake_model.requests == []  # refused before sending
    assert scorer.abstained and "BudgetExceededError" in scorer.abstained[0]
    bars = pd.DataFrame({"date": pd.date_range("2024-11-02", periods=48, freq="1h", tz="UTC")})
    features = news_features(bars, news.assign(**{SCORE: scores}), timeframe="1h",
                             pair="BTC/USDT", config=NewsConfig())
    covered = features[features["news_covered"] == 1]
    assert len(covered) > 0 and covered["news_count"].notna().all()
    assert covered[["news_sent_mean", "news_sent_decay", "news_pair_sent_decay"]].isna().all().all()


def test_score_when_output_keeps_missing_ids_then_abstains_after_bounded_retries(fake_model,
                                                                                 make_llm):
    fake_model.add(f"HOOK: {HOOK}", Reply.json({"scores": [{"id": 0, "score": 0.2}]}))
    scorer = LlmHeadlineScorer(make_llm(max_output_attempts=2), batch_size=3)

    scores = scorer.score(["a", "b", "c"])

    assert scores == [None, None, None]
    assert "ids missing: [1, 2]" in scorer.abstained[0] and len(fake_model.requests) == 2
