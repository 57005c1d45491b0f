"""Statistical jump model regimes (``jumpmodels`` package) with causal, resumable inference.

The jump model (Nystrup, Lindström & Madsen 2020, "Learning hidden Markov models with
persistent states by penalizing jumps", Expert Systems with Applications; applied to regime
switching by Shu, Yu & Mulvey 2024, "Downside risk reduction using regime-switching signals: a
statistical jump model approach", Quantitative Finance) clusters standardized inputs ``z_t``
into ``K`` centroids ``mu_k`` while charging a penalty ``lambda`` (``jump_penalty``) per regime
change:

    min over mu, s   sum_t 0.5 ||z_t - mu_{s_t}||^2  +  lambda * sum_t [s_t != s_{t-1}].

Fit: ``jumpmodels.jump.JumpModel`` (package 0.1.1): coordinate descent that
alternates the exact state path by dynamic programming and centroid updates, from
``jump_n_init`` k-means++ starts (seeded by ``random_state``). ``jump_continuous=True`` fits the
continuous jump model (CJM: states are points of a probability simplex grid, penalty
``lambda * (L1 distance / 2)^2`` plus the mode loss). The inputs are the config's ``features``
standardized with the training mean / std. The fitted states are relabelled by ascending mean
raw ``vol`` of the training rows, weighted by the detector's own online probabilities on them (the
labels a user sees; label 0 = calmest), and named ``<tier>_<direction>``
(:mod:`plugins.regime.labels`); a fit in which a state gets no training rows raises. The label
index is stable across retrains; the direction suffix is a property of the training window.

Prediction is the package's online inference (``JumpModel.predict_proba_online``): the forward
pass of the same DP without the backward traceback,

    V_t(k) = L_t(k) + min_j ( V_{t-1}(j) + Lambda(j, k) ),   V_0 = L_0,   s_t = argmin_k V_t(k),

where ``L_t(k)`` is the loss of row ``t`` in state ``k`` and ``Lambda`` the penalty matrix.
``V_t`` depends on rows ``<= t`` only (read in ``jumpmodels/jump.py``: ``dp(...,
return_value_mx=True)`` returns the value matrix before any traceback, and
``predict_proba_online`` takes its row-wise argmin), so it is causal. The package recomputes
``V`` from row 0 on every call and cannot resume, so this module runs the same recursion
itself with the package's fitted centroids, penalty matrix and simplex grid (its labels equal
``predict_online``'s, a test checks it), and carries ``V``:

* state = ``V_t`` shifted so its minimum is 0 (float64, shape ``(K,)`` for the discrete model,
  ``(grid points,)`` for the CJM). The shift changes no argmin or difference and is applied at
  every row, also inside one call, so split calls give bit-identical results.
* probabilities: discrete model - softmax of the negative DP costs with temperature ``T``
  (``jump_temperature``, loss units): ``p_k ~ exp(-(V_t(k) - min V_t) / T)``; the DP costs differ
  by up to about ``lambda`` away from a regime change, so rows are nearly one-hot except close to
  a switch. CJM - the simplex grid point ``argmin V_t`` (the package's own probabilities).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from jumpmodels.jump import JumpModel
from scipy.spatial.distance import cdist
from scipy.special import softmax

from plugins.regime.base import RegimeDetector, RegimeDetectorError
from plugins.regime.config import DetectorConfig
from plugins.regime.features import check_inputs
from plugins.regime.labels import Standardizer, regime_names, vol_order

logger = logging.getLogger(__name__)


class JumpModelDetector(RegimeDetector):
    """(Continuous) statistical jump model, causal online DP inference (see module docstring).

    Attributes (set by :meth:`fit`):
        model_: the fitted ``jumpmodels.jump.JumpModel`` (its own state order).
        order_: ``order_[k]`` = ``model_`` state that is label ``k``.
        centers_: relabelled centroids (standardized units), shape ``(K, n_features)``.
        penalty_mx_: DP penalty matrix ``Lambda`` (``(K, K)`` or ``(grid, grid)``).
        prob_vecs_: CJM simplex grid, columns in label order (``None`` for the discrete model).
    """

    kind = "jump"

    def __init__(self, cfg: DetectorConfig | None = None) -> None:
        self.cfg = cfg or DetectorConfig(kind="jump")
        self.n_regimes = self.cfg.n_regimes
        self.regime_names = ()
        self.fitted_ = False

    def _columns(self) -> list[str]:
        return list(dict.fromkeys([*self.cfg.features, "vol", "ret"]))

    def fit(self, X: pd.DataFrame) -> JumpModelDetector:
        """Fit the jump model on training rows ``X``, relabel by volatility and name the regimes.

        Raises:
            RegimeDetectorError: missing input column, NaN rows, fewer than ``min_rows`` rows, or
                a regime got no training rows (lower ``n_regimes`` or ``jump_penalty``).
        """
        values = check_inputs(X, self._columns(), who="JumpModelDetector.fit")
        if len(values) < self.cfg.min_rows:
            raise RegimeDetectorError(f"JumpModelDetector.fit: {len(values)} training rows, need at least "
                                      f"min_rows={self.cfg.min_rows}; train on a longer window")
        n_features = len(self.cfg.features)
        self.scaler_ = Standardizer(values[:, :n_features])
        Z = self.scaler_(values[:, :n_features])
        vol, ret = values[:, self._columns().index("vol")], values[:, self._columns().index("ret")]
        model = JumpModel(n_components=self.n_regimes, jump_penalty=self.cfg.jump_penalty,
                          cont=self.cfg.jump_continuous, grid_size=self.cfg.jump_grid_size,
                          random_state=self.cfg.random_state, max_iter=self.cfg.jump_max_iter,
                          n_init=self.cfg.jump_n_init)
        model.fit(Z, ret_ser=None, sort_by=None)
        fitted_use = np.asarray(model.proba_, dtype="float64").sum(axis=0)   # in-sample rows per state
        if (fitted_use < 1.0).any():
            raise RegimeDetectorError(f"JumpModelDetector.fit: {int((fitted_use < 1.0).sum())} of "
                                      f"{self.n_regimes} regimes got no training rows; lower n_regimes or "
                                      "jump_penalty, or train on a longer window")
        self.model_, self.train_loss_ = model, float(model.val_)
        self.penalty_mx_ = np.asarray(model.jump_penalty_mx, dtype="float64")
        self._set_params(model, np.arange(self.n_regimes))
        train_proba, _ = self._online(Z, None)
        order = vol_order(train_proba, vol, who="JumpModelDetector.fit")
        self._set_params(model, order)
        self.regime_names = regime_names(train_proba[:, order], ret, self.cfg.flat_band)
        self.fitted_ = True
        logger.info("jump model fitted on %d rows (K=%d, lambda=%g, %s, loss %.1f): %s", len(Z),
                    self.n_regimes, self.cfg.jump_penalty,
                    "continuous" if self.cfg.jump_continuous else "discrete", model.val_,
                    ", ".join(self.regime_names))
        return self

    def _set_params(self, model: JumpModel, order: np.ndarray) -> None:
        """Centroids (and CJM grid columns) of ``model`` permuted so label ``k`` is ``order[k]``."""
        self.order_ = order
        self.centers_ = np.asarray(model.centers_, dtype="float64")[order]
        self.prob_vecs_ = None if model.prob_vecs is None else model.prob_vecs[:, order]

    def loss(self, Z: np.ndarray) -> np.ndarray:
        """DP loss ``L_t`` of standardized rows: ``(n, K)`` discrete, ``(n, grid points)`` CJM."""
        loss = 0.5 * cdist(Z, self.centers_, "sqeuclidean")
        return loss if self.prob_vecs_ is None else loss @ self.prob_vecs_.T

    def predict_proba(self, X: pd.DataFrame, state: Any = None) -> tuple[np.ndarray, Any]:
        """Online (forward-DP) regime probabilities; state = the shifted DP cost vector ``V_t``.

        Raises:
            RegimeDetectorError: unfitted detector, missing column, NaN rows, or a ``state`` of
                the wrong shape.
        """
        if not self.fitted_:
            raise RegimeDetectorError("JumpModelDetector.predict_proba: detector is not fitted; call "
                                      "fit(X_train) first")
        values = check_inputs(X, self.cfg.features, who="JumpModelDetector.predict_proba")
        Z = self.scaler_(values)
        n_states = len(self.penalty_mx_)
        prev = None if state is None else np.asarray(state, dtype="float64")
        if prev is not None and (prev.shape != (n_states,) or np.isnan(prev).any()):
            raise RegimeDetectorError(f"JumpModelDetector.predict_proba: state must be the DP cost vector "
                                      f"of length {n_states} a previous call returned")
        return self._online(Z, prev)

    def _online(self, Z: np.ndarray, prev: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Forward DP over standardized rows ``Z`` from the shifted cost vector ``prev``."""
        loss = self.loss(Z)
        proba = np.empty((len(loss), self.n_regimes))
        for t in range(len(loss)):
            value = loss[t] if prev is None else loss[t] + (prev[:, None] + self.penalty_mx_).min(axis=0)
            prev = value - value.min()
            if self.prob_vecs_ is None:
                proba[t] = softmax(-prev / self.cfg.jump_temperature)
            else:
                proba[t] = self.prob_vecs_[prev.argmin()]
        return proba, prev
