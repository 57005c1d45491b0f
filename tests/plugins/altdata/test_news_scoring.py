"""Headline scoring: VADER is deterministic and offline, every title is scored once per scorer
version (cache keyed by content hash), abstentions are never cached, a corrupt cache is named."""

from __future__ import annotations

import pandas as pd
import pytest

from plugins.altdata.errors import CacheCorruptError
from plugins.altdata.news.schema import CONTENT_HASH, content_hash
from plugins.altdata.news.scoring import HeadlineScorer, VaderScorer, score_headlines
from plugins.altdata.news.store import ScoreCache
from plugins.altdata.providers.cryptopanic import CryptoPanicProvider
from tests.conftest import bundle_dir

NOW = pd.Timestamp("2025-02-08", tz="UTC")


class Counting:
    """A scorer that records every title it was asked, answering ``answer`` (or VADER's)."""

    def __init__(self, version: str = "count-1", answer: float | None = 0.5) -> None:
        self.version = version
        self.answer = answer
        self.asked: list[str] = []

    def score(self, titles):
        self.asked += list(titles)
        return [self.answer] * len(titles)


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    provider = CryptoPanicProvider(api_key="unused-key-000")
    return provider.finalize(provider.parse(provider.wire_from_shared(bundle_dir())))


def test_vader_when_scored_twice_by_two_instances_then_identical_and_offline(shipped):
    titles = shipped["title"].tolist()

    first, second = VaderScorer().score(titles), VaderScorer().score(titles)

    assert first == second
    assert all(-1.0 <= s <= 1.0 for s in first)
    assert VaderScorer().version == "vader-3.3.2"
    assert isinstance(VaderScorer(), HeadlineScorer)


def test_vader_when_plainly_good_or_bad_news_then_sign_follows():
    good, bad, flat = VaderScorer().score(["Bitcoin wins big as investors cheer strong ETF demand",
                                           "Exchange hacked, funds stolen, users panic",
                                           "Ethereum developers schedule testnet upgrade"])
    assert good > 0.5 and bad < -0.5 and flat == 0.0


def test_vader_when_market_jargon_then_neutral_a_known_limit_of_the_lexicon():
    # "rallies", "soars", "surge" are not in VADER's social-media lexicon: market tone is
    # missed (one reason the LLM scorer exists, and why the bench measures before trusting)
    assert VaderScorer().score(["Bitcoin soars to record", "BTC rallies as inflows surge"]) == [0.0, 0.0]


def test_score_headlines_when_run_twice_then_each_title_scored_once(shipped, tmp_path):
    cache, scorer = ScoreCache(tmp_path), Counting()
    doubled = pd.concat([shipped, shipped.assign(source="other.example")], ignore_index=True)

    first = score_headlines(doubled, scorer, cache, scorer.version, NOW)
    second = score_headlines(doubled, scorer, ScoreCache(tmp_path), scorer.version, NOW)

    assert len(scorer.asked) == shipped[CONTENT_HASH].nunique()  # one call per distinct title
    assert first.equals(second) and (first == 0.5).all()


def test_score_headlines_when_scorer_abstains_then_nan_and_not_cached(shipped, tmp_path):
    cache, silent = ScoreCache(tmp_path), Counting(answer=None)

    scores = score_headlines(shipped.head(20), silent, cache, silent.version, NOW)

    assert scores.isna().all()
    assert not cache.path.exists()
    later = Counting(answer=-0.25)
    assert (score_headlines(shipped.head(20), later, cache, later.version, NOW) == -0.25).all()


def test_score_headlines_when_other_scorer_version_then_scored_again(shipped, tmp_path):
    cache = ScoreCache(tmp_path)
    score_headlines(shipped.head(5), Counting("a-1", 0.1), cache, "a-1", NOW)
    other = Counting("b-1", -0.1)

    scores = score_headlines(shipped.head(5), other, cache, "b-1", NOW)

    assert len(other.asked) == shipped.head(5)[CONTENT_HASH].nunique() and (scores == -0.1).all()
    assert (score_headlines(shipped.head(5), None, cache, "a-1", NOW) == 0.1).all()


def test_score_headlines_when_no_scorer_then_only_cached_scores(shipped, tmp_path):
    cache = ScoreCache(tmp_path)
    cache.put("llm-x", {content_hash(shipped["title"].iloc[0]): 0.7}, NOW)

    scores = score_headlines(shipped.head(3), None, cache, "llm-x", NOW)

    assert scores.iloc[0] == 0.7 and scores.iloc[1:].isna().all()


def test_score_cache_when_file_corrupt_then_error_naming_file(tmp_path):
    (tmp_path / "scores.parquet").write_text("not parquet")

    with pytest.raises(CacheCorruptError, match="scores.parquet"):
        ScoreCache(tmp_path).get("vader-3.3.2", ["abc"])


def test_score_cache_when_value_out_of_range_then_not_stored(tmp_path):
    cache = ScoreCache(tmp_path)

    stored = cache.put("x-1", {"a": 2.0, "b": float("nan"), "c": -1.0}, NOW)

    assert stored == 1 and cache.get("x-1", ["a", "b", "c"]).tolist()[2] == -1.0
