"""Control predictors, buy-and-hold and report rows (plugins.research.controls / evaluation)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from plugins.research import evaluation
from plugins.research.controls import (
    CONTROL_PREDICTORS,
    buy_and_hold_balance,
    control_predictors,
    realized_label,
)


def _candles(closes, start="2024-03-01", freq="1h", opens=None) -> pd.DataFrame:
    dates = pd.date_range(start, periods=len(closes), freq=freq, tz="UTC")
    return pd.DataFrame({"date": dates, "open": opens or closes, "close": closes})


def test_realized_label_when_horizon_2_then_mean_of_next_two_closes_over_close():
    label = realized_label(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]), horizon=2)

    # row i: mean(close[i+1..i+2]) / close[i] - 1; the rolling formula (as the strategy's) also
    # leaves the first horizon-1 rows NaN (irrelevant: candles start long before a time range)
    np.testing.assert_allclose(label[1:3], [3.5 / 2 - 1, 4.5 / 3 - 1])
    assert label[[0, 3, 4]].isna().all()


def test_control_predictors_when_computed_then_causal_and_as_documented():
    close = pd.Series([100.0, 110.0, 99.0, 120.0, 130.0])

    preds = control_predictors(close, horizon=2, rng=np.random.default_rng(0))

    assert set(preds) == set(CONTROL_PREDICTORS)
    assert preds["no_skill_neg_close"].tolist() == [-100.0, -110.0, -99.0, -120.0, -130.0]
    assert preds["momentum"].iloc[2] == pytest.approx(99 / 100 - 1)
    assert math.isnan(preds["momentum"].iloc[1])
    # causal: the predictors of the first 3 rows do not change when later candles change
    other = control_predictors(pd.Series([100.0, 110.0, 99.0, 50.0, 10.0]), 2,
                               np.random.default_rng(0))
    for name in ("no_skill_neg_close", "momentum", "mean_reversion_ema20"):
        np.testing.assert_allclose(preds[name][:3], other[name][:3])


def test_buy_and_hold_balance_when_two_pairs_then_equal_weights_and_fees_both_sides():
    a = _candles([10.0, 11.0, 12.0], opens=[10.0, 10.5, 11.5])
    b = _candles([20.0, 20.0, 10.0], opens=[20.0, 20.0, 15.0])
    start, stop = a["date"].iloc[0], a["date"].iloc[-1] + pd.Timedelta(hours=1)

    balance = buy_and_hold_balance({"A/USDT": a, "B/USDT": b}, start, stop, 1000.0, fee=0.001)

    units_a, units_b = 500 * 0.999 / 10.0, 500 * 0.999 / 20.0
    assert balance.iloc[0] == 1000.0 and balance.index[0] == start
    assert balance.iloc[1] == pytest.approx(units_a * 10 + units_b * 20)     # first close
    assert balance.iloc[-1] == pytest.approx((units_a * 12 + units_b * 10) * 0.999)
    assert balance.index[-1] == stop                                        # last close time


def test_buy_and_hold_balance_when_pair_has_no_candle_in_window_then_error_names_it():
    a = _candles([10.0, 11.0])
    with pytest.raises(ValueError, match="B/USDT: no candle"):
        buy_and_hold_balance({"A/USDT": a, "B/USDT": _candles([1.0], start="2020-01-01")},
                             a["date"].iloc[0], a["date"].iloc[-1], 1000.0, 0.001)


def test_trading_row_from_balance_when_curve_then_every_row_key_and_freqtrade_drawdown():
    index = pd.date_range("2024-01-01", periods=5, freq="1D", tz="UTC")
    balance = pd.Series([1000.0, 1100.0, 990.0, 1050.0, 1200.0], index=index)

    row, returns = evaluation.trading_row_from_balance(balance, trades=2)
    full = evaluation.report_row(None, row)

    assert set(evaluation.ROW_KEYS) <= set(full)
    assert full["ic_nonoverlap"] is None and full["trades"] == 2
    assert full["max_drawdown"] == pytest.approx(0.1) and full["profit_total"] == pytest.approx(0.2)
    np.testing.assert_allclose(returns, [0.0, 0.1, -0.11, 0.06, 0.15])


def test_prediction_row_when_two_pairs_then_cross_sectional_ic_is_none():
    dates = pd.date_range("2024-03-01", periods=480, freq="1h", tz="UTC")
    rng = np.random.default_rng(1)
    frame = pd.concat([pd.DataFrame({"pair": p, "date": dates, "pred": rng.standard_normal(480),
                                     "real": rng.standard_normal(480)}) for p in ("A", "B")])

    row = evaluation.prediction_row(frame, 24, "1h")

    assert row["ic_cross_sectional"] is None and row["ic_cross_sectional_t"] is None
    assert row["ic_nonoverlap"] is not None and row["rows"] == 960
