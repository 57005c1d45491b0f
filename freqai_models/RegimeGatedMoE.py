"""RegimeGatedMoE: a regime-gated mixture of experts as a FreqAI regression model.

Use it with ``--freqaimodel RegimeGatedMoE`` (``freqaimodel_path: freqai_models/``) and a
strategy that adds the regime inputs as ``%-regime_<input>`` features in
``feature_engineering_standard`` (``strategies/RegimeMoE.py`` does). Settings live under
``ai_suite.regime`` (:class:`plugins.regime.gated.RegimeConfig`): detector (``rules`` /
``hmm`` / ``jump``), gate (``soft`` / ``hard``), ``min_regime_samples``, expert kind
(``lightgbm`` / ``xgboost`` / ``mlp``) and ``device`` (``cpu`` / ``cuda`` / ``auto``, CPU
fallback with a warning).

Targets (``ai_suite.regime.target``, :mod:`plugins.regime.targets`; the strategy computes the
label, ``strategies/RegimeMoE.py``): ``mean_return`` (default), ``vol_scaled_return``, ``sign``
(with ``calibration: isotonic``: a calibrated probability of an up move) or ``triple_barrier``;
``weighting: abs_return`` multiplies FreqAI's ``train_weights`` by ``|label| / mean |label|``
(the dollar-profit objective). Experts per regime: ``ai_suite.regime.mixture.regime_experts``.

Diagnostics (:mod:`plugins.regime.diagnostics`): each fit logs and stores in FreqAI's metadata
(key ``regime_diagnostics``) the rows per regime expert and the regimes that fell back to the
global expert, and the gain-share feature importance of each expert (key
``regime_feature_importance``, top 5 logged); each first ``predict`` of a model logs the
serve share per expert and the rank correlation with the global expert and writes them to
``<model>_expert_serve.json``.

Training (``fit``): FreqAI filters, splits and scales the features and labels as for any
regression model; the detector is fitted on the *raw* regime inputs of the training rows (FreqAI's
feature pipeline inverted), then one expert per regime plus a global
fallback expert are trained on the scaled features (:mod:`plugins.regime.mixture`).

Prediction: besides the targets (e.g. ``&-s_close``), FreqAI hands the strategy these columns
(``K`` = number of regimes, ``k = 0..K-1``, label 0 = calmest):

- ``regime_label`` (float, ``k``) and ``regime`` (str, the regime's name, see
  :mod:`plugins.regime.labels` and :mod:`plugins.regime.rules`);
- ``regime_prob_<k>``: the detector's causal probability of regime ``k`` (0-1);
- ``gate_weight_<k>``: the weight of expert ``k`` in the prediction (the probabilities with the
  soft gate, one-hot with the hard gate);
- ``expert_pred_<k>``: expert ``k``'s prediction of the first target, in the target's units;
- ``confidence``: the largest gate weight (how sure the gate is), read by the risk layer's
  confidence gate.

The regime filter is causal: a backtest window is labelled in one pass from its first candle;
live, the first call labels the whole dataframe and each later call (one new candle) continues
from the state kept per pair, which restarts when the pair's model is retrained or reloaded.
Persistence is FreqAI's own (``cloudpickle`` of :class:`plugins.regime.gated.RegimeGatedModel`),
so a dry-run restart reuses trained models.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from freqtrade.freqai.base_models.BaseRegressionModel import BaseRegressionModel
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

from plugins.core.atomic import atomic_write
from plugins.core.config import SuiteConfigError, load_section
from plugins.regime import diagnostics
from plugins.regime.config import RegimeConfig
from plugins.regime.gated import RegimeGatedModel, regime_frame
from plugins.regime.targets import profit_weights

logger = logging.getLogger(__name__)


class RegimeGatedMoE(BaseRegressionModel):
    """Regime detector + per-regime experts + gate (see the module docstring)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.regime_config = _with_baseline_params(load_section(self.config, "regime", RegimeConfig),
                                                   self.model_training_parameters)
        self._states: dict[str, tuple[int, Any]] = {}

    def fit(self, data_dictionary: dict, dk: FreqaiDataKitchen, **kwargs) -> RegimeGatedModel:
        """Fit detector and experts on the training rows FreqAI kept (its split and scaling).

        The detector reads the regime inputs unscaled: FreqAI's feature pipeline is inverted
        on the training rows (exact for its scaler; approximate if PCA is enabled).
        """
        X = data_dictionary["train_features"]
        model = RegimeGatedModel(self.regime_config)
        regime_X = regime_frame(_unscaled(dk, X))
        weights = data_dictionary["train_weights"]
        if self.regime_config.target.weighting == "abs_return":
            weights = profit_weights(unscaled_first_label(dk, data_dictionary["train_labels"]), weights)
        model.fit(X, data_dictionary["train_labels"], regime_X, sample_weight=weights)
        # The statistics of the regime columns come from the training rows only, like FreqAI's
        # own label statistics: computed over the predicted window they would leak its future.
        fitted = model.predict(X.reset_index(drop=True), regime_X.reset_index(drop=True))
        _register_output_stats(dk, self._regime_columns(model, fitted, dk), replace=True)
        figures = diagnostics.fit_diagnostics(model)
        dk.data[diagnostics.METADATA_KEY] = figures  # FreqAI writes dk.data to the metadata JSON
        diagnostics.log_fit(figures, dk.pair)
        importance = diagnostics.feature_importance(model, list(X.columns))
        diagnostics.log_importance(importance, dk.pair)
        dk.data[diagnostics.IMPORTANCE_KEY] = importance  # live: named after fit, so no own file
        self._states.pop(dk.pair, None)
        return model

    def predict(self, unfiltered_df: pd.DataFrame, dk: FreqaiDataKitchen,
                **kwargs) -> tuple[pd.DataFrame, npt.NDArray[np.int_]]:
        """Targets plus the regime columns of the module docstring, and ``do_predict``
        (0 where FreqAI's outlier checks or the regime inputs' warm-up say so)."""
        model: RegimeGatedModel = self.model
        dk.find_features(unfiltered_df)
        features, _ = dk.filter_features(unfiltered_df, dk.training_features_list,
                                         training_filter=False)
        features, outliers, _ = dk.feature_pipeline.transform(features, outlier_check=True)
        regime_X = regime_frame(unfiltered_df).reset_index(drop=True)

        first = kwargs.get("first", True)
        key = id(model)
        held = self._states.get(dk.pair)
        state = held[1] if (not first and held is not None and held[0] == key) else None
        out = model.predict(features.reset_index(drop=True), regime_X, state=state)
        self._states[dk.pair] = (key, out.state)
        if first:  # a backtest window or the first live call; later live calls add one candle
            _report_serve(model, out, dk)

        pred_df, _, _ = dk.label_pipeline.inverse_transform(out.predictions)
        extras = self._regime_columns(model, out, dk)
        pred_df = pd.concat([pred_df.reset_index(drop=True), extras], axis=1)

        _register_missing_output_stats(dk, extras)
        # datasieve's Pipeline["di"] logs a warning on every call when the step is absent
        steps = dict(dk.feature_pipeline.steps)
        dk.DI_values = steps["di"].di_values if "di" in steps else np.zeros(outliers.shape[0])
        dk.do_predict = np.where(out.valid, outliers, 0).astype(np.int_)
        return pred_df, dk.do_predict

    def fit_live_predictions(self, dk: FreqaiDataKitchen, pair: str) -> None:
        """FreqAI's live label statistics (``fit_live_predictions_candles``), plus the same
        for the numeric regime columns, whose ``<column>_mean``/``_std`` FreqAI's live loop
        writes for every numeric prediction column (it raises ``KeyError`` without them)."""
        super().fit_live_predictions(dk, pair)
        history = self.dd.historic_predictions[pair]
        num_candles = self.freqai_info.get("fit_live_predictions_candles", 100)
        extras = history[[c for c in history.columns if _is_regime_output(c)]]
        _register_output_stats(dk, extras.tail(num_candles), replace=True)

    @staticmethod
    def _regime_columns(model: RegimeGatedModel, out, dk: FreqaiDataKitchen) -> pd.DataFrame:
        """The documented regime columns, expert predictions in the first target's units."""
        names = np.asarray(model.regime_names, dtype=object)
        first_target = model.targets[0]
        columns: dict[str, Any] = {
            "regime_label": out.labels.astype("float64"),
            "regime": pd.array(names[out.labels], dtype="str"),
            "confidence": out.weights.max(axis=1),
        }
        for k in range(out.proba.shape[1]):
            columns[f"regime_prob_{k}"] = out.proba[:, k]
            columns[f"gate_weight_{k}"] = out.weights[:, k]
        # All K expert columns through the label pipeline in one call: stack them as rows.
        n, k_regimes = out.expert_predictions.shape
        stacked = pd.DataFrame(0.0, index=range(n * k_regimes), columns=model.targets)
        stacked[first_target] = out.expert_predictions.T.reshape(-1)
        unscaled, _, _ = dk.label_pipeline.inverse_transform(stacked)
        per_expert = unscaled[first_target].to_numpy().reshape(k_regimes, n)
        for k in range(k_regimes):
            columns[f"expert_pred_{k}"] = per_expert[k]
        return pd.DataFrame(columns)


