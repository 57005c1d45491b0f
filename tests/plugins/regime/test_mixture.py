"""Regime-gated mixture on real BTC/USDT 1h candles, with a test-only detector (base interface only)."""

from __future__ import annotations

import functools
import logging
import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from plugins.regime.base import RegimeDetector
from plugins.regime.experts import ExpertConfig
from plugins.regime.mixture import MixtureConfig, MixtureError, MixtureOutput, RegimeMixture
from tests.plugins.regime.test_experts import SMALL_PARAMS, real_rows

TRAIN_ROWS, TEST_ROWS = 3000, 600
#: regime 2 (vol above the 97 % training quantile) gets ~90 training rows: fewer than 200.
QUANTILES = (0.45, 0.97)


class QuantileVolDetector(RegimeDetector):
    """Test-only detector: regimes = bins of the ``vol`` column between training quantiles.

    Soft probabilities: ``softmax(-distance(vol, bin_k) / scale)``, distance 0 inside the bin, so
    the argmax is the bin. Stateless except for a row counter, so a test can see the mixture
    carry the state from call to call.
    """

    kind = "quantile_vol"

    def __init__(self, quantiles: tuple[float, ...] = (1 / 3, 2 / 3)) -> None:
        self.quantiles = quantiles

    def fit(self, X: pd.DataFrame) -> QuantileVolDetector:
        vol = X["vol"].to_numpy(np.float64)
        bounds = np.concatenate([[-np.inf], np.quantile(vol, self.quantiles), [np.inf]])
        self.lo_, self.hi_ = bounds[:-1], bounds[1:]
        self.scale_ = 0.25 * vol.std()
        self.n_regimes = len(self.quantiles) + 1
        self.regime_names = tuple(f"vol_bin{k}" for k in range(self.n_regimes))
        return self

    def predict_proba(self, X: pd.DataFrame, state: Any = None) -> tuple[np.ndarray, Any]:
        vol = X["vol"].to_numpy(np.float64)[:, None]
        distance = np.maximum(self.lo_ - vol, 0) + np.maximum(vol - self.hi_, 0)
        logits = -distance / self.scale_
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        return weights / weights.sum(axis=1, keepdims=True), (state or 0) + len(X)


def train_rows() -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    return real_rows(TRAIN_ROWS)


def holdout_rows() -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    return real_rows(TEST_ROWS, start=TRAIN_ROWS)


def fitted(kind: str = "lightgbm", gate: str = "soft", min_regime_samples: int = 200,
           experts: str = "residual") -> RegimeMixture:
    """A mixture fitted on the training rows, cached per settings (tests must not mutate it)."""
    return _fitted(kind, gate, min_regime_samples, experts)


@functools.cache
def _fitted(kind: str, gate: str, min_regime_samples: int, experts: str) -> RegimeMixture:
    X, y, frame = train_rows()
    cfg = MixtureConfig(gate=gate, min_regime_samples=min_regime_samples, experts=experts,
                        expert=ExpertConfig(kind=kind, params=SMALL_PARAMS[kind]))
    return RegimeMixture(QuantileVolDetector(QUANTILES), cfg).fit(X, y, frame)


