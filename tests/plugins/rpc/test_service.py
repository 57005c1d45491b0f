"""``SuiteService`` against a real Freqtrade database, decision journal and stage store: what
REST and Telegram answer, and the in-process kill-switch reset."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from freqtrade.persistence import PairLocks

from plugins.risk.account import PEAK_KEY
from plugins.risk.config import StageConfig
from plugins.risk.journal import DecisionJournal, JournalRow, journal_path
from plugins.risk.stages import STORE_NAME, Stage, StageStore
from plugins.rpc.botthread import BotLoopTimeout
from plugins.rpc.status import JournalFilters
from tests.plugins.rpc.conftest import (
    NOW,
    bot_loop,
    dry_run_config,
    running_guard,
    service_for,
)

KILL_REASON = "ai_suite:drawdown_kill_switch: drawdown 50.00% >= 15.00%; human reset needed"


def in_thread(call):
    """Run ``call`` in another thread (as REST / Telegram handlers do) and return its result."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(value=call()))
    thread.start()
    thread.join(30)
    return result["value"]


def test_breakers_when_kill_switch_locked_in_db_then_lock_listed_from_another_thread(
        tmp_path, freqtrade_db):
    PairLocks.lock_pair("*", NOW + timedelta(days=3650), KILL_REASON, now=NOW, side="*")
    PairLocks.lock_pair("BTC/USDT", NOW + timedelta(hours=1), "someone else's lock", now=NOW)
    service = service_for(running_guard(dry_run_config(tmp_path, freqtrade_db)))

    answer = in_thread(service.breakers)

    [lock] = answer.data["locks"]
    assert lock["breaker"] == "drawdown_kill_switch" and lock["resets"].startswith("human reset")


def test_killswitch_reset_when_locked_then_lock_lifted_peak_rebased_journaled_and_notified(
        tmp_path, freqtrade_db):
    config = dry_run_config(tmp_path, freqtrade_db)
    guard = running_guard(config)
    guard.journal.set_state(PEAK_KEY, "20000.0")
    PairLocks.lock_pair("*", NOW + timedelta(days=3650), KILL_REASON, now=NOW, side="*")
    service = service_for(guard)

    with bot_loop(service):
        answer = in_thread(lambda: service.killswitch_reset(by="rest:alice"))

    assert answer.data["reset"] is True and answer.data["lifted"] == 1
    assert PairLocks.get_pair_locks("*", NOW) == []
    assert guard.journal.get_state(PEAK_KEY) == ""
    [row] = guard.journal.query(kind="reset")
    assert row.reason == "drawdown_kill_switch" and "rest:alice" in row.detail
    sent = []
    service.outbox.flush(sent.append)
    assert sent == [answer.text] and "rest:alice" in answer.text


def test_killswitch_reset_when_not_locked_then_nothing_changes(tmp_path, freqtrade_db):
    guard = running_guard(dry_run_config(tmp_path, freqtrade_db))
    guard.journal.set_state(PEAK_KEY, "20000.0")
    service = service_for(guard)

    with bot_loop(service):
        answer = in_thread(lambda: service.killswitch_reset(by="telegram:bob"))

    assert answer.data == {"reset": False, "lifted": 0}
    assert guard.journal.get_state(PEAK_KEY) == "20000.0", "peak kept without a halt"
    assert service.outbox.flush(lambda text: None) == 0


def test_journal_when_filtered_then_rows_from_the_bots_journal_file(tmp_path, freqtrade_db):
    config = dry_run_config(tmp_path, freqtrade_db)
    with DecisionJournal(journal_path(config)) as journal:
        journal.record_many([
            JournalRow(NOW - timedelta(hours=3), "gate", "deny", "breakers", "BTC/USDT", "halted"),
            JournalRow(NOW - timedelta(hours=2), "gate", "pass", "rsi", "BTC/USDT"),
            JournalRow(NOW - timedelta(hours=1), "gate", "deny", "breakers", "ETH/USDT", "halted")])
    service = service_for(running_guard(config))

    answer = in_thread(lambda: service.journal(JournalFilters(
        since=NOW - timedelta(hours=2, minutes=30), reason="breakers")))

    assert [(r["pair"], r["decision"]) for r in answer.data["rows"]] == [("ETH/USDT", "deny")]


def test_stage_when_promoted_by_cli_then_answer_reads_the_store_not_the_stale_record(
        tmp_path, freqtrade_db):
    config = dry_run_config(tmp_path, freqtrade_db)
    guard = running_guard(config, stages=StageConfig(enabled=True))
    store = StageStore(tmp_path / "user_data" / STORE_NAME)
    guard.stage_store = store
    guard.stage_in_memory = store.load(guard.strategy_name, Stage.SHADOW, NOW)
    stored = store.load(guard.strategy_name, Stage.SHADOW, NOW)
    stored.stage = Stage.CANARY
    store.save(stored)

    answer = service_for(guard).stage()

    assert answer.data["stage"] == "canary"


def test_killswitch_reset_when_no_bot_loop_runs_then_times_out_and_changes_nothing(
        tmp_path, freqtrade_db):
    guard = running_guard(dry_run_config(tmp_path, freqtrade_db))
    PairLocks.lock_pair("*", NOW + timedelta(days=3650), KILL_REASON, now=NOW, side="*")
    service = service_for(guard)

    with pytest.raises(BotLoopTimeout, match="no bot loop ran within 0.2 s"):
        service.bot_thread.call(lambda: service._killswitch_reset("rest:alice"), timeout_s=0.2)
    service.bot_thread.run_pending()  # a later loop: the withdrawn request does not run

    assert len(PairLocks.get_pair_locks("*", NOW)) == 1


def test_killswitch_reset_when_journal_unusable_then_not_reset_lock_kept_and_says_why(
        tmp_path, freqtrade_db):
    config = dry_run_config(tmp_path, freqtrade_db)
    guard = running_guard(config)
    PairLocks.lock_pair("*", NOW + timedelta(days=3650), KILL_REASON, now=NOW, side="*")
    guard.journal.close()
    journal_path(config).write_bytes(b"garbage" * 1000)  # the journal file is destroyed
    service = service_for(guard)

    with bot_loop(service):
        answer = in_thread(lambda: service.killswitch_reset(by="rest:alice"))

    assert answer.data["reset"] is False and answer.data["lifted"] == 0
    assert answer.text.startswith("Kill switch NOT reset") and "nothing changed" in answer.text
    assert len(PairLocks.get_pair_locks("*", NOW)) == 1
    assert service.outbox.flush(lambda text: None) == 0
