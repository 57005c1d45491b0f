"""RegimeGatedMoE (``freqai_models/RegimeGatedMoE.py``) through FreqAI's own data kitchen and
pipelines, on real candles: where the statistics of its regime columns come from."""

from __future__ import annotations

import importlib.util
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from datasieve.pipeline import Pipeline
from datasieve.transforms import SKLearnWrapper
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen
from sklearn.preprocessing import MinMaxScaler

from plugins.regime.features import regime_inputs
from plugins.regime.targets import TargetConfig
from tests.conftest import REPO_ROOT, bundle_dir
from tests.plugins.rpc.conftest import REGIME

PAIR = "BTC/USDT"
TRAIN_ROWS = 24 * 60


def _module():
    path = REPO_ROOT / "freqai_models" / "RegimeGatedMoE.py"
    spec = importlib.util.spec_from_file_location("RegimeGatedMoE_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def strategy_frame() -> pd.DataFrame:
    """90 days of real 1h BTC candles with FreqAI-style ``%-`` features (the regime inputs
    among them) and an ``&-s_close`` label; warm-up rows dropped."""
    candles = pd.read_feather(bundle_dir() / "crypto/freqtrade_binance_spot/BTC_USDT-1h.feather")
    candles = candles[candles["date"] < pd.Timestamp("2024-03-20", tz="UTC")].iloc[-24 * 90:]
    candles = candles.reset_index(drop=True)
    close = candles["close"]
    frame = pd.DataFrame({"date": candles["date"], "%-ret_1": close.pct_change(),
                          "%-ret_24": close.pct_change(24)})
    for name, values in regime_inputs(candles).items():
        frame[f"%-regime_{name}"] = values
    frame["&-s_close"] = close.rolling(24).mean().shift(-24) / close - 1
    return frame.dropna().reset_index(drop=True)


def _fitted(module, frame: pd.DataFrame, regime=REGIME):
    """A model fitted as BaseRegressionModel.train does: FreqAI's kitchen, label statistics,
    MinMax feature and label pipelines, then ``RegimeGatedMoE.fit`` on the scaled rows."""
    config = {"freqai": {"feature_parameters": {"include_corr_pairlist": []}},
              "exchange": {"pair_whitelist": [PAIR]}}
    dk = FreqaiDataKitchen(config, live=True, pair=PAIR)
    dk.find_features(frame)
    dk.find_labels(frame)
    features, labels = dk.filter_features(frame, dk.training_features_list, dk.label_list,
                                          training_filter=True)
    dk.data_dictionary = {"train_labels": labels}
    dk.fit_labels()
    dk.feature_pipeline = Pipeline([("scaler", SKLearnWrapper(MinMaxScaler((-1, 1))))])
    dk.label_pipeline = Pipeline([("scaler", SKLearnWrapper(MinMaxScaler((-1, 1))))])
    X, y, w = dk.feature_pipeline.fit_transform(features, labels, np.ones(len(features)))
    y, _, _ = dk.label_pipeline.fit_transform(y)
    wrapper = SimpleNamespace(regime_config=regime, _states={},
                              _regime_columns=module.RegimeGatedMoE._regime_columns)
    model = module.RegimeGatedMoE.fit(wrapper, {"train_features": X, "train_labels": y,
                                                "train_weights": w}, dk)
    wrapper.model = model
    return wrapper, dk


def test_regime_column_statistics_when_fitted_then_taken_from_training_rows_and_kept_by_predict(
        strategy_frame):
    module = _module()
    train, later = strategy_frame.iloc[:TRAIN_ROWS], strategy_frame.iloc[TRAIN_ROWS:]
    wrapper, dk = _fitted(module, train)
    means = dict(dk.data["labels_mean"])
    stds = dict(dk.data["labels_std"])

    assert {"&-s_close", "regime_label", "confidence", "regime_prob_0", "gate_weight_0",
            "expert_pred_0"} <= set(means)
    assert set(means) == set(stds)
    assert 0.0 < means["confidence"] <= 1.0 and stds["expert_pred_0"] > 0.0

    # Predicting other windows (the future of the training rows) must not move them: in a
    # backtest FreqAI writes them on every predicted candle, so statistics of the predicted
    # window would hand each candle a summary of the candles after it (look-ahead).
    for window in (later.iloc[:200], later.iloc[200:]):
        predictions, _ = module.RegimeGatedMoE.predict(wrapper, window, dk)
        assert "regime_prob_0" in predictions.columns
        assert dk.data["labels_mean"] == means and dk.data["labels_std"] == stds


def test_missing_statistics_when_model_saved_without_them_then_neutral_zeros_not_window_figures():
    module = _module()
    dk = SimpleNamespace(data={"labels_mean": {"&-s_close": 0.01, "confidence": 0.7},
                               "labels_std": {"&-s_close": 0.02, "confidence": 0.1}})
    extras = pd.DataFrame({"confidence": [0.9, 0.8], "regime_prob_0": [0.3, 0.6],
                           "regime": ["trend", "range"], "regime_prob_0_mean": [0.5, 0.5]})

    module._register_missing_output_stats(dk, extras)

    assert dk.data["labels_mean"] == {"&-s_close": 0.01, "confidence": 0.7, "regime_prob_0": 0.0}
    assert dk.data["labels_std"] == {"&-s_close": 0.02, "confidence": 0.1, "regime_prob_0": 0.0}


def test_fit_and_predict_when_run_by_freqai_then_diagnostics_in_metadata_and_serve_file_beside_it(
        strategy_frame, tmp_path):
    module = _module()
    train, later = strategy_frame.iloc[:TRAIN_ROWS], strategy_frame.iloc[TRAIN_ROWS:]
    wrapper, dk = _fitted(module, train)
    dk.data_path, dk.model_filename = tmp_path, "cb_btc_1709251200"

    figures = dk.data["regime_diagnostics"]
    module.RegimeGatedMoE.predict(wrapper, later.iloc[:200], dk)
    serve = json.loads((tmp_path / "cb_btc_1709251200_expert_serve.json").read_text())

    assert sum(figures["rows_per_expert"].values()) == figures["training_rows"] > 0
    assert set(dk.data["regime_feature_importance"]["global"]) == set(dk.training_features_list)
    assert set(figures["fallback_regimes"]) <= set(figures["rows_per_expert"])
    assert serve["rows"] > 0 and sum(serve["serve_share"].values()) == pytest.approx(1.0)
    assert set(serve["serve_share"]) == set(figures["rows_per_expert"])


def test_fit_when_dollar_profit_objective_then_experts_get_abs_label_weights(strategy_frame, monkeypatch):
    module = _module()
    seen = {}
    fit = module.RegimeGatedModel.fit

    def recording_fit(self, X, y, regime_X, sample_weight=None):  # the model's fit, weights kept
        seen["weights"] = np.asarray(sample_weight)
        return fit(self, X, y, regime_X, sample_weight=sample_weight)

    monkeypatch.setattr(module.RegimeGatedModel, "fit", recording_fit)
    profit = REGIME.model_copy(update={"target": TargetConfig(weighting="abs_return")})
    wrapper, dk = _fitted(module, strategy_frame.iloc[:TRAIN_ROWS], regime=profit)

    magnitude = dk.data_dictionary["train_labels"]["&-s_close"].abs().to_numpy()  # unscaled
    # FreqAI's train_weights are 1 in _fitted; the label went through the MinMax scaler and back
    np.testing.assert_allclose(seen["weights"], magnitude / magnitude.mean(), rtol=1e-6)
    assert wrapper.model.mixtures["&-s_close"].global_expert is not None
