"""TrendHandwritten: the rules of strategies/trees/crypto_regime_trend_v1.yaml, written by hand.

The yardstick of ``bench/compiled_vs_handwritten.py``: what an engineer would write for that
tree in plain Freqtrade style - TA-Lib on the 1h candles and on 4h / 1d informative candles
(``merge_informative_pair``), the alt data merged point-in-time straight from the cache
files, the position rules in ``adjust_trade_position`` / ``custom_stoploss``. It is not
generated and not a parity reference (informative exchange candles start elsewhere than the
compiled strategy's causal resample, so recursive indicators differ in the last digits); it
exists to measure what the compiled strategy's generality costs in backtest time.

Rules: enter on EMA(20) crossing above EMA(50) (1h) with the close above the 4h EMA(50), only
while the daily ADX > 20 and the daily close > daily EMA(50), not with Fear & Greed > 80, BTC
exchange netflow (48h) > 5000 or within 12h of FOMC/CPI; a second 5% batch 6h later while
nothing blocks; stop 3 x ATR(14) below the average entry, trailing 4% once the high is 3% up;
half the position off at +6%; exit on the bearish cross or RSI(4h) > 80.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import talib.abstract as ta
from freqtrade.exchange import timeframe_to_prev_date
from freqtrade.persistence import Trade
from freqtrade.strategy import IStrategy, merge_informative_pair, stoploss_from_absolute
from pandas import DataFrame
from technical import qtpylib

from plugins.altdata.calendar import EventCalendar
from plugins.altdata.config import AltDataConfig
from plugins.altdata.merge import merge_point_in_time
from plugins.core.config import load_section
from plugins.guard import RiskGuardMixin


class TrendHandwritten(RiskGuardMixin, IStrategy):
    """crypto_regime_trend_v1 by hand (see the module docstring)."""

    INTERFACE_VERSION = 3
    timeframe = "1h"
    can_short = False
    process_only_new_candles = True
    use_exit_signal = True
    startup_candle_count: int = 2424  # as the compiled strategy, so both load the same candles
    minimal_roi = {"0": 100.0}
    stoploss = -0.99
    use_custom_stoploss = True
    position_adjustment_enable = True
    max_entry_position_adjustment = 1

    def bot_start(self, **kwargs) -> None:
        cache: Path = load_section(self.config, "altdata", AltDataConfig).cache_dir
        self.fng = pd.read_parquet(cache / "fear_greed.parquet")
        flows = pd.read_parquet(cache / "coinmetrics.parquet")[["netflow_btc", "available_at"]].dropna()
        flows["netflow_48h"] = flows["netflow_btc"].rolling("48h").sum()
        published = flows["available_at"]
        flows["available_at"] = pd.concat([published, published.shift(1)], axis=1).max(axis=1)
        self.netflow = flows[["netflow_48h", "available_at"]]
        self.calendar = EventCalendar.from_dir(cache / "calendar")
        self.cache: dict = {}

    def informative_pairs(self):
        pairs = self.dp.current_whitelist()
        return [(p, tf) for p in pairs for tf in ("4h", "1d")]

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        df = dataframe
        df["ema20"] = ta.EMA(df, timeperiod=20)
        df["ema50"] = ta.EMA(df, timeperiod=50)
        df["atr"] = ta.ATR(df, timeperiod=14)
        h4 = self.dp.get_pair_dataframe(metadata["pair"], "4h")
        h4["ema50"] = ta.EMA(h4, timeperiod=50)
        h4["rsi"] = ta.RSI(h4, timeperiod=14)
        df = merge_informative_pair(df, h4, self.timeframe, "4h", ffill=True)
        d1 = self.dp.get_pair_dataframe(metadata["pair"], "1d")
        d1["adx"] = ta.ADX(d1, timeperiod=14)
        d1["ema50"] = ta.EMA(d1, timeperiod=50)
        df = merge_informative_pair(df, d1, self.timeframe, "1d", ffill=True)
        fng = merge_point_in_time(df, self.fng, timeframe="1h", prefix="fg",
                                  max_staleness=pd.Timedelta(hours=36), columns=["fng_value"])
        flow = merge_point_in_time(df, self.netflow, timeframe="1h", prefix="cm",
                                   max_staleness=pd.Timedelta(days=3), columns=["netflow_48h"])
        df["fng"] = fng["fg_fng_value"]
        df["netflow_48h"] = flow["cm_netflow_48h"]
        close = df["date"] + pd.Timedelta(hours=1)
        df["blackout"] = self.calendar.in_blackout(close, 720, 720, ("FOMC", "CPI")).to_numpy()
        return df

    def populate_entry_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        regime = (df["adx_1d"] > 20) & (df["close_1d"] > df["ema50_1d"])
        blocked = ~regime | ~(df["fng"] <= 80) | ~(df["netflow_48h"] <= 5000) | df["blackout"]
        blocked |= df["atr"].isna()
        df["blocked"] = blocked
        signal = qtpylib.crossed_above(df["ema20"], df["ema50"]) & (df["close"] > df["ema50_4h"])
        df.loc[signal & ~blocked, ["enter_long", "enter_tag"]] = (1, "trend")
        return df

    def populate_exit_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        exit_ = qtpylib.crossed_below(df["ema20"], df["ema50"]) | (df["rsi_4h"] > 80)
        df["exit_signal"] = exit_
        df.loc[exit_ & (df.get("enter_long", 0) != 1), "exit_long"] = 1
        return df

    def custom_stake_amount(self, pair: str, current_time: datetime, current_rate: float,
                            proposed_stake: float, min_stake: float | None, max_stake: float,
                            leverage: float, entry_tag: str | None, side: str, **kwargs) -> float:
        return min(0.05 * self.wallets.get_total_stake_amount(), max_stake)

    def _last(self, trade: Trade) -> dict | None:
        df, _ = self.dp.get_analyzed_dataframe(trade.pair, self.timeframe)
        if df["date"].iat[-1] < timeframe_to_prev_date(self.timeframe, trade.open_date_utc):
            return None
        return {c: df[c].iat[-1] for c in ("high", "blocked", "exit_signal")}

    def adjust_trade_position(self, trade: Trade, current_time: datetime, current_rate: float,
                              current_profit: float, min_stake: float | None, max_stake: float,
                              current_entry_rate: float, current_exit_rate: float,
                              current_entry_profit: float, current_exit_profit: float, **kwargs):
        row = self._last(trade)
        if row is None:
            return None
        entries = trade.select_filled_orders(trade.entry_side)
        average = np.mean([o.safe_price for o in entries])
        sold = trade.nr_of_successful_exits > 0
        if not sold and row["high"] >= average * 1.06:
            return -trade.stake_amount * 0.5, "take_profit_1"
        if (not sold and len(entries) < 2 and not row["blocked"] and not row["exit_signal"]
                and current_time - entries[-1].order_filled_utc >= timedelta(hours=6)):
            return min(0.05 * self.wallets.get_total_stake_amount(), max_stake), "add"
        return None

    def custom_stoploss(self, pair: str, trade: Trade, current_time: datetime, current_rate: float,
                        current_profit: float, after_fill: bool, **kwargs) -> float | None:
        entries = trade.select_filled_orders(trade.entry_side)
        average = np.mean([o.safe_price for o in entries])
        df, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        key = (trade.id, len(entries))
        if key not in self.cache:
            signal = timeframe_to_prev_date(self.timeframe, entries[-1].order_filled_utc) - timedelta(hours=1)
            self.cache[key] = float(df.loc[df["date"] == signal, "atr"].iloc[-1])
        stop = average - 3 * self.cache[key]
        first = df["date"].searchsorted(timeframe_to_prev_date(self.timeframe, trade.open_date_utc))
        highs = df["high"].to_numpy()[first:]
        highest = max(entries[0].safe_price, highs.max() if len(highs) else 0.0)
        if highest >= average * 1.03:
            stop = max(stop, highest * 0.96)
        base = max(current_rate, trade.open_rate) if after_fill else current_rate
        return max(stoploss_from_absolute(stop, base, is_short=False), 1e-9)

    def custom_exit(self, pair: str, trade: Trade, current_time: datetime, current_rate: float,
                    current_profit: float, **kwargs):
        row = self._last(trade)
        if row is not None and row["exit_signal"]:
            return "exit_signal"
        return None
