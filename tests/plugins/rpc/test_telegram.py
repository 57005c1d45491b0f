"""The suite's Telegram commands in Freqtrade's real ``Telegram`` RPC module, talking to a
local fake Bot API through python-telegram-bot: the authorized chat gets answers, any other
chat gets nothing (Freqtrade's own ``authorized_only`` decides)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from freqtrade.enums import TradingMode
from freqtrade.persistence import PairLocks, Trade, init_db
from freqtrade.persistence.pairlock import PairLock
from freqtrade.rpc import RPC
from freqtrade.rpc.rpc_manager import RPCManager
from freqtrade.rpc.telegram import Telegram
from telegram.ext import Application

from plugins.core.clock import FixedClock
from plugins.llm import council
from plugins.risk.config import StageConfig
from plugins.risk.journal import DecisionJournal, JournalRow
from plugins.risk.stages import Stage, StageStore
from plugins.rpc.registry import SuiteRpc, attach
from plugins.rpc.service import COUNCIL_REASON
from plugins.rpc.status import COMMANDS
from tests.plugins.rpc.conftest import NOW, bot_loop, dry_run_config, running_guard
from tests.plugins.rpc.fake_bot_api import FakeBotApi

CHAT, STRANGER = 1001, 2002
KILL_REASON = "ai_suite:drawdown_kill_switch: drawdown 50.00% >= 15.00%; human reset needed"


def local_telegram(base_url: str) -> type[Telegram]:
    """Freqtrade's Telegram with its Application pointed at ``base_url`` (the one test seam:
    ``_init_telegram_app`` builds the Application; everything else is Freqtrade's)."""

    class LocalTelegram(Telegram):
        def _init_telegram_app(self) -> Application:
            return (Application.builder().token(self._config["telegram"]["token"])
                    .base_url(base_url).build())

    return LocalTelegram


@pytest.fixture(scope="module")
def bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture(scope="module")
def telegram_suite(tmp_path_factory, bot_api) -> Iterator[tuple[Telegram, SuiteRpc]]:
    """One Telegram bot for the module (Freqtrade's Telegram thread takes up to 10 s to stop)."""
    tmp_path = tmp_path_factory.mktemp("telegram")
    db_url = f"sqlite:///{tmp_path / 'tradesv3.dryrun.sqlite'}"
    init_db(db_url)
    before = (PairLocks.use_db, PairLocks.timeframe)
    PairLocks.use_db = True
    PairLocks.timeframe = "1h"  # the bot's timeframe: lock ends round up to its candles
    config = dry_run_config(tmp_path, db_url, telegram={
        "enabled": True, "token": "123456:suite-test", "chat_id": str(CHAT),
        "allow_custom_messages": True})
    manager = RPCManager(SimpleNamespace(config={**config, "telegram": {"enabled": False}}))
    bot = SimpleNamespace(config=config, trading_mode=TradingMode.SPOT)  # Freqtrade's /help reads it
    tg = local_telegram(bot_api.base_url)(RPC(bot), config)
    manager.registered_modules.append(tg)
    try:
        guard = running_guard(config, rpc=manager)
        suite = attach(guard, guard.dp, FixedClock(NOW))
        bot_api.wait_for("polling to start", lambda api: "getUpdates" in api.calls)
        with bot_loop(suite.service):
            yield tg, suite
    finally:
        tg.cleanup()
        Trade.session.remove()
        PairLocks.reset_locks()
        PairLocks.use_db, PairLocks.timeframe = before


@pytest.fixture(autouse=True)
def no_locks_left(telegram_suite) -> Iterator[None]:
    yield
    for lock in PairLock.get_all_locks():
        lock.active = False
    PairLock.session.commit()


def texts(api: FakeBotApi) -> list[str]:
    return [html.unescape(m["text"]) for m in api.sent]


def ask(api: FakeBotApi, chat: int, *commands: str, answers: int) -> list[str]:
    """Send ``commands`` from ``chat``; wait for ``answers`` more sendMessage calls."""
    before = len(api.sent)
    for command in commands:
        api.command(chat, command)
    api.wait_for(f"{answers} answers to {commands}", lambda a: len(a.sent) >= before + answers)
    return texts(api)[before:]


def test_commands_are_registered_and_listed_by_suite_help(telegram_suite, bot_api):
    _, suite = telegram_suite

    [answer] = ask(bot_api, CHAT, "/suite_help", answers=1)

    assert suite.telegram_registered
    assert answer.startswith("freqtrade-ai-suite commands:")
    for command in ("/regime", "/breakers", "/killswitch_reset", "/stage", "/brief", "/ideas",
                    "/review", "/approve", "/suite_help"):
        assert f"\n{command} - " in answer
    message = bot_api.sent[-1]
    assert message["chat_id"] == str(CHAT) and message["parse_mode"] == "HTML"


