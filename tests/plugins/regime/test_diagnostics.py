"""Regime mixture diagnostics (issue 20: why the mixture adds nothing) on real BTC/USDT 1h rows:
rows per expert, fallback to the global expert, serve share and distance from the global expert."""

from __future__ import annotations

import functools
import json
import logging

import numpy as np
import pytest

from plugins.regime import diagnostics
from plugins.regime.config import RegimeConfig
from plugins.regime.gated import RegimeGatedModel
from tests.plugins.regime.test_gated import real_window

TRAIN = slice(0, 24 * 60)
TEST = slice(24 * 60, None)


def _config(min_regime_samples: int, **mixture) -> RegimeConfig:
    return RegimeConfig.model_validate({
        "detector": {"kind": "hmm", "n_regimes": 3, "hmm_n_init": 1},
        "mixture": {"gate": "soft", "min_regime_samples": min_regime_samples,
                    "expert": {"params": {"n_estimators": 30, "n_jobs": 1}}, **mixture}})


def _fit_predict(cfg: RegimeConfig):
    """The fitted model and its prediction of the test rows, cached per config (do not mutate)."""
    return _cached(cfg.model_dump_json())


@functools.cache
def _cached(cfg_json: str):
    cfg = RegimeConfig.model_validate_json(cfg_json)
    features, targets, regime = real_window()
    model = RegimeGatedModel(cfg).fit(features.iloc[TRAIN], targets.iloc[TRAIN], regime.iloc[TRAIN])
    out = model.predict(features.iloc[TEST].reset_index(drop=True),
                        regime.iloc[TEST].reset_index(drop=True))
    return model, out


def test_fit_diagnostics_when_one_regime_is_small_then_rows_per_expert_and_its_fallback_reported():
    probe, _ = _fit_predict(_config(1))
    counts = diagnostics.fit_diagnostics(probe)["rows_per_expert"]
    smallest = min(counts, key=counts.get)
    cfg = _config(counts[smallest] + 1)  # exactly the smallest regime(s) fall back

    model, _ = _fit_predict(cfg)
    figures = diagnostics.fit_diagnostics(model)

    assert figures["rows_per_expert"] == counts
    assert figures["training_rows"] == sum(counts.values()) == len(real_window()[0].iloc[TRAIN])
    assert smallest in figures["fallback_regimes"] and not figures["own_expert"][smallest]
    assert figures["fallback_rate"] == pytest.approx(len(figures["fallback_regimes"]) / 3)
    assert figures["expert_kind"][smallest] == "global" and figures["expert_kind"]["global"] == "lightgbm"
    json.dumps(figures)  # FreqAI writes it into its metadata JSON


def test_serve_diagnostics_when_predicting_then_shares_sum_to_one_and_fallback_share_is_its_weight():
    probe, _ = _fit_predict(_config(1))
    counts = diagnostics.fit_diagnostics(probe)["rows_per_expert"]
    model, out = _fit_predict(_config(min(counts.values()) + 1))

    figures = diagnostics.serve_diagnostics(model, out)

    assert figures["rows"] == int(out.valid.sum()) > 0
    assert sum(figures["serve_share"].values()) == pytest.approx(1.0)
    assert sum(figures["argmax_share"].values()) == pytest.approx(1.0)
    fallback = list(model.mixtures["&-s_close"].fallback_regimes)
    on_fallback = out.weights[out.valid][:, fallback].sum(axis=1).mean()
    assert figures["global_fallback_share"] == pytest.approx(on_fallback)
    assert -1.0 <= figures["corr_with_global"] <= 1.0 and figures["mean_abs_gap_to_global"] > 0


def test_serve_diagnostics_when_every_regime_fell_back_then_the_mixture_is_the_global_expert():
    model, out = _fit_predict(_config(10_000))

    fit = diagnostics.fit_diagnostics(model)
    serve = diagnostics.serve_diagnostics(model, out)

    assert fit["all_fell_back"] and fit["fallback_rate"] == 1.0
    assert serve["global_fallback_share"] == pytest.approx(1.0)
    assert serve["corr_with_global"] == pytest.approx(1.0) and serve["mean_abs_gap_to_global"] < 1e-12


