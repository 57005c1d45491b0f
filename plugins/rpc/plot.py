"""The breaker state as an analysed-dataframe column, for FreqUI's chart.

``risk_state`` per candle = the most severe suite lock (breaker trip) in force at the
candle's close (the newest candle: at analysis time): 0 ACTIVE, 1 REDUCING, 2 HALTED (the
kill switch), from the lock history in Freqtrade's database (lifted locks count until they
were lifted). ``attach`` adds the column
and a ``risk`` subplot to ``plot_config`` in dry-run/live only: in backtesting and
``freqtrade plot-dataframe`` there is no lock history to draw from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

import pandas as pd
from freqtrade.exchange import timeframe_to_minutes
from freqtrade.persistence.pairlock import PairLock
from sqlalchemy import select

from plugins.risk.mixin import LOCK_PREFIX, lock_reason
from plugins.risk.state import BreakerReason, TradingState

COLUMN = "risk_state"
PLOT = {"risk": {COLUMN: {"color": "red", "type": "bar"}}}
_KILL = lock_reason(BreakerReason.DRAWDOWN_KILL_SWITCH)


@dataclass(frozen=True)
class LockSpan:
    """When a suite lock was in force: ``start`` <= t < ``end`` (UTC), and the state."""

    start: datetime
    end: datetime
    state: TradingState


def lock_spans(locks: Sequence[Any], now: datetime) -> list[LockSpan]:
    """Spans of the suite's global locks (``PairLock`` rows, active or lifted). A lifted lock
    counts until its end (a reset sets the end to the reset time); a lifted lock whose end
    still lies in the future was lifted at an unknown time and is left out."""
    spans = []
    for lock in locks:
        reason = lock.reason or ""
        if lock.pair != "*" or not reason.startswith(LOCK_PREFIX):
            continue
        start, end = (pd.Timestamp(t, tz="UTC").to_pydatetime()
                      for t in (lock.lock_time, lock.lock_end_time))
        if not lock.active and end > now:
            continue
        state = TradingState.HALTED if reason.startswith(_KILL) else TradingState.REDUCING
        spans.append(LockSpan(start, end, state))
    return spans


def breaker_state(dates: pd.Series, timeframe: str, spans: Sequence[LockSpan],
                  now: datetime) -> pd.Series:
    """``risk_state`` (int 0/1/2) of candles opening at ``dates`` (UTC), judged at each
    candle's close; the newest candle is judged at ``now`` if later (the state at analysis:
    a breaker that trips in the bot loop after a candle closed shows on that candle)."""
    close = pd.to_datetime(dates, utc=True) + pd.Timedelta(minutes=timeframe_to_minutes(timeframe))
    if len(close):
        close.iloc[-1] = max(close.iloc[-1], pd.Timestamp(now))
    state = pd.Series(0, index=dates.index, name=COLUMN, dtype="int64")
    for span in spans:
        inside = (close >= pd.Timestamp(span.start)) & (close < pd.Timestamp(span.end))
        state = state.mask(inside & (state < int(span.state)), int(span.state))
    return state


def suite_lock_rows() -> list[PairLock]:
    """Every global suite lock in Freqtrade's database (the calling thread's session)."""
    return list(PairLock.session.scalars(select(PairLock).filter(
        PairLock.pair == "*", PairLock.reason.like(f"{LOCK_PREFIX}%"))).all())


def add_breaker_column(strategy: Any, clock: Callable[[], datetime]) -> None:
    """Wrap ``strategy.advise_indicators`` (on the instance, after the risk mixin's own
    wrapper) to append :data:`COLUMN`, and add the ``risk`` subplot to ``plot_config``.
    Runs in the bot thread with the bot's database session."""
    original = strategy.advise_indicators

    @wraps(original)
    def advise_indicators(dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        dataframe = original(dataframe, metadata)
        now = clock()
        spans = lock_spans(suite_lock_rows(), now)
        dataframe[COLUMN] = breaker_state(dataframe["date"], strategy.timeframe, spans, now)
        return dataframe

    strategy.advise_indicators = advise_indicators
    config = dict(strategy.plot_config or {})
    config["subplots"] = {**config.get("subplots", {}), **PLOT}
    strategy.plot_config = config
