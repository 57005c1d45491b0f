"""FreqaiBaseline: the yardstick. A long-only FreqAI strategy on Freqtrade's stock LightGBMRegressor.

The model predicts ``&-s_close``: the mean close over the next ``label_period_candles`` candles
relative to the current close, minus 1 (a fraction, e.g. 0.004 = +0.4 %). The strategy enters
long when the prediction exceeds ``entry_threshold`` and FreqAI trusts the candle
(``do_predict == 1``), and exits when the prediction turns below ``exit_threshold``.

Every feature is a function of the candle and candles before it; only the training target
looks ahead, which is what a label is, and FreqAI computes it on each training window alone.
``freqtrade lookahead-analysis`` reports every FreqAI strategy as biased in 2026.9 because of
one unpredicted candle after each checked signal; ``python -m plugins.research lookahead``
(``plugins/research/lookahead.py``) explains that artifact and checks this strategy without it.
``startup_candle_count`` is raised to what
the multi-timeframe features need to converge (``plugins.core.warmup``), and the features with
running sums are computed window by window (``plugins.core.windowed``), so a backtest and a
dry-run train bit-identical models (``bench/dryrun_parity.py``). Later models (the regime-gated mixture of
experts) are measured against this strategy, so keep it unchanged.
"""

from __future__ import annotations

import logging

import talib.abstract as ta
from freqtrade.strategy import DecimalParameter, IStrategy
from pandas import DataFrame
from technical import qtpylib

from plugins.core.warmup import freqai_startup_candles
from plugins.core.windowed import money_flow_index, window_mean, window_std
from plugins.guard import ExecutionCostMixin, RiskGuardMixin

logger = logging.getLogger(__name__)


class FreqaiBaseline(ExecutionCostMixin, RiskGuardMixin, IStrategy):
    """Long-only FreqAI baseline, guarded by the risk layer's circuit breakers
    (``RiskGuardMixin``, settings under ``ai_suite.risk``), its fills carrying the modelled
    execution costs (``ExecutionCostMixin``, ``ai_suite.costs``; market orders). Columns it adds:

    - ``%-*``: FreqAI features (stationary: ratios, oscillators, returns).
    - ``&-s_close`` (float, fraction): the model's prediction of the mean future return.
    - ``do_predict`` (int, 1 = inside the training distribution): set by FreqAI.
    """

    INTERFACE_VERSION = 3

    timeframe = "1h"
    can_short = False
    process_only_new_candles = True
    use_exit_signal = True
    startup_candle_count: int = 60

    minimal_roi = {"0": 0.06, "720": 0.02, "1440": 0.0}
    stoploss = -0.05
    trailing_stop = False

    entry_threshold = DecimalParameter(0.0, 0.02, decimals=4, default=0.004, space="buy")
    exit_threshold = DecimalParameter(-0.02, 0.0, decimals=4, default=-0.002, space="sell")

    plot_config = {
        "main_plot": {},
        "subplots": {
            "prediction": {"&-s_close": {"color": "blue"}},
            "do_predict": {"do_predict": {"color": "brown"}},
        },
    }

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        needed = freqai_startup_candles(config.get("freqai", {}),
                                        config.get("timeframe", self.timeframe))
        if self.startup_candle_count < needed:
            logger.info("FreqAI features on %s need %d startup candles to converge "
                        "(plugins.core.warmup); raising %s.startup_candle_count from %d",
                        config.get("freqai", {}).get("feature_parameters", {}).get(
                            "include_timeframes"), needed, type(self).__name__,
                        self.startup_candle_count)
            self.startup_candle_count = needed

    def feature_engineering_expand_all(self, dataframe: DataFrame, period: int, metadata: dict,
                                       **kwargs) -> DataFrame:
        """Features expanded over periods, timeframes, shifted candles and correlated pairs."""
        # MFI, Bollinger bands and the volume mean are computed window by window
        # (plugins.core.windowed): TA-Lib's and pandas' running sums would make them depend, in
        # their last bits, on where the data starts, i.e. differ between backtest and dry-run.
        # RSI/ADX/EMA forget their seed within the startup (plugins.core.warmup).
        dataframe["%-rsi-period"] = ta.RSI(dataframe, timeperiod=period)
        dataframe["%-mfi-period"] = money_flow_index(dataframe, period)
        dataframe["%-adx-period"] = ta.ADX(dataframe, timeperiod=period)
        dataframe["%-roc-period"] = ta.ROC(dataframe, timeperiod=period)
        dataframe["%-close_to_ema-period"] = (
            dataframe["close"] / ta.EMA(dataframe, timeperiod=period) - 1)
        # Bollinger bands: mid +/- 2.2 sample standard deviations of the typical price.
        typical = qtpylib.typical_price(dataframe)
        mid, spread = window_mean(typical, period), 2.2 * window_std(typical, period)
        dataframe["%-bb_width-period"] = 2 * spread / mid
        dataframe["%-close_to_bb_lower-period"] = dataframe["close"] / (mid - spread)
        dataframe["%-relative_volume-period"] = (
            dataframe["volume"] / window_mean(dataframe["volume"], period))
        return dataframe

    def feature_engineering_expand_basic(self, dataframe: DataFrame, metadata: dict,
                                         **kwargs) -> DataFrame:
        """Features expanded over timeframes, shifted candles and correlated pairs."""
        dataframe["%-pct_change"] = dataframe["close"].pct_change()
        dataframe["%-range_frac"] = (dataframe["high"] - dataframe["low"]) / dataframe["close"]
        return dataframe

    def feature_engineering_standard(self, dataframe: DataFrame, metadata: dict,
                                     **kwargs) -> DataFrame:
        """Calendar features of the base timeframe (UTC)."""
        dataframe["%-day_of_week"] = dataframe["date"].dt.dayofweek
        dataframe["%-hour_of_day"] = dataframe["date"].dt.hour
        return dataframe

    def set_freqai_targets(self, dataframe: DataFrame, metadata: dict, **kwargs) -> DataFrame:
        """Training label: mean close of the next ``label_period_candles`` / close - 1."""
        horizon = self.freqai_info["feature_parameters"]["label_period_candles"]
        dataframe["&-s_close"] = (
            window_mean(dataframe["close"].shift(-horizon), horizon) / dataframe["close"] - 1)
        return dataframe

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Runs FreqAI (train or load, then predict) on the candles of ``metadata['pair']``."""
        return self.freqai.start(dataframe, metadata, self)

    def populate_entry_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        """Long when the predicted mean return exceeds ``entry_threshold`` (a fraction)."""
        df.loc[
            (df["do_predict"] == 1) & (df["&-s_close"] > self.entry_threshold.value)
            & (df["volume"] > 0),
            ["enter_long", "enter_tag"],
        ] = (1, "freqai_up")
        return df

    def populate_exit_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        """Exit when the predicted mean return falls below ``exit_threshold``."""
        df.loc[
            (df["do_predict"] == 1) & (df["&-s_close"] < self.exit_threshold.value),
            ["exit_long", "exit_tag"],
        ] = (1, "freqai_down")
        return df
