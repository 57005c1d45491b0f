"""The suite's Telegram commands, added to Freqtrade's running Telegram bot.

Each command is a ``CommandHandler(name, partial(authorized_only(fn), tg))``: Freqtrade's own
``authorized_only`` decorator rejects every chat but the configured ``chat_id`` (and topic /
users when configured) exactly as for Freqtrade's commands, and answers go back through
``tg._send_msg`` to that chat. Handlers are added on the Telegram thread's event loop
(``tg._loop.call_soon_threadsafe(tg._app.add_handler, handler)``); the service calls run in a
worker thread (``asyncio.to_thread``) so a slow answer (an LLM review) never blocks
Freqtrade's own commands.

Commands: see ``status.COMMANDS``. ``/suite_help`` lists them, and so does Freqtrade's own
``/help``: a second ``/help`` handler in a later handler group (python-telegram-bot runs one
matching handler per group, in group order) answers right after Freqtrade's, with the suite's
list; and the bot's command menu (``setMyCommands``, which Freqtrade leaves empty) holds the
suite's commands and ``/help``. Freqtrade's files are not patched.

Commands that change state ask first and act only on ``CONFIRM``: ``/killswitch_reset``,
``/stage_promote``, ``/stage_demote <stage> [reason]``.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from telegram import BotCommand
from telegram.constants import MessageLimit, ParseMode
from telegram.ext import CommandHandler

from plugins.risk.stages import StageError
from plugins.rpc.botthread import BotLoopTimeout
from plugins.rpc.llm_hooks import LlmRefused, LlmUnavailable
from plugins.rpc.service import SuiteService
from plugins.rpc.status import COMMANDS, Answer, JournalFilters

logger = logging.getLogger(__name__)

CONFIRM = "CONFIRM"
#: The handler group of the suite's ``/help`` (Freqtrade's handlers are in group 0).
HELP_GROUP = 1
JOURNAL_DEFAULT_ROWS = 20
JOURNAL_MAX_ROWS = 100
Handler = Callable[[Any, Any, Any], Awaitable[None]]


def message_html(text: str) -> str:
    """``text`` escaped for Telegram's HTML parse mode, cut to one message."""
    escaped = html.escape(text, quote=False)
    limit = MessageLimit.MAX_TEXT_LENGTH - 20
    return escaped if len(escaped) <= limit else escaped[:limit] + "\n[...]"


async def reply(tg: Any, answer_or_text: Answer | str) -> None:
    """Send an answer to Freqtrade's configured chat (HTML mode: our texts hold ``_``)."""
    text = answer_or_text.text if isinstance(answer_or_text, Answer) else answer_or_text
    await tg._send_msg(message_html(text), parse_mode=ParseMode.HTML)


def _user(update: Any) -> str:
    user = update.effective_user
    if user is None:
        return "telegram"
    return f"telegram:{user.username or user.id}"


def _command(name: str, answer: Callable[[Any, list[str]], Answer | str]) -> Handler:
    """An async handler ``(tg, update, context)`` that computes ``answer(update, args)`` in a
    worker thread and replies; ``LlmUnavailable`` becomes ``not available: <reason>``."""

    async def handler(tg: Any, update: Any, context: Any) -> None:
        args = list(getattr(context, "args", None) or [])
        try:
            result = await asyncio.to_thread(answer, update, args)
        except LlmUnavailable as err:
            result = f"not available: {err}"
        except LlmRefused as err:
            result = f"Refused: {err}"
        except BotLoopTimeout as err:
            result = f"Not done: {err}"
        except StageError as err:
            result = f"Refused: {err}"
        await reply(tg, result)

    handler.__name__ = handler.__qualname__ = f"suite_{name}"  # authorized_only logs it
    return handler


