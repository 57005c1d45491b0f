"""The regime-gated mixture of experts over several targets, as FreqAI's model object.

:class:`RegimeGatedModel` is what ``freqai_models/RegimeGatedMoE.py`` trains and FreqAI
pickles (``cloudpickle``, FreqAI's ``joblib`` model type) next to the pair's other model files:
one fitted detector shared by all targets, one :class:`~plugins.regime.mixture.RegimeMixture`
per target column, and the training medians of the regime inputs (used where a prediction row
has none yet, i.e. during the inputs' warm-up; such rows are flagged invalid).

It knows nothing of FreqAI: features and targets arrive as plain frames (already scaled by
FreqAI's pipelines), regime inputs as the raw :func:`plugins.regime.features.regime_inputs`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from plugins.regime import make_detector
from plugins.regime.config import RegimeConfig
from plugins.regime.features import REGIME_INPUTS
from plugins.regime.mixture import RegimeMixture

logger = logging.getLogger(__name__)

#: Prefix of the regime-input feature columns a strategy adds (``%-regime_vol`` ...).
FEATURE_PREFIX = "%-regime_"


def regime_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The raw regime inputs a strategy stored as ``%-regime_<input>`` columns, renamed to
    :data:`REGIME_INPUTS` (same index as ``frame``).

    Raises:
        KeyError: a ``%-regime_*`` column is missing; the message says how to add them.
    """
    wanted = [f"{FEATURE_PREFIX}{name}" for name in REGIME_INPUTS]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise KeyError(f"Regime inputs {missing} are missing from the strategy dataframe: add "
                       "plugins.regime.features.regime_inputs(dataframe) as '%-regime_<name>' "
                       "columns in feature_engineering_standard (see strategies/RegimeMoE.py)")
    out = frame[wanted].astype("float64")
    out.columns = list(REGIME_INPUTS)
    return out


@dataclass
class GatedPrediction:
    """:meth:`RegimeGatedModel.predict` for ``n`` rows, ``K`` regimes, ``T`` targets.

    Attributes:
        predictions: ``(n, T)`` float64 frame, one column per target (the gated prediction).
        expert_predictions: ``(n, K)`` float64 array: each regime expert's prediction of the
            first target (the global expert's where the regime fell back).
        proba: ``(n, K)`` float64 regime probabilities (causal).
        weights: ``(n, K)`` gate weights: ``proba`` (soft gate) or one-hot (hard gate).
        labels: ``(n,)`` int64 most probable regime.
        valid: ``(n,)`` bool, False where the regime inputs were still warming up.
        state: detector state to carry into the next call on the following rows.
        global_prediction: ``(n,)`` float64, the global expert's prediction of the first
            target (what one model trained on all rows says; see
            :mod:`plugins.regime.diagnostics`).
    """

    predictions: pd.DataFrame
    expert_predictions: np.ndarray
    proba: np.ndarray
    weights: np.ndarray
    labels: np.ndarray
    valid: np.ndarray
    state: Any
    global_prediction: np.ndarray | None = None


