"""``ai_suite.altdata.news``: the news sources, the scorer and the point-in-time features.

Validated once with the rest of ``ai_suite.altdata`` (pydantic, unknown keys rejected); every
default lives here. Durations are in the unit their name says (minutes / hours / days).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from plugins.altdata.providers.rss import DEFAULT_FEEDS


class NewsConfig(BaseModel):
    """``ai_suite.altdata.news``.

    Attributes:
        features: add the news feature group to ``FreqaiAltData`` / ``RegimeMoE`` (FreqAI
            features). Off by default: ``bench/news_value.py`` found no edge (README).
        providers: headline providers read by the features and refreshed live
            (``cryptopanic`` needs ``CRYPTOPANIC_API_KEY``; ``rss`` needs no key).
        rss_feeds: feed name -> RSS/Atom URL for the ``rss`` provider.
        cryptopanic_currencies: currency codes asked from CryptoPanic (``currencies=``).
        cryptopanic_filter: CryptoPanic UI filter (``hot``, ``rising`` ...) or None for all.
        scorer: ``vader`` (offline lexicon, default) or ``llm`` (the Anthropic model through
            ``plugins.llm``; only scores recorded in the score cache are used in backtests).
        processing_lag_minutes: added to each headline's ``available_at``: a headline is
            visible on a candle only if ``available_at + lag`` is strictly before its close.
        window_hours: the count / mean window.
        half_life_hours: half-life of the exponentially decayed sentiment.
        prior_weight: headlines' worth of neutral (0) prior in the decayed sentiment, so a
            quiet spell decays toward neutral instead of dividing by almost nothing.
        coverage_gap_hours: a candle is covered while the newest visible headline (any
            source) is at most this old; outside coverage every news feature is NaN.
        intensity_days: daily counts the intensity compares with (their median).
        min_intensity_days: covered days needed among those for an intensity (else NaN).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    features: bool = False
    providers: tuple[Literal["cryptopanic", "rss"], ...] = ("cryptopanic", "rss")
    rss_feeds: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_FEEDS))
    cryptopanic_currencies: tuple[str, ...] = ("BTC", "ETH", "XRP")
    cryptopanic_filter: str | None = None
    scorer: Literal["vader", "llm"] = "vader"
    processing_lag_minutes: float = Field(default=5.0, ge=0, le=24 * 60)
    window_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    half_life_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    prior_weight: float = Field(default=1.0, ge=0, le=1000)
    coverage_gap_hours: float = Field(default=48.0, gt=0, le=24 * 30)
    intensity_days: int = Field(default=30, ge=2, le=365)
    min_intensity_days: int = Field(default=7, ge=1, le=365)
