"""The regime-gated model FreqAI trains and pickles: several targets, one detector, causal
state, warm-up rows, and the cloudpickle round trip FreqAI's save/load uses."""

from __future__ import annotations

import functools

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from plugins.regime.config import RegimeConfig
from plugins.regime.features import REGIME_INPUTS, regime_inputs
from plugins.regime.gated import RegimeGatedModel, regime_frame
from tests.conftest import bundle_dir

CFG = RegimeConfig.model_validate({
    "detector": {"kind": "hmm", "n_regimes": 3, "hmm_n_init": 1},
    "mixture": {"gate": "soft", "min_regime_samples": 150,
                "expert": {"params": {"n_estimators": 30, "n_jobs": 1}}},
})


@functools.cache
def real_window() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """60 days of real BTC/USDT 1h rows: expert features, two targets, raw regime inputs."""
    candles = pd.read_feather(bundle_dir() / "crypto/freqtrade_binance_spot/BTC_USDT-1h.feather")
    candles = candles.iloc[-24 * 120:].reset_index(drop=True)
    close = candles["close"]
    features = pd.DataFrame({"ret_1": close.pct_change(), "ret_24": close.pct_change(24),
                             "range": (candles["high"] - candles["low"]) / close})
    targets = pd.DataFrame({"&-s_close": close.rolling(24).mean().shift(-24) / close - 1,
                            "&-s_max": candles["high"].rolling(24).max().shift(-24) / close - 1})
    regime = regime_inputs(candles)
    keep = features.notna().all(axis=1) & targets.notna().all(axis=1) & regime.notna().all(axis=1)
    return features[keep], targets[keep], regime[keep]


def fitted(cfg: RegimeConfig = CFG) -> tuple[RegimeGatedModel, pd.DataFrame, pd.DataFrame]:
    features, targets, regime = real_window()
    train = slice(0, 24 * 60)
    model = RegimeGatedModel(cfg).fit(features.iloc[train], targets.iloc[train], regime.iloc[train])
    test = slice(24 * 60, None)
    return model, features.iloc[test].reset_index(drop=True), regime.iloc[test].reset_index(drop=True)


def test_fit_when_two_targets_then_one_mixture_each_sharing_one_fitted_detector():
    model, X, regime = fitted()

    assert model.targets == ["&-s_close", "&-s_max"]
    detectors = {id(m.detector) for m in model.mixtures.values()}
    assert len(detectors) == 1, "the detector is fitted once and shared"
    out = model.predict(X, regime)
    assert list(out.predictions.columns) == model.targets
    assert out.proba.shape == out.weights.shape == out.expert_predictions.shape == (len(X), 3)
    assert np.allclose(out.weights.sum(axis=1), 1)
    assert np.allclose(out.predictions["&-s_close"],
                       (out.weights * out.expert_predictions).sum(axis=1)), "soft gate blend"


def test_predict_in_two_calls_with_the_carried_state_equals_one_pass():
    model, X, regime = fitted()
    whole = model.predict(X, regime)

    m = len(X) // 2
    first = model.predict(X.iloc[:m], regime.iloc[:m])
    second = model.predict(X.iloc[m:], regime.iloc[m:], state=first.state)

    assert np.allclose(np.vstack([first.proba, second.proba]), whole.proba)
    assert np.allclose(np.concatenate([first.predictions["&-s_close"],
                                       second.predictions["&-s_close"]]),
                       whole.predictions["&-s_close"])


def test_predict_when_regime_inputs_warming_up_then_rows_flagged_invalid_not_failed():
    model, X, regime = fitted()
    regime = regime.copy()
    regime.iloc[:5] = np.nan

    out = model.predict(X, regime)

    assert not out.valid[:5].any() and out.valid[5:].all()
    assert np.isfinite(out.predictions.to_numpy()).all()


def test_hard_gate_weights_are_one_hot_on_the_most_probable_regime():
    cfg = CFG.model_copy(update={"mixture": CFG.mixture.model_copy(update={"gate": "hard"})})
    model, X, regime = fitted(cfg)

    out = model.predict(X, regime)

    assert np.array_equal(out.weights, np.eye(3)[out.labels])


def test_cloudpickle_round_trip_like_freqai_save_load_predicts_identically(tmp_path):
    model, X, regime = fitted()
    path = tmp_path / "model.joblib"
    with path.open("wb") as fp:  # what FreqAI's data drawer does for model_type "joblib"
        cloudpickle.dump(model, fp)
    with path.open("rb") as fp:
        loaded = cloudpickle.load(fp)

    a, b = model.predict(X, regime), loaded.predict(X, regime)

    assert loaded.regime_names == model.regime_names
    assert np.array_equal(a.predictions.to_numpy(), b.predictions.to_numpy())
    assert np.array_equal(a.proba, b.proba)


def test_regime_frame_reads_the_strategy_columns_and_names_the_fix_when_missing():
    frame = pd.DataFrame({f"%-regime_{c}": [1.0, 2.0] for c in REGIME_INPUTS})

    assert list(regime_frame(frame).columns) == list(REGIME_INPUTS)
    with pytest.raises(KeyError, match="feature_engineering_standard"):
        regime_frame(frame.drop(columns="%-regime_vol"))
