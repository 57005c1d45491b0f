"""CostProbe: a test strategy whose every fill is at a candle's open, in four sizes.

Enters long on candles whose UTC hour is a multiple of ``ENTRY_EVERY_H`` and exits on the
candle ``HOLD_H`` hours later by an exit signal (no ROI, no stop), so Freqtrade proposes the
next candle's open for every order. Stakes grow with the hour (500, 2 000, 8 000, 32 000
USDT) so the square-root impact shows at several sizes. Execution costs come from
``ExecutionCostMixin`` (``ai_suite.costs``), nothing else guards it.
"""

from datetime import datetime

from freqtrade.strategy import IStrategy
from pandas import DataFrame

from plugins.guard.costs import ExecutionCostMixin

ENTRY_EVERY_H = 6
HOLD_H = 3


class CostProbe(ExecutionCostMixin, IStrategy):
    """Fixed-schedule entries and exits with size-dependent stakes."""

    INTERFACE_VERSION = 3
    timeframe = "1h"
    can_short = False
    minimal_roi = {"0": 100}
    stoploss = -0.99
    use_exit_signal = True
    startup_candle_count = 0
    process_only_new_candles = True

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["date"].dt.hour % ENTRY_EVERY_H == 0, "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["date"].dt.hour % ENTRY_EVERY_H == HOLD_H, "exit_long"] = 1
        return dataframe

    def custom_stake_amount(self, pair: str, current_time: datetime, current_rate: float,
                            proposed_stake: float, min_stake: float | None, max_stake: float,
                            leverage: float, entry_tag: str | None, side: str,
                            **kwargs) -> float:
        return min(500.0 * 4 ** (current_time.hour // ENTRY_EVERY_H), max_stake)
