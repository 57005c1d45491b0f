"""The replay clock: maps the wall clock onto the time axis of the recorded candles.

Static mode uses offset 0: recorded candles keep their timestamps and, being historical, are
all closed. Replay mode shifts every candle by ``offset_ms``, a whole number of UTC days, so
candle boundaries of every timeframe up to 1d stay aligned (a 4h candle still opens at
00:00/04:00/...), and the candle recorded at ``replay_start`` is served as if it were "now".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

DAY_MS = 86_400_000


def wall_clock_ms() -> int:
    """Current wall time in ms since the epoch (UTC). The only place that reads the clock."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class ReplayClock:
    """Wall time <-> data time.

    Attributes:
        offset_ms: served timestamp = recorded timestamp + offset_ms (ms; a multiple of one day).
        now_ms: injected wall clock returning ms UTC (tests pass a fixed or stepping clock).
    """

    offset_ms: int = 0
    now_ms: Callable[[], int] = field(default=wall_clock_ms)

    @classmethod
    def for_replay(
        cls, replay_start: datetime, now_ms: Callable[[], int] = wall_clock_ms
    ) -> ReplayClock:
        """Clock whose "now" falls on the UTC day of ``replay_start``, at the wall's time of day.

        Args:
            replay_start: historical UTC time to map onto the present.
            now_ms: wall clock (ms UTC), read once here to fix the offset.
        """
        start_ms = int(replay_start.timestamp() * 1000)
        offset = (now_ms() // DAY_MS - start_ms // DAY_MS) * DAY_MS
        return cls(offset_ms=offset, now_ms=now_ms)

    def data_now_ms(self) -> int:
        """"Now" on the recorded time axis (ms UTC): wall time minus the offset."""
        return self.now_ms() - self.offset_ms

    def to_data(self, served_ms: int) -> int:
        """Served (shifted) timestamp -> recorded timestamp (ms UTC)."""
        return served_ms - self.offset_ms

    def to_served(self, data_ms: int) -> int:
        """Recorded timestamp -> served (shifted) timestamp (ms UTC)."""
        return data_ms + self.offset_ms
