"""ai_suite.regime.target through the RegimeMoE strategy and the dollar-profit baseline model
(freqai_models/LightGBMProfitWeighted.py) on real BTC/USDT 1h candles."""

from __future__ import annotations

import importlib.util
import math
import sys
from types import SimpleNamespace

import lightgbm
import numpy as np
import pandas as pd
import pytest
from datasieve.pipeline import Pipeline
from datasieve.transforms import SKLearnWrapper
from sklearn.preprocessing import MinMaxScaler

from plugins.regime.sizing import SizingConfig
from plugins.regime.targets import TargetConfig, make_target, trailing_vol
from tests.conftest import REPO_ROOT, bundle_dir

HORIZON = 24


def _strategy(target: dict):
    sys.path.insert(0, str(REPO_ROOT / "strategies"))
    from RegimeMoE import RegimeMoE

    config = {"freqai": {"feature_parameters": {"label_period_candles": HORIZON,
                                                "include_timeframes": ["1h"]}},
              "timeframe": "1h", "stake_currency": "USDT", "ai_suite": {"regime": {"target": target}}}
    strategy = RegimeMoE(config)
    strategy.freqai_info = config["freqai"]  # Freqtrade sets it at bot start
    return strategy


def _candles(days: int = 40) -> pd.DataFrame:
    frame = pd.read_feather(bundle_dir() / "crypto/freqtrade_binance_spot/BTC_USDT-1h.feather")
    return frame.iloc[-24 * days:].reset_index(drop=True)


@pytest.mark.parametrize("kind", ["vol_scaled_return", "sign", "triple_barrier"])
def test_strategy_when_target_chosen_then_label_is_that_target_and_signals_use_its_thresholds(kind):
    strategy = _strategy({"kind": kind})
    candles = _candles()

    frame = strategy.set_freqai_targets(candles.copy(), {"pair": "BTC/USDT"})
    entry, exit_ = strategy.thresholds()
    pd.testing.assert_series_equal(frame["&-s_close"], make_target(candles, TargetConfig(kind=kind), HORIZON),
                                   check_names=False)
    frame["do_predict"] = 1
    frame["regime"] = "calm_up"
    frame = strategy.populate_exit_trend(strategy.populate_entry_trend(frame, {"pair": "BTC/USDT"}),
                                         {"pair": "BTC/USDT"})

    known = frame["&-s_close"].notna()
    assert (frame.loc[known, "enter_long"] == (frame.loc[known, "&-s_close"] > entry).astype(int)).all()
    assert (frame.loc[frame["enter_long"] == 1, "enter_tag"] == f"freqai_{kind}").all()
    assert frame["exit_long"].eq(1).sum() == (frame["&-s_close"] < exit_).sum()


def test_strategy_when_default_target_then_baseline_label_and_parameters():
    strategy = _strategy({})
    assert strategy.default_target
    assert strategy.thresholds() == (strategy.entry_threshold.value, strategy.exit_threshold.value)


def _profit_model():
    path = REPO_ROOT / "freqai_models" / "LightGBMProfitWeighted.py"
    spec = importlib.util.spec_from_file_location("LightGBMProfitWeighted_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = object.__new__(module.LightGBMProfitWeighted)
    model.freqai_info = {"data_split_parameters": {"test_size": 0}, "activate_tensorboard": False}
    model.model_training_parameters = {"n_estimators": 30, "n_jobs": 1, "verbosity": -1}
    model.get_init_model = lambda pair: None
    return model


def test_profit_weighted_model_when_fitted_then_trains_on_abs_return_weights_of_unscaled_label(
        monkeypatch):
    candles = _candles(60)
    close = candles["close"]
    X = pd.DataFrame({"ret_1": close.pct_change(), "ret_24": close.pct_change(24),
                      "range": (candles["high"] - candles["low"]) / close})
    y = make_target(candles, TargetConfig(), HORIZON).to_frame("&-s_close")
    keep = X.notna().all(axis=1) & y.notna().all(axis=1)
    X, y = X[keep].reset_index(drop=True), y[keep].reset_index(drop=True)
    label_pipeline = Pipeline([("scaler", SKLearnWrapper(MinMaxScaler((-1, 1))))])
    y_scaled, _, _ = label_pipeline.fit_transform(y)
    dk = SimpleNamespace(pair="BTC/USDT", data_path=None, label_pipeline=label_pipeline)
    model = _profit_model()
    seen = {}
    fit = lightgbm.LGBMRegressor.fit

    def recording_fit(self, X, y, sample_weight=None, **kwargs):  # LightGBM's fit, weights kept
        seen["weights"] = np.asarray(sample_weight)
        return fit(self, X, y, sample_weight=sample_weight, **kwargs)

    monkeypatch.setattr(lightgbm.LGBMRegressor, "fit", recording_fit)
    fitted = model.fit({"train_features": X, "train_labels": y_scaled,
                        "train_weights": np.ones(len(X))}, dk)

    magnitude = y["&-s_close"].abs().to_numpy()
    np.testing.assert_allclose(seen["weights"], magnitude / magnitude.mean(), rtol=1e-9)
    assert np.isfinite(fitted.predict(X)).all()


def test_strategy_when_edge_vol_sizing_then_stake_from_the_signal_candle_and_zero_on_garbage():
    from freqtrade.data.dataprovider import DataProvider
    from freqtrade.enums import CandleType

    strategy = _strategy({})
    strategy.sizing = SizingConfig(kind="edge_vol", vol_target_annual=0.5, vol_window=72)
    candles = _candles(10)
    frame = candles.copy()
    frame["sizing_vol_annual"] = trailing_vol(frame["close"], 72) * math.sqrt(8760)
    frame["&-s_close"], frame["regime"] = 0.008, "calm_up"
    dp = DataProvider({"timeframe": "1h", "runmode": "backtest"}, None)
    dp._set_cached_df("BTC/USDT", "1h", frame, CandleType.SPOT)
    dp._set_dataframe_max_index("BTC/USDT", len(frame))  # as backtesting: candles up to the signal
    strategy.dp = dp
    stake = type(strategy).custom_stake_amount

    def size(**changes) -> float:
        return stake(strategy, pair="BTC/USDT", current_time=None, current_rate=1.0,
                     proposed_stake=100.0, min_stake=1.0, max_stake=1000.0, leverage=1.0,
                     entry_tag="freqai_up", side="long", **changes)

    vol = frame["sizing_vol_annual"].iloc[-1]
    assert size() == pytest.approx(100.0 * min(1.0, 0.5 / vol) * 1.0)   # 0.008 = 2x the 0.004 threshold
    frame.loc[frame.index[-1], "sizing_vol_annual"] = float("nan")
    dp._set_cached_df("BTC/USDT", "1h", frame, CandleType.SPOT)
    assert size() == 0.0, "no volatility on the signal candle: no trade"
