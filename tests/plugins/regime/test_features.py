"""Regime inputs on real BTC/USDT 1h candles: formulas, warm-up, causality, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plugins.regime import REGIME_INPUTS, RegimeDetectorError, regime_inputs, warmup_candles
from tests.plugins.regime.detector_cases import btc_1h

CANDLES = 2000


def candles(n: int = CANDLES) -> pd.DataFrame:
    return btc_1h().iloc[-n:]


def test_regime_inputs_keep_the_index_and_give_float64_columns_in_order():
    ohlcv = candles().set_index("date", drop=False)    # any index, here the dates

    out = regime_inputs(ohlcv)

    assert tuple(out.columns) == REGIME_INPUTS
    assert out.index.equals(ohlcv.index)
    assert (out.dtypes == "float64").all()


@pytest.mark.parametrize("window", [24, 72])
def test_warmup_rows_are_nan_and_later_rows_complete(window):
    out = regime_inputs(candles(), window=window)
    warmup = warmup_candles(window)

    assert warmup == max(window, 59)
    assert out.iloc[:warmup].isna().any(axis=1).all()
    assert out.iloc[warmup:].notna().all().all()


def test_regime_inputs_are_causal_when_later_rows_are_dropped():
    full = regime_inputs(candles())

    for n in (100, 777, CANDLES - 1):
        cut = regime_inputs(candles().iloc[:n])
        np.testing.assert_array_equal(cut.to_numpy(), full.iloc[:n].to_numpy())


def test_regime_inputs_match_their_documented_formulas():
    ohlcv, window, t = candles(), 24, 1500
    out = regime_inputs(ohlcv, window=window).iloc[t]
    close = ohlcv["close"].to_numpy()
    r1 = np.diff(np.log(close[t - window:t + 1]))          # the last 24 one-candle log returns

    assert out["ret"] == pytest.approx(np.log(close[t] / close[t - window]), rel=1e-9)
    assert out["vol"] == pytest.approx(np.std(r1, ddof=1), rel=1e-9)
    assert out["downside_vol"] == pytest.approx(np.sqrt(np.mean(np.minimum(r1, 0) ** 2)), rel=1e-9)
    assert 0 <= out["adx"] <= 100


def test_ema_slope_is_a_fraction_with_the_sign_of_the_trend():
    out = regime_inputs(candles()).dropna()

    assert out["ema_slope"].abs().max() < 0.2              # a fraction, not percent
    rising = out["ret"] > out["ret"].quantile(0.9)          # strong 24h rallies
    assert (out.loc[rising, "ema_slope"] > 0).mean() > 0.8


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.drop(columns=["close"]), "'close'"),
    (lambda f: f.assign(high=f["high"].where(f.index != f.index[10])), "'high' has 1 NaN"),
    (lambda f: f.assign(low=0.0), "'low'"),
])
def test_regime_inputs_when_prices_bad_then_error_names_the_column(change, message):
    with pytest.raises(RegimeDetectorError, match=message):
        regime_inputs(change(candles(300)))


def test_regime_inputs_when_window_too_short_then_error():
    with pytest.raises(RegimeDetectorError, match="window=1"):
        regime_inputs(candles(300), window=1)
