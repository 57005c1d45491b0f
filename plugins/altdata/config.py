"""Typed settings of the alternative-data layer (``ai_suite.altdata`` in the Freqtrade config).

Validated once, at the edge, with unknown keys rejected; every default lives here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from plugins.altdata.news.config import NewsConfig


class ProviderSettings(BaseModel):
    """Per-provider overrides.

    Attributes:
        enabled: False drops the provider from refresh and features.
        base_url: API base URL (default: the real service; tests point it at 127.0.0.1).
        max_staleness_hours: overrides the provider's default staleness limit.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    base_url: str | None = None
    max_staleness_hours: float | None = Field(default=None, gt=0)


class AltDataConfig(BaseModel):
    """``ai_suite.altdata``.

    Attributes:
        cache_dir: parquet cache folder, relative to the working directory
            (``user_data/altdata``).
        providers: per-provider settings keyed by provider name (``coinmetrics``,
            ``stablecoins``, ``fred_dgs10``, ``dxy``, ``fear_greed``, ``funding_btc``, ...).
        fred_series: FRED series to use (one provider each, ``fred_<id>``).
        funding_bases: perpetuals whose funding rate is used (``BTC`` -> ``BTCUSDT``).
        feature_providers: providers whose series become strategy/FreqAI features; the rest
            are refreshed and cached only. Funding is left out by default: the shipped 8 h
            history starts 2024-01-01, too late to train the demo's first window.
        calendar: add FOMC/CPI calendar features (the blackout window is ``ai_suite.risk``'s).
        replay_shift_days: shift every series (and the calendar) this many days later. Only
            for dry-runs on the replay exchange in replay mode, which shifts candles by whole
            days (it logs the number); 0 everywhere else.
        news: headline providers, scorer and news features (``news.config.NewsConfig``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cache_dir: Path = Path("user_data/altdata")
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    fred_series: tuple[str, ...] = ("DGS10", "DGS2", "T10Y2Y", "DTWEXBGS", "VIXCLS", "CPIAUCSL",
                                    "FEDFUNDS", "WALCL")
    funding_bases: tuple[str, ...] = ("BTC",)
    feature_providers: tuple[str, ...] = ("coinmetrics", "stablecoins", "fear_greed",
                                          "fred_dgs10", "fred_t10y2y", "fred_vixcls", "dxy")
    calendar: bool = True
    replay_shift_days: int = 0
    news: NewsConfig = Field(default_factory=NewsConfig)

    def settings(self, name: str) -> ProviderSettings:
        """Settings of provider ``name`` (defaults when not configured)."""
        return self.providers.get(name, ProviderSettings())
