"""RiskGuardMixin on a real strategy in backtesting mode (``conftest.GuardBot``): trips become
Freqtrade locks with the reason and are journaled once, the kill switch holds until a human
reset, garbage fails closed and recovers, stakes are capped, signals are journaled once."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from freqtrade.persistence import PairLocks

from plugins.core.config import SuiteConfigError
from plugins.risk.state import TradingState
from tests.plugins.guard.conftest import PAIR, GuardedStrategy, candles

DAY = datetime(2024, 3, 6, tzinfo=UTC)
NOON = DAY + timedelta(hours=12)
QUIET = {"blackout_before_min": 0, "blackout_after_min": 0, "gates": {"enabled": False}}


def test_bot_loop_when_day_loss_reaches_the_limit_then_global_lock_until_midnight_journaled_once(
        make_bot):
    bot = make_bot(risk=QUIET)
    bot.loop(DAY, 10_000.0)

    bot.loop(NOON, 9_700.0)
    bot.loop(NOON + timedelta(hours=1), 9_650.0)

    [lock] = PairLocks.get_pair_locks("*", NOON)
    assert lock.reason.startswith("ai_suite:daily_loss: day loss 3.00% >= 3.00%")
    assert lock.lock_end_time_utc == DAY + timedelta(days=1)
    [trip] = bot.rows(kind="breaker")
    assert (trip.decision, trip.reason, trip.until) == ("trip", "daily_loss", DAY + timedelta(days=1))
    assert bot.strategy.risk_decision.state == TradingState.REDUCING


def test_custom_exit_when_kill_switch_locked_then_flattens_even_after_the_drawdown_recovers(
        make_bot):
    bot = make_bot(risk={**QUIET, "flatten_on_halt": True})
    trade = bot.open_trade("ETH/USDT", DAY)
    bot.loop(DAY, 10_000.0)
    bot.loop(NOON, 8_400.0)  # 16 % below the peak: the kill switch

    bot.loop(NOON + timedelta(days=2), 9_900.0)  # recovered: the lock still holds
    exit_reason = bot.strategy.custom_exit(pair="ETH/USDT", trade=trade,
                                           current_time=NOON + timedelta(days=2),
                                           current_rate=100.0, current_profit=0.0)

    assert exit_reason == "risk_halted_flatten"
    assert bot.strategy.risk_decision.state == TradingState.HALTED


def test_bot_loop_when_equity_is_nan_then_fails_closed_and_recovers_with_a_clear_row(make_bot):
    bot = make_bot(risk=QUIET)
    bot.loop(DAY, 10_000.0)
    bot.analysed(NOON)

    bot.loop(NOON, math.nan)
    denied = not bot.confirm(NOON)
    bot.loop(NOON + timedelta(hours=1), 10_000.0)

    assert denied
    assert [(r.decision, r.reason) for r in bot.rows(kind="breaker")] == [
        ("trip", "guard_error"), ("clear", "guard_error")]
    assert bot.strategy.risk_decision.state == TradingState.ACTIVE
    assert bot.confirm(NOON + timedelta(hours=1))


def test_custom_stake_amount_when_above_max_position_frac_then_capped_and_journaled(make_bot):
    bot = make_bot(risk={**QUIET, "max_position_frac": 0.10})
    bot.loop(NOON, 10_000.0)

    stake = bot.strategy.custom_stake_amount(
        pair=PAIR, current_time=NOON, current_rate=100.0, proposed_stake=2_500.0, min_stake=None,
        max_stake=10_000.0, leverage=1.0, entry_tag=None, side="long")

    assert stake == pytest.approx(1_000.0)
    [row] = bot.rows(kind="stake")
    assert (row.decision, row.reason, row.stake) == ("clamp", "max_position_frac", 1_000.0)


def test_custom_stake_amount_when_canary_stage_then_scaled_by_canary_stake_frac(make_bot):
    bot = make_bot(risk=QUIET, stages={"enabled": True, "initial": "canary",
                                       "canary_stake_frac": 0.25})
    bot.loop(NOON, 10_000.0)

    stake = bot.strategy.custom_stake_amount(
        pair=PAIR, current_time=NOON, current_rate=100.0, proposed_stake=400.0, min_stake=None,
        max_stake=10_000.0, leverage=1.0, entry_tag=None, side="long")

    assert stake == pytest.approx(100.0)
    assert [r.decision for r in bot.rows(kind="stake")] == ["scale"]


def test_advise_entry_when_analysed_twice_then_each_signal_journaled_once(make_bot):
    bot = make_bot(risk=QUIET)
    frame = candles(NOON, n=6)
    frame.loc[[2, 4], "close"] = 101.0  # two entry signals (close > open)

    for _ in range(2):
        bot.strategy.advise_entry(frame.copy(), {"pair": PAIR})

    rows = bot.rows(kind="signal")
    assert [(r.decision, r.reason, r.pair) for r in rows] == [("enter", "enter_long", PAIR)] * 2
    assert all(r.features_hash for r in rows)


def test_init_when_gates_enabled_then_startup_candles_raised_to_what_they_need(make_bot):
    bot = make_bot(risk={"blackout_before_min": 0, "blackout_after_min": 0})

    assert bot.strategy.startup_candle_count == bot.risk.gates.required_startup()


def test_bot_start_when_flatten_on_halt_without_exit_signals_then_refused_naming_the_fix(
        make_bot, monkeypatch):
    monkeypatch.setattr(GuardedStrategy, "use_exit_signal", False)

    with pytest.raises(SuiteConfigError, match="use_exit_signal = True"):
        make_bot(risk={**QUIET, "flatten_on_halt": True})


def test_init_when_risk_section_invalid_then_error_names_the_field(make_bot):
    with pytest.raises(SuiteConfigError, match=r"ai_suite\.risk\.max_daily_loss_frac"):
        make_bot(risk={"max_daily_loss_frac": 2})
