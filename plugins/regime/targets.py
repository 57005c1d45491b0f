"""Training targets (labels) of the regime strategy, selectable in ``ai_suite.regime.target``.

Every label looks ``horizon`` candles ahead of its candle, as a label must, and nothing else
does: the trailing volatility that scales or sets barriers uses the candle and the ``vol_window``
candles before it only, computed window by window (:mod:`plugins.core.windowed`), so a label
does not depend on where the data starts. The last ``horizon`` candles of any frame get NaN
(their future is not in the frame; FreqAI drops rows with a NaN label from training).

Kinds (``TargetConfig.kind``), all float64 Series on the candles' index:

- ``mean_return`` (default, the shipped label): mean close of the next ``horizon`` candles /
  close - 1 (fraction).
- ``vol_scaled_return``: ``(close[t+h] / close[t] - 1) / (sigma_t * sqrt(h))``, sigma_t the
  sample std of the last ``vol_window`` one-candle log returns: the forward return in units of
  its expected spread (a z-score; "volatility-normalised returns", e.g. Moskowitz, Ooi &
  Pedersen 2012, time-series momentum).
- ``sign``: 1.0 where ``close[t+h] > close[t]``, else 0.0. A regressor fitted on it with the
  squared error minimises the Brier score, a proper scoring rule, so its prediction estimates
  ``P(up)`` (0-1), and a tree's leaf is the empirical frequency of its rows; with
  ``ai_suite.regime.target.calibration: isotonic`` the mixture maps its training predictions
  onto the realized 0/1 outcomes with isotonic regression (Zadrozny & Elkan 2002) on a
  held-out tail of each training window, so the prediction is a calibrated probability.
- ``triple_barrier``: López de Prado (2018), *Advances in Financial Machine Learning*, ch. 3.2:
  an upper barrier at ``close[t] * (1 + width * sigma_t * sqrt(h))``, a lower one at
  ``close[t] * (1 - width * sigma_t * sqrt(h))`` and a vertical one ``h`` candles ahead. +1.0
  when a candle's high touches the upper barrier first, -1.0 when a low touches the lower one
  first (or both in the same candle: the order inside a candle is unknown, so the pessimistic
  one), else 0.0 at the vertical barrier (López de Prado's zero label, ch. 3.4).

The **dollar-profit objective** (``weighting: abs_return``, return targets only): each training
row's sample weight is multiplied by ``|label| / mean(|label|)``, so rows where a lot of money
was made or lost count more and the model is rewarded for being right where it matters (seed
004). :func:`profit_weights` computes it; ``RegimeGatedMoE`` and ``LightGBMProfitWeighted``
apply it to FreqAI's own ``train_weights``.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import BaseModel, ConfigDict, Field, model_validator

from plugins.core.windowed import window_mean, window_std

TargetKind = Literal["mean_return", "vol_scaled_return", "sign", "triple_barrier"]

#: entry / exit thresholds per kind when the config sets none, in the target's units
#: (``mean_return`` keeps the strategy's own hyperoptable parameters).
DEFAULT_THRESHOLDS: dict[str, tuple[float, float]] = {
    "vol_scaled_return": (0.25, -0.1),
    "sign": (0.55, 0.45),
    "triple_barrier": (0.2, -0.1),
}


class TargetConfig(BaseModel):
    """``ai_suite.regime.target``: which label the models learn, and its objective.

    Attributes:
        kind: see the module docstring.
        vol_window: candles of the trailing volatility (``vol_scaled_return``,
            ``triple_barrier``); 72 = three days of 1h candles.
        barrier_width: half-width of the triple barrier in units of ``sigma * sqrt(h)``.
        weighting: ``none`` (FreqAI's weights) or ``abs_return`` (the dollar-profit objective;
            only with ``mean_return`` or ``vol_scaled_return``).
        calibration: ``none`` or ``isotonic`` (only with ``sign``, see the module docstring).
        calibration_fraction: share (0-1) of each training window, its latest rows, held out
            to fit the isotonic map.
        entry_threshold: enter long when the prediction exceeds this (target units); ``None``
            = the strategy's parameter for ``mean_return``, else :data:`DEFAULT_THRESHOLDS`.
        exit_threshold: exit when the prediction falls below this; ``None`` likewise.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: TargetKind = "mean_return"
    vol_window: int = Field(default=72, ge=2)
    barrier_width: float = Field(default=1.0, gt=0)
    weighting: Literal["none", "abs_return"] = "none"
    calibration: Literal["none", "isotonic"] = "none"
    calibration_fraction: float = Field(default=0.2, gt=0, lt=1)
    entry_threshold: float | None = None
    exit_threshold: float | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TargetConfig:
        if self.weighting == "abs_return" and self.kind not in ("mean_return", "vol_scaled_return"):
            raise ValueError(f"weighting 'abs_return' needs a return target (kind 'mean_return' or "
                             f"'vol_scaled_return'), not '{self.kind}'")
        if self.calibration == "isotonic" and self.kind != "sign":
            raise ValueError(f"calibration 'isotonic' is for kind 'sign' (a probability), not '{self.kind}'")
        return self

    def thresholds(self, default_entry: float, default_exit: float) -> tuple[float, float]:
        """``(entry, exit)`` in the target's units: the config's, else the defaults of the kind
        (``default_entry``/``default_exit`` for ``mean_return``)."""
        entry, exit_ = DEFAULT_THRESHOLDS.get(self.kind, (default_entry, default_exit))
        return (entry if self.entry_threshold is None else self.entry_threshold,
                exit_ if self.exit_threshold is None else self.exit_threshold)


