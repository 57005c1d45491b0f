"""Build the configured providers: one place that knows every provider class."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from plugins.altdata.config import AltDataConfig
from plugins.altdata.contract import AltDataProvider

logger = logging.getLogger(__name__)


def build_providers(config: AltDataConfig, calendar_dir: Path | None = None) -> list[AltDataProvider]:
    """The enabled providers of ``config``, in a stable order.

    Key-gated providers (Glassnode, CryptoQuant) are built only when their API key
    environment variable is set; without it they are skipped with an info log line.

    Args:
        config: ``ai_suite.altdata``.
        calendar_dir: folder with ``cpi_release_dates.csv`` (FRED's CPI publication times);
            default ``<cache_dir>/calendar``.
    """
    from plugins.altdata.providers.coinmetrics import CoinMetricsProvider
    from plugins.altdata.providers.cryptoquant import CryptoQuantProvider
    from plugins.altdata.providers.defillama import DefiLlamaStablecoinProvider
    from plugins.altdata.providers.dxy import DxyProvider
    from plugins.altdata.providers.fear_greed import FearGreedProvider
    from plugins.altdata.providers.fred import FredProvider
    from plugins.altdata.providers.funding import FundingRateProvider
    from plugins.altdata.providers.glassnode import GlassnodeProvider

    calendar_dir = calendar_dir or config.cache_dir / "calendar"
    candidates: list[tuple[str, type, dict[str, Any]]] = [
        ("coinmetrics", CoinMetricsProvider, {}),
        ("stablecoins", DefiLlamaStablecoinProvider, {}),
        ("fear_greed", FearGreedProvider, {}),
        *[(f"funding_{b.lower()}", FundingRateProvider, {"base": b}) for b in config.funding_bases],
        *[(f"fred_{s.lower()}", FredProvider,
           {"series_id": s, "cpi_calendar": calendar_dir / "cpi_release_dates.csv"})
          for s in config.fred_series],
        ("dxy", DxyProvider, {}),
        ("glassnode", GlassnodeProvider, {}),
        ("cryptoquant", CryptoQuantProvider, {}),
    ]
    providers = []
    for name, cls, kwargs in candidates:
        settings = config.settings(name)
        if not settings.enabled:
            continue
        key_env = getattr(cls, "api_key_env", None)
        if key_env and not os.environ.get(key_env):
            logger.info("Alt-data provider %s disabled: %s is not set", name, key_env)
            continue
        if settings.base_url:
            kwargs = {**kwargs, "base_url": settings.base_url}
        providers.append(cls(**kwargs))
    return providers
