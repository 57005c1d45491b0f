"""The backtest metrics table of seed 000 (stage 5), with its red flags.

| Metric        | What it tells you                 | Red flag                        |
| Win rate      | % of profitable trades            | < 30 % (unless avg R:R >= 3)    |
| Profit factor | gross profit / gross loss         | < 1.5                           |
| Max drawdown  | largest peak-to-trough decline    | > 25 %                          |
| Sharpe ratio  | risk-adjusted return              | < 1.0                           |
| Avg R:R       | average reward vs risk per trade  | < 1.5                           |
| Trade count   | statistical significance          | < 30                            |
| Recovery time | time to recover from max drawdown | > 3 months (91 days) or never   |

Definitions (fractions are fractions; percentages only when printed):
- a trade is a closed round trip (backtrader ``Trade``), its profit net of commission;
  win rate = winners / trades (a zero-profit trade is not a winner);
- profit factor = sum of winners / |sum of losers| (inf with no loser, NaN with no trade);
- max drawdown = max over time of ``1 - equity / running peak`` of the equity curve;
- Sharpe = mean / std (ddof 1) of *daily* equity returns x sqrt(252), risk-free rate 0
  (intraday curves are sampled at each day's last value);
- avg R:R = average winner / |average loser| (the payoff ratio: the reward of a typical win per
  unit of a typical loss, since a generic strategy declares no per-trade risk);
- recovery time = from the peak before the max drawdown to the first time equity is back at
  that peak; "not recovered" when it never is (then measured to the end, and flagged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import backtrader as bt
import numpy as np
import pandas as pd

TRADING_DAYS = 252
RECOVERY_LIMIT = timedelta(days=91)


@dataclass(frozen=True)
class ClosedTradeRecord:
    """One closed round trip: symbol, open/close times (UTC), net profit (USD)."""

    symbol: str
    opened_at: datetime
    closed_at: datetime
    profit: float


@dataclass(frozen=True)
class Metrics:
    """The table's figures (see the module docstring for each definition)."""

    trades: int
    win_rate: float
    profit_factor: float
    max_drawdown_frac: float
    sharpe: float
    avg_rr: float
    recovery: timedelta | None
    recovered: bool
    total_return_frac: float
    start_value: float
    end_value: float


def compute_metrics(trades: list[ClosedTradeRecord], equity: pd.Series) -> Metrics:
    """Metrics of a run from its closed trades and equity curve (index UTC times, values USD)."""
    profits = np.array([t.profit for t in trades], dtype=float)
    wins, losses = profits[profits > 0], profits[profits < 0]
    win_rate = float(len(wins) / len(profits)) if len(profits) else math.nan
    gross_loss = float(-losses.sum())
    profit_factor = (float(wins.sum()) / gross_loss if gross_loss > 0
                     else (math.inf if len(wins) else math.nan))
    avg_rr = (float(wins.mean()) / float(-losses.mean()) if len(wins) and len(losses)
              else (math.inf if len(wins) else math.nan))
    equity = equity.sort_index()
    values = equity.to_numpy(dtype=float)
    peak = np.maximum.accumulate(values) if len(values) else values
    drawdown = 1 - values / peak if len(values) else values
    max_dd = float(drawdown.max()) if len(values) else 0.0
    recovery, recovered = None, True
    if max_dd > 0:
        trough = int(drawdown.argmax())
        peak_at = int(np.flatnonzero(values[: trough + 1] == peak[trough])[-1])
        back = np.flatnonzero(values[trough:] >= peak[trough])
        end = trough + int(back[0]) if len(back) else len(values) - 1
        recovered = bool(len(back))
        recovery = (equity.index[end] - equity.index[peak_at]).to_pytimedelta()
    daily = equity.groupby(pd.DatetimeIndex(equity.index).normalize()).last()
    returns = daily.pct_change().dropna().to_numpy(dtype=float)
    sharpe = (float(returns.mean() / returns.std(ddof=1) * math.sqrt(TRADING_DAYS))
              if len(returns) > 1 and returns.std(ddof=1) > 0 else math.nan)
    start, end_value = (float(values[0]), float(values[-1])) if len(values) else (math.nan, math.nan)
    return Metrics(trades=len(profits), win_rate=win_rate, profit_factor=profit_factor,
                   max_drawdown_frac=max_dd, sharpe=sharpe, avg_rr=avg_rr, recovery=recovery,
                   recovered=recovered, total_return_frac=end_value / start - 1 if len(values) else math.nan,
                   start_value=start, end_value=end_value)


def red_flags(m: Metrics) -> dict[str, bool]:
    """Which metrics raise the seed's red flag (NaN counts as a flag: nothing to trust)."""
    def bad(value: float, test) -> bool:
        return math.isnan(value) or test(value)

    return {
        "win_rate": bad(m.win_rate, lambda v: v < 0.30 and not (m.avg_rr >= 3)),
        "profit_factor": bad(m.profit_factor, lambda v: v < 1.5),
        "max_drawdown": m.max_drawdown_frac > 0.25,
        "sharpe": bad(m.sharpe, lambda v: v < 1.0),
        "avg_rr": bad(m.avg_rr, lambda v: v < 1.5),
        "trade_count": m.trades < 30,
        "recovery_time": (not m.recovered) or (m.recovery is not None and m.recovery > RECOVERY_LIMIT),
    }


def _num(value: float, fmt: str) -> str:
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf"
    return format(value, fmt)


def render_table(m: Metrics, title: str = "") -> str:
    """The metrics table as text, one row per metric with its red-flag rule and verdict."""
    flags = red_flags(m)
    if m.recovery is None:
        recovery = "no drawdown"
    else:
        recovery = f"{m.recovery.days} days" + ("" if m.recovered else " (not recovered)")
    def pct(value: float) -> str:
        return "n/a" if math.isnan(value) else f"{value * 100:.1f} %"

    rows = [("Win rate", pct(m.win_rate), "< 30 % (unless R:R >= 3)", "win_rate"),
            ("Profit factor", _num(m.profit_factor, ".2f"), "< 1.5", "profit_factor"),
            ("Max drawdown", pct(m.max_drawdown_frac), "> 25 %", "max_drawdown"),
            ("Sharpe ratio", _num(m.sharpe, ".2f"), "< 1.0", "sharpe"),
            ("Avg R:R", _num(m.avg_rr, ".2f"), "< 1.5", "avg_rr"),
            ("Trade count", str(m.trades), "< 30", "trade_count"),
            ("Recovery time", recovery, "> 3 months", "recovery_time")]
    lines = [title] if title else []
    lines.append(f"{'Metric':<15}{'Value':>22}   {'Red flag if':<26}Verdict")
    lines.append("-" * 74)
    for name, value, rule, key in rows:
        lines.append(f"{name:<15}{value:>22}   {rule:<26}{'RED FLAG' if flags[key] else 'ok'}")
    lines.append("-" * 74)
    lines.append(f"Total return {pct(m.total_return_frac)} "
                 f"({_num(m.start_value, ',.2f')} -> {_num(m.end_value, ',.2f')} USD); "
                 f"{sum(flags.values())} red flag(s)")
    return "\n".join(lines)


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