def _report_serve(model: RegimeGatedModel, out, dk: FreqaiDataKitchen) -> None:
    """Log :func:`plugins.regime.diagnostics.serve_diagnostics` and write them beside the
    model's metadata (``<data_path>/<model_filename>_expert_serve.json``) when that folder
    exists; a write failure is logged, never raised (diagnostics must not stop a prediction)."""
    figures = diagnostics.serve_diagnostics(model, out)
    diagnostics.log_serve(figures, dk.pair)
    _write_json(dk, diagnostics.SERVE_SUFFIX, figures)


def _write_json(dk: FreqaiDataKitchen, suffix: str, figures: dict) -> None:
    """``figures`` as ``<data_path>/<model_filename><suffix>`` (the model's folder, beside
    FreqAI's metadata), atomically; nothing when the kitchen has no model folder (FreqAI creates
    it when saving the model or its metadata, before predicting). A failure is logged, never
    raised: diagnostics must not stop a training or a prediction."""
    folder = getattr(dk, "data_path", None)
    name = getattr(dk, "model_filename", "")
    if not folder or not name or not Path(folder).is_dir():
        return
    path = Path(folder) / f"{name}{suffix}"
    text = json.dumps(figures, allow_nan=True)
    try:
        atomic_write(path, lambda tmp: tmp.write_text(text))
    except OSError as exc:
        logger.warning("could not write the regime diagnostics %s: %s", path, exc)


