"""The breaker state as an analysed-dataframe column, for FreqUI's chart and plot-dataframe.

``risk_state`` per candle = the most severe suite breaker lock in force at the candle's close
(the newest candle: at analysis time): 0 ACTIVE, 1 REDUCING, 2 HALTED (the kill switch).

- Dry-run/live (:func:`live_breaker_column`, built by ``attach``): from the lock history in
  Freqtrade's database (lifted locks count until they were lifted).
- ``freqtrade plot-dataframe`` (:func:`journal_breaker_column`, built by the risk guard in the
  plot run mode): from the breaker trips in the decision journal of the run being plotted: the
  dry-run/live journal with ``--trade-source DB`` (next to ``--db-url``), else the journal of
  the last backtest. A backtest's analysis cannot have the column: breakers trip while trades
  are simulated, after the candles were analysed.

The risk guard (``plugins.guard``) adds the column in its ``advise_indicators`` wrapper
(:meth:`BreakerColumn.add`) and the ``risk`` subplot to ``plot_config`` (:func:`with_risk_subplot`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from freqtrade.enums import RunMode
from freqtrade.exchange import timeframe_to_minutes
from freqtrade.persistence.pairlock import PairLock
from sqlalchemy import select

from plugins.core.clock import Clock, FixedClock
from plugins.risk.journal import DecisionJournal, JournalRow, journal_path
from plugins.risk.state import LOCK_PREFIX, BreakerReason, TradingState, lock_reason

logger = logging.getLogger(__name__)

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


def journal_spans(rows: Sequence[JournalRow]) -> list[LockSpan]:
    """Spans of the breaker trips in decision-journal ``rows`` (oldest first): a trip is in
    force from its time to its ``until``; a kill-switch trip ends earlier at the first
    kill-switch reset after it. Trips without ``until`` (journals before schema 2) are left out."""
    resets = [r.ts for r in rows if r.kind == "reset"
              and r.reason == BreakerReason.DRAWDOWN_KILL_SWITCH.value]
    spans = []
    for row in rows:
        if row.kind != "breaker" or row.decision != "trip" or row.until is None:
            continue
        end = row.until
        if row.reason == BreakerReason.DRAWDOWN_KILL_SWITCH.value:
            end = min([end, *(t for t in resets if t >= row.ts)])
            spans.append(LockSpan(row.ts, end, TradingState.HALTED))
        else:
            spans.append(LockSpan(row.ts, end, TradingState.REDUCING))
    return spans


def plotted_journal(config: dict) -> Path:
    """The journal of the run ``freqtrade plot-dataframe`` draws: the dry-run/live one next
    to ``db_url`` with ``trade_source`` ``DB``, else the backtest's (``journal_path``)."""
    if config.get("trade_source") == "DB":
        mode = RunMode.DRY_RUN if config.get("dry_run") else RunMode.LIVE
    else:
        mode = RunMode.BACKTEST
    return journal_path({**config, "runmode": mode})


class BreakerColumn:
    """:data:`COLUMN` for analysed dataframes, from lock spans read at each analysis.

    Args:
        spans: returns the spans in force (read when a dataframe is analysed).
        clock: the analysis time (the newest candle is judged at it).
    """

    def __init__(self, spans: Callable[[], Sequence[LockSpan]], clock: Clock) -> None:
        self.spans = spans
        self.clock = clock

    def add(self, dataframe: pd.DataFrame, timeframe: str) -> pd.DataFrame:
        """``dataframe`` (Freqtrade candles of ``timeframe``) with :data:`COLUMN` set."""
        dataframe[COLUMN] = breaker_state(dataframe["date"], timeframe, self.spans(),
                                          self.clock.now())
        return dataframe


def live_breaker_column(clock: Clock) -> BreakerColumn:
    """Dry-run/live: the spans of the suite's locks in Freqtrade's database, read in the bot
    thread with the bot's database session."""
    return BreakerColumn(lambda: lock_spans(suite_lock_rows(), clock.now()), clock)


def journal_breaker_column(config: Mapping[str, Any]) -> BreakerColumn:
    """plot-dataframe: the spans of the breaker trips in :func:`plotted_journal` (0 everywhere
    when that journal does not exist), read once."""
    path = plotted_journal(dict(config))
    if path.exists():
        with DecisionJournal(path) as journal:
            spans = journal_spans(journal.query(kind="breaker") + journal.query(kind="reset"))
    else:
        spans = []
    logger.info("Breaker state for the plot: %d breaker spans from %s", len(spans), path)
    return BreakerColumn(lambda: spans, FixedClock(datetime(1970, 1, 1, tzinfo=UTC)))


def with_risk_subplot(plot_config: Mapping[str, Any] | None) -> dict:
    """``plot_config`` with the ``risk`` subplot of :data:`COLUMN` added."""
    config = dict(plot_config or {})
    config["subplots"] = {**config.get("subplots", {}), **PLOT}
    return config
