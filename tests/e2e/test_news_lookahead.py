"""Leak canary of the news features through ``freqtrade backtesting`` and the strict
``lookahead-analysis`` (``python -m plugins.research lookahead``) on real candles and the
shipped CryptoPanic headlines (2024-11-01 .. 11-12, covered).

``NewsCanary`` (tests/e2e/strategies/NewsCanary.py) trades each new BTC headline at the first
close it is visible on: every entry candle must close strictly after that headline's
``available_at`` + the processing lag, and lookahead-analysis must find no bias; the same
strategy seeing headlines two hours before publication must be flagged.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from freqtrade.data.btanalysis import load_backtest_data

from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.news.config import NewsConfig
from plugins.altdata.news.schema import has_currency
from plugins.altdata.news.store import NewsStore
from plugins.altdata.providers.cryptopanic import CryptoPanicProvider
from plugins.core.backtest_results import check_latest
from tests.conftest import REPO_ROOT, bundle_dir
from tests.e2e.helpers import e2e_configs, run_freqtrade

pytestmark = pytest.mark.slow

TIMERANGE = "20241101-20241112"
STRATEGIES = str(REPO_ROOT / "tests/e2e/strategies")
LAG = pd.Timedelta(minutes=NewsConfig().processing_lag_minutes)


@pytest.fixture(scope="module")
def news_cache(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("news_altdata")
    provider = CryptoPanicProvider(api_key="unused-key-000")
    NewsStore(cache / "news").update(
        "cryptopanic", provider.finalize(provider.parse(provider.wire_from_shared(bundle_dir()))))
    return cache


def overlay(cache: Path, strategy: str) -> dict:
    return {"strategy": strategy, "freqai": {"enabled": False}, "timeframe": "1h",
            "exchange": {"pair_whitelist": ["BTC/USDT"]}, "max_open_trades": 1,
            "stake_amount": 1000,
            "ai_suite": {"altdata": {"cache_dir": str(cache), "calendar": False,
                                     "news": {"providers": ["cryptopanic"]}}}}


def test_backtest_when_news_canary_then_every_entry_after_available_at_plus_lag(
        tmp_path, replay_server, candle_datadir, news_cache):
    started = int(time.time())
    configs = e2e_configs(tmp_path, replay_server.api_url, candle_datadir,
                          overlay(news_cache, "NewsCanary"))

    result = run_freqtrade(["backtesting", *configs, "--strategy-path", STRATEGIES,
                            "--timerange", TIMERANGE, "--cache", "none"],
                           tmp_path / "backtest.log", timeout=600)

    assert result.returncode == 0, (tmp_path / "backtest.log").read_text()[-3000:]
    results = tmp_path / "user_data" / "backtest_results"
    check_latest(results, not_before_s=started, min_trades=5)
    trades = load_backtest_data(results)
    headlines = NewsStore(news_cache / "news").read("cryptopanic")
    btc = headlines[has_currency(headlines["currencies"], "BTC")]
    visible = btc[AVAILABLE_AT] + LAG
    for opened in trades["open_date"]:  # entry at the open of the candle after the signal
        signal_close = pd.Timestamp(opened)  # = the signal candle's close
        newly = visible[(visible < signal_close) & (visible >= signal_close - pd.Timedelta(hours=1))]
        # a headline became visible during the signal candle (strictly before its close)
        assert len(newly) >= 1, f"entry at {opened} without a headline visible in that candle"


def run_lookahead(tmp_path, api_url, datadir, cache, strategy) -> tuple[int, str]:
    configs = e2e_configs(tmp_path, api_url, datadir, overlay(cache, strategy))
    log = tmp_path / "lookahead.log"
    with log.open("w") as out:
        result = subprocess.run(
            [sys.executable, "-m", "plugins.research", "lookahead", *configs,
             "--strategy-path", STRATEGIES, "--strategy", strategy, "--timerange", TIMERANGE,
             "--minimum-trade-amount", "4", "--targeted-trade-amount", "6"],
            cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=900)
    return result.returncode, log.read_text()


def test_lookahead_analysis_when_news_merged_point_in_time_then_no_bias(
        tmp_path, replay_server, candle_datadir, news_cache):
    code, log = run_lookahead(tmp_path, replay_server.api_url, candle_datadir, news_cache,
                              "NewsCanary")

    assert code == 0, log[-3000:]
    assert "STRICT LOOKAHEAD: no bias" in log


def test_lookahead_analysis_when_headlines_seen_before_publication_then_bias_detected(
        tmp_path, replay_server, candle_datadir, news_cache):
    code, log = run_lookahead(tmp_path, replay_server.api_url, candle_datadir, news_cache,
                              "LeakyNewsCanary")

    assert code == 1, log[-3000:]
    assert "STRICT LOOKAHEAD: bias detected" in log
