"""The suite's Telegram commands, added to Freqtrade's running Telegram bot.

Each command is a ``CommandHandler(name, partial(authorized_only(fn), tg))``: Freqtrade's own
``authorized_only`` decorator rejects every chat but the configured ``chat_id`` (and topic /
users when configured) exactly as for Freqtrade's commands, and answers go back through
``tg._send_msg`` to that chat. Handlers are added on the Telegram thread's event loop
(``tg._loop.call_soon_threadsafe(tg._app.add_handler, handler)``); the service calls run in a
worker thread (``asyncio.to_thread``) so a slow answer (an LLM review) never blocks
Freqtrade's own commands.

Commands: see ``status.COMMANDS`` (``/suite_help`` lists them; Freqtrade's ``/help`` is its
own).
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from telegram.constants import MessageLimit, ParseMode
from telegram.ext import CommandHandler

from plugins.rpc.botthread import BotLoopTimeout
from plugins.rpc.llm_hooks import LlmRefused, LlmUnavailable
from plugins.rpc.service import SuiteService
from plugins.rpc.status import Answer

CONFIRM = "CONFIRM"
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

    answers = {
        "regime": lambda update, args: service.regime(),
        "breakers": lambda update, args: service.breakers(),
        "killswitch_reset": killswitch_reset,
        "stage": lambda update, args: service.stage(),
        "brief": lambda update, args: service.brief(),
        "ideas": ideas,
        "review": lambda update, args: service.review(),
        "approve": approve,
        "suite_help": lambda update, args: service.help(),
    }
    return answers


def build_handlers(tg: Any, service: SuiteService,
                   authorized_only: Callable[[Handler], Handler]) -> list[CommandHandler]:
    """One ``CommandHandler`` per suite command, behind Freqtrade's ``authorized_only``."""
    return [CommandHandler(name, partial(authorized_only(_command(name, answer)), tg))
            for name, answer in command_answers(service).items()]


def register_handlers(tg: Any, handlers: list[CommandHandler]) -> None:
    """Add ``handlers`` to Freqtrade's Telegram application on its own event loop."""
    for handler in handlers:
        tg._loop.call_soon_threadsafe(tg._app.add_handler, handler)
