"""``bench/strategies/TrendVolTarget.py``: the trend rule's daily inputs are causal, and the
strict look-ahead check passes it on real candles (slow)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.helpers import e2e_configs

_spec = importlib.util.spec_from_file_location(
    "TrendVolTarget", REPO_ROOT / "bench/strategies/TrendVolTarget.py")
trend = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = trend
_spec.loader.exec_module(trend)


def _hourly(days: int, seed: int = 3) -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=24 * days, freq="1h", tz="UTC")
    close = 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, len(dates))))
    return pd.DataFrame({"date": dates, "close": close})


def test_daily_trend_columns_when_day_not_closed_then_previous_day_close_carried():
    candles = _hourly(5)

    cols = trend.daily_trend_columns(candles, "1h", trend_days=2, vol_days=2)

    # the row of 2024-01-02 10:00 carries the close of 2024-01-01 23:00 (the last closed day)
    row = candles.index[candles["date"] == pd.Timestamp("2024-01-02 10:00", tz="UTC")][0]
    day1_end = candles.loc[candles["date"] == pd.Timestamp("2024-01-01 23:00", tz="UTC"), "close"]
    assert cols.loc[row, "trend_daily_close"] == pytest.approx(float(day1_end.iloc[0]))
    # the 23:00 candle itself closes the day: its row already has that day's close
    assert cols.loc[row + 13, "trend_daily_close"] == pytest.approx(candles.loc[row + 13, "close"])
    assert cols["trend_on"].isin([0, 1]).all()


def test_daily_trend_columns_when_data_cut_early_then_earlier_rows_unchanged():
    candles = _hourly(120)

    full = trend.daily_trend_columns(candles, "1h", trend_days=50, vol_days=30)
    cut = trend.daily_trend_columns(candles.iloc[:24 * 90 + 7], "1h", trend_days=50, vol_days=30)

    pd.testing.assert_frame_equal(full.iloc[:len(cut)], cut)
    assert full["trend_daily_mean"].iloc[:24 * 49].isna().all()   # 50 days before a mean
    assert full["trend_daily_mean"].iloc[24 * 51:].notna().all()


@pytest.mark.slow
def test_strict_lookahead_when_run_on_trend_rule_then_no_bias(tmp_path, replay_server,
                                                            candle_datadir):
    configs = e2e_configs(tmp_path, replay_server.api_url, candle_datadir, {
        "freqai": {"enabled": False}, "max_open_trades": 1,
        "exchange": {"pair_whitelist": ["BTC/USDT"]}})
    export = tmp_path / "lookahead.csv"

    result = subprocess.run(
        [sys.executable, "-m", "plugins.research", "lookahead", *configs,
         "--strategy-path", str(REPO_ROOT / "bench/strategies"), "--strategy", "TrendVolTarget",
         "--timerange", "20220101-20240101", "--minimum-trade-amount", "5",
         "--targeted-trade-amount", "10", "--lookahead-analysis-exportfilename", str(export)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)

    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "STRICT LOOKAHEAD: no bias" in result.stdout + result.stderr
    report = pd.read_csv(export)
    assert report.loc[0, "total_signals"] >= 5
    assert report.loc[0, "biased_entry_signals"] == 0 and report.loc[0, "biased_exit_signals"] == 0
