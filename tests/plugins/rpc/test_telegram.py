"""The suite's Telegram commands in Freqtrade's real ``Telegram`` RPC module, talking to a
local fake Bot API through python-telegram-bot: the authorized chat gets answers, any other
chat gets nothing (Freqtrade's own ``authorized_only`` decides)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from freqtrade.persistence import PairLocks, Trade, init_db
from freqtrade.persistence.pairlock import PairLock
from freqtrade.rpc import RPC
from freqtrade.rpc.rpc_manager import RPCManager
from freqtrade.rpc.telegram import Telegram
from telegram.ext import Application

from plugins.core.clock import FixedClock
from plugins.rpc.registry import SuiteRpc, attach
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
    tg = local_telegram(bot_api.base_url)(RPC(SimpleNamespace(config=config)), config)
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
