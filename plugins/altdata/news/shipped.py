"""The news parts of ``python -m plugins.altdata``: build the providers, load the shipped
headlines, download new ones, score them with the offline scorer.

``import-shared`` renders each shipped file in its source's wire format
(``wire_from_shared``) and reads it with the provider's own ``parse`` / ``finalize`` (as for
every other provider), stores the headline frames (``store.NewsStore``) and scores every title
with ``VaderScorer`` into the score cache. LLM scores are recorded separately
(``python -m plugins.llm score-news``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from plugins.altdata.config import AltDataConfig
from plugins.altdata.errors import AltDataError
from plugins.altdata.http import HttpSettings
from plugins.altdata.news.schema import CURRENCIES, PUBLISHED_AT, NewsProvider
from plugins.altdata.news.scoring import VaderScorer, score_headlines
from plugins.altdata.news.store import NewsStore, ScoreCache

logger = logging.getLogger(__name__)


def news_dir(config: AltDataConfig) -> Path:
    """``<cache_dir>/news``."""
    return Path(config.cache_dir) / "news"


def build_news_providers(config: AltDataConfig, *, require_keys: bool = True,
                         http: HttpSettings | None = None) -> list[NewsProvider]:
    """The enabled headline providers of ``config.news.providers``, in that order.

    With ``require_keys`` (live use) CryptoPanic is skipped, with an info line, when
    ``CRYPTOPANIC_API_KEY`` is not set; without it (loading shipped files) it is built anyway.
    ``providers.<name>.base_url`` overrides CryptoPanic's API root.
    """
    from plugins.altdata.providers.cryptopanic import CryptoPanicProvider
    from plugins.altdata.providers.rss import RssNewsProvider

    out: list[NewsProvider] = []
    for name in config.news.providers:
        settings = config.settings(name)
        if not settings.enabled:
            continue
        if name == "cryptopanic":
            if require_keys and not os.environ.get(CryptoPanicProvider.api_key_env):
                logger.info("News provider cryptopanic disabled: %s is not set",
                            CryptoPanicProvider.api_key_env)
                continue
            kwargs = {"base_url": settings.base_url} if settings.base_url else {}
            out.append(CryptoPanicProvider(http=http, currencies=config.news.cryptopanic_currencies,
                                           filter=config.news.cryptopanic_filter, **kwargs))
        else:
            out.append(RssNewsProvider(feeds=config.news.rss_feeds, http=http))
    return out


def _summary(name: str, frame: pd.DataFrame) -> str:
    if frame.empty:
        return f"{name:>16}: no headlines"
    tagged = int((frame[CURRENCIES] != "").sum())
    return (f"{name:>16}: {len(frame):6d} headlines {frame[PUBLISHED_AT].min():%Y-%m-%d} -> "
            f"{frame[PUBLISHED_AT].max():%Y-%m-%d} ({tagged} tagged with a currency)")


def score_stored(config: AltDataConfig, now: pd.Timestamp) -> int:
    """Score every stored headline the cache has no VADER score for; returns how many
    headlines have one afterwards."""
    store, cache = NewsStore(news_dir(config)), ScoreCache(news_dir(config))
    headlines = store.read_all(config.news.providers)
    scorer = VaderScorer()
    scores = score_headlines(headlines, scorer, cache, scorer.version, now)
    return int(scores.notna().sum())


def import_shared_news(bundle: Path, config: AltDataConfig, now: pd.Timestamp) -> int:
    """Load the shipped headline files through their providers' parsers into the store and
    score them (VADER); returns the number of news providers loaded.

    Raises:
        AltDataError: a shipped file does not parse (``ProviderSchemaError``).
    """
    store = NewsStore(news_dir(config))
    loaded = 0
    for provider in build_news_providers(config, require_keys=False):
        try:
            raw = provider.wire_from_shared(bundle)
        except FileNotFoundError as err:
            logger.warning("%s: nothing shipped for it (%s); use `download`", provider.name, err)
            continue
        frame = provider.finalize(provider.parse(raw))
        store.update(provider.name, frame)
        loaded += 1
        print(_summary(provider.name, frame))
    if loaded:
        print(f"{'news scores':>16}: {score_stored(config, now)} headlines scored "
              f"({VaderScorer().version}) in {news_dir(config)}")
    return loaded


def download_news(config: AltDataConfig, providers: list[NewsProvider], start: pd.Timestamp,
                  end: pd.Timestamp, now: pd.Timestamp) -> None:
    """Fetch ``providers`` over ``[start, end]`` into the store, then score (VADER).

    Raises:
        AltDataError: the first provider that failed (the others are still attempted).
    """
    store = NewsStore(news_dir(config))
    failures = []
    for provider in providers:
        try:
            frame = provider.fetch(start, end)
        except AltDataError as err:
            failures.append(err)
            print(f"{provider.name}: {err}")
            continue
        store.update(provider.name, frame)
        print(_summary(provider.name, frame))
    if providers and config.news.scorer == "vader":
        score_stored(config, now)
    if failures:
        raise failures[0]
