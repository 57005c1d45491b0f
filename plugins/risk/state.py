"""The bot's trading state and the typed reason behind every denial.

Modelled on NautilusTrader's risk engine (``TradingState`` ACTIVE / REDUCING / HALTED): one
state per bot, the most severe of what the breakers decide, each with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum


class TradingState(IntEnum):
    """Ordered by severity, so ``max`` of states is the most severe.

    ACTIVE: entries and exits allowed. REDUCING: no new entries, exits allowed.
    HALTED: no entries; exits only as configured (``flatten_on_halt``); needs a human reset.
    """

    ACTIVE = 0
    REDUCING = 1
    HALTED = 2


class BreakerReason(StrEnum):
    """Why a breaker denies entries (the text shown in locks, logs and the journal)."""

    DAILY_LOSS = "daily_loss"
    WEEKLY_LOSS = "weekly_loss"
    DRAWDOWN_KILL_SWITCH = "drawdown_kill_switch"
    LOSING_STREAK = "losing_streak"
    MAX_OPEN_POSITIONS = "max_open_positions"
    SIGNAL_ANOMALY = "signal_anomaly"
    GUARD_ERROR = "guard_error"


@dataclass(frozen=True)
class BreakerTrip:
    """One breaker's verdict: the state it demands, why, and until when.

    Attributes:
        state: REDUCING or HALTED.
        reason: the breaker.
        detail: human-readable figures, e.g. ``"day loss 3.10 % >= 3.00 %"``.
        until: UTC time the trip ends by itself; ``None`` = until a human resets it
            (kill switch) or until the condition clears (open positions).
    """

    state: TradingState
    reason: BreakerReason
    detail: str
    until: datetime | None


@dataclass(frozen=True)
class RiskDecision:
    """All breakers' verdict at one moment: the bot's state and every active trip."""

    state: TradingState
    trips: tuple[BreakerTrip, ...]

    @property
    def allows_entries(self) -> bool:
        """True only when ACTIVE (no breaker tripped)."""
        return self.state == TradingState.ACTIVE

    @property
    def reason(self) -> str:
        """All trip reasons and details, ``;``-joined (empty when ACTIVE)."""
        return "; ".join(f"{t.reason.value}: {t.detail}" for t in self.trips)
