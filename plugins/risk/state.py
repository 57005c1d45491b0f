"""The bot's trading state, the typed reason behind every denial, and the names of the locks
that hold a breaker's trip.

Modelled on NautilusTrader's risk engine (``TradingState`` ACTIVE / REDUCING / HALTED): one
state per bot, the most severe of what the breakers decide, each with a reason. A trip is held
by a lock named ``ai_suite:<breaker>: <detail>`` (:func:`lock_reason`; Freqtrade's global lock in
``plugins.guard``, the Alpaca guard's own lock store) until it ends or, for the kill switch,
until a human resets it; :func:`lock_trip` reads the trip back from the lock's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

#: Prefix of every lock the suite places (what tells its locks from anyone else's).
LOCK_PREFIX = "ai_suite:"
#: How long the kill switch's lock lasts: ten years, i.e. until a human resets it.
KILL_SWITCH_LOCK = timedelta(days=3650)


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


def lock_reason(reason: BreakerReason) -> str:
    """The lock reason prefix of a breaker, e.g. ``ai_suite:daily_loss``."""
    return f"{LOCK_PREFIX}{reason.value}"


def lock_trip(reason: str, until: datetime | None) -> BreakerTrip | None:
    """The trip a suite lock holds, from its reason text (``ai_suite:<breaker>: <detail>``):
    HALTED for the kill switch (``until`` None: a human resets it), REDUCING for the others
    (until the lock ends). ``None`` for a lock that is not the suite's."""
    if not reason.startswith(LOCK_PREFIX):
        return None
    name, _, detail = reason.removeprefix(LOCK_PREFIX).partition(":")
    try:
        breaker = BreakerReason(name.strip())
    except ValueError:
        return None
    if breaker == BreakerReason.DRAWDOWN_KILL_SWITCH:
        return BreakerTrip(TradingState.HALTED, breaker, f"locked: {detail.strip()}", None)
    return BreakerTrip(TradingState.REDUCING, breaker, f"locked: {detail.strip()}", until)