class RegimeGatedModel:
    """One detector, one mixture per target. Picklable (FreqAI saves it with cloudpickle).

    Attributes (after :meth:`fit`): ``targets`` (column names), ``mixtures`` (target ->
    RegimeMixture), ``regime_names``, ``fill_values`` (training medians of the regime inputs).
    """

    def __init__(self, cfg: RegimeConfig) -> None:
        self.cfg = cfg
        self.targets: list[str] = []
        self.mixtures: dict[str, RegimeMixture] = {}
        self.fill_values: pd.Series | None = None
        #: target -> fitted ``IsotonicRegression`` (``target.calibration: isotonic``), else empty
        self.calibrators: dict[str, Any] = {}

    @property
    def regime_names(self) -> tuple[str, ...]:
        """Names of the regimes, index = label (0 = calmest)."""
        return next(iter(self.mixtures.values())).regime_names

    def fit(self, X: pd.DataFrame, y: pd.DataFrame, regime_X: pd.DataFrame,
            sample_weight: np.ndarray | None = None) -> RegimeGatedModel:
        """Fit on training rows.

        Args:
            X: ``(n, f)`` expert features (FreqAI's scaled ``train_features``).
            y: ``(n, T)`` targets (FreqAI's scaled ``train_labels``).
            regime_X: raw regime inputs of the same rows (same index as ``X``); rows with a
                NaN input are dropped from the fit.
            sample_weight: ``(n,)`` row weights or None.

        Raises:
            ValueError: ``regime_X`` does not cover ``X``'s index.
        """
        if not X.index.isin(regime_X.index).all():
            raise ValueError("regime_X must hold a row for every training row of X (same index)")
        regime_X = regime_X.loc[X.index, list(REGIME_INPUTS)]
        keep = regime_X.notna().all(axis=1).to_numpy()
        if not keep.all():
            logger.info("Regime inputs warming up on %d of %d training rows; fitting without them",
                        int((~keep).sum()), len(keep))
        weight = None if sample_weight is None else np.asarray(sample_weight)[keep]
        self.fill_values = regime_X[keep].median()
        self.targets = list(y.columns)
        features, regime_rows = X.to_numpy()[keep], regime_X[keep]
        n_fit = len(features)
        if self.cfg.target.calibration == "isotonic":  # hold out the latest rows to calibrate on
            n_fit = len(features) - max(1, int(round(len(features) * self.cfg.target.calibration_fraction)))
        detector = make_detector(self.cfg.detector)
        for i, target in enumerate(self.targets):  # one detector for all targets, fitted once
            mixture = RegimeMixture(detector, self.cfg.mixture)
            mixture.fit(features[:n_fit], y[target].to_numpy()[keep][:n_fit], regime_rows.iloc[:n_fit],
                        sample_weight=None if weight is None else weight[:n_fit],
                        detector_fitted=i > 0)
            self.mixtures[target] = mixture
        self.calibrators = {}
        if n_fit < len(features):
            self._calibrate(features, y[keep], regime_rows, n_fit)
        return self

    def _calibrate(self, features: np.ndarray, y: pd.DataFrame, regime_rows: pd.DataFrame,
                   n_fit: int) -> None:
        """Isotonic map (monotone, clipped to the training range) from each target's gated
        prediction to its realized value on the held-out rows ``n_fit:`` (predicted causally
        from the first training row on, as at prediction time)."""
        from sklearn.isotonic import IsotonicRegression

        inputs = regime_rows.reset_index(drop=True)
        for target, mixture in self.mixtures.items():
            pred = mixture.predict(features, inputs).prediction[n_fit:]
            iso = IsotonicRegression(out_of_bounds="clip", y_min=float(y[target].min()),
                                     y_max=float(y[target].max()))
            self.calibrators[target] = iso.fit(pred, y[target].to_numpy()[n_fit:])
        logger.info("isotonic calibration of %s on the latest %d of %d training rows",
                    list(self.calibrators), len(features) - n_fit, len(features))

    def predict(self, X: pd.DataFrame, regime_X: pd.DataFrame, state: Any = None) -> GatedPrediction:
        """Gated predictions for rows ``X`` (scaled features) with raw ``regime_X`` (same row
        order and length). Regime rows with NaN take the training medians (``valid`` False).

        Raises:
            ValueError: ``X`` and ``regime_X`` differ in length.
        """
        if len(X) != len(regime_X):
            raise ValueError(f"X has {len(X)} rows but regime_X has {len(regime_X)}")
        values = regime_X[list(REGIME_INPUTS)].to_numpy(dtype="float64", copy=True)
        valid = np.isfinite(values).all(axis=1)
        if not valid.all():
            fill = self.fill_values[list(REGIME_INPUTS)].to_numpy()
            values = np.where(np.isfinite(values), values, fill)
        inputs = pd.DataFrame(values, columns=list(REGIME_INPUTS))
        features = X.to_numpy()
        predictions, first = {}, None
        for target, mixture in self.mixtures.items():
            out = mixture.predict(features, inputs, state=state)
            calibrator = self.calibrators.get(target) if hasattr(self, "calibrators") else None
            predictions[target] = out.prediction if calibrator is None else calibrator.predict(out.prediction)
            first = first or out
        k = first.proba.shape[1]
        weights = (first.proba if self.cfg.mixture.gate == "soft"
                   else np.eye(k)[first.labels])
        return GatedPrediction(
            predictions=pd.DataFrame(predictions, columns=self.targets),
            expert_predictions=first.expert_predictions, proba=first.proba, weights=weights,
            labels=first.labels, valid=valid, state=first.state,
            global_prediction=first.global_prediction)

