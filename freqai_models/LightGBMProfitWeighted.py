"""LightGBMProfitWeighted: Freqtrade's stock LightGBMRegressor with the dollar-profit objective.

The same model, parameters (``freqai.model_training_parameters``) and pipelines as
``LightGBMRegressor``; only the training rows' sample weights change: FreqAI's
``train_weights`` (its time decay, ``weight_factor``) times ``|label| / mean |label|`` of the
first target in its own units (:func:`plugins.regime.targets.profit_weights`), so a row where
the price moved a lot counts more than one where it barely moved (issue 20, seed 004). It is
the single-model baseline for ``ai_suite.regime.target.weighting: abs_return`` of
``RegimeGatedMoE``; use it with a return target (``mean_return`` / ``vol_scaled_return``):
``--freqaimodel LightGBMProfitWeighted`` (``freqaimodel_path: freqai_models/``). The
evaluation rows (``test_weights``) keep FreqAI's weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen
from freqtrade.freqai.prediction_models.LightGBMRegressor import LightGBMRegressor

from plugins.regime.targets import profit_weights


class LightGBMProfitWeighted(LightGBMRegressor):
    """``LightGBMRegressor`` fitted with dollar-profit sample weights (module docstring)."""

    def fit(self, data_dictionary: dict, dk: FreqaiDataKitchen, **kwargs) -> Any:
        """FreqAI's fit with ``train_weights`` multiplied by ``|label| / mean |label|``.

        Raises:
            ValueError: a training label is NaN or inf (FreqAI drops those rows first).
        """
        unscaled, _, _ = dk.label_pipeline.inverse_transform(data_dictionary["train_labels"])
        weighted = dict(data_dictionary)
        weighted["train_weights"] = profit_weights(np.asarray(unscaled.iloc[:, 0], dtype=np.float64),
                                                   data_dictionary["train_weights"])
        return super().fit(weighted, dk, **kwargs)
