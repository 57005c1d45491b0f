"""The three regime detectors on real BTC/USDT 1h candles: contract, causality, stable labels.

Training windows: see ``detector_cases`` (60 days from 2024-01-01, and the same shifted 7 days).
"""

from __future__ import annotations

import copy
import pickle
import re

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from plugins.regime import DetectorConfig, RegimeDetectorError, make_detector
from plugins.regime.hmm import HmmDetector
from plugins.regime.jump import JumpModelDetector
from plugins.regime.rules import RULE_REGIMES, RuleBasedDetector
from tests.plugins.regime.detector_cases import (
    KINDS,
    START,
    fitted,
    holdout,
    rows,
    shared,
    train_a,
    train_b,
)

#: label agreement on the 53 shared days of the two retrains, measured on these windows: rules
#: 0.982, hmm 0.936, jump 0.998; asserted a bit below. On 20 other window pairs (every 90 days,
#: 2020-09..2025-07) agreement varied far more: rules 0.86-0.98 (median 0.93), hmm 0.16-0.98
#: (median 0.80), jump 0.18-1.00 (median 0.93): a K=3 HMM / jump model does not always find the
#: same partition of a 60-day 1h window, so these thresholds hold for this window, not in general.
MIN_AGREEMENT = {"rules": 0.95, "hmm": 0.90, "jump": 0.95}

NAME_PATTERN = {
    ("hmm", 2): r"(low_vol|high_vol)_(bull|bear|flat)",
    ("hmm", 3): r"(low_vol|mid_vol|high_vol)_(bull|bear|flat)",
    ("hmm", 4): r"vol[0-3]_(bull|bear|flat)",
    ("jump", 2): r"(low_vol|high_vol)_(bull|bear|flat)",
    ("jump", 3): r"(low_vol|mid_vol|high_vol)_(bull|bear|flat)",
}


def mean_vol_per_label(det, X: pd.DataFrame) -> np.ndarray:
    labels, _ = det.predict(X)
    vol = X["vol"].to_numpy()
    return np.array([vol[labels == k].mean() if (labels == k).any() else np.nan
                     for k in range(det.n_regimes)])


# --- fit / predict contract ---------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_predict_proba_gives_rows_summing_to_one_and_k_documented_names(kind):
    det = fitted(kind)
    X = holdout()

    proba, _ = det.predict_proba(X)
    labels, _ = det.predict(X)

    assert det.kind == kind
    assert proba.shape == (len(X), det.n_regimes) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert (proba >= 0).all()
    assert labels.dtype == np.int64 and set(labels) <= set(range(det.n_regimes))
    assert len(det.regime_names) == det.n_regimes == len(set(det.regime_names))


def test_rules_have_six_fixed_regimes_calm_tier_first():
    assert fitted("rules").regime_names == RULE_REGIMES == (
        "calm_range", "calm_bull", "calm_bear", "volatile_range", "volatile_bull", "volatile_bear")


@pytest.mark.parametrize(("kind", "k"), sorted(NAME_PATTERN))
def test_learned_regime_names_are_vol_tier_then_direction(kind, k):
    det = fitted(kind, n_regimes=k)

    assert det.n_regimes == k
    assert all(re.fullmatch(NAME_PATTERN[kind, k], name) for name in det.regime_names), det.regime_names
    tiers = [name.rsplit("_", 1)[0] for name in det.regime_names]
    assert len(set(tiers)) == k                            # one tier per label, in rank order


def test_rules_thresholds_are_the_training_quantiles():
    det, X = fitted("rules"), train_a()

    assert det.vol_threshold == pytest.approx(np.quantile(X["vol"], 0.67))
    assert det.adx_threshold == pytest.approx(np.quantile(X["adx"], 0.60))


