"""Building the breakers' ``AccountSnapshot`` from Freqtrade, and the equity anchors.

Equity = starting balance + realized profit of closed trades + unrealized profit of open
trades at the last analyzed close (stake currency). The same calls work in backtesting
(``LocalTrade``) and dry-run/live (the database). The day / week anchors are the equity at
the first bot loop of each UTC day / ISO week (Freqtrade loops every few seconds live and
once per candle in backtesting, so that is 00:00 UTC to within one candle); the peak is the
highest equity seen. Anchors persist in the decision journal's state table, so a restart
neither forgets the kill switch's peak nor restarts the day's loss count.
"""

from __future__ import annotations

import json
from datetime import datetime

from freqtrade.persistence import Trade

from plugins.risk.snapshot import AccountSnapshot, ClosedTrade

PEAK_KEY = "equity_peak"
DAY_KEY = "equity_day_anchor"
WEEK_KEY = "equity_week_anchor"


class EquityAnchors:
    """Day start, week start and peak equity, kept in a key/value ``state`` store.

    Args:
        state: an object with ``get_state(key) -> str | None`` and ``set_state(key, value)``
            (the ``DecisionJournal``).
    """

    def __init__(self, state) -> None:
        self.state = state

    def _anchor(self, key: str, period: str, equity: float) -> float:
        raw = self.state.get_state(key)
        anchor = json.loads(raw) if raw else None
        if anchor is None or anchor["period"] != period:
            anchor = {"period": period, "equity": equity}
            self.state.set_state(key, json.dumps(anchor))
        return float(anchor["equity"])

    def update(self, now: datetime, equity: float) -> tuple[float, float, float]:
        """Record ``equity`` at ``now``; returns (day start, week start, peak) equity."""
        year, week, _ = now.isocalendar()
        day_start = self._anchor(DAY_KEY, now.strftime("%Y-%m-%d"), equity)
        week_start = self._anchor(WEEK_KEY, f"{year}-W{week:02d}", equity)
        raw_peak = self.state.get_state(PEAK_KEY)  # "" after a kill-switch reset: re-base
        peak = max(float(raw_peak), equity) if raw_peak else equity
        if not raw_peak or peak != float(raw_peak):
            self.state.set_state(PEAK_KEY, repr(peak))
        return day_start, week_start, peak


def current_rate(dp, pair: str, timeframe: str, fallback: float) -> float:
    """Close of the last analyzed candle of ``pair`` (``fallback`` when none yet)."""
    frame, _ = dp.get_analyzed_dataframe(pair, timeframe)
    return float(frame["close"].iloc[-1]) if len(frame) else fallback


def account_snapshot(strategy, now: datetime, anchors: EquityAnchors,
                     entry_signals: tuple[int, ...] = ()) -> AccountSnapshot:
    """The account of a running Freqtrade strategy at ``now``.

    Args:
        strategy: the ``IStrategy`` (its ``wallets``, ``dp`` and ``timeframe`` are used).
        now: the bot loop's ``current_time`` (UTC).
        anchors: day / week / peak anchors (updated here).
        entry_signals: entry-signal counts per window (see ``AccountSnapshot``).
    """
    open_trades = Trade.get_open_trades()
    unrealized = sum(
        t.calc_profit(current_rate(strategy.dp, t.pair, strategy.timeframe, t.open_rate))
        for t in open_trades)
    equity = (strategy.wallets.get_starting_balance() + Trade.get_total_closed_profit()
              + unrealized)
    day_start, week_start, peak = anchors.update(now, equity)
    closed = sorted((t for t in Trade.get_trades_proxy(is_open=False) if t.close_date),
                    key=lambda t: t.close_date_utc)
    return AccountSnapshot(
        now=now, equity=equity, equity_day_start=day_start, equity_week_start=week_start,
        equity_peak=peak, open_positions=len(open_trades),
        closed_trades=tuple(ClosedTrade(t.pair, t.close_date_utc, float(t.close_profit_abs or 0))
                            for t in closed),
        entry_signals=entry_signals)