def command_answers(service: SuiteService) -> dict[str, Callable[[Any, list[str]], Answer | str]]:
    """Command name -> ``answer(update, args)`` for every command of ``status.COMMANDS``
    (a test keeps the two lists equal)."""

    def killswitch_reset(update: Any, args: list[str]) -> Answer | str:
        if args != [CONFIRM]:
            return (f"{service.breakers().text}\n\nLift the kill switch (new entries resume)? "
                    f"Send /killswitch_reset {CONFIRM}")
        return service.killswitch_reset(by=_user(update))

    def ideas(update: Any, args: list[str]) -> Answer | str:
        if not args:
            return "Usage: /ideas <your thesis> (1-3 trade ideas from the market briefing)"
        return service.ideas(" ".join(args))

    def approve(update: Any, args: list[str]) -> Answer | str:
        if len(args) != 1:
            return "Usage: /approve <id> (the id of a review, see /review)"
        return service.approve(args[0], by=_user(update))

    def council(update: Any, args: list[str]) -> Answer | str:
        if len(args) > 1:
            return "Usage: /council [pair] (the latest council verdicts, e.g. /council BTC/USDT)"
        return service.council(args[0] if args else None)

    def journal(update: Any, args: list[str]) -> Answer | str:
        usage = (f"Usage: /journal [n] [reason] (the last n decisions, 1-{JOURNAL_MAX_ROWS}, "
                 f"default {JOURNAL_DEFAULT_ROWS}; reason e.g. daily_loss)")
        if len(args) > 2 or (args and not args[0].isdigit()):
            return usage
        limit = int(args[0]) if args else JOURNAL_DEFAULT_ROWS
        if not 1 <= limit <= JOURNAL_MAX_ROWS:
            return usage
        return service.journal(JournalFilters(reason=args[1] if len(args) > 1 else None,
                                              limit=limit))

    def stage_promote(update: Any, args: list[str]) -> Answer | str:
        if args != [CONFIRM]:
            return (f"{service.stage().text}\n\nPromote {service.guard.strategy_name} one stage? "
                    f"Send /stage_promote {CONFIRM}")
        return service.stage_promote(by=_user(update))

    def stage_demote(update: Any, args: list[str]) -> Answer | str:
        if not args or args[0] not in ("shadow", "canary"):
            return "Usage: /stage_demote shadow|canary [reason] (asks; add CONFIRM to do it)"
        to, rest = args[0], args[1:]
        if CONFIRM not in rest:
            return (f"{service.stage().text}\n\nDemote {service.guard.strategy_name} to {to}? "
                    f"Send /stage_demote {to} {CONFIRM} {' '.join(rest)}".rstrip())
        reason = " ".join(a for a in rest if a != CONFIRM) or "manual (telegram)"
        return service.stage_demote(to, by=_user(update), reason=reason)

    answers = {
        "regime": lambda update, args: service.regime(),
        "breakers": lambda update, args: service.breakers(),
        "killswitch_reset": killswitch_reset,
        "stage": lambda update, args: service.stage(),
        "brief": lambda update, args: service.brief(),
        "ideas": ideas,
        "review": lambda update, args: service.review(),
        "approve": approve,
        "council": council,
        "journal": journal,
        "drift": lambda update, args: service.drift(),
        "stage_promote": stage_promote,
        "stage_demote": stage_demote,
        "suite_metrics": lambda update, args: service.metrics(),
        "suite_help": lambda update, args: service.help(),
    }
    return answers


def build_handlers(tg: Any, service: SuiteService,
                   authorized_only: Callable[[Handler], Handler]) -> list[CommandHandler]:
    """One ``CommandHandler`` per suite command, behind Freqtrade's ``authorized_only``; the
    last one is the suite's ``/help`` (for :data:`HELP_GROUP`, after Freqtrade's)."""
    handlers = [CommandHandler(name, partial(authorized_only(_command(name, answer)), tg))
                for name, answer in command_answers(service).items()]
    suite_list = _command("help", lambda update, args: service.help())
    handlers.append(CommandHandler("help", partial(authorized_only(suite_list), tg)))
    return handlers


def menu_commands() -> list[BotCommand]:
    """The bot's command menu: Freqtrade's ``/help`` and every suite command (Bot API
    ``setMyCommands``: names 1-32 lowercase characters, descriptions 1-256)."""
    return [BotCommand("help", "Freqtrade's commands, then the suite's"),
            *(BotCommand(name, text[:256]) for name, text in COMMANDS)]


def register_handlers(tg: Any, handlers: list[CommandHandler]) -> None:
    """Add ``handlers`` to Freqtrade's Telegram application on its own event loop (a ``/help``
    handler to :data:`HELP_GROUP`, after Freqtrade's own), then set the command menu."""
    for handler in handlers:
        group = HELP_GROUP if "help" in handler.commands else 0
        tg._loop.call_soon_threadsafe(partial(tg._app.add_handler, handler, group))
    future = asyncio.run_coroutine_threadsafe(tg._app.bot.set_my_commands(menu_commands()),
                                              tg._loop)
    future.add_done_callback(_log_menu_failure)


def _log_menu_failure(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("Telegram command menu not set (setMyCommands): %s", future.exception())
