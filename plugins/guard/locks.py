"""The breakers' trips as Freqtrade's own global locks (``pair="*"``).

A lock is stored in Freqtrade's database in dry-run/live (``/locks`` in REST, Telegram and FreqUI
shows it) and kept in memory in backtesting (it ends up in the result file's ``locks``); it
blocks entries in both. Its reason is ``ai_suite:<breaker>: <detail>``
(``plugins.risk.state.lock_reason``), from which :func:`held_trips` reads the trips back: the
lock is the source of truth for a breaker until it ends or, for the kill switch, until a human
resets it (``plugins.guard.killswitch``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from freqtrade.persistence import PairLocks

from plugins.risk.state import (
    KILL_SWITCH_LOCK,
    BreakerTrip,
    TradingState,
    lock_reason,
    lock_trip,
)


def place_lock(trip: BreakerTrip, now: datetime) -> datetime:
    """Lock all pairs for ``trip`` from ``now`` until its ``until`` (the kill switch, whose
    ``until`` is ``None``: ``KILL_SWITCH_LOCK``, ten years); returns that end (UTC).

    Freqtrade rounds a lock's end up to the next candle open strictly after it; one second less
    makes a lock "until 00:00" end at 00:00, not at 01:00.
    """
    until = trip.until or now + KILL_SWITCH_LOCK
    PairLocks.lock_pair("*", until - timedelta(seconds=1),
                        f"{lock_reason(trip.reason)}: {trip.detail}", now=now, side="*")
    return until


def held_trips(now: datetime) -> tuple[BreakerTrip, ...]:
    """The trips the suite's active global locks hold at ``now`` (Freqtrade's locks, in the
    database in dry-run/live), read from their reasons; other locks are ignored."""
    trips = (lock_trip(lock.reason or "", lock.lock_end_time_utc)
             for lock in PairLocks.get_pair_locks("*", now))
    return tuple(t for t in trips if t is not None)


def kill_switch_held(now: datetime) -> bool:
    """HALTED: the kill switch's lock is active at ``now``."""
    return any(t.state == TradingState.HALTED for t in held_trips(now))
