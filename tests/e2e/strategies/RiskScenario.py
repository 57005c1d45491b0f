"""RiskScenario: a test strategy that trades often, to drive every breaker in a backtest.

Enters long on every candle whose UTC hour is a multiple of ``ENTRY_EVERY_H`` and exits two
candles later, so real candles produce a steady stream of real wins and losses; the risk
settings of each scenario (``ai_suite.risk``) decide what the guard lets through.
"""

from freqtrade.strategy import IStrategy
from pandas import DataFrame

from plugins.guard import RiskGuardMixin

ENTRY_EVERY_H = 2


class RiskScenario(RiskGuardMixin, IStrategy):
    """Frequent entries and exits; all protection comes from ``RiskGuardMixin``."""

    INTERFACE_VERSION = 3
    timeframe = "1h"
    can_short = False
    minimal_roi = {"0": 10}
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
        dataframe.loc[dataframe["date"].dt.hour % ENTRY_EVERY_H == 1, "exit_long"] = 1
        return dataframe


class RiskScenarioBurst(RiskScenario):
    """One new entry signal a day, except on 2024-03-15, when the signal flaps on and off
    every other candle (a model gone wild): the signal-anomaly breaker's scenario."""

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        hour = dataframe["date"].dt.hour
        burst = (dataframe["date"].dt.strftime("%Y-%m-%d") == "2024-03-15") & (hour % 2 == 0)
        dataframe.loc[(hour == 6) | burst, "enter_long"] = 1
        return dataframe


class RiskScenarioHold(RiskScenario):
    """Enters like RiskScenario but sets no exit signal: open trades only close through the
    guard (``flatten_on_halt``, which needs ``use_exit_signal``) or the end of the backtest."""

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