def test_authorized_chat_gets_answers_to_status_commands(telegram_suite, bot_api):
    regime, breakers, stage, brief = ask(bot_api, CHAT, "/regime", "/breakers", "/stage",
                                         "/brief", answers=4)

    assert regime.startswith("BTC/USDT @ 2024-03-20T11:00:00+00:00: ")
    assert "ETH/USDT @ " in regime and "probabilities: " in regime
    assert breakers.startswith("Trading state: ACTIVE")
    assert stage.startswith("Deployment stages are off")
    assert brief.startswith("Brief 2024-03-20 12:00 UTC")


def test_llm_commands_answer_not_available_or_refused_without_llm_inputs(telegram_suite,
                                                                          bot_api):
    usage, ideas, review, approve, approve_usage, approve_path = ask(
        bot_api, CHAT, "/ideas", "/ideas BTC bottoms when fear peaks", "/review",
        "/approve 20240320-0123abcd", "/approve", "/approve ../forged", answers=6)

    assert usage.startswith("Usage: /ideas <your thesis>")
    assert ideas.startswith("not available: No 1h candles for BTC/USDT")
    assert review.startswith("not available: TestBot was not compiled from a strategy tree")
    assert approve.startswith("Refused: No review '20240320-0123abcd'")
    assert approve_usage.startswith("Usage: /approve <id>")
    assert approve_path.startswith("Refused: '../forged' is not a review id: expected YYYYMMDD-")


def test_killswitch_reset_asks_first_and_lifts_only_on_confirm(telegram_suite, bot_api):
    PairLocks.lock_pair("*", NOW + timedelta(days=3650), KILL_REASON, now=NOW, side="*")

    [question] = ask(bot_api, CHAT, "/killswitch_reset", answers=1)
    assert "drawdown_kill_switch" in question and "/killswitch_reset CONFIRM" in question
    assert len(PairLocks.get_pair_locks("*", NOW)) == 1, "asking changes nothing"

    [done] = ask(bot_api, CHAT, "/killswitch_reset CONFIRM", answers=1)

    assert done.startswith("Kill switch reset by telegram:trader1001: 1 lock(s) lifted")
    assert PairLocks.get_pair_locks("*", NOW) == []


def test_unauthorized_chat_gets_nothing_and_changes_nothing(telegram_suite, bot_api):
    PairLocks.lock_pair("*", NOW + timedelta(days=3650), KILL_REASON, now=NOW, side="*")
    before = len(bot_api.sent)
    for command in ("/regime", "/breakers", "/suite_help", "/killswitch_reset CONFIRM"):
        bot_api.command(STRANGER, command)

    # Updates are handled in order: once the authorized chat's answer arrives, the stranger's
    # commands have been handled (and rejected) before it.
    [answer] = ask(bot_api, CHAT, "/stage", answers=1)

    assert answer.startswith("Deployment stages are off")
    assert len(bot_api.sent) == before + 1, "only the authorized chat's command was answered"
    assert len(PairLocks.get_pair_locks("*", NOW)) == 1, "the kill switch is still on"


def _menu(api: FakeBotApi) -> list[str]:
    [params] = [p for method, p in api.requests if method == "setMyCommands"][-1:]
    commands = params["commands"]
    commands = json.loads(commands) if isinstance(commands, str) else commands
    return [c["command"] for c in commands]


def test_help_when_asked_then_freqtrade_help_then_suite_commands_and_menu_lists_them(
        telegram_suite, bot_api):
    freqtrade_help, suite_help = ask(bot_api, CHAT, "/help", answers=2)

    assert "/status" in freqtrade_help and "/profit" in freqtrade_help, "Freqtrade's own /help"
    assert suite_help.startswith("freqtrade-ai-suite commands:")
    for name, _ in COMMANDS:
        assert f"\n/{name} - " in suite_help
    menu = _menu(bot_api)
    assert menu[0] == "help" and set(menu[1:]) == {name for name, _ in COMMANDS}


