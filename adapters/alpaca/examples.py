"""A hand-written backtrader strategy for US equities, to run the adapter end to end before
(and beside) strategies compiled from trees.

``RsiMeanReversion`` is the classic short-term mean reversion of index ETFs (Connors' RSI(2)):
long when the 2-period RSI is below ``rsi_entry`` while the close is above its 200-bar SMA
(buy dips in an uptrend), exit when the close rises above its 5-bar SMA or after
``max_hold_bars``. Size: ``stake_frac`` of the account value per entry, at the signal bar's
close (the risk guard may shrink or refuse it). Long only, one position per symbol.

    python -m adapters.alpaca backtest --strategy adapters.alpaca.examples:RsiMeanReversion \
        --symbols SPY QQQ --start 2021-02-18 --end 2026-02-14
"""

from __future__ import annotations

import backtrader as bt


class RsiMeanReversion(bt.Strategy):
    """RSI(2) dip buying above the 200-bar SMA (module docstring)."""

    params = (
        ("rsi_period", 2),
        ("rsi_entry", 10.0),
        ("trend_period", 200),
        ("exit_period", 5),
        ("max_hold_bars", 10),
        ("stake_frac", 0.10),
    )

    def __init__(self) -> None:
        self.ind = {}
        for data in self.datas:
            self.ind[data] = {
                "rsi": bt.indicators.RSI(data.close, period=self.p.rsi_period, safediv=True),
                "trend": bt.indicators.SMA(data.close, period=self.p.trend_period),
                "exit": bt.indicators.SMA(data.close, period=self.p.exit_period),
            }
        self.held_since: dict = {}
        self.pending: dict = {}

    def notify_order(self, order: bt.Order) -> None:
        if not order.alive():
            self.pending.pop(order.data, None)

    def next(self) -> None:
        for data in self.datas:
            if data in self.pending or len(data) < self.p.trend_period:
                continue
            ind = self.ind[data]
            position = self.getposition(data).size
            if position > 0:
                held = len(data) - self.held_since.get(data, len(data))
                if data.close[0] > ind["exit"][0] or held >= self.p.max_hold_bars:
                    self.pending[data] = self.close(data=data)
            elif ind["rsi"][0] < self.p.rsi_entry and data.close[0] > ind["trend"][0]:
                size = self.broker.getvalue() * self.p.stake_frac / data.close[0]
                self.pending[data] = self.buy(data=data, size=size)
                self.held_since[data] = len(data)
