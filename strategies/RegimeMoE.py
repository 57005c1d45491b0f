"""RegimeMoE: the alt-data FreqAI strategy on the regime-gated mixture of experts.

Run with ``--freqaimodel RegimeGatedMoE`` (``config/base.json`` does). Same label, entries,
exits and alternative-data features as ``FreqaiAltData``; in addition:

- ``feature_engineering_standard`` adds the regime inputs (``plugins.regime.features``:
  ``ret``, ``vol``, ``downside_vol``, ``adx``, ``ema_slope`` over ``ai_suite.regime.input_window``
  candles) as ``%-regime_<input>`` features: the detector reads them raw, the experts scaled.
- Entries are gated by regime: no long entry where the regime name matches a pattern of
  ``ai_suite.risk.gates.blocked_regimes`` (default ``*bear*``, ``high_vol*``, ``volatile*``). The
  risk guard checks the same patterns again in ``confirm_trade_entry`` with the other gates,
  and its confidence gate reads the model's ``confidence`` column.
- ``plot_config`` shows the regime, its probabilities, the gate weights and the per-expert
  predictions (FreqUI and ``freqtrade plot-dataframe``).

Columns from the model are documented in ``freqai_models/RegimeGatedMoE.py``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from pandas import DataFrame

sys.path.insert(0, str(Path(__file__).resolve().parent))

from FreqaiAltData import FreqaiAltData  # noqa: E402  (sibling strategy file)

from plugins.core.config import load_section  # noqa: E402
from plugins.regime.config import RegimeConfig  # noqa: E402
from plugins.regime.features import regime_inputs  # noqa: E402
from plugins.regime.gated import FEATURE_PREFIX  # noqa: E402
from plugins.risk.gates import regime_blocked  # noqa: E402

logger = logging.getLogger(__name__)

COLORS = ("green", "gold", "red", "purple", "blue", "brown")


def regime_plot_config(n_regimes: int) -> dict:
    """``plot_config`` for ``n_regimes`` regimes: prediction and experts, regime label and
    confidence, probabilities, gate weights, and the main alternative-data series."""
    palette = [COLORS[k % len(COLORS)] for k in range(n_regimes)]
    return {
        "main_plot": {},
        "subplots": {
            "prediction": {"&-s_close": {"color": "blue"},
                           **{f"expert_pred_{k}": {"color": palette[k]} for k in range(n_regimes)}},
            "regime": {"regime_label": {"color": "black", "type": "bar"},
                       "confidence": {"color": "grey"}},
            "regime probabilities": {f"regime_prob_{k}": {"color": palette[k]}
                                     for k in range(n_regimes)},
            "gate weights": {f"gate_weight_{k}": {"color": palette[k]} for k in range(n_regimes)},
            "on-chain / sentiment": {"coinmetrics_netflow_z30": {"color": "green"},
                                     "fear_greed_fng": {"color": "purple"}},
            "macro": {"fred_vixcls_level": {"color": "red"}},
        },
    }


class RegimeMoE(FreqaiAltData):
    """FreqaiAltData on ``RegimeGatedMoE`` with regime-gated entries (module docstring)."""

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        regime = load_section(config, "regime", RegimeConfig)
        self.regime_window = regime.input_window
        self.blocked_regimes = self.risk_config.gates.blocked_regimes  # the risk guard's section
        self.plot_config = regime_plot_config(regime.n_regimes())

    def feature_engineering_standard(self, dataframe: DataFrame, metadata: dict,
                                     **kwargs) -> DataFrame:
        """FreqaiAltData's features plus the raw regime inputs as ``%-regime_<input>``."""
        dataframe = super().feature_engineering_standard(dataframe, metadata, **kwargs)
        inputs = regime_inputs(dataframe, window=self.regime_window)
        for name in inputs.columns:
            dataframe[f"{FEATURE_PREFIX}{name}"] = inputs[name]
        return dataframe

    def populate_entry_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        """FreqaiAltData's entries, none in a blocked regime."""
        df = super().populate_entry_trend(df, metadata)
        if "regime" in df.columns:
            blocked = regime_blocked(df["regime"], self.blocked_regimes)
            df.loc[blocked, ["enter_long", "enter_tag"]] = (0, None)
        return df
