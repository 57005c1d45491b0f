"""Regime-gated mixture of experts: one regressor per market regime, blended by the detector.

Training (:meth:`RegimeMixture.fit`): the detector is fitted on the training window and labels
its rows causally; one global expert is trained on all rows, and every regime with at least
``min_regime_samples`` training rows gets its own expert. Regimes with fewer rows use the
global expert ("fallback regimes"). Two kinds of regime experts (``experts``):

* ``residual`` (default): regime ``k``'s expert is the global expert plus a small model of the
  same kind fitted on the global expert's residuals over regime ``k``'s rows
  (``expert_k(x) = global(x) + delta_k(x)``). The specialist starts from what all the data says
  and only learns how its regime differs (shrinkage towards the global model, as in boosting from
  an initial model), which suits regimes with a few hundred rows; and it is cheap: the global
  prediction is computed once, each ``delta_k`` is small (``residual_params``, default
  :data:`RESIDUAL_DEFAULTS`: 40 trees).
* ``independent``: regime ``k``'s expert is trained from scratch on its rows only.

Prediction (:meth:`RegimeMixture.predict`) for rows ``X`` with regime inputs ``regime_X``:

* ``soft`` gate: ``sum_k proba[:, k] * expert_k(X)``,
* ``hard`` gate: the expert of the most probable regime, ``expert_argmax(X)``.

The gate is as causal as the detector: row ``t``'s prediction uses row ``t``'s features and
the detector's probabilities from rows ``<= t`` (and the carried ``state``). One target per
mixture: the caller loops over target columns. Pure ML, no FreqAI or Freqtrade imports.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from plugins.regime.base import RegimeDetector
from plugins.regime.experts import Expert, ExpertConfig, make_expert

logger = logging.getLogger(__name__)


class MixtureError(ValueError):
    """Bad mixture input or use (misaligned rows, 2-D target, unfitted mixture)."""


#: Residual models are small: a fifth of the default trees (smaller ones for LightGBM), on one
#: thread (a few hundred rows: thread start-up costs more than it saves, in fit and predict).
RESIDUAL_DEFAULTS: dict[str, dict[str, Any]] = {
    "lightgbm": {"n_estimators": 40, "num_leaves": 15, "n_jobs": 1},
    "xgboost": {"n_estimators": 40, "max_depth": 4, "n_jobs": 1},
    "mlp": {"max_epochs": 15},
}


class MixtureConfig(BaseModel):
    """How the regime mixture trains and blends (``ai_suite.regime.mixture``).

    Attributes:
        gate: ``soft`` (probability-weighted blend of the experts) or ``hard`` (the expert of
            the most probable regime).
        min_regime_samples: a regime needs at least this many training rows for its own
            expert; below it, the global expert stands in.
        expert: the regressor every expert (per regime and global) is made of.
        experts: ``residual`` (global expert + a small per-regime model of its residuals) or
            ``independent`` (per-regime experts from scratch), see the module docstring.
        residual_params: params of the residual models, over ``expert.params`` (``None`` =
            :data:`RESIDUAL_DEFAULTS`).
        regime_experts: per-regime expert override, keyed by regime label ``k`` (0 = calmest,
            as the detector orders them), e.g. ``{"2": {"kind": "mlp"}}``: regime 2's expert
            (its residual model with ``experts: residual``) is an MLP while the global expert
            and the other regimes stay ``expert``. ``residual_params`` apply to a regime's
            residual model only when its kind is ``expert.kind``; another kind gets its own
            :data:`RESIDUAL_DEFAULTS`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    gate: Literal["soft", "hard"] = "soft"
    min_regime_samples: int = Field(default=100, ge=1)
    expert: ExpertConfig = Field(default_factory=ExpertConfig)
    experts: Literal["residual", "independent"] = "residual"
    residual_params: dict[str, Any] | None = None
    regime_experts: dict[int, ExpertConfig] = Field(default_factory=dict)

    def expert_for(self, k: int) -> ExpertConfig:
        """Regime ``k``'s expert config: its ``regime_experts`` entry, else ``expert``."""
        return self.regime_experts.get(k, self.expert)

    def delta_config(self, k: int | None = None) -> ExpertConfig:
        """The expert config of regime ``k``'s residual model (``None``: the shared ``expert``):
        its params updated with ``residual_params`` (default :data:`RESIDUAL_DEFAULTS` of its
        kind; ``residual_params`` only for the kind of ``expert``)."""
        base = self.expert if k is None else self.expert_for(k)
        extra = self.residual_params
        if extra is None or base.kind != self.expert.kind:
            extra = RESIDUAL_DEFAULTS[base.kind]
        return base.model_copy(update={"params": {**base.params, **extra}})


