"""Training targets of ai_suite.regime.target on real BTC/USDT 1h candles: formulas, no look-ahead
beyond the horizon, independence of where the data starts, the dollar-profit weights, and the
isotonic calibration of the sign target's probability."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from plugins.core.windowed import window_mean
from plugins.regime.config import RegimeConfig
from plugins.regime.gated import RegimeGatedModel
from plugins.regime.targets import TargetConfig, make_target, profit_weights, trailing_vol
from tests.conftest import bundle_dir
from tests.plugins.regime.test_gated import real_window

HORIZON = 24
KINDS = ["mean_return", "vol_scaled_return", "sign", "triple_barrier"]


@functools.cache
def candles() -> pd.DataFrame:
    """60 days of real BTC/USDT 1h candles."""
    frame = pd.read_feather(bundle_dir() / "crypto/freqtrade_binance_spot/BTC_USDT-1h.feather")
    return frame.iloc[-24 * 60:].reset_index(drop=True)


def test_mean_return_when_chosen_then_exactly_the_shipped_label():
    c = candles()
    label = make_target(c, TargetConfig(), HORIZON)
    shipped = window_mean(c["close"].shift(-HORIZON), HORIZON) / c["close"] - 1
    pd.testing.assert_series_equal(label, shipped, check_names=False)


@pytest.mark.parametrize("kind", KINDS)
def test_label_when_candles_after_the_horizon_change_then_unchanged(kind):
    c, cfg = candles(), TargetConfig(kind=kind)
    t = 800
    label = make_target(c, cfg, HORIZON)
    future = c.copy()
    future.loc[t + HORIZON + 1:, ["open", "high", "low", "close"]] *= 1.5  # a crash-free moon

    changed = make_target(future, cfg, HORIZON)

    assert np.isfinite(label.iloc[t])
    assert changed.iloc[: t + 1].equals(label.iloc[: t + 1]), "a label saw past its horizon"
    assert label.iloc[-HORIZON:].isna().all(), "the last horizon's future is not in the frame"


@pytest.mark.parametrize("kind", KINDS)
def test_label_when_data_starts_later_then_bit_identical_where_defined(kind):
    c, cfg = candles(), TargetConfig(kind=kind)
    full = make_target(c, cfg, HORIZON)
    late = make_target(c.iloc[200:].reset_index(drop=True), cfg, HORIZON)
    both = late.notna().to_numpy() & full.iloc[200:].notna().to_numpy()

    assert both.sum() > 1000
    np.testing.assert_array_equal(late.to_numpy()[both], full.iloc[200:].to_numpy()[both])


def test_vol_scaled_and_sign_when_computed_then_match_their_formulas_at_a_candle():
    c, t = candles(), 900
    ahead = c["close"].iloc[t + HORIZON] / c["close"].iloc[t] - 1
    logret = np.log(c["close"]).diff().iloc[t - 71: t + 1]
    sigma = logret.std(ddof=1) * math.sqrt(HORIZON)

    scaled = make_target(c, TargetConfig(kind="vol_scaled_return", vol_window=72), HORIZON)
    sign = make_target(c, TargetConfig(kind="sign"), HORIZON)

    assert scaled.iloc[t] == pytest.approx(ahead / sigma, rel=1e-9)
    assert trailing_vol(c["close"], 72).iloc[t] == pytest.approx(logret.std(ddof=1), rel=1e-9)
    assert sign.iloc[t] == float(ahead > 0) and set(sign.dropna().unique()) <= {0.0, 1.0}


def test_triple_barrier_when_computed_then_first_touch_by_candle_loop():
    c = candles()
    cfg = TargetConfig(kind="triple_barrier", barrier_width=0.8)
    label = make_target(c, cfg, HORIZON)
    width = 0.8 * trailing_vol(c["close"], cfg.vol_window) * math.sqrt(HORIZON)

    def by_loop(t: int) -> float:
        upper, lower = c["close"][t] * (1 + width[t]), c["close"][t] * (1 - width[t])
        for i in range(t + 1, t + HORIZON + 1):
            if c["low"][i] <= lower:
                return -1.0
            if c["high"][i] >= upper:
                return 1.0
        return 0.0

    rows = range(100, len(c) - HORIZON, 7)
    assert [label[t] for t in rows] == [by_loop(t) for t in rows]
    assert {-1.0, 0.0, 1.0} <= set(label.dropna().unique())


def test_profit_weights_when_given_labels_then_proportional_to_abs_label_with_mean_one():
    label = np.array([0.02, -0.01, 0.0, -0.03])
    weights = profit_weights(label)

    np.testing.assert_allclose(weights, np.array([2.0, 1.0, 0.0, 3.0]) / 1.5)
    np.testing.assert_allclose(profit_weights(label, np.full(4, 2.0)), 2 * weights)
    np.testing.assert_array_equal(profit_weights(np.zeros(3), np.ones(3)), np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        profit_weights(np.array([0.1, np.nan]))


def test_target_config_when_inconsistent_then_error_names_the_field_and_fix():
    with pytest.raises(ValidationError, match="needs a return target"):
        TargetConfig(kind="sign", weighting="abs_return")
    with pytest.raises(ValidationError, match="calibration 'isotonic' is for kind 'sign'"):
        TargetConfig(kind="triple_barrier", calibration="isotonic")
    with pytest.raises(ValidationError, match="extra"):
        RegimeConfig.model_validate({"target": {"kind": "sign", "horizon": 4}})
    assert TargetConfig(kind="sign").thresholds(0.004, -0.002) == (0.55, 0.45)
    assert TargetConfig().thresholds(0.004, -0.002) == (0.004, -0.002)
    assert TargetConfig(kind="sign", entry_threshold=0.6).thresholds(0.004, -0.002) == (0.6, 0.45)


def test_sign_target_when_isotonic_calibration_then_probabilities_in_0_1_monotone_in_the_raw_ones():
    features, targets, regime = real_window()
    cfg = RegimeConfig.model_validate({
        "detector": {"kind": "hmm", "n_regimes": 2, "hmm_n_init": 1},
        "mixture": {"min_regime_samples": 100, "expert": {"params": {"n_estimators": 30, "n_jobs": 1}}},
        "target": {"kind": "sign", "calibration": "isotonic", "calibration_fraction": 0.25}})
    y = (targets["&-s_close"] > 0).astype("float64").to_frame("&-s_up")  # up over the horizon
    train, test = slice(0, 24 * 60), slice(24 * 60, None)
    X, r = features, regime

    model = RegimeGatedModel(cfg).fit(X.iloc[train], y.iloc[train], r.iloc[train])
    out = model.predict(X.iloc[test].reset_index(drop=True), r.iloc[test].reset_index(drop=True))
    raw = model.mixtures["&-s_up"].predict(X.iloc[test].to_numpy(), r.iloc[test].reset_index(drop=True))

    calibrated = out.predictions["&-s_up"].to_numpy()
    assert "&-s_up" in model.calibrators
    assert ((calibrated >= 0) & (calibrated <= 1)).all()
    order = np.argsort(raw.prediction)
    assert (np.diff(calibrated[order]) >= -1e-12).all(), "isotonic: monotone in the raw prediction"
    trained_rows = sum(model.mixtures["&-s_up"].regime_counts)
    assert trained_rows == len(X.iloc[train]) - round(0.25 * len(X.iloc[train]))
