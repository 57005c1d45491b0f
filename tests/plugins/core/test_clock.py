"""The suite's clock: the wall clock for entry points, a fixed clock that only moves by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from plugins.core.clock import SYSTEM_CLOCK, Clock, FixedClock

T0 = datetime(2024, 3, 6, 15, 30, tzinfo=UTC)


def test_system_clock_when_read_then_utc_and_monotonic_never_goes_back():
    clock: Clock = SYSTEM_CLOCK

    first, again = clock.monotonic(), clock.monotonic()

    assert clock.now().tzinfo is UTC
    assert again >= first


def test_fixed_clock_when_read_twice_then_the_same_time():
    clock = FixedClock(T0)

    assert clock.now() == clock.now() == T0 and clock.monotonic() == 0.0


def test_fixed_clock_when_advanced_then_now_and_monotonic_move_together():
    clock = FixedClock(T0)

    clock.advance(timedelta(minutes=90))
    clock.set(T0 + timedelta(hours=2))

    assert clock.now() == T0 + timedelta(hours=2) and clock.monotonic() == 7200.0


def test_fixed_clock_when_given_another_zone_then_shown_in_utc():
    clock = FixedClock(datetime(2024, 3, 6, 17, 30, tzinfo=timezone(timedelta(hours=2))))

    assert clock.now() == T0 and clock.now().tzinfo is UTC


@pytest.mark.parametrize("move", [lambda c: c.advance(timedelta(seconds=-1)),
                                  lambda c: c.set(T0 - timedelta(days=1))])
def test_fixed_clock_when_moved_back_then_refused(move):
    with pytest.raises(ValueError, match="never goes back"):
        move(FixedClock(T0))


def test_fixed_clock_when_naive_time_then_refused_naming_the_fix():
    with pytest.raises(ValueError, match="tzinfo=UTC"):
        FixedClock(datetime(2024, 3, 6))
