"""The seed-000 metrics table of an Alpaca/backtrader run: backtrader analyzers that record
the run's closed trades and equity curve, handed to the suite's one metrics module
(:mod:`plugins.research.metrics_table`, Freqtrade's own metric functions; its docstring defines
every figure and red flag). US equities: the Sharpe is annualized over 252 sessions.

- a trade is a closed round trip (backtrader ``Trade``), its profit net of commission;
- the equity curve is the broker's account value after each bar;
- the control is buy-and-hold of the run's symbols, equal weight, over the same bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import backtrader as bt
import pandas as pd

from plugins.research.metrics_table import (
    RECOVERY_LIMIT,
    Metrics,
    buy_and_hold_curve,
    red_flags,
    render_table,
)
from plugins.research.metrics_table import compute_metrics as _compute

TRADING_DAYS = 252
__all__ = ["RECOVERY_LIMIT", "TRADING_DAYS", "ClosedTradeRecord", "EquityRecorder", "Metrics",
           "TradeRecorder", "compute_metrics", "red_flags", "render_table", "strategy_closes"]


@dataclass(frozen=True)
class ClosedTradeRecord:
    """One closed round trip: symbol, open/close times (UTC), net profit (USD)."""

    symbol: str
    opened_at: datetime
    closed_at: datetime
    profit: float


def compute_metrics(trades: list[ClosedTradeRecord], equity: pd.Series,
                    closes: dict[str, pd.Series] | None = None) -> Metrics:
    """Metrics of a run from its closed trades and equity curve (index UTC times, values USD),
    beside buy-and-hold of ``closes`` (symbol -> close Series, UTC) over the curve's window."""
    control, label = None, "no bars given"
    if closes and len(equity):
        control = buy_and_hold_curve(closes, equity.index.min(), equity.index.max(),
                                     float(equity.sort_index().iloc[0]))
        label = f"{len(closes)} symbol(s) equal weight, same bars"
    return _compute([t.profit for t in trades], equity, periods_per_year=TRADING_DAYS,
                    control=control, control_label=label)


def strategy_closes(strategy: bt.Strategy) -> dict[str, pd.Series]:
    """Each data feed's close prices (symbol -> Series, UTC index) of a finished run."""
    out = {}
    for data in strategy.datas:
        n = len(data)
        if not n:
            continue
        times = [bt.num2date(x) for x in data.datetime.get(ago=0, size=n)]
        symbol = str(getattr(data, "symbol", None) or data._name)
        series = pd.Series(list(data.close.get(ago=0, size=n)),
                           index=pd.DatetimeIndex(times).tz_localize("UTC"), dtype=float)
        out[symbol] = series[~series.index.duplicated(keep="last")]
    return out


class TradeRecorder(bt.Analyzer):
    """Closed trades of a run (``get_analysis()``: list of ``ClosedTradeRecord``)."""

    def start(self) -> None:
        self.records: list[ClosedTradeRecord] = []

    def notify_trade(self, trade: bt.Trade) -> None:
        if trade.isclosed:
            symbol = str(getattr(trade.data, "symbol", None) or trade.data._name)
            self.records.append(ClosedTradeRecord(
                symbol, pd.Timestamp(bt.num2date(trade.dtopen), tz="UTC").to_pydatetime(),
                pd.Timestamp(bt.num2date(trade.dtclose), tz="UTC").to_pydatetime(), float(trade.pnlcomm)))

    def get_analysis(self) -> list[ClosedTradeRecord]:
        return self.records


class EquityRecorder(bt.Analyzer):
    """The account value after each bar (``get_analysis()``: Series, UTC index, USD)."""

    def start(self) -> None:
        self.times: list[datetime] = []
        self.values: list[float] = []

    def next(self) -> None:
        self.times.append(self.strategy.datetime.datetime(0))
        self.values.append(float(self.strategy.broker.getvalue()))

    def get_analysis(self) -> pd.Series:
        index = pd.DatetimeIndex(self.times, tz=None).tz_localize("UTC")
        series = pd.Series(self.values, index=index, dtype=float)
        return series[~series.index.duplicated(keep="last")]