def test_journal_drift_and_council_when_asked_then_answered_from_the_journals(telegram_suite,
                                                                              bot_api):
    _, suite = telegram_suite
    guard = suite.service.guard
    guard.journal.record(JournalRow(ts=NOW - timedelta(hours=1), kind="breaker", decision="trip",
                                    reason="daily_loss", detail="day loss 3.10 % >= 3.00 %"))
    usage, tail, drift, no_verdict = ask(bot_api, CHAT, "/journal x", "/journal 5", "/drift",
                                         "/council", answers=4)
    council_journal = suite.service.llm.llm_config.journal_path
    with DecisionJournal(council_journal) as journal:
        journal.record(JournalRow(ts=NOW, kind="gate", decision="long", reason=COUNCIL_REASON,
                                  pair="BTC/USDT", detail=json.dumps(
                                      {"confidence": 0.7, "summary": "fear peaked"})))
    [verdict] = ask(bot_api, CHAT, "/council BTC/USDT", answers=1)

    assert usage.startswith("Usage: /journal [n] [reason]")
    assert "breaker trip daily_loss - day loss 3.10 % >= 3.00 %" in tail
    assert drift.startswith("No drift monitor")
    assert no_verdict.startswith("No council verdict in the journal yet")
    assert verdict.startswith("Council verdicts for BTC/USDT (latest last):")
    assert "BTC/USDT: long (confidence 0.70) - fear peaked" in verdict
    assert COUNCIL_REASON == council.JOURNAL_REASON


def test_stage_demote_and_promote_ask_first_then_act_only_on_confirm(telegram_suite, bot_api):
    _, suite = telegram_suite
    guard = suite.service.guard
    [off] = ask(bot_api, CHAT, "/stage_promote CONFIRM", answers=1)
    assert off.startswith("Refused: deployment stages are off")
    guard.stage_config = StageConfig(enabled=True)
    store = StageStore.for_config(guard.config, True)
    store.load(guard.strategy_name, Stage.CANARY, NOW)
    try:
        question, usage = ask(bot_api, CHAT, "/stage_demote shadow", "/stage_demote live",
                              answers=2)
        assert "Demote TestBot to shadow? Send /stage_demote shadow CONFIRM" in question
        assert usage.startswith("Usage: /stage_demote shadow|canary")
        assert store.load(guard.strategy_name, Stage.SHADOW, NOW).stage == Stage.CANARY

        [done] = ask(bot_api, CHAT, "/stage_demote shadow CONFIRM fills slip", answers=1)
        assert done.startswith("TestBot: canary -> shadow (demoted: fills slip, by "
                               "telegram:trader1001)")
        assert store.load(guard.strategy_name, Stage.CANARY, NOW).stage == Stage.SHADOW

        ask_promote, refused = ask(bot_api, CHAT, "/stage_promote", "/stage_promote CONFIRM",
                                   answers=2)
        assert "Promote TestBot one stage? Send /stage_promote CONFIRM" in ask_promote
        assert refused.startswith("Refused: TestBot stays shadow:")
        assert store.load(guard.strategy_name, Stage.CANARY, NOW).stage == Stage.SHADOW
    finally:
        guard.stage_config = StageConfig()
        store.path.unlink()


def test_suite_metrics_when_closed_trades_then_seed_table_beside_buy_and_hold(telegram_suite,
                                                                             bot_api):
    _, suite = telegram_suite
    guard = suite.service.guard
    guard.balance = 1000.0
    for hours, profit in ((60, 12.0), (30, -5.0), (6, 4.0)):
        closed = NOW - timedelta(hours=hours)
        Trade.session.add(Trade(
            pair="BTC/USDT", strategy="TestBot", open_rate=100.0, close_rate=100.0 + profit,
            amount=1.0, stake_amount=100.0, amount_requested=1.0, exchange="binance",
            open_date=closed - timedelta(hours=4), close_date=closed, is_open=False,
            fee_open=0.0, fee_close=0.0, leverage=1.0, close_profit_abs=profit,
            close_profit=profit / 100.0, timeframe=60))
    Trade.commit()
    try:
        [table] = ask(bot_api, CHAT, "/suite_metrics", answers=1)
    finally:
        guard.balance = None
        for trade in Trade.get_trades([Trade.strategy == "TestBot"]).all():
            Trade.session.delete(trade)
        Trade.commit()

    assert table.startswith("TestBot: seed 000 metrics of closed trades")
    assert "Buy & hold" in table and "(2 pair(s) equal weight)" in table
    assert "Trade count" in table and "Profit factor" in table and "3.20" in table  # 16 / 5
    assert "RED FLAG" in table  # 3 trades < 30


def test_unauthorized_chat_gets_no_help_and_changes_no_stage(telegram_suite, bot_api):
    before = len(bot_api.sent)
    for command in ("/help", "/stage_demote shadow CONFIRM", "/journal", "/suite_metrics"):
        bot_api.command(STRANGER, command)

    [answer] = ask(bot_api, CHAT, "/drift", answers=1)

    assert answer.startswith("No drift monitor")
    assert len(bot_api.sent) == before + 1, "only the authorized chat's command was answered"