def trailing_vol(close: pd.Series, window: int) -> pd.Series:
    """Sample std (ddof 1) of the last ``window`` one-candle log returns at each candle
    (float64, per candle, not annualised); NaN on the first ``window`` rows."""
    return window_std(np.log(close.astype("float64")).diff(), window)


def _forward(values: pd.Series, horizon: int) -> np.ndarray:
    """``(n, horizon)``: row t holds values[t+1 .. t+horizon]; NaN past the end."""
    arr = values.to_numpy(dtype="float64")
    padded = np.concatenate([arr[1:], np.full(horizon, np.nan)])
    return sliding_window_view(padded, horizon)[: len(arr)]


def make_target(candles: pd.DataFrame, cfg: TargetConfig, horizon: int) -> pd.Series:
    """The label of ``cfg.kind`` for each candle (module docstring).

    Args:
        candles: Freqtrade candles (float ``high``, ``low``, ``close``), rows in time order.
        cfg: the target settings.
        horizon: candles ahead (FreqAI's ``label_period_candles``).

    Returns:
        float64 Series on ``candles.index``; NaN where the label's future or the trailing
        volatility is not in the frame.

    Raises:
        ValueError: ``horizon < 1``.
    """
    if horizon < 1:
        raise ValueError(f"horizon={horizon}: a label needs at least 1 candle ahead")
    close = candles["close"].astype("float64")
    if cfg.kind == "mean_return":
        return window_mean(close.shift(-horizon), horizon) / close - 1
    ahead = close.shift(-horizon) / close - 1
    if cfg.kind == "sign":
        return (ahead > 0).astype("float64").where(ahead.notna())
    scale = trailing_vol(close, cfg.vol_window) * math.sqrt(horizon)
    scale = scale.where(scale > 0)
    if cfg.kind == "vol_scaled_return":
        return ahead / scale
    return _triple_barrier(candles, close, scale * cfg.barrier_width, horizon)


def _triple_barrier(candles: pd.DataFrame, close: pd.Series, width: pd.Series,
                    horizon: int) -> pd.Series:
    c, w = close.to_numpy(), width.to_numpy()
    highs, lows = _forward(candles["high"], horizon), _forward(candles["low"], horizon)
    up = highs >= (c * (1 + w))[:, None]
    down = lows <= (c * (1 - w))[:, None]
    never = horizon + 1
    first_up = np.where(up.any(axis=1), up.argmax(axis=1), never)
    first_down = np.where(down.any(axis=1), down.argmax(axis=1), never)
    label = np.where(first_down <= first_up, -1.0, 1.0)   # ties (same candle): pessimistic
    label = np.where((first_up == never) & (first_down == never), 0.0, label)
    known = np.isfinite(w) & ~np.isnan(highs[:, -1]) & ~np.isnan(lows[:, -1])
    return pd.Series(np.where(known, label, np.nan), index=candles.index, dtype="float64")


def profit_weights(label: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
    """The dollar-profit objective's sample weights: ``base * |label| / mean(|label|)``
    (``base`` 1 when None), float64 ``(n,)`` with mean 1 when ``base`` is 1. A window whose
    labels are all 0 keeps ``base`` (nothing to weight by).

    Raises:
        ValueError: shapes differ, or a label is not finite.
    """
    magnitude = np.abs(np.asarray(label, dtype=np.float64)).reshape(-1)
    weights = np.ones_like(magnitude) if base is None else np.asarray(base, dtype=np.float64).reshape(-1)
    if weights.shape != magnitude.shape:
        raise ValueError(f"label has {magnitude.shape[0]} rows but the weights {weights.shape[0]}")
    if not np.isfinite(magnitude).all():
        raise ValueError("label has NaN or inf values: FreqAI drops those rows before training")
    mean = magnitude.mean() if len(magnitude) else 0.0
    return weights if mean <= 0 else weights * magnitude / mean