def test_log_and_collect_when_written_like_freqai_then_one_row_per_window(tmp_path, caplog):
    model, out = _fit_predict(_config(10_000))
    fit, serve = diagnostics.fit_diagnostics(model), diagnostics.serve_diagnostics(model, out)
    window = tmp_path / "sub-train-BTC_1709251200"
    window.mkdir()
    (window / "cb_btc_1709251200_metadata.json").write_text(
        json.dumps({"label_list": ["&-s_close"], diagnostics.METADATA_KEY: fit}))
    (window / f"cb_btc_1709251200{diagnostics.SERVE_SUFFIX}").write_text(json.dumps(serve))
    (tmp_path / "sub-train-ETH_1709251200").mkdir()
    (tmp_path / "sub-train-ETH_1709251200" / "cb_eth_1709251200_metadata.json").write_text("{}")

    with caplog.at_level(logging.INFO, logger="plugins.regime.diagnostics"):
        diagnostics.log_fit(fit, "BTC/USDT")
        diagnostics.log_serve(serve, "BTC/USDT")
    table = diagnostics.collect(tmp_path)

    assert "rows per expert" in caplog.text and "global fallback share 1.000" in caplog.text
    assert list(table["window"]) == ["sub-train-BTC_1709251200"]
    row = table.iloc[0]
    assert row["own_experts"] == 0 and row["regimes"] == 3 and bool(row["all_fell_back"])
    assert row["served_rows"] == serve["rows"] and row["corr_with_global"] == pytest.approx(1.0)


def test_regime_experts_when_one_regime_overridden_then_that_expert_is_its_kind_and_others_default():
    model, out = _fit_predict(_config(1, experts="independent",
                                      regime_experts={"2": {"kind": "xgboost",
                                                            "params": {"n_estimators": 20}}}))
    mixture = model.mixtures["&-s_close"]

    assert [e.kind for e in mixture.experts] == ["lightgbm", "lightgbm", "xgboost"]
    assert mixture.global_expert.kind == "lightgbm"
    assert diagnostics.fit_diagnostics(model)["expert_kind"][model.regime_names[2]] == "xgboost"
    assert np.isfinite(out.expert_predictions).all()


def test_regime_experts_when_label_out_of_range_then_error_names_the_field():
    with pytest.raises(ValueError, match=r"regime_experts keys \[3\]"):
        _config(1, regime_experts={"3": {"kind": "mlp"}})


@pytest.mark.parametrize("experts", ["residual", "independent"])
def test_feature_importance_when_fitted_then_gain_shares_per_expert_sorted_and_summing_to_one(experts):
    xgboost = {"kind": "xgboost", "params": {"n_estimators": 20}}
    model, _ = _fit_predict(_config(1, experts=experts, regime_experts={"1": xgboost}))
    names = list(real_window()[0].columns)

    importance = diagnostics.feature_importance(model, names)

    assert set(importance) == {"kind", "global", *model.regime_names}
    assert importance["kind"]["global"] == "global"
    assert importance["kind"][model.regime_names[0]] == experts
    for key in ("global", *model.regime_names):
        shares = list(importance[key].values())
        assert set(importance[key]) == set(names)
        assert sum(shares) == pytest.approx(1.0) and shares == sorted(shares, reverse=True)
    json.dumps(importance)
    with pytest.raises(ValueError, match="feature names"):
        diagnostics.feature_importance(model, names[:-1])


def test_feature_importance_when_regime_fell_back_or_mlp_then_left_out():
    model, _ = _fit_predict(_config(10_000))
    assert set(diagnostics.feature_importance(model, list(real_window()[0].columns))) == {"kind", "global"}
