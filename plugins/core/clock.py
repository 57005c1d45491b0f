"""The one clock of the suite: injected wherever logic needs "now", never read from the wall.

Logic takes a :class:`Clock` (or a ``now`` value) and asks it; only entry points (a CLI's
``main``, a strategy's or a bot's start, a server) create the wall clock, :data:`SYSTEM_CLOCK`.
Tests pass a :class:`FixedClock` and move it by hand (NautilusTrader's ``TestClock`` idea), so no
test waits for or depends on the wall. ``adapters.replay_exchange.clock.ReplayClock`` maps a
clock's wall time onto recorded candles.

Times are tz-aware UTC ``datetime``; durations measured with :meth:`Clock.monotonic` are
seconds (a float) that never go back, for timeouts and intervals only (not for timestamps).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What logic asks for the time."""

    def now(self) -> datetime:
        """The current time, tz-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (only differences mean something)."""
        ...


class SystemClock:
    """The wall clock in UTC (``datetime.now(UTC)``, ``time.monotonic()``). Created by entry
    points only; everything else receives it."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def __repr__(self) -> str:
        return "SystemClock()"


#: The wall clock, for entry points.
SYSTEM_CLOCK = SystemClock()


@dataclass
class FixedClock:
    """A clock that stands still until moved: ``now()`` is :attr:`at`, ``monotonic()`` the
    seconds :meth:`advance` has moved it (tests, replays, a bot loop's ``current_time``).

    Args:
        at: the time it shows (tz-aware; converted to UTC).

    Raises:
        ValueError: ``at`` is naive (a time without a zone is ambiguous; say UTC).
    """

    at: datetime
    elapsed_s: float = 0.0

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError(f"FixedClock needs a tz-aware time, got {self.at!r}; pass "
                             "tzinfo=UTC")
        self.at = self.at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.elapsed_s

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` (>= 0); returns the new time.

        Raises:
            ValueError: ``delta`` is negative (a clock never goes back).
        """
        if delta < timedelta(0):
            raise ValueError(f"a clock never goes back: advance({delta})")
        self.at += delta
        self.elapsed_s += delta.total_seconds()
        return self.at

    def set(self, at: datetime) -> None:
        """Show ``at`` from now on (not before the time shown now)."""
        self.advance(at.astimezone(UTC) - self.at)
