"""Experts of the regime mixture on real BTC/USDT 1h candles: fit, determinism, pickle, devices."""

from __future__ import annotations

import functools
import logging
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from pydantic import ValidationError

from plugins.regime import experts
from plugins.regime.experts import ExpertConfig, ExpertError, make_expert, resolve_device
from tests.conftest import REPO_ROOT, bundle_dir

FEATURES = ["ret_1", "ret_6", "ret_24", "vol", "range"]
KINDS = ["lightgbm", "xgboost", "mlp"]
#: small sizes so the module stays fast on 2 cores.
SMALL_PARAMS = {"lightgbm": {"n_estimators": 40, "n_jobs": 1},
                "xgboost": {"n_estimators": 40, "n_jobs": 1},
                "mlp": {"max_epochs": 15, "num_threads": 1}}


@functools.cache
def real_frame() -> pd.DataFrame:
    """Causal features and the 24-candle forward-mean-return label of BTC/USDT 1h, NaN rows dropped."""
    candles = pd.read_feather(bundle_dir() / "crypto/freqtrade_binance_spot/BTC_USDT-1h.feather")
    close = candles["close"]
    frame = pd.DataFrame({
        "ret_1": close.pct_change(1),
        "ret_6": close.pct_change(6),
        "ret_24": close.pct_change(24),
        "vol": np.log(close).diff().rolling(24).std(),
        "range": (candles["high"] - candles["low"]) / close,
        # mean close over candles t+1..t+24, relative to close t
        "target": close.rolling(24).mean().shift(-24) / close - 1,
    })
    return frame.dropna().reset_index(drop=True)


