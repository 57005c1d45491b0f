"""A plain clone without the data bundle: ``make data`` (the data step of ``make demo``) fills the
candles with ``freqtrade download-data`` and the alternative data from the providers' real APIs,
keyless, plus the FOMC/CPI calendar kept in the repo - here against local servers speaking each
API: the replay exchange (Binance spot klines, from the real candles) and one HTTP server
answering Coin Metrics, DefiLlama, alternative.me, Binance futures funding, Yahoo's chart API,
FRED's keyless ``fredgraph.csv`` and the RSS feeds with real payloads (the provider tests'
cases, built from the shipped data).

The bundle is hidden with ``SUITE_DATA_DIR=none``; ``DATA_CONFIGS`` adds an overlay pointing the
exchange and every provider at the local servers. ``make demo``'s backtest after this step is
the same with or without a bundle (tests/e2e/test_backtest_cli.py covers it): it is not rerun
here. No API key is set, so every provider takes its keyless path.
"""

from __future__ import annotations

import json
import os
import subprocess

import pandas as pd
import pytest
from freqtrade.misc import deep_merge_dicts

from adapters.replay_exchange import ReplayExchangeConfig, serving
from adapters.replay_exchange.overlay import offline_overlay
from plugins.altdata.cache import AltDataCache
from plugins.altdata.calendar import CPI_FILE, FOMC_FILE, SHIPPED_DIR
from plugins.altdata.config import AltDataConfig
from plugins.altdata.registry import build_providers
from plugins.marketdata.requirements import candle_needs, load_config
from tests.conftest import REPO_ROOT
from tests.plugins.altdata.local_apis import serve_keyless_apis

pytestmark = pytest.mark.slow

KEYS = ("FRED_API_KEY", "COINMETRICS_API_KEY", "CRYPTOPANIC_API_KEY", "GLASSNODE_API_KEY",
        "CRYPTOQUANT_API_KEY", "SUITE_DATA_DIR")
STAMP = ".venv/.setup-done"


def test_make_data_when_bundle_hidden_then_candles_alt_data_and_calendar_come_from_the_apis(
        tmp_path, candle_datadir, httpserver):
    datadir, cache_dir = tmp_path / "data" / "binance", tmp_path / "altdata"
    altdata = {**serve_keyless_apis(httpserver), "cache_dir": str(cache_dir)}
    with serving(ReplayExchangeConfig(datadir=candle_datadir, port=0)) as exchange:
        overlay = tmp_path / "local-servers.json"
        overlay.write_text(json.dumps(deep_merge_dicts(offline_overlay(exchange.api_url),
                                                       {"ai_suite": {"altdata": altdata}})))
        env = {k: v for k, v in os.environ.items() if k not in KEYS} | {"SUITE_DATA_DIR": "none"}
        result = subprocess.run(
            ["make", "-o", STAMP, "data", f"DATADIR={datadir}",
             f"DATA_CONFIGS=-c config/base.json -c {overlay}",
             "DOWNLOAD_TIMERANGE=20240101-20240301"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "No data bundle" in out

    needs = candle_needs(load_config([REPO_ROOT / "config" / "base.json"]))
    for need in needs:
        frame = pd.read_feather(datadir / need.filename("feather"))
        assert frame["date"].min() <= pd.Timestamp("2024-01-02", tz="UTC"), need
        assert len(frame) > 0

    config = AltDataConfig(cache_dir=cache_dir)
    cache = AltDataCache(cache_dir)
    providers = build_providers(config)
    assert {p.name for p in providers} >= {"coinmetrics", "stablecoins", "fear_greed", "dxy",
                                           "fred_dgs10", "fred_cpiaucsl", "funding_btc"}
    for provider in providers:
        cached = cache.read(provider)
        assert cached is not None and len(cached) > 0, provider.name
    for name in (FOMC_FILE, CPI_FILE):
        assert (cache_dir / "calendar" / name).read_text() == (SHIPPED_DIR / name).read_text()
    assert any((cache_dir / "news").rglob("*")), "RSS headlines stored"
