"""The names of the locks that hold a breaker's trip: which trip a lock holds (the lock is the
source of truth for a breaker's state until it ends or a human resets it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from plugins.risk.state import BreakerReason, TradingState, lock_reason, lock_trip

UNTIL = datetime(2024, 3, 21, tzinfo=UTC)


def test_lock_trip_when_kill_switch_lock_then_halted_until_a_human_reset():
    trip = lock_trip("ai_suite:drawdown_kill_switch: drawdown 50.00% >= 15.00%; human reset "
                     "needed", UNTIL)

    assert trip.state == TradingState.HALTED and trip.until is None
    assert trip.reason == BreakerReason.DRAWDOWN_KILL_SWITCH
    assert trip.detail == "locked: drawdown 50.00% >= 15.00%; human reset needed"


def test_lock_trip_when_daily_loss_lock_then_reducing_until_the_lock_ends():
    trip = lock_trip(f"{lock_reason(BreakerReason.DAILY_LOSS)}: day loss 3.10% >= 3.00%", UNTIL)

    assert (trip.state, trip.reason, trip.until) == (TradingState.REDUCING,
                                                      BreakerReason.DAILY_LOSS, UNTIL)


@pytest.mark.parametrize("reason", ["someone else's lock", "", "ai_suite:not_a_breaker: x"])
def test_lock_trip_when_not_a_suite_breaker_lock_then_none(reason):
    assert lock_trip(reason, UNTIL) is None
