"""``plugins.core.windowed``: rolling statistics that do not depend on where the data starts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from plugins.core.windowed import money_flow_index, window_mean, window_std
from tests.conftest import bundle_dir


@pytest.fixture(scope="module")
def closes() -> pd.Series:
    candles = pd.read_feather(bundle_dir() / "crypto/freqtrade_binance_spot/BTC_USDT-1h.feather")
    return candles["close"].iloc[-5000:].reset_index(drop=True)


def test_values_when_compared_with_pandas_rolling_then_equal_to_rounding(closes):
    pd.testing.assert_series_equal(window_mean(closes, 20), closes.rolling(20).mean(), rtol=1e-9)
    pd.testing.assert_series_equal(window_std(closes, 20), closes.rolling(20).std(), rtol=1e-6)
    pd.testing.assert_series_equal(window_std(closes, 20, ddof=0),
                                   closes.rolling(20).std(ddof=0), rtol=1e-6)


def test_value_when_history_before_the_window_differs_then_bit_identical(closes):
    # The same last candle with 5000 and with 300 candles of history (a backtest vs a dry-run).
    long, short = closes, closes.iloc[-300:]

    assert window_std(long, 20).iloc[-1] == window_std(short, 20).iloc[-1]
    assert window_mean(long, 20).iloc[-1] == window_mean(short, 20).iloc[-1]


def test_nan_when_window_incomplete_or_holds_nan_then_nan_like_pandas():
    series = pd.Series([1.0, 2.0, np.nan, 4.0, 5.0, 6.0])

    pd.testing.assert_series_equal(window_mean(series, 2), series.rolling(2).mean())
    assert window_std(series.iloc[:2], 3).isna().all()
    with pytest.raises(ValueError, match="window=0"):
        window_mean(series, 0)


def test_money_flow_index_when_compared_with_talib_then_equal_to_rounding():
    candles = pd.read_feather(bundle_dir() / "crypto/freqtrade_binance_spot/ETH_USDT-1h.feather")
    candles = candles.iloc[-3000:].reset_index(drop=True)

    ours = money_flow_index(candles, 14)
    theirs = pd.Series(talib.MFI(candles["high"], candles["low"], candles["close"],
                                 candles["volume"], timeperiod=14))
    assert ours.iloc[:14].isna().all() and theirs.iloc[:14].isna().all()
    np.testing.assert_allclose(ours.iloc[14:], theirs.iloc[14:], rtol=1e-9, atol=1e-9)


def test_money_flow_index_when_history_before_the_window_differs_then_bit_identical():
    candles = pd.read_feather(bundle_dir() / "crypto/freqtrade_binance_spot/ETH_USDT-1h.feather")
    long, short = candles.iloc[-5000:], candles.iloc[-300:]

    assert money_flow_index(long, 20).iloc[-1] == money_flow_index(short, 20).iloc[-1]
