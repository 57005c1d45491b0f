"""Leak canary for revised alternative data, through ``freqtrade backtesting`` and the strict
``lookahead-analysis`` (``python -m plugins.research lookahead``) on real candles.

The cache gets the real shipped Fear & Greed series, then every September 2024 value revised
to ``100 - value`` a week after it was published (through ``AltDataCache.update``, as a live
refresh would store it); the run spans 2024-09-01 .. 10-14. A strategy trading on fear
(``tests/e2e/strategies/RevisionCanary.py``) must trade exactly the days whose first release
showed fear - what was known then - and pass lookahead-analysis; the same strategy reading
revisions the old way (overwritten in place, original publication time) must be flagged.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from freqtrade.data.btanalysis import load_backtest_data

from plugins.altdata.cache import AltDataCache
from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.providers.fear_greed import FearGreedProvider
from plugins.core.backtest_results import check_latest
from tests.conftest import REPO_ROOT, bundle_dir
from tests.e2e.helpers import e2e_configs, run_freqtrade

pytestmark = pytest.mark.slow

TIMERANGE = "20240901-20241015"
DAYS = pd.date_range("2024-09-01", "2024-10-14", freq="D", tz="UTC")
MONTH = DAYS[DAYS.month == 9]  # revised: September
REVISED_AFTER = pd.Timedelta(days=7, hours=10)
STRATEGIES = str(REPO_ROOT / "tests/e2e/strategies")


@pytest.fixture(scope="module")
def revised_cache(tmp_path_factory) -> Path:
    """A cache with the shipped Fear & Greed series and a revision of each September day."""
    provider = FearGreedProvider()
    shipped = provider.finalize(provider.parse(provider.wire_from_shared(bundle_dir())))
    cache = AltDataCache(tmp_path_factory.mktemp("revised_altdata"))
    cache.update(provider, shipped, known_at=shipped[AVAILABLE_AT].max())
    for day in MONTH:
        row = shipped.loc[[day]]
        cache.update(provider, row.assign(fng_value=100.0 - row["fng_value"]),
                     known_at=day + REVISED_AFTER)
    return cache.root


def overlay(cache: Path, strategy: str) -> dict:
    return {"strategy": strategy, "freqai": {"enabled": False}, "timeframe": "1h",
            "exchange": {"pair_whitelist": ["BTC/USDT"]}, "max_open_trades": 1,
            "stake_amount": 1000,
            "ai_suite": {"altdata": {"cache_dir": str(cache), "feature_providers": ["fear_greed"],
                                     "calendar": False}}}


def first_release_fear_days() -> set[pd.Timestamp]:
    provider = FearGreedProvider()
    shipped = provider.finalize(provider.parse(provider.wire_from_shared(bundle_dir())))
    first = shipped.loc[DAYS, "fng_value"]
    return set(first.index[first < 50])


def test_backtest_when_values_revised_a_week_later_then_trades_only_on_what_was_known(
        tmp_path, replay_server, candle_datadir, revised_cache):
    started = int(time.time())
    configs = e2e_configs(tmp_path, replay_server.api_url, candle_datadir,
                          overlay(revised_cache, "RevisionCanary"))

    result = run_freqtrade(["backtesting", *configs, "--strategy-path", STRATEGIES,
                            "--timerange", TIMERANGE, "--cache", "none"],
                           tmp_path / "backtest.log", timeout=600)

    assert result.returncode == 0, (tmp_path / "backtest.log").read_text()[-3000:]
    results = tmp_path / "user_data" / "backtest_results"
    check_latest(results, not_before_s=started, min_trades=5)
    trades = load_backtest_data(results)
    days = {d.normalize() for d in trades["open_date"]}
    assert days == first_release_fear_days()  # a revised value (100 - v) would invert them


def run_lookahead(tmp_path, api_url, datadir, cache, strategy) -> tuple[int, str]:
    configs = e2e_configs(tmp_path, api_url, datadir, overlay(cache, strategy))
    log = tmp_path / "lookahead.log"
    with log.open("w") as out:
        result = subprocess.run(
            [sys.executable, "-m", "plugins.research", "lookahead", *configs,
             "--strategy-path", STRATEGIES, "--strategy", strategy, "--timerange", TIMERANGE,
             "--minimum-trade-amount", "5", "--targeted-trade-amount", "8"],
            cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=900)
    return result.returncode, log.read_text()


def test_lookahead_analysis_when_cache_holds_revisions_then_no_bias(
        tmp_path, replay_server, candle_datadir, revised_cache):
    code, log = run_lookahead(tmp_path, replay_server.api_url, candle_datadir, revised_cache,
                              "RevisionCanary")

    assert code == 0, log[-3000:]
    assert "STRICT LOOKAHEAD: no bias" in log


def test_lookahead_analysis_when_revisions_read_as_overwritten_then_bias_detected(
        tmp_path, replay_server, candle_datadir, revised_cache):
    code, log = run_lookahead(tmp_path, replay_server.api_url, candle_datadir, revised_cache,
                              "LeakyRevisionCanary")

    assert code == 1, log[-3000:]
    assert "STRICT LOOKAHEAD: bias detected" in log
