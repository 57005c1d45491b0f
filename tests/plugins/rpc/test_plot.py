"""The ``risk_state`` column (0 ACTIVE, 1 REDUCING, 2 HALTED per candle) from the lock history,
and its FreqUI subplot."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from freqtrade.persistence import PairLocks

from plugins.core.clock import FixedClock
from plugins.risk.journal import JournalRow
from plugins.risk.state import TradingState
from plugins.rpc import plot
from tests.plugins.rpc.conftest import NOW, analysed_frame

HOUR = timedelta(hours=1)


def lock(reason: str, start, end, active: bool = True, pair: str = "*") -> SimpleNamespace:
    """A row shaped like Freqtrade's PairLock (naive UTC times, as stored)."""
    return SimpleNamespace(pair=pair, reason=reason, active=active,
                           lock_time=start.replace(tzinfo=None),
                           lock_end_time=end.replace(tzinfo=None))


def test_breaker_state_when_daily_loss_then_kill_switch_lifted_then_states_per_candle_close():
    frame = analysed_frame("BTC/USDT").iloc[-12:].reset_index(drop=True)  # closes 01:00..12:00
    t0 = NOW - 10 * HOUR                                                    # 02:00
    rows = [lock("ai_suite:daily_loss: day loss 3.2%", t0, t0 + 3 * HOUR),
            lock("ai_suite:drawdown_kill_switch: drawdown 16%", t0 + 2 * HOUR,
                 t0 + 6 * HOUR, active=False),                # lifted by a reset at 08:00
            lock("ai_suite:drawdown_kill_switch: old", t0, NOW + timedelta(days=3000),
                 active=False),                               # lifted at an unknown time: ignored
            lock("manual lock", t0, NOW, pair="BTC/USDT")]

    state = plot.breaker_state(frame["date"], "1h", plot.lock_spans(rows, NOW), NOW)

    assert list(state) == [0, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 0]


def test_breaker_state_when_tripped_after_the_last_close_then_newest_candle_shows_it():
    frame = analysed_frame("BTC/USDT").iloc[-3:].reset_index(drop=True)  # last closes 12:00
    rows = [lock("ai_suite:drawdown_kill_switch: drawdown 16%", NOW + timedelta(seconds=5),
                 NOW + timedelta(days=3650))]
    later = NOW + timedelta(seconds=6)

    state = plot.breaker_state(frame["date"], "1h", plot.lock_spans(rows, later), later)

    assert list(state) == [0, 0, 2]
    assert state.name == plot.COLUMN


def test_live_breaker_column_when_kill_switch_in_db_then_last_candles_halted(freqtrade_db):
    PairLocks.lock_pair("*", NOW + timedelta(days=3650), "ai_suite:drawdown_kill_switch: 20%",
                        now=NOW - 3 * HOUR, side="*")

    frame = plot.live_breaker_column(FixedClock(NOW)).add(analysed_frame("BTC/USDT").copy(), "1h")

    assert list(frame[plot.COLUMN].iloc[-5:]) == [0, 2, 2, 2, 2], "from the candle closing at 09:00"


def test_with_risk_subplot_when_strategy_has_subplots_then_risk_added_beside_them():
    config = {"main_plot": {}, "subplots": {"regime": {"regime_label": {}}}}

    assert set(plot.with_risk_subplot(config)["subplots"]) == {"regime", "risk"}
    assert set(config["subplots"]) == {"regime"}, "the strategy's own config is left as it was"


def test_journal_spans_when_trips_and_a_kill_switch_reset_then_spans_end_at_until_or_reset():
    t0 = NOW - 10 * HOUR
    rows = [JournalRow(ts=t0, kind="breaker", decision="trip", reason="daily_loss",
                       until=t0 + 3 * HOUR),
            JournalRow(ts=t0 + HOUR, kind="breaker", decision="trip",
                       reason="drawdown_kill_switch", until=t0 + timedelta(days=3650)),
            JournalRow(ts=t0 + 5 * HOUR, kind="reset", decision="clear",
                       reason="drawdown_kill_switch"),
            JournalRow(ts=t0 + 6 * HOUR, kind="breaker", decision="trip", reason="old_row")]

    spans = plot.journal_spans(rows)

    assert spans == [plot.LockSpan(t0, t0 + 3 * HOUR, TradingState.REDUCING),
                     plot.LockSpan(t0 + HOUR, t0 + 5 * HOUR, TradingState.HALTED)]


def test_plotted_journal_when_db_source_then_dry_run_journal_else_backtest_journal(tmp_path):
    config = {"user_data_dir": str(tmp_path), "dry_run": True,
              "db_url": f"sqlite:///{tmp_path / 'trades.sqlite'}"}
    assert plot.plotted_journal({**config, "trade_source": "DB"}) == \
        tmp_path / "trades.journal.sqlite"
    assert plot.plotted_journal({**config, "trade_source": "file"}) == \
        tmp_path / "backtest_results" / "journal.backtest.sqlite"
