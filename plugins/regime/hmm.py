"""Gaussian hidden Markov model regimes (``hmmlearn.hmm.GaussianHMM``) with causal filtering.

Fit: the config's ``features`` (default ``ret, vol, downside_vol, ema_slope``; ``adx`` is left
out because it measures trend strength without direction and duplicates what ``vol`` and
``|ret|`` say about activity) are standardized with the mean / std of the training rows, then
``hmm_n_init`` EM fits (seeds ``random_state + i``) run and the one with the best training
log-likelihood is kept. The fitted states are relabelled by ascending mean raw ``vol`` of the
training rows, weighted by the detector's own causal (filtered) probabilities on them - the labels
a user of the detector sees - so label 0 is the calmest, and named ``<tier>_<direction>`` as
described in :mod:`plugins.regime.labels`. The label index is stable across retrains; the
direction suffix is a property of the training window.

Prediction is the forward filter (Rabiner 1989, eq. 19-20), not hmmlearn's ``predict_proba``,
which is forward-backward smoothing and looks at later rows:

    alpha_t  ~  b(x_t) * (alpha_{t-1} @ A),        alpha_t normalized to sum 1,

computed as ``log b(x_t) + logsumexp_j(log alpha_{t-1}(j) + log A(j, .))`` (max-shifted) and
normalized after subtracting the row maximum in log space, so tiny emission densities do not
underflow; zero transition probabilities are floored at the smallest positive float. A fresh
call (``state=None``) starts from the stationary distribution ``pi = pi A`` of the fitted
transition matrix - a backtest or live bot starts mid-series, where ``startprob_`` (fitted to the
first training row only) means nothing.

The state is the last filtered probability vector ``alpha_t`` (float64, shape ``(K,)``, label
order). Every row, also inside one call, restarts from that vector, so a split call gives the
same probabilities as one call (to float rounding of the batched emission densities).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from hmmlearn.hmm import GaussianHMM
from scipy.linalg import solve_triangular
from threadpoolctl import threadpool_limits

from plugins.regime.base import RegimeDetector, RegimeDetectorError
from plugins.regime.config import DetectorConfig
from plugins.regime.features import check_inputs
from plugins.regime.labels import Standardizer, regime_names, vol_order

logger = logging.getLogger(__name__)


def stationary_distribution(transmat: np.ndarray) -> np.ndarray:
    """The ``pi`` with ``pi @ transmat = pi``, ``sum(pi) = 1`` (least squares; clipped at 0)."""
    k = len(transmat)
    system = np.vstack([transmat.T - np.eye(k), np.ones((1, k))])
    rhs = np.concatenate([np.zeros(k), [1.0]])
    pi = np.clip(np.linalg.lstsq(system, rhs, rcond=None)[0], 0.0, None)
    return pi / pi.sum()


class HmmDetector(RegimeDetector):
    """Gaussian HMM fitted on standardized inputs, causal forward filtering (see module docstring).

    Attributes (set by :meth:`fit`):
        model_: the best ``GaussianHMM`` (its own state order, not relabelled).
        order_: ``order_[k]`` = ``model_`` state that is label ``k``.
        transmat_, means_, covars_: relabelled parameters (standardized units, full covariances).
        stationary_: stationary distribution, the filter's prior for ``state=None``.
        train_loglik_: training log-likelihood of ``model_``.
    """

    kind = "hmm"

    def __init__(self, cfg: DetectorConfig | None = None) -> None:
        self.cfg = cfg or DetectorConfig(kind="hmm")
        self.n_regimes = self.cfg.n_regimes
        self.regime_names = ()
        self.fitted_ = False

    def _columns(self) -> list[str]:
        return list(dict.fromkeys([*self.cfg.features, "vol", "ret"]))

    def fit(self, X: pd.DataFrame) -> HmmDetector:
        """Fit the HMM on training rows ``X``, relabel by volatility and name the regimes.

        Raises:
            RegimeDetectorError: missing input column, NaN rows, fewer than ``min_rows`` rows,
                every EM fit failed, or a state got no training rows.
        """
        values = check_inputs(X, self._columns(), who="HmmDetector.fit")
        if len(values) < self.cfg.min_rows:
            raise RegimeDetectorError(f"HmmDetector.fit: {len(values)} training rows, need at least "
                                      f"min_rows={self.cfg.min_rows}; train on a longer window")
        n_features = len(self.cfg.features)
        self.scaler_ = Standardizer(values[:, :n_features])
        Z = self.scaler_(values[:, :n_features])
        vol, ret = values[:, self._columns().index("vol")], values[:, self._columns().index("ret")]
        best, best_ll = None, -np.inf
        with threadpool_limits(limits=1):   # k-means init: OpenMP threads only add contention here
            for i in range(self.cfg.hmm_n_init):
                best, best_ll = self._fit_one(Z, i, best, best_ll)
        if best is None:
            raise RegimeDetectorError(f"HmmDetector.fit: all {self.cfg.hmm_n_init} EM fits failed; lower "
                                      "n_regimes or use hmm_covariance='diag'")
        self.model_, self.train_loglik_ = best, float(best_ll)
        self._set_params(best, np.arange(self.n_regimes))
        train_proba, _ = self._filter(Z, None)
        order = vol_order(train_proba, vol, who="HmmDetector.fit")
        self._set_params(best, order)
        self.regime_names = regime_names(train_proba[:, order], ret, self.cfg.flat_band)
        self.fitted_ = True
        logger.info("HMM fitted on %d rows (K=%d, loglik %.1f): %s", len(Z), self.n_regimes, best_ll,
                    ", ".join(self.regime_names))
        return self

    def _set_params(self, model: GaussianHMM, order: np.ndarray) -> None:
        """Filter parameters from ``model`` with its states permuted so label ``k`` is ``order[k]``."""
        self.order_ = order
        self.transmat_ = model.transmat_[np.ix_(order, order)]
        self.means_ = model.means_[order]
        self.covars_ = model.covars_[order]          # full (K, d, d) matrices for any covariance type
        self._log_transmat = np.log(np.where(self.transmat_ > 0, self.transmat_, np.finfo(float).tiny))
        self._chol = np.linalg.cholesky(self.covars_)
        self._log_norm = (-np.log(np.diagonal(self._chol, axis1=1, axis2=2)).sum(axis=1)
                          - 0.5 * self.means_.shape[1] * np.log(2 * np.pi))
        self.stationary_ = stationary_distribution(self.transmat_)

    def _fit_one(self, Z: np.ndarray, i: int, best: GaussianHMM | None,
                 best_ll: float) -> tuple[GaussianHMM | None, float]:
        """EM fit number ``i`` (seed ``random_state + i``); returns the better of it and ``best``."""
        model = GaussianHMM(n_components=self.n_regimes, covariance_type=self.cfg.hmm_covariance,
                            n_iter=self.cfg.hmm_iter, tol=self.cfg.hmm_tol,
                            random_state=self.cfg.random_state + i)
        try:
            model.fit(Z)
            loglik = model.score(Z)
        except (ValueError, np.linalg.LinAlgError) as exc:
            logger.warning("HMM init %d of %d failed: %s", i + 1, self.cfg.hmm_n_init, exc)
            return best, best_ll
        if not model.monitor_.converged:
            logger.info("HMM init %d of %d stopped at hmm_iter=%d before converging", i + 1,
                        self.cfg.hmm_n_init, self.cfg.hmm_iter)
        return (model, loglik) if loglik > best_ll else (best, best_ll)

    def log_emission(self, Z: np.ndarray) -> np.ndarray:
        """Gaussian log densities ``log b_k(z_t)`` of standardized rows, shape ``(n, K)``."""
        out = np.empty((len(Z), self.n_regimes))
        for k in range(self.n_regimes):
            y = solve_triangular(self._chol[k], (Z - self.means_[k]).T, lower=True)
            out[:, k] = self._log_norm[k] - 0.5 * (y * y).sum(axis=0)
        return out

    def predict_proba(self, X: pd.DataFrame, state: Any = None) -> tuple[np.ndarray, Any]:
        """Filtered probabilities ``P(regime_t | x_0..x_t)``; state = last filtered vector.

        Raises:
            RegimeDetectorError: unfitted detector, missing column, NaN rows, or a ``state`` that
                is not a probability vector of length ``n_regimes``.
        """
        if not self.fitted_:
            raise RegimeDetectorError("HmmDetector.predict_proba: detector is not fitted; call "
                                      "fit(X_train) first")
        values = check_inputs(X, self.cfg.features, who="HmmDetector.predict_proba")
        prev = None if state is None else np.asarray(state, dtype="float64")
        if prev is not None and (prev.shape != (self.n_regimes,) or not np.isfinite(prev).all()
                                 or abs(prev.sum() - 1) > 1e-6):
            raise RegimeDetectorError(f"HmmDetector.predict_proba: state must be the probability vector "
                                      f"of length {self.n_regimes} a previous call returned")
        return self._filter(self.scaler_(values), prev)

    def _filter(self, Z: np.ndarray, prev: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Forward filter over standardized rows ``Z`` from ``prev`` (``None``: stationary).

        The scaled forward recursion (Rabiner 1989, eq. 92): ``alpha_t ~ (alpha_{t-1} A) * b_t``,
        normalised every step. Emissions are rescaled per row (``exp(log b - max log b)``, which
        the normalisation cancels) and the K x K step runs on Python floats: for K <= 6 that is
        an order of magnitude faster than per-row numpy calls, and this runs on every candle.
        """
        prev = self.stationary_ if prev is None else prev
        log_b = self.log_emission(Z)
        emit = np.exp(log_b - log_b.max(axis=1, keepdims=True)).tolist()
        trans = np.exp(self._log_transmat).tolist()
        k_range = range(self.n_regimes)
        alpha = [float(p) for p in prev]
        out = []
        for b in emit:
            step = [b[j] * sum(alpha[i] * trans[i][j] for i in k_range) for j in k_range]
            total = sum(step)
            if total <= 0.0 or not math.isfinite(total):  # every reachable state has ~0 density
                step, total = list(b), sum(b)
            alpha = [v / total for v in step]
            out.append(alpha)
        proba = np.asarray(out, dtype="float64").reshape(len(emit), self.n_regimes)
        return proba, np.asarray(alpha, dtype="float64")