@dataclass
class MixtureOutput:
    """What :meth:`RegimeMixture.predict` returns for ``n`` rows and ``K`` regimes.

    Attributes:
        prediction: float64 ``(n,)``, the gated prediction.
        labels: int64 ``(n,)``, most probable regime per row (argmax of ``proba``).
        proba: float64 ``(n, K)``, the detector's causal regime probabilities.
        expert_predictions: float64 ``(n, K)``; column ``k`` is regime ``k``'s expert's
            prediction, or the global expert's where regime ``k`` fell back.
        global_prediction: float64 ``(n,)``, the global expert's prediction.
        state: the detector state to pass to the next :meth:`RegimeMixture.predict` call.
    """

    prediction: np.ndarray
    labels: np.ndarray
    proba: np.ndarray
    expert_predictions: np.ndarray
    global_prediction: np.ndarray
    state: Any


def _as_features(X: Any, field: str) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2:
        raise MixtureError(f"{field} must be 2-D (rows, features), got shape {arr.shape}")
    return arr


class RegimeMixture:
    """One expert per regime plus a global one, gated by a :class:`RegimeDetector`.

    Only the detector's base interface is used (``fit``, ``predict``, ``predict_proba``,
    ``n_regimes``, ``regime_names``). Picklable when the detector is.

    Attributes (set by :meth:`fit`):
        experts: ``K`` entries, regime ``k``'s expert or ``None`` where it falls back.
        global_expert: the expert trained on all rows.
        regime_counts: int64 ``(K,)``, training rows per regime (by causal label).
        fallback_regimes: labels of the regimes that use the global expert.
        fit_seconds: wall time (s) of each expert's fit, keyed ``"global"`` and by regime name.
        n_features: number of expert feature columns.
    """

    def __init__(self, detector: RegimeDetector, cfg: MixtureConfig | None = None) -> None:
        self.detector = detector
        self.cfg = cfg if cfg is not None else MixtureConfig()
        self.experts: list[Expert | None] = []
        self.global_expert: Expert | None = None
        self.regime_counts = np.zeros(0, dtype=np.int64)
        self.fallback_regimes: tuple[int, ...] = ()
        self.fit_seconds: dict[str, float] = {}
        self.n_features: int | None = None

    @property
    def regime_names(self) -> tuple[str, ...]:
        """The detector's regime names, index = label (0 = calmest)."""
        return tuple(self.detector.regime_names)

    @property
    def n_regimes(self) -> int:
        """Number of regimes ``K`` (the detector's)."""
        return int(self.detector.n_regimes)

    def expert_config(self, k: int) -> ExpertConfig:
        """The config regime ``k``'s expert is built from (see :meth:`MixtureConfig.expert_for`)."""
        return self.cfg.expert_for(k)

    def _fit_expert(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray | None, key: str,
                    cfg: ExpertConfig | None = None) -> Expert:
        expert = make_expert(cfg or self.cfg.expert)  # imports the library: not part of the fit time
        started = time.perf_counter()
        expert.fit(X, y, sample_weight=weight)
        self.fit_seconds[key] = time.perf_counter() - started
        return expert

    def fit(self, X: Any, y: Any, regime_X: pd.DataFrame,
            sample_weight: Any = None, detector_fitted: bool = False) -> RegimeMixture:
        """Fit the detector on ``regime_X`` and the experts on ``X``/``y``. Returns ``self``.

        Args:
            X: float ``(n, f)`` expert features, rows in time order, no NaN.
            y: float ``(n,)`` target (one column; loop over targets outside).
            regime_X: ``n`` rows of detector inputs, aligned with ``X``.
            sample_weight: optional ``(n,)`` non-negative row weights for every expert.
            detector_fitted: the detector was already fitted on these rows (several targets
                sharing one detector); only label them.

        Raises:
            MixtureError: ``y`` not 1-D, or ``X``/``y``/``regime_X``/``sample_weight`` lengths differ.
            RegimeDetectorError / ExpertError: from the detector or the experts.
        """
        arr = _as_features(X, "X")
        target = np.asarray(y, dtype=np.float64)
        if target.ndim != 1:
            raise MixtureError(f"y must be 1-D (rows,), got shape {target.shape}: the mixture fits "
                               "one target, loop over target columns")
        if len(target) != len(arr):
            raise MixtureError(f"y has {len(target)} rows but X has {len(arr)}: rows must align")
        if len(regime_X) != len(arr):
            raise MixtureError(f"regime_X has {len(regime_X)} rows but X has {len(arr)}: rows must align")
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if weight is not None and weight.shape != target.shape:
            raise MixtureError(f"sample_weight must have shape {target.shape}, got {weight.shape}")

        started = time.perf_counter()
        if not detector_fitted:
            self.detector.fit(regime_X)
        labels, _ = self.detector.predict(regime_X)
        detector_seconds = time.perf_counter() - started
        k_regimes = self.n_regimes
        self.regime_counts = np.bincount(labels, minlength=k_regimes).astype(np.int64)
        self.fit_seconds = {}
        self.global_expert = self._fit_expert(arr, target, weight, "global")
        residual = self.cfg.experts == "residual"
        if residual:
            target = target - self.global_expert.predict(arr)  # what each regime adds
        self.experts = []
        fallback = []
        for k, name in enumerate(self.regime_names):
            if self.regime_counts[k] < self.cfg.min_regime_samples:
                self.experts.append(None)
                fallback.append(k)
                continue
            rows = labels == k
            cfg = self.cfg.delta_config(k) if residual else self.cfg.expert_for(k)
            self.experts.append(self._fit_expert(arr[rows], target[rows],
                                                 None if weight is None else weight[rows], name,
                                                 cfg))
        self.fallback_regimes = tuple(fallback)
        self.n_features = arr.shape[1]
        logger.info("regime mixture fitted: %d rows, %s experts (%s gate), rows per regime %s, "
                    "fallback to global %s, %.2fs in all (detector %.2fs, experts %s)", len(arr),
                    self.cfg.expert.kind, self.cfg.gate,
                    dict(zip(self.regime_names, self.regime_counts.tolist(), strict=True)),
                    [self.regime_names[k] for k in fallback] or "none", time.perf_counter() - started,
                    detector_seconds, ", ".join(f"{key} {sec:.2f}s" for key, sec in self.fit_seconds.items()))
        return self

    def predict(self, X: Any, regime_X: pd.DataFrame, state: Any = None) -> MixtureOutput:
        """Gated predictions for rows ``X`` (see :class:`MixtureOutput` for the shapes).

        Args:
            X: float ``(n, f)`` expert features, same columns as in :meth:`fit`.
            regime_X: ``n`` rows of detector inputs aligned with ``X``, continuing the sequence
                that produced ``state``.
            state: the ``state`` of the previous call's output (``None`` = start fresh).

        Raises:
            MixtureError: unfitted mixture, ``X``/``regime_X`` lengths differ, wrong feature
                count, or the detector returned probabilities of the wrong shape.
        """
        if self.global_expert is None:
            raise MixtureError("the regime mixture is not fitted: call fit() first")
        arr = _as_features(X, "X")
        if arr.shape[1] != self.n_features:
            raise MixtureError(f"X has {arr.shape[1]} features but the mixture was fitted on "
                               f"{self.n_features}")
        if len(regime_X) != len(arr):
            raise MixtureError(f"regime_X has {len(regime_X)} rows but X has {len(arr)}: rows must align")
        proba, new_state = self.detector.predict_proba(regime_X, state)
        proba = np.asarray(proba, dtype=np.float64)
        n, k_regimes = len(arr), len(self.experts)
        if proba.shape != (n, k_regimes):
            raise MixtureError(f"detector returned proba of shape {proba.shape}, expected {(n, k_regimes)}")
        global_pred = self.global_expert.predict(arr)
        expert_preds = np.empty((n, k_regimes), dtype=np.float64)
        residual = self.cfg.experts == "residual"
        for k, expert in enumerate(self.experts):
            if expert is None:
                expert_preds[:, k] = global_pred
            else:
                expert_preds[:, k] = expert.predict(arr) + (global_pred if residual else 0.0)
        labels = proba.argmax(axis=1).astype(np.int64)
        if self.cfg.gate == "soft":
            prediction = (proba * expert_preds).sum(axis=1)
        else:
            prediction = expert_preds[np.arange(n), labels]
        return MixtureOutput(prediction=prediction, labels=labels, proba=proba,
                             expert_predictions=expert_preds, global_prediction=global_pred,
                             state=new_state)
