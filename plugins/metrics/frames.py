"""Figures of one pair's analysed dataframe: the model's outputs on the last candle, and the
rolling out-of-sample IC of the live predictions. Pure functions of frames.

Columns read (absent = no figure, never a filled value): RegimeGatedMoE's ``regime_prob_<k>``,
``gate_weight_<k>``, ``regime_label`` / ``regime`` (names) and ``confidence``
(``plugins.rpc.status.pair_regime`` reads them the same way for ``/regime``); FreqAI's
predictions (``&``-columns, without its ``_mean`` / ``_std`` label statistics) and
``do_predict``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from plugins.research.stats import information_coefficient
from plugins.rpc.status import pair_regime

#: Seed of the no-skill control's permutation (the same control at every refresh).
CONTROL_SEED = 0


@dataclass(frozen=True)
class ModelFigures:
    """The model's outputs on a pair's last analysed candle.

    Attributes:
        regime_probabilities / gate_weights: regime name (its label when unnamed) -> 0..1.
        confidence: the regime model's confidence 0..1, or None.
        predictions: FreqAI target -> the prediction (the target's unit).
        do_predict: FreqAI's ``do_predict`` (1 inside the training distribution), or None.
    """

    regime_probabilities: dict[str, float]
    gate_weights: dict[str, float]
    confidence: float | None
    predictions: dict[str, float]
    do_predict: float | None


def _finite(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def prediction_columns(frame: pd.DataFrame) -> list[str]:
    """FreqAI's prediction columns of ``frame`` (``&``-prefixed, not ``_mean`` / ``_std``)."""
    return [c for c in frame.columns if isinstance(c, str) and c.startswith("&")
            and not c.endswith(("_mean", "_std"))]


def pair_model_figures(frame: pd.DataFrame) -> ModelFigures:
    """:class:`ModelFigures` of ``frame``'s last row (all empty for an empty frame)."""
    if frame.empty:
        return ModelFigures({}, {}, None, {}, None)
    regime = pair_regime("", frame)
    probs, weights = {}, {}
    for entry in regime.get("probabilities", ()):
        name = entry["name"] or str(entry["label"])
        if entry["prob"] is not None:
            probs[name] = entry["prob"]
        if entry["gate_weight"] is not None:
            weights[name] = entry["gate_weight"]
    last = frame.iloc[-1]
    predictions = {c: v for c in prediction_columns(frame) if (v := _finite(last[c])) is not None}
    return ModelFigures(probs, weights, regime.get("confidence"), predictions,
                        _finite(last.get("do_predict")))


@dataclass(frozen=True)
class LiveIC:
    """Rank IC of live predictions against their matured labels.

    Attributes:
        ic: ``information_coefficient`` (Spearman, non-overlapping, offsets averaged).
        t_stat: its HAC t-statistic.
        n_obs: non-overlapping samples per offset (mean).
        control_ic: the same IC with the predictions randomly permuted (seeded): the no-skill
            control, same samples.
    """

    ic: float
    t_stat: float
    n_obs: float
    control_ic: float


def live_ic(frame: pd.DataFrame, labels: pd.DataFrame, horizon: int, timeframe: str,
            since: pd.Timestamp) -> dict[str, LiveIC]:
    """The IC of each prediction column of ``frame`` against the same column of ``labels``
    over the candles opened at or after ``since`` whose label has matured (not NaN).

    Args:
        frame: a pair's analysed dataframe (``date``, ``&``-prediction columns).
        labels: the realized labels on the same index (``&``-columns; NaN = not matured).
        horizon: the label's length in candles (``label_period_candles``).
        timeframe: candle length (``1h``).
        since: first candle (open time, UTC) that counts: predicted live, inside the window.

    Returns:
        target -> :class:`LiveIC`; a target with fewer than 3 matured samples per offset is
        left out (no figure rather than a figure of noise).
    """
    out = {}
    keep = (frame["date"] >= since).to_numpy()
    for target in prediction_columns(frame):
        if target not in labels.columns:
            continue
        rows = pd.DataFrame({"pair": "pair", "date": frame["date"].to_numpy()[keep],
                             "pred": frame[target].to_numpy(dtype="float64")[keep],
                             "real": labels[target].to_numpy(dtype="float64")[keep]})
        rows = rows[np.isfinite(rows["pred"]) & np.isfinite(rows["real"])]
        result = information_coefficient(rows, horizon, timeframe)
        if not math.isfinite(result.ic):
            continue
        shuffled = rows.assign(pred=np.random.default_rng(CONTROL_SEED).permutation(
            rows["pred"].to_numpy()))
        control = information_coefficient(shuffled, horizon, timeframe)
        out[target] = LiveIC(result.ic, result.t_stat, result.n_obs, control.ic)
    return out