def real_rows(n: int, start: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """``n`` consecutive real rows: features ``(n, 5)`` float64, target ``(n,)``, and the frame."""
    frame = real_frame().iloc[start:start + n].reset_index(drop=True)
    return frame[FEATURES].to_numpy(np.float64), frame["target"].to_numpy(np.float64), frame


def small_cfg(kind: str, **changes) -> ExpertConfig:
    return ExpertConfig(kind=kind, params=SMALL_PARAMS[kind], **changes)


def test_real_rows_when_built_then_causal_features_and_finite_label():
    X, y, frame = real_rows(500)

    assert X.shape == (500, len(FEATURES)) and y.shape == (500,)
    assert np.isfinite(X).all() and np.isfinite(y).all()
    assert len(real_frame()) > 40_000


@pytest.mark.parametrize("kind", KINDS)
def test_expert_when_fitted_on_real_rows_then_predicts_finite_float64_per_row(kind):
    X, y, _ = real_rows(2000)
    X_new, _, _ = real_rows(300, start=2000)

    expert = make_expert(small_cfg(kind)).fit(X, y)
    pred = expert.predict(X_new)

    assert expert.kind == kind and expert.device == "cpu"
    assert pred.shape == (300,) and pred.dtype == np.float64
    assert np.isfinite(pred).all()
    assert pred.std() > 0  # learned something row-dependent, not a constant
    assert expert.predict(X_new[:0]).shape == (0,)


@pytest.mark.parametrize("kind", KINDS)
def test_expert_when_fitted_twice_with_same_random_state_then_identical(kind):
    X, y, _ = real_rows(1000)

    first = make_expert(small_cfg(kind)).fit(X, y).predict(X)
    second = make_expert(small_cfg(kind)).fit(X, y).predict(X)

    np.testing.assert_array_equal(first, second)


def test_mlp_when_random_state_differs_then_predictions_differ():
    X, y, _ = real_rows(1000)

    a = make_expert(small_cfg("mlp", random_state=1)).fit(X, y).predict(X)
    b = make_expert(small_cfg("mlp", random_state=2)).fit(X, y).predict(X)

    assert not np.allclose(a, b)


@pytest.mark.parametrize("kind", KINDS)
def test_expert_when_pickled_then_round_trip_predicts_identically(kind):
    X, y, _ = real_rows(1000)
    expert = make_expert(small_cfg(kind)).fit(X, y)

    loaded = pickle.loads(pickle.dumps(expert))

    np.testing.assert_array_equal(loaded.predict(X), expert.predict(X))
    assert loaded.device == "cpu"


@pytest.mark.parametrize("kind", ["lightgbm", "mlp"])
def test_expert_when_sample_weight_given_then_fit_changes(kind):
    X, y, _ = real_rows(1000)
    weight = np.where(np.arange(1000) < 500, 0.05, 1.0)  # old half barely counts

    plain = make_expert(small_cfg(kind)).fit(X, y).predict(X)
    weighted = make_expert(small_cfg(kind)).fit(X, y, sample_weight=weight).predict(X)

    assert np.isfinite(weighted).all()
    assert not np.allclose(plain, weighted)


def test_mlp_when_validation_stops_improving_then_stops_early_and_keeps_stats():
    X, y, _ = real_rows(1000)
    torch_threads = torch.get_num_threads()
    cfg = ExpertConfig(kind="mlp", params={"max_epochs": 50, "patience": 2, "num_threads": 1})

    expert = make_expert(cfg).fit(X, y)

    assert 1 <= expert.epochs_run_ < 50
    assert np.isfinite(expert.best_val_loss_)
    # standardization stats come from the training rows (the first 90 %), not the held-out tail
    np.testing.assert_allclose(expert.x_mean_, X[:900].mean(axis=0))
    assert expert.y_mean_ == pytest.approx(y[:900].mean())
    assert torch.get_num_threads() == torch_threads  # num_threads applied to the fit only


def test_lightgbm_when_params_given_then_they_override_defaults():
    expert = make_expert(ExpertConfig(params={"n_estimators": 7, "num_leaves": 5}, random_state=3))

    params = expert.model.get_params()

    assert (params["n_estimators"], params["num_leaves"], params["learning_rate"]) == (7, 5, 0.05)
    assert params["random_state"] == 3 and params["device_type"] == "cpu"


def test_xgboost_when_built_then_hist_on_resolved_device():
    params = make_expert(ExpertConfig(kind="xgboost", params={"max_depth": 3})).model.get_params()

    assert (params["tree_method"], params["device"], params["max_depth"]) == ("hist", "cpu", 3)


@pytest.mark.parametrize(("params", "field"), [
    ({"device": "cuda"}, "device"),
    ({"device_type": "gpu"}, "device"),
    ({"seed": 1}, "random_state"),
])
def test_expert_config_when_params_set_device_or_seed_then_names_the_field(params, field):
    with pytest.raises(ValidationError, match=f"use '{field}'"):
        ExpertConfig(kind="xgboost", params=params)


def test_expert_config_when_unknown_mlp_param_then_rejected_with_allowed_list():
    with pytest.raises(ValidationError, match="hidden_layers.*allowed"):
        ExpertConfig(kind="mlp", params={"hidden_layers": 3})


@pytest.mark.parametrize(("X", "y", "weight", "match"), [
    (np.zeros((10, 2)), np.zeros((10, 1)), None, r"y must be 1-D"),
    (np.zeros(10), np.zeros(10), None, r"X must be 2-D"),
    (np.zeros((10, 2)), np.zeros(9), None, r"y has 9 rows but X has 10"),
    (np.full((10, 2), np.nan), np.zeros(10), None, r"X has 10 rows with NaN"),
    (np.zeros((10, 2)), np.full(10, np.nan), None, r"y has 10 NaN"),
    (np.zeros((10, 2)), np.zeros(10), np.ones(3), r"sample_weight must have shape"),
    (np.zeros((10, 2)), np.zeros(10), -np.ones(10), r"sample_weight must be finite, >= 0"),
])
@pytest.mark.parametrize("kind", KINDS)
def test_expert_when_inputs_bad_then_error_names_the_field(kind, X, y, weight, match):
    with pytest.raises(ExpertError, match=match):
        make_expert(small_cfg(kind)).fit(X, y, sample_weight=weight)


@pytest.mark.parametrize("kind", KINDS)
def test_expert_when_unfitted_or_wrong_width_then_clear_error(kind):
    X, y, _ = real_rows(300)
    expert = make_expert(small_cfg(kind))

    with pytest.raises(ExpertError, match="not fitted"):
        expert.predict(X)
    expert.fit(X, y)
    with pytest.raises(ExpertError, match="X has 4 features but the expert was fitted on 5"):
        expert.predict(X[:, :4])


@pytest.mark.skipif(torch.cuda.is_available(), reason="machine has a CUDA GPU")
class TestDeviceOnCpuOnlyMachine:
    def test_resolve_device_when_cuda_requested_then_cpu_with_warning(self, caplog):
        with caplog.at_level(logging.WARNING, logger="plugins.regime.experts"):
            assert resolve_device("cuda") == "cpu"

        assert any(r.levelno == logging.WARNING and "cuda" in r.getMessage() for r in caplog.records)

    def test_resolve_device_when_auto_then_cpu_without_warning(self, caplog):
        with caplog.at_level(logging.WARNING, logger="plugins.regime.experts"):
            assert resolve_device("auto") == "cpu"

        assert not caplog.records

    @pytest.mark.parametrize("kind", KINDS)
    def test_expert_when_cuda_requested_then_trains_on_cpu_with_warning(self, kind, caplog):
        X, y, _ = real_rows(500)
        with caplog.at_level(logging.WARNING, logger="plugins.regime.experts"):
            expert = make_expert(small_cfg(kind, device="cuda")).fit(X, y)

        assert expert.device == "cpu"
        assert np.isfinite(expert.predict(X)).all()
        assert any(r.levelno == logging.WARNING for r in caplog.records)

    def test_mlp_when_trained_on_cuda_and_unpickled_here_then_predicts_on_cpu_with_warning(self, caplog):
        X, y, _ = real_rows(500)
        expert = make_expert(small_cfg("mlp")).fit(X, y)
        expected = expert.predict(X)
        expert.device = expert.requested_device = "cuda"  # as if pickled on a GPU machine
        blob = pickle.dumps(expert)

        with caplog.at_level(logging.WARNING, logger="plugins.regime.experts"):
            loaded = pickle.loads(blob)

        assert loaded.device == "cpu" and next(loaded.net.parameters()).device.type == "cpu"
        np.testing.assert_array_equal(loaded.predict(X), expected)
        assert any("trained on CUDA" in r.getMessage() for r in caplog.records)

    def test_lightgbm_when_cuda_resolved_but_build_lacks_cuda_then_cpu_with_warning(
            self, monkeypatch, caplog):
        if experts.lightgbm_supports_cuda():
            pytest.skip("this LightGBM build has the CUDA learner")
        monkeypatch.setattr(experts, "resolve_device", lambda requested: "cuda")
        with caplog.at_level(logging.WARNING, logger="plugins.regime.experts"):
            expert = make_expert(ExpertConfig(device="cuda"))

        assert expert.device == "cpu" and expert.model.get_params()["device_type"] == "cpu"
        assert any("without CUDA support" in r.getMessage() for r in caplog.records)


def test_resolve_device_when_unknown_then_error():
    with pytest.raises(ExpertError, match="device must be"):
        resolve_device("tpu")


def test_lightgbm_expert_when_used_on_cpu_then_torch_is_never_imported():
    code = ("import sys, numpy as np\n"
            "from plugins.regime.experts import ExpertConfig, make_expert\n"
            "X = np.random.default_rng(0).random((200, 3))\n"
            "make_expert(ExpertConfig(params={'n_estimators': 5})).fit(X, X[:, 0]).predict(X)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)

    assert done.returncode == 0, done.stderr