_REGIME_OUTPUTS = ("regime_label", "confidence", "regime_prob_", "gate_weight_", "expert_pred_")


def _is_regime_output(column: str) -> bool:
    """A numeric regime column of :meth:`RegimeGatedMoE._regime_columns` (not its _mean/_std)."""
    return column.startswith(_REGIME_OUTPUTS) and not column.endswith(("_mean", "_std"))


def _register_output_stats(dk: FreqaiDataKitchen, extras: pd.DataFrame,
                           replace: bool = False) -> None:
    """Mean and standard deviation (ddof 0, what ``scipy.stats.norm.fit`` returns) of each
    numeric regime column of ``extras`` into ``dk.data["labels_mean"/"labels_std"]``, where
    FreqAI's live loop looks them up for every numeric prediction column (see
    ``FreqaiDataDrawer.append_model_predictions``). Kept if present unless ``replace``."""
    means = dk.data.setdefault("labels_mean", {})
    stds = dk.data.setdefault("labels_std", {})
    for column in extras.columns:
        if not _is_regime_output(column) or (column in means and not replace):
            continue
        values = pd.to_numeric(extras[column], errors="coerce").dropna()
        means[column] = float(values.mean()) if len(values) else 0.0
        stds[column] = float(values.std(ddof=0)) if len(values) else 0.0


def _register_missing_output_stats(dk: FreqaiDataKitchen, extras: pd.DataFrame) -> None:
    """Neutral statistics (0.0, as FreqAI writes for a failed training) for any numeric regime
    column of ``extras`` a model's saved metadata lacks, e.g. a model saved before they were
    recorded at training time. Never computed from ``extras``: that would be look-ahead."""
    means = dk.data.setdefault("labels_mean", {})
    stds = dk.data.setdefault("labels_std", {})
    for column in extras.columns:
        if _is_regime_output(column) and column not in means:
            means[column], stds[column] = 0.0, 0.0


def unscaled_first_label(dk: FreqaiDataKitchen, labels: pd.DataFrame) -> np.ndarray:
    """The first target of FreqAI's scaled ``train_labels`` back in its own units (float64
    ``(n,)``), through FreqAI's label pipeline: what the dollar-profit weights read."""
    unscaled, _, _ = dk.label_pipeline.inverse_transform(labels)
    return np.asarray(unscaled.iloc[:, 0], dtype=np.float64)


def _unscaled(dk: FreqaiDataKitchen, X: pd.DataFrame) -> pd.DataFrame:
    """``X`` (FreqAI's transformed ``train_features``) with the feature pipeline's steps
    inverted one by one, same columns and index. Scalers invert exactly; the variance filter,
    noise, SVM, DI and DBSCAN steps leave values unchanged. (datasieve's
    ``Pipeline.inverse_transform`` insists on the pre-filter columns, hence the manual walk.)

    Raises:
        SuiteConfigError: FreqAI's PCA is enabled; the detector needs the original features.
    """
    values, columns = X.to_numpy(), list(X.columns)
    for name, step in reversed(dk.feature_pipeline.steps):
        if name == "pca":
            raise SuiteConfigError(
                "RegimeGatedMoE needs the regime inputs unprojected: set freqai.feature_parameters"
                ".principal_component_analysis to false")
        values, _, _, columns = step.inverse_transform(values, feature_list=columns)
    return pd.DataFrame(np.asarray(values), index=X.index, columns=X.columns)


#: LightGBM parameters that name a seed or device; ExpertConfig has its own fields for them.
_NOT_EXPERT_PARAMS = {"seed", "random_seed", "random_state", "device", "device_type"}


def _with_baseline_params(cfg: RegimeConfig, training_params: dict) -> RegimeConfig:
    """With LightGBM experts and no ``ai_suite.regime.mixture.expert.params`` of its own, use
    ``freqai.model_training_parameters`` (what the stock ``LightGBMRegressor`` baseline gets),
    so the comparison with the baseline changes the model structure, not its settings."""
    expert = cfg.mixture.expert
    if expert.kind != "lightgbm" or expert.params or not training_params:
        return cfg
    params = {k: v for k, v in training_params.items() if k not in _NOT_EXPERT_PARAMS}
    mixture = cfg.mixture.model_copy(update={"expert": expert.model_copy(update={"params": params})})
    return cfg.model_copy(update={"mixture": mixture})
