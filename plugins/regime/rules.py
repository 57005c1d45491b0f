"""Rule-based regimes: trend vs range crossed with calm vs volatile, thresholds learned on training.

Three soft rules on the raw inputs of :mod:`plugins.regime.features`:

* volatile: ``vol`` above its training ``rules_vol_quantile`` (default 67th percentile);
* trending: ``adx`` above its training ``rules_trend_quantile`` (default 60th percentile);
* direction of a trend: sign of ``ema_slope`` (threshold 0, not learned).

Each rule is a logistic function of the distance to its threshold, scaled by the feature's
training inter-quartile range: ``p = 1 / (1 + exp(-(x - threshold) / (rules_softness * IQR)))``.
The six regime probabilities are products over the three rules, so each row sums to 1:

=====  ==================  =====================================
label  name                probability
=====  ==================  =====================================
0      ``calm_range``      ``(1 - p_vol) (1 - p_trend)``
1      ``calm_bull``       ``(1 - p_vol) p_trend p_up``
2      ``calm_bear``       ``(1 - p_vol) p_trend (1 - p_up)``
3      ``volatile_range``  ``p_vol (1 - p_trend)``
4      ``volatile_bull``   ``p_vol p_trend p_up``
5      ``volatile_bear``   ``p_vol p_trend (1 - p_up)``
=====  ==================  =====================================

Names and order are fixed (``n_regimes`` in the config is ignored). The order rises with the
volatility *tier* (labels 0-2 calm, 3-5 volatile); within a tier it is range, bull, bear, not
ranked by mean ``vol`` - the one departure from the base-class convention that label ``k`` is
the ``k``-th calmest regime. The detector is stateless: ``state`` is ignored and returned
``None``, and each row depends on that row only.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from plugins.regime.base import RegimeDetector, RegimeDetectorError
from plugins.regime.config import DetectorConfig
from plugins.regime.features import check_inputs

logger = logging.getLogger(__name__)

RULE_INPUTS: tuple[str, ...] = ("vol", "adx", "ema_slope")
RULE_REGIMES: tuple[str, ...] = ("calm_range", "calm_bull", "calm_bear",
                                 "volatile_range", "volatile_bull", "volatile_bear")


class RuleBasedDetector(RegimeDetector):
    """Trend/range x calm/volatile with quantile thresholds (see the module docstring).

    Attributes (set by :meth:`fit`):
        vol_threshold: training quantile of ``vol`` (per candle, log-return std).
        adx_threshold: training quantile of ``adx`` (0-100).
        scales: logistic scale per input (``vol``, ``adx``, ``ema_slope``), input units.
    """

    kind = "rules"

    def __init__(self, cfg: DetectorConfig | None = None) -> None:
        self.cfg = cfg or DetectorConfig(kind="rules")
        self.n_regimes = len(RULE_REGIMES)
        self.regime_names = RULE_REGIMES
        self.fitted_ = False

    def fit(self, X: pd.DataFrame) -> RuleBasedDetector:
        """Learn the ``vol`` / ``adx`` thresholds and the logistic scales on training rows ``X``.

        Raises:
            RegimeDetectorError: missing input column, NaN rows, fewer than ``min_rows`` rows, or
                an input with zero spread on the training window.
        """
        values = check_inputs(X, RULE_INPUTS, who="RuleBasedDetector.fit")
        if len(values) < self.cfg.min_rows:
            raise RegimeDetectorError(f"RuleBasedDetector.fit: {len(values)} training rows, need at least "
                                      f"min_rows={self.cfg.min_rows}; train on a longer window")
        q25, q75 = np.quantile(values, [0.25, 0.75], axis=0)
        iqr = q75 - q25
        flat = [c for c, s in zip(RULE_INPUTS, iqr, strict=True) if not s > 0]
        if flat:
            raise RegimeDetectorError(f"RuleBasedDetector.fit: input(s) {flat} have zero inter-quartile "
                                      "range on the training window; train on a longer window")
        self.vol_threshold = float(np.quantile(values[:, 0], self.cfg.rules_vol_quantile))
        self.adx_threshold = float(np.quantile(values[:, 1], self.cfg.rules_trend_quantile))
        self.scales = dict(zip(RULE_INPUTS, (self.cfg.rules_softness * iqr).tolist(), strict=True))
        self.fitted_ = True
        logger.info("rules detector fitted on %d rows: vol > %.5f volatile, adx > %.1f trending",
                    len(values), self.vol_threshold, self.adx_threshold)
        return self

    def predict_proba(self, X: pd.DataFrame, state: Any = None) -> tuple[np.ndarray, Any]:
        """Probabilities of the six fixed regimes per row; ``state`` is ignored (returns ``None``).

        Raises:
            RegimeDetectorError: unfitted detector, missing column or NaN rows.
        """
        if not self.fitted_:
            raise RegimeDetectorError("RuleBasedDetector.predict_proba: detector is not fitted; call "
                                      "fit(X_train) first")
        values = check_inputs(X, RULE_INPUTS, who="RuleBasedDetector.predict_proba")
        z_vol = (values[:, 0] - self.vol_threshold) / self.scales["vol"]
        z_trend = (values[:, 1] - self.adx_threshold) / self.scales["adx"]
        z_up = values[:, 2] / self.scales["ema_slope"]
        calm, volatile = expit(-z_vol), expit(z_vol)
        ranging, trending = expit(-z_trend), expit(z_trend)
        up, down = expit(z_up), expit(-z_up)
        proba = np.column_stack([calm * ranging, calm * trending * up, calm * trending * down,
                                 volatile * ranging, volatile * trending * up,
                                 volatile * trending * down])
        proba /= proba.sum(axis=1, keepdims=True)
        return proba, None