def check_output(out: MixtureOutput, n: int, k: int) -> None:
    assert out.prediction.shape == (n,) and out.prediction.dtype == np.float64
    assert out.labels.shape == (n,) and out.labels.dtype == np.int64
    assert out.proba.shape == (n, k) and out.expert_predictions.shape == (n, k)
    assert out.global_prediction.shape == (n,)
    assert np.isfinite(out.prediction).all() and np.isfinite(out.expert_predictions).all()
    np.testing.assert_allclose(out.proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(out.labels, out.proba.argmax(axis=1))


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost", "mlp"])
def test_soft_gate_when_predicting_then_proba_weighted_sum_of_expert_columns(kind):
    mixture = fitted(kind)
    X, _, frame = holdout_rows()

    out = mixture.predict(X, frame)

    check_output(out, TEST_ROWS, 3)
    np.testing.assert_allclose(out.prediction, (out.proba * out.expert_predictions).sum(axis=1))
    for k in (0, 1):  # regimes with their own expert: column k is the global expert plus the
        # regime's residual model (the default ``experts="residual"``), not the global one alone
        np.testing.assert_allclose(out.expert_predictions[:, k],
                                   out.global_prediction + mixture.experts[k].predict(X))
        assert not np.allclose(out.expert_predictions[:, k], out.global_prediction)
    assert 0 < out.proba.max(axis=1).min() < 1  # genuinely soft somewhere near a bin edge


def test_hard_gate_when_predicting_then_expert_of_argmax_regime():
    X, _, frame = holdout_rows()

    out = fitted("lightgbm", "hard").predict(X, frame)

    check_output(out, TEST_ROWS, 3)
    np.testing.assert_array_equal(out.prediction, out.expert_predictions[np.arange(TEST_ROWS), out.labels])
    assert len(np.unique(out.labels)) >= 2


def test_fit_when_regime_has_too_few_rows_then_it_uses_global_expert():
    mixture = fitted()
    _, _, train_frame = train_rows()
    train_labels = QuantileVolDetector(QUANTILES).fit(train_frame).predict(train_frame)[0]
    X, _, frame = holdout_rows()

    out = mixture.predict(X, frame)

    np.testing.assert_array_equal(mixture.regime_counts, np.bincount(train_labels, minlength=3))
    assert mixture.regime_counts.sum() == TRAIN_ROWS and mixture.regime_counts[2] < 200
    assert mixture.regime_counts[:2].min() >= 200
    assert mixture.fallback_regimes == (2,) and mixture.experts[2] is None
    np.testing.assert_array_equal(out.expert_predictions[:, 2], out.global_prediction)
    assert set(mixture.fit_seconds) == {"global", "vol_bin0", "vol_bin1"}
    assert all(sec > 0 for sec in mixture.fit_seconds.values())


def test_fit_when_no_regime_has_enough_rows_then_prediction_is_the_global_expert():
    X, _, frame = holdout_rows()

    out = fitted(min_regime_samples=TRAIN_ROWS + 1).predict(X, frame)

    assert fitted(min_regime_samples=TRAIN_ROWS + 1).fallback_regimes == (0, 1, 2)
    np.testing.assert_allclose(out.prediction, out.global_prediction)


def test_fit_when_done_then_logs_one_line_summary(caplog):
    X, y, frame = real_rows(800)
    cfg = MixtureConfig(min_regime_samples=300, expert=ExpertConfig(params=SMALL_PARAMS["lightgbm"]))

    with caplog.at_level(logging.INFO, logger="plugins.regime.mixture"):
        RegimeMixture(QuantileVolDetector(), cfg).fit(X, y, frame)

    lines = [r.getMessage() for r in caplog.records if r.name == "plugins.regime.mixture"]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "regime mixture fitted: 800 rows, lightgbm experts (soft gate)" in lines[0]
    assert "fallback to global ['vol_bin0', 'vol_bin1', 'vol_bin2']" in lines[0]


def test_predict_when_split_into_chunks_with_state_then_same_as_one_call():
    mixture = fitted()
    X, _, frame = holdout_rows()

    whole = mixture.predict(X, frame)
    first = mixture.predict(X[:250], frame.iloc[:250])
    rest = mixture.predict(X[250:], frame.iloc[250:], state=first.state)

    assert (first.state, rest.state, whole.state) == (250, TEST_ROWS, TEST_ROWS)
    np.testing.assert_array_equal(np.concatenate([first.prediction, rest.prediction]), whole.prediction)


def test_mixture_when_pickled_then_round_trip_predicts_identically():
    mixture = fitted()
    X, _, frame = holdout_rows()

    loaded = pickle.loads(pickle.dumps(mixture))

    np.testing.assert_array_equal(loaded.predict(X, frame).prediction, mixture.predict(X, frame).prediction)
    assert loaded.regime_names == mixture.regime_names == ("vol_bin0", "vol_bin1", "vol_bin2")
    assert loaded.fallback_regimes == (2,) and loaded.n_regimes == 3


def test_mlp_mixture_when_pickled_then_round_trip_predicts_identically():
    X, _, frame = holdout_rows()

    mixture = fitted("mlp")

    loaded = pickle.loads(pickle.dumps(mixture))

    np.testing.assert_array_equal(loaded.predict(X, frame).prediction, mixture.predict(X, frame).prediction)


@pytest.mark.parametrize(("n_X", "n_y", "n_regime", "match"), [
    (100, 100, 99, r"regime_X has 99 rows but X has 100"),
    (100, 98, 100, r"y has 98 rows but X has 100"),
])
def test_fit_when_rows_misaligned_then_error_names_both_lengths(n_X, n_y, n_regime, match):
    X, y, frame = real_rows(100)

    with pytest.raises(MixtureError, match=match):
        RegimeMixture(QuantileVolDetector()).fit(X[:n_X], y[:n_y], frame.iloc[:n_regime])


def test_fit_when_y_is_2d_then_error_says_loop_over_targets():
    X, y, frame = real_rows(100)

    with pytest.raises(MixtureError, match=r"y must be 1-D .*\(100, 2\).*loop over target columns"):
        RegimeMixture(QuantileVolDetector()).fit(X, np.column_stack([y, y]), frame)


def test_predict_when_rows_misaligned_or_wrong_width_then_clear_error():
    mixture = fitted()
    X, _, frame = holdout_rows()

    with pytest.raises(MixtureError, match=r"regime_X has 599 rows but X has 600"):
        mixture.predict(X, frame.iloc[1:])
    with pytest.raises(MixtureError, match=r"X has 4 features but the mixture was fitted on 5"):
        mixture.predict(X[:, :4], frame)
    with pytest.raises(MixtureError, match=r"X must be 2-D"):
        mixture.predict(X[:, 0], frame)


def test_predict_when_unfitted_then_error():
    X, _, frame = holdout_rows()

    with pytest.raises(MixtureError, match="not fitted"):
        RegimeMixture(QuantileVolDetector()).predict(X, frame)


def test_mixture_config_when_invalid_then_rejected():
    with pytest.raises(ValidationError, match="min_regime_samples"):
        MixtureConfig(min_regime_samples=0)
    with pytest.raises(ValidationError, match="gate"):
        MixtureConfig(gate="sometimes")
    with pytest.raises(ValidationError, match="extra"):
        MixtureConfig(expert_kind="lightgbm")
    with pytest.raises(ValidationError, match="experts"):
        MixtureConfig(experts="shared")


def test_independent_experts_when_chosen_then_each_column_is_its_own_expert():
    mixture = fitted("lightgbm", experts="independent")
    X, _, frame = holdout_rows()

    out = mixture.predict(X, frame)

    np.testing.assert_array_equal(out.expert_predictions[:, 0], mixture.experts[0].predict(X))
