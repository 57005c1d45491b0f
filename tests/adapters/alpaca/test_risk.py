"""The suite's risk rules on backtrader runs: same breakers, config and journal as on crypto,
enforced in the broker (backtests on real SPY bars, and a paper session)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import backtrader as bt
import pytest

from adapters.alpaca.config import AlpacaConfig, AlpacaRunConfig
from adapters.alpaca.nyse import MarketCalendar
from adapters.alpaca.pdt import DayTradeCounter
from adapters.alpaca.risk import LOCKS_KEY, PdtSettings, RiskGuard, reset_kill_switch
from adapters.alpaca.runner import BUNDLE_CALENDAR, run_backtest
from adapters.alpaca.state import StatePaths
from plugins.altdata.calendar import EventCalendar
from plugins.risk.account import PEAK_KEY
from plugins.risk.config import RiskConfig
from plugins.risk.journal import DecisionJournal
from tests.adapters.alpaca.conftest import session, statuses

T0 = datetime(2024, 3, 6, 21, 0, tzinfo=UTC)


@pytest.fixture
def journal(tmp_path) -> DecisionJournal:
    with DecisionJournal(tmp_path / "journal.sqlite") as j:
        yield j


def test_observe_when_day_loss_reaches_the_limit_then_locked_until_midnight_and_journaled_once(journal):
    # Arrange
    guard = RiskGuard(RiskConfig(max_daily_loss_frac=0.03), journal)
    guard.observe(T0.replace(hour=14), 100_000.0, 0)
    # Act
    guard.observe(T0, 97_000.0, 0)            # exactly 3 %: inclusive
    guard.observe(T0 + timedelta(hours=1), 99_000.0, 0)
    verdict_same_day = guard.check_entry("SPY", T0 + timedelta(hours=2), 1_000, 99_000, 0)
    verdict_next_day = guard.check_entry("SPY", T0 + timedelta(hours=4), 1_000, 99_000, 0)
    # Assert
    assert not verdict_same_day.allowed
    assert "breakers: daily_loss: locked until 2024-03-07T00:00:00+00:00" in verdict_same_day.reason
    assert verdict_next_day.allowed
    assert len(journal.query(kind="breaker", reason="daily_loss")) == 1


def test_kill_switch_when_tripped_then_survives_a_restart_until_a_human_reset(journal):
    # Arrange
    RiskGuard(RiskConfig(), journal).observe(T0, 100_000.0, 0)
    RiskGuard(RiskConfig(), journal).observe(T0 + timedelta(days=1), 84_000.0, 0)  # 16 % drawdown
    # Act
    restarted = RiskGuard(RiskConfig(), journal)
    denied = restarted.check_entry("SPY", T0 + timedelta(days=30), 1_000, 99_000, 0)
    reset_kill_switch(journal, T0 + timedelta(days=30), "test")
    after = RiskGuard(RiskConfig(), journal)
    after.observe(T0 + timedelta(days=31), 84_000.0, 0)
    allowed = after.check_entry("SPY", T0 + timedelta(days=31), 1_000, 84_000, 0)
    # Assert
    assert restarted.halted and not denied.allowed
    assert "drawdown_kill_switch: locked until a human reset" in denied.reason
    assert allowed.allowed and journal.get_state(PEAK_KEY) == repr(84_000.0)
    assert journal.query(kind="reset")[0].reason == "drawdown_kill_switch"


def test_check_entry_when_fomc_statement_within_the_blackout_then_denied(journal):
    # Arrange: FOMC statement 2024-03-20 14:00 New York = 18:00 UTC
    guard = RiskGuard(RiskConfig(blackout_before_min=30, blackout_after_min=60), journal,
                      events=EventCalendar.from_dir(BUNDLE_CALENDAR))
    statement = datetime(2024, 3, 20, 18, 0, tzinfo=UTC)
    # Act / Assert
    assert not guard.check_entry("SPY", statement - timedelta(minutes=30), 1, 1e5, 0).allowed
    assert not guard.check_entry("SPY", statement + timedelta(minutes=60), 1, 1e5, 0).allowed
    assert guard.check_entry("SPY", statement + timedelta(minutes=61), 1, 1e5, 0).allowed


@pytest.mark.parametrize(("equity", "trades", "allowed"), [
    (24_999.99, 3, False), (24_999.99, 2, True), (25_000.0, 3, True), (10_000.0, 4, False)])
def test_check_entry_when_pattern_day_trader_rule_then_entries_limited_under_25k(journal, equity, trades,
                                                                               allowed):
    # Arrange: day trades on the sessions before T0 (Wednesday 2024-03-06)
    counter = DayTradeCounter(MarketCalendar())
    for i in range(trades):
        day = T0 - timedelta(days=i % 3)
        counter.on_fill("SPY", day.replace(hour=15), opening=True)
        counter.on_fill("SPY", day.replace(hour=16), opening=False)
    guard = RiskGuard(RiskConfig(), journal, day_trades=counter,
                      pdt=PdtSettings.from_config(AlpacaConfig()))
    # Act
    verdict = guard.check_entry("QQQ", T0, 1_000, equity, 0)
    # Assert
    assert verdict.allowed is allowed
    assert counter.count(T0 + timedelta(days=7)) == 0  # out of the 5-session window


class AlwaysIn(bt.Strategy):
    """Buys SPY with most of the account whenever flat, sells after 3 bars; tries QQQ too."""

    params = (("log", None),)

    def __init__(self) -> None:
        self.since = None

    def notify_order(self, order: bt.Order) -> None:
        if order.status in (order.Completed, order.Rejected):
            self.p.log.append((self.datetime.datetime(0), order.data._name, order.getstatusname(),
                               order.isbuy(), order.info.get("reject_reason")))

    def next(self) -> None:
        spy = self.datas[0]
        if self.getposition(spy).size:
            if len(spy) - self.since >= 3:
                self.close(data=spy)
        else:
            self.buy(data=spy, size=0.9 * self.broker.getvalue() / spy.close[0])
            self.since = len(spy)


def _suite(tmp_path, **risk) -> AlpacaRunConfig:
    return AlpacaRunConfig(alpaca=AlpacaConfig(state_dir=tmp_path / "alpaca"),
                       risk=RiskConfig(blackout_before_min=0, blackout_after_min=0, **risk))


def test_backtest_when_kill_switch_trips_on_real_spy_then_no_entry_passes_afterwards(tmp_path):
    # Arrange: 2022 on real SPY bars; 90 % stakes allowed, kill switch at 4 % drawdown
    suite = _suite(tmp_path, max_position_frac=1.0, max_drawdown_frac=0.04, max_consecutive_losses=50,
                   cooldown_after_win_min=0, cooldown_after_loss_min=0)
    log: list = []
    # Act
    result = run_backtest(AlwaysIn, ["SPY"], start=datetime(2022, 1, 1, tzinfo=UTC),
                          end=datetime(2023, 1, 1, tzinfo=UTC), suite=suite,
                          strategy_kwargs={"log": log})
    # Assert
    with DecisionJournal(result.journal) as journal:
        trip = journal.query(kind="breaker", reason="drawdown_kill_switch")
        denials = journal.query(kind="gate", reason="breakers")
    assert len(trip) == 1
    tripped_at = trip[0].ts
    filled_buys = [t for t, _, status, is_buy, _ in log if status == "Completed" and is_buy]
    rejected = [(t, reason) for t, _, status, _, reason in log if status == "Rejected"]
    assert filled_buys and all(t.replace(tzinfo=UTC) <= tripped_at for t in filled_buys)
    assert rejected and all("drawdown_kill_switch: locked" in reason for _, reason in rejected)
    assert any(row.decision == "deny" for row in denials)
    assert result.metrics.trades >= 1


def test_backtest_when_halted_with_flatten_on_halt_then_the_open_position_is_closed(tmp_path):
    # Arrange
    suite = _suite(tmp_path, max_position_frac=1.0, max_drawdown_frac=0.02, flatten_on_halt=True,
                   max_consecutive_losses=50, cooldown_after_win_min=0, cooldown_after_loss_min=0)

    class Hold(bt.Strategy):
        def next(self) -> None:
            if not self.position:
                self.buy(size=0.9 * self.broker.getvalue() / self.data.close[0])

    # Act
    result = run_backtest(Hold, ["SPY"], start=datetime(2022, 1, 1, tzinfo=UTC),
                          end=datetime(2022, 7, 1, tzinfo=UTC), suite=suite)
    # Assert: one trade, closed by the guard; nothing re-opened after the halt
    assert result.metrics.trades == 1
    assert result.trades[0].closed_at < datetime(2022, 3, 1, tzinfo=UTC)


def test_backtest_when_stake_above_max_position_frac_then_shrunk_and_journaled(tmp_path):
    # Arrange
    suite = _suite(tmp_path, max_position_frac=0.10)

    class Big(bt.Strategy):
        def next(self) -> None:
            if len(self.data) == 1:
                self.buy(size=0.5 * self.broker.getvalue() / self.data.close[0])

    # Act
    result = run_backtest(Big, ["SPY"], start=datetime(2024, 1, 1, tzinfo=UTC),
                          end=datetime(2024, 2, 1, tzinfo=UTC), suite=suite)
    # Assert
    with DecisionJournal(result.journal) as journal:
        clamps = journal.query(kind="stake", reason="max_position_frac")
    assert len(clamps) == 1 and clamps[0].stake == pytest.approx(10_000.0, rel=1e-6)


def test_paper_when_kill_switch_locked_then_the_entry_never_reaches_alpaca(fake, suite):
    # Arrange: the journal of the paper mode remembers a peak of 200k (equity now 100k)
    paths = StatePaths.for_mode(suite.alpaca, "paper")
    with DecisionJournal(paths.journal) as journal:
        journal.set_state(PEAK_KEY, repr(200_000.0))

    def buy(strategy) -> None:
        strategy.buy(data=strategy.datas[0], size=1)

    # Act
    _, log = session(fake, suite, {1: [buy]}, bars=3)
    # Assert
    assert statuses(log, log[0][0]) == ["Rejected"]
    assert "drawdown_kill_switch: locked" in log[0][4]
    assert not any(m == "POST" for m, _, _ in fake.requests)
    with DecisionJournal(paths.journal) as journal:
        assert journal.query(kind="breaker", reason="drawdown_kill_switch")[0].decision == "trip"
        assert '"drawdown_kill_switch": null' in journal.get_state(LOCKS_KEY)


def test_cli_reset_killswitch_when_locked_then_lifted_and_journaled(tmp_path, capsys):
    # Arrange
    import json

    from adapters.alpaca.__main__ import main

    config = tmp_path / "alpaca.json"
    config.write_text(json.dumps({"ai_suite": {"alpaca": {"state_dir": str(tmp_path / "state")}}}))
    paths = StatePaths.for_mode(AlpacaConfig(state_dir=tmp_path / "state"), "paper")
    with DecisionJournal(paths.journal) as journal:
        RiskGuard(RiskConfig(), journal).observe(T0, 100_000.0, 0)
        RiskGuard(RiskConfig(), journal).observe(T0, 80_000.0, 0)
    # Act
    code = main(["reset-killswitch", "--mode", "paper", "--yes", "-c", str(config)])
    # Assert
    assert code == 0 and "Kill switch lifted." in capsys.readouterr().out
    with DecisionJournal(paths.journal) as journal:
        assert not RiskGuard(RiskConfig(), journal).halted


@pytest.mark.parametrize("bad_equity", [float("nan"), float("inf"), 0.0])
def test_observe_when_equity_nan_then_entries_denied_guard_error_and_no_crash(journal, bad_equity):
    # Arrange
    guard = RiskGuard(RiskConfig(), journal)
    guard.observe(T0, 100_000.0, 0)
    # Act: two garbage bars, then a valid one
    failing = guard.observe(T0 + timedelta(hours=1), bad_equity, 0)
    guard.observe(T0 + timedelta(hours=2), bad_equity, 0)
    denied = guard.check_entry("SPY", T0 + timedelta(hours=2), 1_000, 99_000, 0)
    guard.observe(T0 + timedelta(hours=3), 99_000.0, 0)
    allowed = guard.check_entry("SPY", T0 + timedelta(hours=3), 1_000, 99_000, 0)
    # Assert
    assert not failing.allows_entries and "guard_error" in failing.reason
    assert not denied.allowed and denied.reason.startswith("breakers: guard_error")
    assert allowed.allowed
    rows = journal.query(kind="breaker", reason="guard_error")
    assert [r.decision for r in rows] == ["trip", "clear"]          # journaled once, then cleared
    assert guard.locks == {}                                         # a fault, never a lock
    assert journal.get_state(PEAK_KEY) == repr(100_000.0)            # garbage never stored


def test_check_entry_when_equity_nan_then_denied_guard_error(journal):
    # Arrange
    guard = RiskGuard(RiskConfig(), journal)
    guard.observe(T0, 100_000.0, 0)
    # Act
    verdict = guard.check_entry("SPY", T0 + timedelta(minutes=5), 1_000, float("nan"), 0)
    # Assert
    assert not verdict.allowed and "guard_error" in verdict.reason
    assert len(journal.query(kind="breaker", reason="guard_error")) == 1
