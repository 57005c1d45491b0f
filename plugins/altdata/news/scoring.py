"""Headline scoring: one interface, an offline lexicon scorer by default, each title scored once.

``HeadlineScorer`` is what every scorer implements: ``version`` (a string that changes whenever
its scores could change: library version, model, prompt) and ``score(titles)`` -> one value per
title in -1..1 (negative = bearish / bad news, positive = bullish / good news, 0 = neutral) or
``None`` where it abstains. Implementations:

- ``VaderScorer`` (default): VADER's ``compound`` score (Hutto & Gilbert 2014, "VADER: A
  Parsimonious Rule-based Model for Sentiment Analysis of Social Media Text", ICWSM; package
  ``vaderSentiment``, lexicon shipped inside the package: offline, deterministic, no download);
- ``plugins.llm.news_scorer.LlmHeadlineScorer``: the Anthropic model, batched, structured
  output, cassettes, budget cap; abstains on any failure.

``score_headlines`` scores the titles the cache (``store.ScoreCache``, keyed by content hash and
scorer version) does not hold yet, stores them, and returns a score per headline. Scorers see
the title only: never votes, never later text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib.metadata import version as package_version
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from plugins.altdata.news.schema import CONTENT_HASH, SCORE, TITLE
from plugins.altdata.news.store import ScoreCache

logger = logging.getLogger(__name__)


@runtime_checkable
class HeadlineScorer(Protocol):
    """Scores headline titles (module docstring)."""

    version: str

    def score(self, titles: Sequence[str]) -> list[float | None]:
        """One score per title, -1..1, or ``None`` (abstain). Never raises for a bad title or
        a failed backend: it abstains."""
        ...


class VaderScorer:
    """VADER ``compound`` score of each title (-1..1; the module docstring cites it).

    ``version`` is ``vader-<package version>``. Deterministic: the same title always gets the
    same score; nothing is downloaded.
    """

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()
        self.version = f"vader-{package_version('vaderSentiment')}"

    def score(self, titles: Sequence[str]) -> list[float | None]:
        out: list[float | None] = []
        for title in titles:
            try:
                out.append(float(self._analyzer.polarity_scores(str(title))["compound"]))
            except Exception:  # noqa: BLE001 - a title VADER cannot read: abstain, logged
                logger.warning("VADER could not score a title (%r); abstained", str(title)[:80])
                out.append(None)
        return out


def score_headlines(headlines: pd.DataFrame, scorer: HeadlineScorer | None, cache: ScoreCache,
                    scorer_version: str, now: pd.Timestamp, *, batch: int = 500) -> pd.Series:
    """A score per headline (float64 aligned to ``headlines``' index; NaN = not scored).

    Titles whose content hash ``cache`` holds for ``scorer_version`` are read from it; with a
    ``scorer`` the others are scored (``batch`` titles per call), stored with ``scored_at`` =
    ``now`` and returned; without one they stay NaN (e.g. a backtest reading LLM scores that
    were never recorded: those headlines abstain).

    Raises:
        ValueError: ``scorer`` is given with another version than ``scorer_version``.
        CacheCorruptError: the score file is unreadable.
    """
    if headlines.empty:
        return pd.Series(dtype="float64", index=headlines.index, name=SCORE)
    if scorer is not None and scorer.version != scorer_version:
        raise ValueError(f"scorer version {scorer.version!r} is not {scorer_version!r}")
    hashes = headlines[CONTENT_HASH]
    known = cache.get(scorer_version, hashes.unique())
    missing = known.index[known.isna()]
    if scorer is not None and len(missing):
        titles = headlines.drop_duplicates(CONTENT_HASH).set_index(CONTENT_HASH)[TITLE]
        fresh: dict[str, float | None] = {}
        for start in range(0, len(missing), batch):
            chunk = list(missing[start:start + batch])
            values = scorer.score([titles[h] for h in chunk])
            if len(values) != len(chunk):
                logger.warning("%s returned %d scores for %d titles; the batch abstains",
                               scorer_version, len(values), len(chunk))
                continue
            fresh.update(zip(chunk, values, strict=True))
        stored = cache.put(scorer_version, fresh, now)
        logger.info("news: %d title(s) scored with %s (%d abstained)", stored, scorer_version,
                    len(missing) - stored)
        known = cache.get(scorer_version, hashes.unique())
    values = known.reindex(hashes.to_numpy()).to_numpy(dtype="float64")
    return pd.Series(np.where(np.isfinite(values), values, np.nan), index=headlines.index,
                     name=SCORE)
