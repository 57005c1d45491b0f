"""TrendVolTarget: the one-line rule a user would pick instead of the AI (issue 20's yardstick).

Long while the last **daily** close is above the mean of the last 50 daily closes; flat
otherwise. Each position is sized at entry to a 50 % annualized volatility target:
``stake = equity / max_open_trades x min(1, 0.50 / sigma_annual)``, with ``sigma_annual`` the
standard deviation of the last 30 daily log returns x sqrt(365) (crypto trades every day).
No stop loss, no ROI table: the rule exits only when the daily close falls below its mean.

**Candles.** It runs on the suite's 1h candles (like every other strategy of the edge report,
so the same execution-cost model applies with the same windows) and builds the daily series
itself: the daily close of UTC day D is the close of the last candle of D (``date + 1 candle``
falls on the next day), known when that candle closes; every later candle carries it forward
until the next day's close. Nothing after a candle is read, which
``python -m plugins.research lookahead`` (strict) checks (``tests/bench/test_edge_report.py``).

**Costs.** ``ExecutionCostMixin`` (``ai_suite.costs``): market orders filled at the modelled
half-spread + square-root impact + latency, as the FreqAI strategies; fees are Freqtrade's
(``--fee 0.001`` in ``bench/edge_report.py``, the 0.1 % of the rule as stated).

**Why under bench/ and not strategies/.** Every shipped strategy runs behind the risk guard
(``RiskGuardMixin``): its 10 % position cap, RSI / EMA-band / momentum entry gates and
cooldowns would turn this rule into another one (a vol-targeted position of up to 100 % of the
slot is the rule). It is a yardstick for measurement, not a strategy the suite recommends
running unguarded, so it lives beside the other bench strategies. Its columns:

- ``trend_daily_close`` (float, quote currency): the last completed UTC day's close;
- ``trend_daily_mean`` (float): mean of the last ``trend_days`` daily closes;
- ``trend_vol_annual`` (float, fraction): annualized volatility of daily log returns;
- ``trend_on`` (int 0/1): ``trend_daily_close > trend_daily_mean`` with both known.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime

import numpy as np
import pandas as pd
from freqtrade.exchange import timeframe_to_minutes
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from plugins.guard import ExecutionCostMixin

logger = logging.getLogger(__name__)

#: Days of crypto trading per year (annualization of daily volatility).
DAYS_PER_YEAR = 365


def daily_trend_columns(candles: DataFrame, timeframe: str, trend_days: int,
                        vol_days: int) -> DataFrame:
    """The rule's daily inputs on intraday candles, causal (module docstring).

    Args:
        candles: ``date`` (tz-aware UTC candle open) and ``close``, in time order, one row per
            candle of ``timeframe`` (Freqtrade fills gaps).
        timeframe: the candles' timeframe (at most ``1d``).
        trend_days / vol_days: daily closes in the mean; daily log returns in the volatility.

    Returns:
        A frame on ``candles``' index with ``trend_daily_close``, ``trend_daily_mean``,
        ``trend_vol_annual`` (floats, NaN until enough days) and ``trend_on`` (int 0/1).
    """
    step = pd.Timedelta(minutes=timeframe_to_minutes(timeframe))
    day = candles["date"].dt.floor("D")
    day_end = (candles["date"] + step).dt.floor("D") != day
    closes = candles.loc[day_end, "close"].astype("float64")
    mean = closes.rolling(trend_days, min_periods=trend_days).mean()
    vol = np.log(closes).diff().rolling(vol_days, min_periods=vol_days).std() * math.sqrt(
        DAYS_PER_YEAR)
    out = pd.DataFrame({"trend_daily_close": closes, "trend_daily_mean": mean,
                        "trend_vol_annual": vol}).reindex(candles.index).ffill()
    on = (out["trend_daily_close"] > out["trend_daily_mean"]) & out["trend_vol_annual"].gt(0)
    out["trend_on"] = on.astype(int)
    return out


class TrendVolTarget(ExecutionCostMixin, IStrategy):
    """Long above the 50-day mean of daily closes, sized to 50 % annual volatility (module
    docstring). Parameters (class attributes): ``trend_days`` 50, ``vol_days`` 30,
    ``vol_target_annual`` 0.50 (fraction)."""

    INTERFACE_VERSION = 3
    timeframe = "1h"
    can_short = False
    process_only_new_candles = True
    use_exit_signal = True
    minimal_roi = {"0": 100.0}
    stoploss = -0.99
    trailing_stop = False

    trend_days = 50
    vol_days = 30
    vol_target_annual = 0.50
    #: 1h candles of the longest daily look-back plus two days (the first day may be partial)
    startup_candle_count: int = 24 * (50 + 2)

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """The daily columns of :func:`daily_trend_columns`."""
        cols = daily_trend_columns(dataframe, self.timeframe, self.trend_days, self.vol_days)
        for name in cols.columns:
            dataframe[name] = cols[name]
        return dataframe

    def populate_entry_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        """Long while the trend is on (and the candle traded)."""
        df.loc[(df["trend_on"] == 1) & (df["volume"] > 0), ["enter_long", "enter_tag"]] = (
            1, "trend_up")
        return df

    def populate_exit_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        """Exit when the last daily close is at or below its mean."""
        df.loc[(df["trend_on"] == 0) & df["trend_daily_mean"].notna(),
               ["exit_long", "exit_tag"]] = (1, "trend_down")
        return df

    def custom_stake_amount(self, pair: str, current_time: datetime, current_rate: float,
                            proposed_stake: float, min_stake: float | None, max_stake: float,
                            leverage: float, entry_tag: str | None, side: str,
                            **kwargs) -> float:
        """``equity / max_open_trades x min(1, vol_target / sigma_annual)`` (quote currency),
        within ``[min_stake, max_stake]``; 0 (no entry, logged) without a volatility."""
        frame, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        vol = float(frame["trend_vol_annual"].iloc[-1]) if len(frame) else math.nan
        if not math.isfinite(vol) or vol <= 0:
            logger.warning("%s: no daily volatility at %s; no entry", pair, current_time)
            return 0.0
        slots = self.config.get("max_open_trades") or 1
        if slots < 0 or not math.isfinite(slots):
            slots = 1
        equity = self.wallets.get_total_stake_amount() if self.wallets else proposed_stake
        stake = equity / slots * min(1.0, self.vol_target_annual / vol)
        stake = min(stake, max_stake)
        if min_stake is not None and stake < min_stake:
            return 0.0
        return stake
