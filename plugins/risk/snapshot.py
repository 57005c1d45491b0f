"""What the breaker rules read: an immutable snapshot of the account at one moment.

The strategy mixin builds it from Freqtrade's wallet and trade database (the same code in
backtesting and dry-run/live); the rules never touch Freqtrade themselves, so they are pure
and testable with plain numbers. Money is in the stake currency; times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ClosedTrade:
    """A closed trade: ``pair``, close time (UTC) and profit in stake currency (< 0 = loss)."""

    pair: str
    closed_at: datetime
    profit_abs: float


@dataclass(frozen=True)
class AccountSnapshot:
    """The account as the rules see it.

    Attributes:
        now: the moment of the snapshot (UTC, tz-aware).
        equity: realized + unrealized account value now (stake currency, > 0).
        equity_day_start: equity at 00:00 UTC of ``now``'s day.
        equity_week_start: equity at Monday 00:00 UTC of ``now``'s ISO week.
        equity_peak: highest equity seen (the kill switch's reference).
        open_positions: trades open now.
        closed_trades: closed trades, oldest first (the losing-streak rule reads the tail).
        entry_signals: entry-signal counts per window of ``signal_window_candles`` candles,
            oldest first; the last one is the current window.
    """

    now: datetime
    equity: float
    equity_day_start: float
    equity_week_start: float
    equity_peak: float
    open_positions: int = 0
    closed_trades: tuple[ClosedTrade, ...] = field(default_factory=tuple)
    entry_signals: tuple[int, ...] = field(default_factory=tuple)
