"""Shared label conventions of the learned detectors (HMM, jump model).

Order: the fitted states are relabelled by ascending mean ``vol`` of the training rows, each row
weighted by the detector's own causal probabilities for it (what ``predict_proba`` on the
training window returns), so label 0 is the calmest regime as the detector is used, and the
label index means the same thing after every retrain.

Names: ``<tier>_<direction>``.

* tier (from the label, i.e. the volatility rank): ``K = 2``: ``low_vol, high_vol``;
  ``K = 3``: ``low_vol, mid_vol, high_vol``; ``K >= 4``: ``vol0 .. vol{K-1}`` (``vol0`` calmest).
* direction (from the training window): ``bull`` / ``bear`` when the mean ``ret`` of the
  training rows in that regime (same weights) is above / below ``+-flat_band * std(ret)`` (std
  over all training rows), else ``flat``.

The tier is stable across retrains; the direction suffix is a property of the training window
(a calm regime can be ``low_vol_bull`` in one window and ``low_vol_flat`` in the next).
"""

from __future__ import annotations

import numpy as np

from plugins.regime.base import RegimeDetectorError


def tier_names(n_regimes: int) -> tuple[str, ...]:
    """Volatility tier of each label, calmest first (see the module docstring)."""
    if n_regimes == 2:
        return ("low_vol", "high_vol")
    if n_regimes == 3:
        return ("low_vol", "mid_vol", "high_vol")
    return tuple(f"vol{k}" for k in range(n_regimes))


def direction(mean_ret: float, ret_std: float, flat_band: float) -> str:
    """``bull`` / ``bear`` / ``flat`` for a regime's mean ``ret`` (see the module docstring)."""
    band = flat_band * ret_std
    if mean_ret > band:
        return "bull"
    if mean_ret < -band:
        return "bear"
    return "flat"


def weighted_means(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per-state mean of ``values`` (shape ``(n,)``) under ``weights`` (shape ``(n, K)``).

    Returns NaN for a state with zero total weight.
    """
    total = weights.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (weights * values[:, None]).sum(axis=0) / total, np.nan)


def vol_order(weights: np.ndarray, vol: np.ndarray, *, who: str) -> np.ndarray:
    """Permutation ``order`` so that label ``k`` is fitted state ``order[k]``, calmest first.

    Args:
        weights: ``(n, K)`` training rows' probabilities of the fitted states (or one-hot labels).
        vol: ``(n,)`` raw ``vol`` input of the training rows.
        who: caller name for the error message.

    Raises:
        RegimeDetectorError: a fitted state got less than one training row's worth of probability
            (the model found fewer regimes than asked for).
    """
    means = weighted_means(vol, weights)
    empty = np.flatnonzero(weights.sum(axis=0) < 1.0)
    if empty.size:
        raise RegimeDetectorError(f"{who}: {empty.size} of {weights.shape[1]} regimes got no training "
                                  "rows; lower n_regimes (or jump_penalty) or train on a longer window")
    return np.argsort(means, kind="stable")


def regime_names(weights: np.ndarray, ret: np.ndarray, flat_band: float) -> tuple[str, ...]:
    """``<tier>_<direction>`` names for labels already in volatility order.

    Args:
        weights: ``(n, K)`` training assignment of rows to labels (columns in label order).
        ret: ``(n,)`` raw ``ret`` input of the training rows.
        flat_band: dead band as a fraction of ``std(ret)``.
    """
    means = weighted_means(ret, weights)
    ret_std = float(np.std(ret))
    tiers = tier_names(weights.shape[1])
    return tuple(f"{tier}_{direction(float(m), ret_std, flat_band)}" for tier, m in zip(tiers, means,
                                                                                          strict=True))


class Standardizer:
    """Column-wise z-score with mean / std learned on the training rows (std 0 -> 1)."""

    def __init__(self, values: np.ndarray) -> None:
        self.mean = values.mean(axis=0)
        std = values.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std
