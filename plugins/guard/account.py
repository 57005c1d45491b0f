"""The breakers' ``AccountSnapshot`` of a running Freqtrade strategy.

Equity = starting balance + realized profit of closed trades + unrealized profit of open
trades at the last analyzed close (stake currency). The same calls work in backtesting
(``LocalTrade``) and dry-run/live (the database). The day / week / peak anchors come from
``plugins.risk.account.EquityAnchors``. A NaN / infinite / non-positive last close is refused
here (``AccountError``): it never reaches the rules.
"""

from __future__ import annotations

from datetime import datetime

from freqtrade.persistence import Trade

from plugins.risk.account import AccountError, EquityAnchors
from plugins.risk.breakers import positive_finite
from plugins.risk.snapshot import AccountSnapshot, ClosedTrade


def current_rate(dp, pair: str, timeframe: str, fallback: float) -> float:
    """Close of the last analyzed candle of ``pair`` (``fallback`` when none yet).

    Raises:
        AccountError: that close is NaN, infinite, zero or negative.
    """
    frame, _ = dp.get_analyzed_dataframe(pair, timeframe)
    if not len(frame):
        return fallback
    close = float(frame["close"].iloc[-1])
    if not positive_finite(close):
        raise AccountError(f"{pair}: the last analysed close is {close!r}; open trades "
                           "cannot be valued, so no new entries until a valid candle arrives")
    return close


def account_snapshot(strategy, now: datetime, anchors: EquityAnchors,
                     entry_signals: tuple[int, ...] = ()) -> AccountSnapshot:
    """The account of a running Freqtrade strategy at ``now``.

    Args:
        strategy: the ``IStrategy`` (its ``wallets``, ``dp`` and ``timeframe`` are used).
        now: the bot loop's ``current_time`` (UTC).
        anchors: day / week / peak anchors (updated here).
        entry_signals: entry-signal counts per window (see ``AccountSnapshot``).

    Raises:
        AccountError: a last close, the equity or a stored anchor is garbage (nothing stored).
    """
    open_trades = Trade.get_open_trades()
    unrealized = sum(
        t.calc_profit(current_rate(strategy.dp, t.pair, strategy.timeframe, t.open_rate))
        for t in open_trades)
    equity = (strategy.wallets.get_starting_balance() + Trade.get_total_closed_profit()
              + unrealized)
    day_start, week_start, peak = anchors.update(now, equity)
    return AccountSnapshot(
        now=now, equity=equity, equity_day_start=day_start, equity_week_start=week_start,
        equity_peak=peak, open_positions=len(open_trades), closed_trades=tuple(closed_trades()),
        entry_signals=entry_signals)


def closed_trades(pair: str | None = None) -> list[ClosedTrade]:
    """Closed trades (of ``pair``, or all), oldest first, as the rules read them."""
    trades = (Trade.get_trades_proxy(is_open=False) if pair is None
              else Trade.get_trades_proxy(pair=pair, is_open=False))
    closed = sorted((t for t in trades if t.close_date), key=lambda t: t.close_date_utc)
    return [ClosedTrade(t.pair, t.close_date_utc, float(t.close_profit_abs or 0)) for t in closed]
