"""Fault injection into Freqtrade's own dry-run loop: state the guard reads becomes garbage or
unusable mid-run -> no new entries, exits continue, the condition reaches the webhook, the
journal keeps everything it held, and trading resumes once the fault is gone. And stale state
the other way round: a kill-switch lock outlives the drawdown that tripped it -> still HALTED.

The bot is ``freqtrade trade --dry-run``'s ``FreqtradeBot`` stepped candle by candle on a
travelled clock against the replay exchange in this process (as ``bench/dryrun_parity.py``
does, see ``adapters.replay_exchange.stepped``). ``RiskScenario`` enters BTC/USDT on every
even-hour candle and exits on the next one, so the step at 01:00 opens a trade, 02:00 closes it
and 03:00 opens the next one. Each fault is injected from outside the bot (another SQLite
connection, the file on disk), never by replacing the bot's code.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from freqtrade.configuration import Configuration
from freqtrade.enums import RunMode
from freqtrade.misc import deep_merge_dicts
from freqtrade.persistence import PairLocks, Trade

from adapters.replay_exchange import ReplayExchangeConfig, serving
from adapters.replay_exchange.overlay import offline_overlay
from plugins.risk.account import PEAK_KEY
from plugins.risk.journal import DecisionJournal, JournalRow
from plugins.risk.stages import STORE_NAME, Stage, StageStore
from tests.conftest import REPO_ROOT, write_json

pytestmark = pytest.mark.slow

START = datetime(2024, 3, 1, tzinfo=UTC)
KILL_REASON = "ai_suite:drawdown_kill_switch: drawdown 50.00% >= 15.00%; human reset needed"
QUIET = {"max_daily_loss_frac": 0.5, "max_weekly_loss_frac": 0.5, "max_drawdown_frac": 0.5,
         "max_consecutive_losses": 1000, "cooldown_after_win_min": 0,
         "cooldown_after_loss_min": 0, "blackout_before_min": 0, "blackout_after_min": 0,
         "gates": {"enabled": False}}


def at(hour: int) -> datetime:
    return START + timedelta(hours=hour)


@dataclass
class SteppedBot:
    """A dry-run ``FreqtradeBot`` whose clock the test moves one candle at a time."""

    bot: Any
    clock: Any
    tmp_path: Path
    httpserver: Any

    @property
    def journal_file(self) -> Path:
        return self.tmp_path / "dryrun.journal.sqlite"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.tmp_path / 'dryrun.sqlite'}"

    def step(self, hour: int) -> None:
        """``process()`` once at ``START + hour`` (what Freqtrade's worker does each loop)."""
        self.clock.move_to(at(hour))
        self.bot.process()

    def trades(self) -> list[tuple[datetime, datetime | None]]:
        """(open, close) of every trade, oldest first."""
        return [(t.open_date_utc, t.close_date_utc if t.close_date else None)
                for t in sorted(Trade.get_trades_proxy(), key=lambda t: t.id)]

    def journal(self) -> list[JournalRow]:
        with DecisionJournal(self.journal_file) as journal:
            return journal.query()

    def notifications(self) -> list[str]:
        return [json.loads(request.get_data())["text"] for request, _ in self.httpserver.log]


@contextmanager
def stepped_bot(tmp_path: Path, candle_datadir: Path, altdata_cache: Path, httpserver,
                extra: dict | None = None) -> Iterator[SteppedBot]:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    user_data = tmp_path / "user_data"
    for sub in ("models", "backtest_results", "logs", "data"):
        (user_data / sub).mkdir(parents=True, exist_ok=True)
    with serving(ReplayExchangeConfig(datadir=candle_datadir, port=0)) as server:
        overlay = deep_merge_dicts(extra or {}, {
            "user_data_dir": str(user_data), "strategy": "RiskScenario",
            "freqai": {"enabled": False}, "db_url": f"sqlite:///{tmp_path / 'dryrun.sqlite'}",
            "stake_amount": 1000, "max_open_trades": 1,
            # ccxt's rate limiter waits for a wall clock that the frozen clock never moves
            "exchange": {"pair_whitelist": ["BTC/USDT"],
                         "ccxt_config": {"enableRateLimit": False},
                         "ccxt_async_config": {"enableRateLimit": False}},
            "webhook": {"enabled": True, "url": httpserver.url_for("/hook"), "format": "json",
                        "allow_custom_messages": True, "strategy_msg": {"text": "{msg}"}},
            "ai_suite": {"altdata": {"cache_dir": str(altdata_cache)}, "risk": QUIET}})
        files = [REPO_ROOT / "config" / "base.json",
                 write_json(tmp_path / "offline.json", offline_overlay(server.api_url)),
                 write_json(tmp_path / "test.json", overlay)]
        config = Configuration({"config": [str(f) for f in files], "datadir": str(user_data / "data"),
                                "dry_run": True,
                                "strategy_path": str(REPO_ROOT / "tests/e2e/strategies")},
                               RunMode.DRY_RUN).get_config()
        from freqtrade.freqtradebot import FreqtradeBot

        with time_machine.travel(at(0), tick=False) as clock:
            bot = FreqtradeBot(config)
            try:
                bot.startup()
                yield SteppedBot(bot, clock, tmp_path, httpserver)
            finally:
                bot.cleanup()
                Trade.session.remove()


def guard_rows(rows: list[JournalRow]) -> list[tuple[str, str, datetime]]:
    return [(r.kind, r.decision, r.ts) for r in rows if r.reason == "guard_error"
            and r.kind == "breaker"]


def assert_entries_stop_and_exits_continue(run: SteppedBot) -> None:
    """The trade opened at 01:00 closed at 02:00 and nothing opened at 03:00."""
    assert run.trades() == [(at(1), at(2))]


def test_live_loop_when_journal_locked_by_another_process_then_entries_stop_exits_continue_and_rows_kept(
        tmp_path, candle_datadir, altdata_cache, httpserver):
    with stepped_bot(tmp_path, candle_datadir, altdata_cache, httpserver) as run:
        run.step(0)
        run.step(1)
        assert run.trades() == [(at(1), None)], "a trade is open before the fault"
        before = run.journal()
        # Another process (a backup tool, a sqlite3 shell left in a transaction) holds the
        # journal's write lock: every write of the bot fails after SQLite's busy timeout.
        holder = sqlite3.connect(run.journal_file, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            run.step(2)
            run.step(3)
            assert_entries_stop_and_exits_continue(run)
            texts = run.notifications()
            assert any(t.startswith("Risk guard failing: no new entries, exits continue")
                       for t in texts), texts
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        run.step(4)
        run.step(5)

        assert run.trades()[-1] == (at(5), None), "entries resume once the journal is writable"
        after = run.journal()
        assert after[:len(before)] == before, "nothing already recorded is lost"
        assert [(kind, decision) for kind, decision, _ in guard_rows(after)] == [
            ("breaker", "trip"), ("breaker", "clear")]
        assert any(t.startswith("Risk guard recovered") for t in run.notifications())


def test_live_loop_when_stage_store_unreadable_then_entries_stop_exits_continue_and_store_untouched(
        tmp_path, candle_datadir, altdata_cache, httpserver):
    stages = {"ai_suite": {"stages": {"enabled": True, "initial": "shadow"}}}
    with stepped_bot(tmp_path, candle_datadir, altdata_cache, httpserver, stages) as run:
        store = tmp_path / "user_data" / STORE_NAME
        run.step(0)
        run.step(1)
        good = store.read_text()
        truncated = good[:len(good) // 2]  # a half-written copy from outside the bot
        store.write_text(truncated)
        run.step(2)
        run.step(3)

        assert_entries_stop_and_exits_continue(run)
        assert store.read_text() == truncated, "the bot never writes over a store it cannot read"
        [(_, _, since)] = guard_rows(run.journal())
        assert since == at(2)
        assert any(t.startswith("Risk guard failing") and "stages.json" in t
                   for t in run.notifications())

        store.write_text(good)  # a human restores it
        run.step(4)
        run.step(5)

        assert run.trades()[-1] == (at(5), None)
        record = StageStore(store).load("RiskScenario", Stage.SHADOW, at(5))
        assert len(record.returns(Stage.SHADOW)) == 1, "the trade closed during the fault is filed"
        assert [decision for _, decision, _ in guard_rows(run.journal())] == ["trip", "clear"]


def test_live_loop_when_equity_peak_corrupted_to_nan_then_guard_error_until_a_human_rebases_it(
        tmp_path, candle_datadir, altdata_cache, httpserver):
    with stepped_bot(tmp_path, candle_datadir, altdata_cache, httpserver) as run:
        run.step(0)
        run.step(1)
        with DecisionJournal(run.journal_file) as journal:
            journal.set_state(PEAK_KEY, "nan")
        run.step(2)
        run.step(3)

        assert_entries_stop_and_exits_continue(run)
        rows = run.journal()
        assert guard_rows(rows) == [("breaker", "trip", at(2))], "journaled once, when it began"
        [trip] = [r for r in rows if r.kind == "breaker"]
        assert PEAK_KEY in trip.detail and "reset-killswitch" in trip.detail
        [denied] = [r for r in rows if r.kind == "gate" and r.decision == "deny"]
        assert (denied.ts, denied.reason) == (at(3), "breakers")
        assert denied.detail.startswith("guard_error: ")
        assert any(t.startswith("Risk guard failing") for t in run.notifications())
        run.step(4)
        assert [d for _, d, _ in guard_rows(run.journal())] == ["trip"], "no recovery on its own"

        reset = subprocess.run(
            [sys.executable, "-m", "plugins.guard", "reset-killswitch", "--db-url", run.db_url,
             "--yes"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert reset.returncode == 0, reset.stderr
        run.step(5)

        assert run.trades()[-1] == (at(5), None), "entries resume after the human re-base"
        assert [d for _, d, _ in guard_rows(run.journal())] == ["trip", "clear"]


def test_live_loop_when_kill_switch_locked_and_drawdown_recovered_then_flattens_and_breakers_say_halted(
        tmp_path, candle_datadir, altdata_cache, httpserver):
    # The kill switch tripped earlier (its lock persists in Freqtrade's database, e.g. across
    # a restart that re-based nothing); the account has since recovered under the limit. The
    # lock, not the drawdown of this loop, decides: HALTED until a human resets it.
    flatten = {"strategy": "RiskScenarioHold", "ai_suite": {"risk": {"flatten_on_halt": True}}}
    with stepped_bot(tmp_path, candle_datadir, altdata_cache, httpserver, flatten) as run:
        run.step(0)
        run.step(1)
        assert run.trades() == [(at(1), None)]
        PairLocks.lock_pair("*", at(1) + timedelta(days=3650), KILL_REASON, now=at(1), side="*")
        run.step(2)

        [trade] = Trade.get_trades_proxy()
        assert (trade.close_date_utc, trade.exit_reason) == (at(2), "risk_halted_flatten")
        breakers = in_thread(run.bot.strategy.suite_rpc.service.breakers)
        assert breakers.data["state"] == "HALTED"
        run.step(3)
        assert run.trades() == [(at(1), at(2))], "no entry while the lock holds"
        assert in_thread(run.bot.strategy.suite_rpc.service.breakers).data["state"] == "HALTED"


def in_thread(call):
    """``call()`` in another thread, as REST and Telegram handlers run (they use their own
    database session, never the bot thread's)."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(value=call()))
    thread.start()
    thread.join(60)
    return result["value"]