# --- causality ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("m", [1, 250, 719])
def test_predicting_in_two_calls_with_the_state_equals_one_call(kind, m):
    det, X = fitted(kind), holdout()

    whole, _ = det.predict_proba(X)
    head, state = det.predict_proba(X.iloc[:m])
    tail, _ = det.predict_proba(X.iloc[m:], state=state)

    np.testing.assert_allclose(np.vstack([head, tail]), whole, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_one_candle_at_a_time_like_a_live_bot_equals_one_call(kind):
    det, X = fitted(kind), holdout().iloc[:60]

    state, steps = None, []
    for i in range(len(X)):
        p, state = det.predict_proba(X.iloc[i:i + 1], state=state)
        steps.append(p)

    np.testing.assert_allclose(np.vstack(steps), det.predict_proba(X)[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_appending_future_rows_never_changes_earlier_probabilities(kind):
    det, X = fitted(kind), holdout()

    short, _ = det.predict_proba(X.iloc[:300])
    long, _ = det.predict_proba(X)

    np.testing.assert_array_equal(long[:300], short)


def test_hmm_filter_is_forward_filtering_not_smoothing():
    """At the last row filtering and hmmlearn's forward-backward smoothing must agree; before it
    smoothing has seen the future and differs."""
    det, X = fitted("hmm"), holdout().iloc[:400]
    Z = det.scaler_(X[list(det.cfg.features)].to_numpy())
    model = copy.deepcopy(det.model_)
    model.startprob_ = det.stationary_[np.argsort(det.order_)]   # the filter's prior, model order

    smoothed = model.predict_proba(Z)[:, det.order_]
    filtered, _ = det.predict_proba(X)

    np.testing.assert_allclose(filtered[-1], smoothed[-1], atol=1e-6)
    assert np.abs(filtered[:-1] - smoothed[:-1]).max() > 0.1


def test_jump_online_labels_equal_the_packages_predict_online():
    det, X = fitted("jump"), holdout()
    Z = det.scaler_(X[list(det.cfg.features)].to_numpy())

    package = np.argsort(det.order_)[np.asarray(det.model_.predict_online(Z))]

    np.testing.assert_array_equal(det.predict(X)[0], package)


def test_continuous_jump_model_gives_simplex_grid_probabilities_and_resumes():
    X = rows(START, 30)
    det = make_detector(DetectorConfig(kind="jump", jump_continuous=True, jump_n_init=3)).fit(X)

    whole, _ = det.predict_proba(X)
    head, state = det.predict_proba(X.iloc[:200])
    tail, _ = det.predict_proba(X.iloc[200:], state=state)

    np.testing.assert_allclose(whole.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(whole * 20, np.round(whole * 20), atol=1e-9)   # 5 % grid
    np.testing.assert_array_equal(np.vstack([head, tail]), whole)


# --- label stability across retrains ------------------------------------------------------

@pytest.mark.parametrize("kind", ["hmm", "jump"])
def test_label_zero_is_the_calmest_in_both_retrains(kind):
    for window, X in (("a", train_a()), ("b", train_b())):
        vols = mean_vol_per_label(fitted(kind, window), X)
        assert (np.diff(vols) > 0).all(), (window, vols)


def test_rules_calm_tier_is_calmer_than_the_volatile_tier_in_both_retrains():
    for window, X in (("a", train_a()), ("b", train_b())):
        vols = mean_vol_per_label(fitted("rules", window), X)
        assert np.nanmax(vols[:3]) < np.nanmin(vols[3:]), (window, vols)


@pytest.mark.parametrize("kind", KINDS)
def test_retrains_on_windows_7_days_apart_agree_on_the_shared_rows(kind):
    X = shared()

    labels_a, _ = fitted(kind, "a").predict(X)
    labels_b, _ = fitted(kind, "b").predict(X)

    assert (labels_a == labels_b).mean() >= MIN_AGREEMENT[kind]


# --- bad input ----------------------------------------------------------------------------

BAD_FIT = [
    ("missing column", lambda X: X.drop(columns=["vol"]), r"\['vol'\] missing.*regime_inputs"),
    ("NaN rows", lambda X: X.assign(vol=X["vol"].where(X.index != X.index[5])),
     r"NaN/inf in input column\(s\) \{'vol': 1\}.*warm-up"),
    ("too few rows", lambda X: X.iloc[:50], r"50 training rows.*min_rows=200"),
    ("not a frame", lambda X: X.to_numpy(), "must be a pandas DataFrame"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("case", "change", "message"), BAD_FIT, ids=[c[0] for c in BAD_FIT])
def test_fit_when_input_bad_then_error_names_the_fix(kind, case, change, message):
    with pytest.raises(RegimeDetectorError, match=message):
        make_detector(DetectorConfig(kind=kind)).fit(change(train_a()))


@pytest.mark.parametrize("kind", KINDS)
def test_predict_when_unfitted_then_error_says_fit_first(kind):
    with pytest.raises(RegimeDetectorError, match=r"not fitted; call fit\(X_train\)"):
        make_detector(DetectorConfig(kind=kind)).predict_proba(holdout())


@pytest.mark.parametrize("kind", KINDS)
def test_predict_when_column_missing_or_nan_then_error_names_it(kind):
    X = holdout()

    with pytest.raises(RegimeDetectorError, match=r"\['ema_slope'\] missing"):
        fitted(kind).predict_proba(X.drop(columns=["ema_slope"]))
    with pytest.raises(RegimeDetectorError, match=r"'ema_slope': 1"):
        fitted(kind).predict_proba(X.assign(ema_slope=X["ema_slope"].where(X.index != X.index[0])))


@pytest.mark.parametrize("kind", ["hmm", "jump"])
def test_predict_when_state_is_not_from_this_detector_then_error(kind):
    with pytest.raises(RegimeDetectorError, match="state must be"):
        fitted(kind).predict_proba(holdout(), state=np.ones(7))


@pytest.mark.parametrize(("changes", "field"), [
    ({"n_regimes": 7}, "n_regimes"),
    ({"kind": "kmeans"}, "kind"),
    ({"features": ("ret", "rsi")}, "features"),
    ({"kind": "jump", "jump_continuous": True, "n_regimes": 5}, "simplex grid points"),
    ({"hmm_iters": 10}, "hmm_iters"),
])
def test_config_when_invalid_then_validation_error_names_the_field(changes, field):
    with pytest.raises(ValidationError, match=field):
        DetectorConfig(**changes)


# --- factory and pickling -----------------------------------------------------------------

@pytest.mark.parametrize(("kind", "cls"), [("rules", RuleBasedDetector), ("hmm", HmmDetector),
                                           ("jump", JumpModelDetector)])
def test_make_detector_returns_the_configured_kind(kind, cls):
    det = make_detector(DetectorConfig(kind=kind))

    assert type(det) is cls and det.kind == kind


@pytest.mark.parametrize("kind", KINDS)
def test_pickle_round_trip_gives_identical_probabilities_and_states(kind):
    det, X = fitted(kind), holdout()

    clone = pickle.loads(pickle.dumps(det))
    p1, s1 = det.predict_proba(X.iloc[:100])
    p2, s2 = clone.predict_proba(X.iloc[:100])

    np.testing.assert_array_equal(p2, p1)
    np.testing.assert_array_equal(clone.predict_proba(X.iloc[100:], s2)[0],
                                  det.predict_proba(X.iloc[100:], s1)[0])
    assert clone.regime_names == det.regime_names
