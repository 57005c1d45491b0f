"""TimedRegimeLightGBMRegressor: the stock ``LightGBMRegressor`` plus the MoE's regime columns.

Bench-only (``bench/moe_vs_baseline.py --entry-filter regime``, the default). The baseline's
predictions are Freqtrade's stock ``LightGBMRegressor``'s, unchanged and timed like
``TimedLightGBMRegressor`` (the ``BENCH_TIMING`` lines time the LightGBM part only). Beside them
it writes the two columns the strategy's entry filter reads, from **the same detector the
RegimeGatedMoE uses** (``ai_suite.regime.detector``), fitted on the same training rows
(FreqAI's split, regime inputs unscaled as ``RegimeGatedMoE.fit`` does) and run the same way
(causally from each window's first candle, warm-up rows filled with the training medians):

- ``regime`` (str): the detector's most probable regime name (``RegimeMoE`` blocks entries in
  ``ai_suite.risk.gates.blocked_regimes``);
- ``confidence`` (float 0-1): what RegimeGatedMoE writes, the largest gate weight: the top
  regime probability with the soft gate, 1 with the hard gate (the risk layer's confidence
  gate reads it).

So both models trade behind the same entry filter and the P&L difference is the models'. The
fitted detector lives in this object per pair (backtesting trains before it predicts); a model
loaded from disk without it raises.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

_HERE = str(Path(__file__).resolve().parent)
_MODELS = str(Path(__file__).resolve().parents[2] / "freqai_models")
for _path in (_HERE, _MODELS):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from RegimeGatedMoE import _register_output_stats, _unscaled  # noqa: E402
from TimedLightGBMRegressor import TimedLightGBMRegressor  # noqa: E402

from plugins.core.config import load_section  # noqa: E402
from plugins.regime import make_detector  # noqa: E402
from plugins.regime.config import RegimeConfig  # noqa: E402
from plugins.regime.features import REGIME_INPUTS  # noqa: E402
from plugins.regime.gated import regime_frame  # noqa: E402


class TimedRegimeLightGBMRegressor(TimedLightGBMRegressor):
    """Stock LightGBM predictions plus ``regime`` and ``confidence`` from the MoE's detector."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.regime_config = load_section(self.config, "regime", RegimeConfig)
        self._detectors: dict[str, tuple[Any, pd.Series]] = {}

    def fit(self, data_dictionary: dict, dk: FreqaiDataKitchen, **kwargs) -> Any:
        model = super().fit(data_dictionary, dk, **kwargs)
        regime_x = regime_frame(_unscaled(dk, data_dictionary["train_features"]))
        regime_x = regime_x[list(REGIME_INPUTS)]
        keep = regime_x.notna().all(axis=1)
        detector = make_detector(self.regime_config.detector).fit(regime_x[keep])
        self._detectors[dk.pair] = (detector, regime_x[keep].median())
        confidence = self._confidence(detector.predict_proba(regime_x[keep])[0])
        _register_output_stats(dk, pd.DataFrame({"confidence": confidence}), replace=True)
        return model

    def _confidence(self, proba: np.ndarray) -> np.ndarray:
        if self.regime_config.mixture.gate == "soft":
            return proba.max(axis=1)
        return np.ones(proba.shape[0])

    def predict(self, unfiltered_df: pd.DataFrame, dk: FreqaiDataKitchen, **kwargs):
        pred_df, do_predict = super().predict(unfiltered_df, dk, **kwargs)
        if dk.pair not in self._detectors:
            raise RuntimeError(f"{dk.pair}: no detector fitted in this run (a model loaded from "
                               "disk); run the bench with a fresh FreqAI identifier")
        detector, fill = self._detectors[dk.pair]
        values = regime_frame(unfiltered_df)[list(REGIME_INPUTS)].reset_index(drop=True)
        values = values.where(values.notna(), fill, axis=1)
        proba, _ = detector.predict_proba(values)
        names = np.asarray(detector.regime_names, dtype=object)
        extras = pd.DataFrame({"regime": pd.array(names[proba.argmax(axis=1)], dtype="str"),
                               "confidence": self._confidence(proba)})
        return pd.concat([pred_df.reset_index(drop=True), extras], axis=1), do_predict
