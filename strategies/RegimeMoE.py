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
- The training label is ``ai_suite.regime.target`` (:mod:`plugins.regime.targets`), always in
  the ``&-s_close`` column: ``mean_return`` (default: the baseline's label, unchanged),
  ``vol_scaled_return`` (forward return / trailing volatility), ``sign`` (1/0 up move: the
  prediction is a probability, calibrated with ``calibration: isotonic``) or ``triple_barrier``
  (+1/0/-1, López de Prado 2018 ch. 3), over ``freqai.feature_parameters.label_period_candles``.
  Entries and exits compare the prediction with thresholds in the target's units:
  ``target.entry_threshold`` / ``exit_threshold``, else for ``mean_return`` the hyperoptable
  ``entry_threshold``/``exit_threshold`` parameters and for the others
  ``plugins.regime.targets.DEFAULT_THRESHOLDS`` (vol-scaled 0.25 / -0.1, sign 0.55 / 0.45,
  triple barrier 0.2 / -0.1). ``target.weighting: abs_return`` (dollar-profit objective) is
  applied by the model (``RegimeGatedMoE``, ``LightGBMProfitWeighted``).
- Sizing (``ai_suite.regime.sizing``, :mod:`plugins.regime.sizing`): ``fixed`` (default,
  Freqtrade's proposed stake) or ``edge_vol``: ``custom_stake_amount`` scales the proposed
  stake by a volatility target, the predicted edge beyond the entry threshold and a per-regime
  exposure cap, read from the signal candle (``sizing_vol_annual`` column, causal); the risk
  guard caps the stake again after it. An unusable input sizes 0 (no trade, logged).
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

from plugins.altdata.features import ANY_STALE  # noqa: E402
from plugins.core.config import load_section  # noqa: E402
from plugins.regime.config import RegimeConfig  # noqa: E402
from plugins.regime.features import regime_inputs  # noqa: E402
from plugins.regime.gated import FEATURE_PREFIX  # noqa: E402
from plugins.regime.sizing import candles_per_year, stake_multiplier  # noqa: E402
from plugins.regime.targets import make_target, trailing_vol  # noqa: E402
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
        self.target = regime.target
        self.sizing = regime.sizing
        #: the shipped label with the strategy's own thresholds: the baseline's code paths
        self.default_target = (regime.target.kind == "mean_return" and regime.target.entry_threshold
                               is None and regime.target.exit_threshold is None)
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

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """FreqaiAltData's indicators; with ``edge_vol`` sizing also ``sizing_vol_annual``
        (annualised realized volatility of the last ``sizing.vol_window`` candles, fraction)."""
        dataframe = super().populate_indicators(dataframe, metadata)
        if self.sizing.kind != "fixed":
            dataframe["sizing_vol_annual"] = (trailing_vol(dataframe["close"], self.sizing.vol_window)
                                              * candles_per_year(self.timeframe) ** 0.5)
        return dataframe

    def custom_stake_amount(self, pair: str, current_time, current_rate: float,
                            proposed_stake: float, min_stake: float | None, max_stake: float,
                            leverage: float, entry_tag: str | None, side: str,
                            **kwargs) -> float:
        """The proposed stake times :func:`plugins.regime.sizing.stake_multiplier` of the signal
        candle (stake currency, at most ``max_stake``); ``fixed`` sizing returns it unchanged.
        0.0 (no trade, logged) when an input is unusable or the stake falls below ``min_stake``."""
        if self.sizing.kind == "fixed":
            return proposed_stake
        frame, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        if frame is None or frame.empty:
            logger.warning("sizing %s: no analyzed candle; stake 0 (no trade)", pair)
            return 0.0
        last = frame.iloc[-1]
        entry, _ = self.thresholds()
        multiplier, reason = stake_multiplier(
            float(last.get("&-s_close", float("nan"))), float(last.get("sizing_vol_annual", float("nan"))),
            last.get("regime"), entry, 0.5 if self.target.kind == "sign" else 0.0, self.sizing)
        stake = min(max_stake, proposed_stake * multiplier)
        if multiplier <= 0 or (min_stake is not None and stake < min_stake):
            logger.info("sizing %s: stake 0 (no trade): multiplier %.3f (%s), min stake %s",
                        pair, multiplier, reason, min_stake)
            return 0.0
        logger.debug("sizing %s: %.2f of the proposed %.2f (%s)", pair, stake, proposed_stake, reason)
        return stake

    def set_freqai_targets(self, dataframe: DataFrame, metadata: dict, **kwargs) -> DataFrame:
        """``&-s_close``: the ``ai_suite.regime.target`` label (module docstring)."""
        if self.target.kind == "mean_return":
            return super().set_freqai_targets(dataframe, metadata, **kwargs)
        horizon = self.freqai_info["feature_parameters"]["label_period_candles"]
        dataframe["&-s_close"] = make_target(dataframe, self.target, horizon)
        return dataframe

    def thresholds(self) -> tuple[float, float]:
        """``(entry, exit)`` thresholds of the prediction, in the target's units."""
        return self.target.thresholds(self.entry_threshold.value, self.exit_threshold.value)

    def populate_entry_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        """FreqaiAltData's entries (with the target's entry threshold), none in a blocked regime."""
        df = super().populate_entry_trend(df, metadata)
        if not self.default_target:
            entry, _ = self.thresholds()
            signal = (df["do_predict"] == 1) & (df["&-s_close"] > entry) & (df["volume"] > 0)
            if ANY_STALE in df.columns:
                signal &= df[ANY_STALE] != 1
            df["enter_long"], df["enter_tag"] = 0, None
            df.loc[signal, ["enter_long", "enter_tag"]] = (1, f"freqai_{self.target.kind}")
        if "regime" in df.columns:
            blocked = regime_blocked(df["regime"], self.blocked_regimes)
            df.loc[blocked, ["enter_long", "enter_tag"]] = (0, None)
        return df

    def populate_exit_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        """Exit when the prediction falls below the target's exit threshold."""
        if self.default_target:
            return super().populate_exit_trend(df, metadata)
        _, exit_ = self.thresholds()
        df.loc[(df["do_predict"] == 1) & (df["&-s_close"] < exit_),
               ["exit_long", "exit_tag"]] = (1, f"freqai_{self.target.kind}_down")
        return df
