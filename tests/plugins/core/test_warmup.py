"""``plugins.core.warmup``: the startup candles FreqAI's multi-timeframe features need."""

from __future__ import annotations

import json

from plugins.core.warmup import CONVERGENCE_PERIODS, freqai_startup_candles
from tests.conftest import REPO_ROOT


def test_startup_when_4h_features_under_1h_strategy_then_periods_counted_in_4h_candles():
    freqai = {"enabled": True, "feature_parameters": {"include_timeframes": ["1h", "4h"],
                                                      "indicator_periods_candles": [10, 20]}}

    assert freqai_startup_candles(freqai, "1h") == CONVERGENCE_PERIODS * 20 * 4


def test_startup_when_only_base_timeframe_then_longest_period_times_convergence():
    freqai = {"enabled": True, "feature_parameters": {"indicator_periods_candles": [14]}}

    assert freqai_startup_candles(freqai, "1h") == CONVERGENCE_PERIODS * 14


def test_startup_when_freqai_disabled_or_absent_then_zero():
    assert freqai_startup_candles({}, "1h") == 0
    assert freqai_startup_candles({"enabled": False, "feature_parameters": {
        "include_timeframes": ["1d"], "indicator_periods_candles": [50]}}, "1h") == 0


def test_shipped_config_when_read_then_1h_strategies_warm_up_1200_candles():
    config = json.loads((REPO_ROOT / "config/base.json").read_text())

    assert freqai_startup_candles(config["freqai"], config["timeframe"]) == 1200
