"""Breaker rules: table-driven cases at the thresholds, and properties over random accounts."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.risk.breakers import (
    cap_stake,
    daily_loss,
    drawdown_kill_switch,
    evaluate,
    held_by_locks,
    losing_streak,
    next_iso_week,
    pair_cooldown_until,
    signal_anomaly,
    weekly_loss,
)
from plugins.risk.config import RiskConfig
from plugins.risk.snapshot import AccountSnapshot, ClosedTrade
from plugins.risk.state import BreakerReason, BreakerTrip, TradingState

NOW = datetime(2024, 3, 6, 15, 30, tzinfo=UTC)  # a Wednesday
CFG = RiskConfig()


def snapshot(equity: float = 10_000, day: float = 10_000, week: float = 10_000,
             peak: float = 10_000, **kwargs) -> AccountSnapshot:
    return AccountSnapshot(now=NOW, equity=equity, equity_day_start=day, equity_week_start=week,
                           equity_peak=peak, **kwargs)


@pytest.mark.parametrize(("equity", "tripped"), [(9_701, False), (9_700, True), (9_000, True)])
def test_daily_loss_trips_at_exactly_3_percent_until_next_utc_midnight(equity, tripped):
    trip = daily_loss(snapshot(equity=equity, week=20_000, peak=20_000), CFG)

    assert (trip is not None) == tripped
    if trip:
        assert trip.state == TradingState.REDUCING
        assert trip.until == datetime(2024, 3, 7, tzinfo=UTC)


@pytest.mark.parametrize(("equity", "tripped"), [(9_301, False), (9_300, True)])
def test_weekly_loss_trips_at_exactly_7_percent_until_next_monday(equity, tripped):
    trip = weekly_loss(snapshot(equity=equity, day=equity), CFG)

    assert (trip is not None) == tripped
    if trip:
        assert trip.until == datetime(2024, 3, 11, tzinfo=UTC)


def test_next_iso_week_when_now_is_sunday_night_then_next_day():
    assert next_iso_week(datetime(2024, 3, 10, 23, 59, tzinfo=UTC)) == datetime(2024, 3, 11,
                                                                                  tzinfo=UTC)


@pytest.mark.parametrize(("equity", "tripped"), [(8_501, False), (8_500, True)])
def test_drawdown_kill_switch_halts_at_15_percent_with_no_automatic_end(equity, tripped):
    trip = drawdown_kill_switch(snapshot(equity=equity, day=equity, week=equity), CFG)

    assert (trip is not None) == tripped
    if trip:
        assert trip.state == TradingState.HALTED and trip.until is None


def losses(n: int, last_at: datetime, win_before: bool = True) -> tuple[ClosedTrade, ...]:
    trades = [ClosedTrade("BTC/USDT", last_at - timedelta(hours=n + 1), 5.0)] if win_before else []
    trades += [ClosedTrade("BTC/USDT", last_at - timedelta(hours=n - 1 - i), -1.0)
               for i in range(n)]
    return tuple(trades)


@pytest.mark.parametrize(("n", "tripped"), [(4, False), (5, True)])
def test_losing_streak_pauses_after_5_losses_for_the_pause(n, tripped):
    trip = losing_streak(snapshot(closed_trades=losses(n, NOW - timedelta(hours=1))), CFG)

    assert (trip is not None) == tripped
    if trip:
        assert trip.until == NOW - timedelta(hours=1) + timedelta(minutes=720)


def test_losing_streak_when_pause_over_then_no_trip():
    trades = losses(5, NOW - timedelta(minutes=720))

    assert losing_streak(snapshot(closed_trades=trades), CFG) is None


@pytest.mark.parametrize(("current", "tripped"), [(20, False), (21, True)])
def test_signal_anomaly_trips_above_10x_the_trailing_median(current, tripped):
    trip = signal_anomaly(snapshot(entry_signals=(2, 1, 2, 3, 2, current)), CFG)

    assert (trip is not None) == tripped


def test_evaluate_when_kill_switch_and_daily_loss_then_halted_with_both_reasons():
    decision = evaluate(snapshot(equity=8_000), CFG)

    assert decision.state == TradingState.HALTED and not decision.allows_entries
    assert {t.reason for t in decision.trips} >= {BreakerReason.DRAWDOWN_KILL_SWITCH,
                                                  BreakerReason.DAILY_LOSS}


def test_cooldown_after_loss_is_longer_than_after_win():
    closed = NOW

    assert pair_cooldown_until(closed, -1.0, CFG) == closed + timedelta(minutes=360)
    assert pair_cooldown_until(closed, 1.0, CFG) == closed + timedelta(minutes=180)


money = st.floats(min_value=1, max_value=1e7, allow_nan=False)


@settings(max_examples=300)
@given(proposed=st.floats(min_value=0, max_value=1e9, allow_nan=False), equity=money,
       frac=st.floats(min_value=0.001, max_value=1))
def test_property_stake_never_exceeds_max_position_frac_of_equity(proposed, equity, frac):
    stake, _ = cap_stake(proposed, equity, RiskConfig(max_position_frac=frac))

    assert stake <= equity * frac + 1e-9
    assert stake <= proposed


@settings(max_examples=300)
@given(equity=money, day=money, week=money, peak=money, open_positions=st.integers(0, 10),
       signals=st.lists(st.integers(0, 100), max_size=40))
def test_property_no_decision_is_active_while_any_breaker_condition_holds(
        equity, day, week, peak, open_positions, signals):
    s = AccountSnapshot(now=NOW, equity=equity, equity_day_start=day, equity_week_start=week,
                        equity_peak=peak, open_positions=open_positions,
                        entry_signals=tuple(signals))

    decision = evaluate(s, CFG)

    breached = (1 - equity / day >= CFG.max_daily_loss_frac
                or 1 - equity / week >= CFG.max_weekly_loss_frac
                or 1 - equity / peak >= CFG.max_drawdown_frac
                or open_positions >= CFG.max_open_positions)
    if breached:
        assert decision.state != TradingState.ACTIVE
    assert decision.allows_entries == (not decision.trips)


def _positive_finite(value: float) -> bool:
    return math.isfinite(value) and value > 0


@pytest.mark.parametrize("field", ["equity", "day", "week", "peak"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -10_000.0])
def test_evaluate_when_an_equity_input_is_invalid_then_guard_error_and_no_entries(field, value):
    decision = evaluate(snapshot(**{field: value}), CFG)

    assert decision.state == TradingState.REDUCING and not decision.allows_entries
    [trip] = decision.trips
    assert trip.reason == BreakerReason.GUARD_ERROR and trip.until is None


def test_evaluate_when_a_closed_trade_profit_is_nan_then_guard_error():
    trades = (ClosedTrade("BTC/USDT", NOW - timedelta(hours=1), math.nan),)

    decision = evaluate(snapshot(closed_trades=trades), CFG)

    assert [t.reason for t in decision.trips] == [BreakerReason.GUARD_ERROR]


# Any float at all: NaN, +-inf, negative, zero, subnormal, huge.
anything = st.floats()


@settings(max_examples=1000)
@given(equity=anything, day=anything, week=anything, peak=anything,
       profits=st.lists(anything, max_size=8), open_positions=st.integers(-3, 10),
       signals=st.lists(st.integers(-5, 100), max_size=40))
def test_property_evaluate_never_active_when_any_input_is_invalid(
        equity, day, week, peak, profits, open_positions, signals):
    trades = tuple(ClosedTrade("BTC/USDT", NOW - timedelta(hours=len(profits) - i), p)
                   for i, p in enumerate(profits))
    s = AccountSnapshot(now=NOW, equity=equity, equity_day_start=day, equity_week_start=week,
                        equity_peak=peak, open_positions=open_positions, closed_trades=trades,
                        entry_signals=tuple(signals))

    decision = evaluate(s, CFG)  # never raises, whatever the floats

    invalid = (not all(_positive_finite(v) for v in (equity, day, week, peak))
               or not all(math.isfinite(p) for p in profits)
               or open_positions < 0 or any(n < 0 for n in signals))
    guard_error = BreakerReason.GUARD_ERROR in {t.reason for t in decision.trips}
    assert guard_error == invalid
    if invalid:
        assert decision.state != TradingState.ACTIVE and not decision.allows_entries


KILL_HELD = BreakerTrip(TradingState.HALTED, BreakerReason.DRAWDOWN_KILL_SWITCH,
                        "locked: drawdown 20.00% >= 15.00%; human reset needed", None)


def test_held_by_locks_when_kill_switch_locked_and_drawdown_recovered_then_still_halted():
    recovered = evaluate(snapshot(), CFG)  # no drawdown any more: ACTIVE on its own

    decision = held_by_locks(recovered, (KILL_HELD,))

    assert recovered.state == TradingState.ACTIVE
    assert decision.state == TradingState.HALTED and not decision.allows_entries
    assert decision.trips == (KILL_HELD,)


def test_held_by_locks_when_the_breaker_trips_again_now_then_listed_once():
    tripped = evaluate(snapshot(equity=8_000, day=8_000, week=8_000), CFG)

    decision = held_by_locks(tripped, (KILL_HELD,))

    assert decision == tripped
