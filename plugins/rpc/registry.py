"""``attach(guard, dp, clock)``: register the suite's REST routes and Telegram commands into a
running Freqtrade, and the object whose ``poll()`` the risk guard calls at every bot loop.

Called by ``plugins.guard.RiskGuardMixin`` at ``bot_start`` in dry-run/live with its
:class:`~plugins.rpc.view.GuardView` (an exception there stops the bot, which is what a failed
self-check should do). The REST routes are registered at once
(Freqtrade's FastAPI app exists before the strategy starts); the Telegram commands as soon as
Freqtrade's Telegram thread has created its application (normally already at ``bot_start``;
else at a later ``poll()``). Before that, ``announce_starting(dp)`` (called by the guard when
Freqtrade hands the strategy its DataProvider, right after the API server started) makes every
suite path answer 503 "starting" instead of the UI catch-all's 404.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from plugins.core.clock import Clock
from plugins.rpc import plot, rest, selfcheck, telegram
from plugins.rpc.llm_hooks import LlmHooks
from plugins.rpc.notify import DriftAlerts, Outbox
from plugins.rpc.service import SuiteService
from plugins.rpc.view import GuardView
from plugins.rpc.weekly import WeeklyReviews, marker_path

logger = logging.getLogger(__name__)

#: How long ``attach`` waits for Freqtrade's Telegram thread to create its application.
TELEGRAM_START_S = 10.0


class SuiteRpc:
    """The suite's RPC extensions of one running bot (built by :func:`attach`).

    Attributes:
        service: the commands' answers (shared by REST and Telegram).
        outbox: notifications from other threads, sent by :meth:`poll`.
        breaker_column: the ``risk_state`` column the guard adds to analysed dataframes.
        telegram_registered: whether the Telegram commands are registered.
    """

    def __init__(self, dp: Any, targets: selfcheck.RpcTargets, service: SuiteService,
                 outbox: Outbox) -> None:
        self.dp = dp
        self.targets = targets
        self.service = service
        self.outbox = outbox
        self.drift_alerts = DriftAlerts()
        self.breaker_column = plot.live_breaker_column(service.clock)
        self.telegram_registered = False
        self.telegram_failed = False
        self._failed: set[str] = set()
        self.weekly: WeeklyReviews | None = None

    def register_rest(self) -> int:
        """Add the REST routes to Freqtrade's API server (if enabled); returns how many."""
        api = self.targets.api_server
        if api is None:
            return 0
        router = rest.build_router(self.service, self.targets.http_basic_or_jwt_token)
        count = rest.register_routes(api.app, router)
        logger.info("Suite REST routes registered under %s (%d)", rest.PREFIX, count)
        return count

    def register_telegram(self) -> bool:
        """Register the Telegram commands once Freqtrade's Telegram thread is up; True when
        registered (now or before), False while it is still starting.

        Raises:
            RpcIntegrationError: the thread is up but an internal is missing.
        """
        tg = self.targets.telegram
        if tg is None or self.telegram_registered:
            return self.telegram_registered
        if not selfcheck.telegram_ready(tg):
            return False
        authorized_only = selfcheck.check_telegram(tg)
        telegram.register_handlers(tg, telegram.build_handlers(tg, self.service, authorized_only))
        self.telegram_registered = True
        logger.info("Suite Telegram commands registered: %s (listed by /suite_help)",
                    ", ".join(f"/{name}" for name in telegram.command_answers(self.service)))
        return True

    def poll(self) -> None:
        """Once per bot loop (bot thread), right after the risk guard's loop: run the state
        changes REST / Telegram asked for (kill-switch reset), register Telegram commands if
        pending, queue new drift findings, send queued notifications through ``dp.send_msg``.

        Never raises: the guard calls it before the strategy's own ``bot_loop_start``, which
        an exception would skip. Each step fails on its own and is logged (the first failure
        of a step with its traceback); a Telegram self-check failure is not retried.
        """
        steps = (("bot-thread calls", self.service.bot_thread.run_pending),
                 ("Telegram registration", self._register_telegram_once),
                 ("drift alerts", self._queue_drift_alerts),
                 ("weekly review", lambda: self.weekly is not None and self.weekly.tick()),
                 ("notifications", lambda: self.outbox.flush(
                     lambda text: self.dp.send_msg(text, always_send=True))))
        for name, step in steps:
            try:
                step()
            except Exception as err:  # noqa: BLE001 - the bot loop must go on; logged here
                if name not in self._failed:
                    self._failed.add(name)
                    logger.exception("Suite RPC %s failed", name)
                else:
                    logger.warning("Suite RPC %s failed again: %s: %s", name,
                                   type(err).__name__, err)

    def _register_telegram_once(self) -> None:
        if self.telegram_failed:
            return
        try:
            self.register_telegram()
        except selfcheck.RpcIntegrationError:
            self.telegram_failed = True  # the internals will not come back: stop trying
            raise

    def _queue_drift_alerts(self) -> None:
        status = self.service.guard.drift_status()
        for text in self.drift_alerts.new(status or {}):
            self.outbox.put(text)


def announce_starting(dp: Any) -> bool:
    """Register the 503 "starting" placeholder (``rest.build_starting_router``) on Freqtrade's
    API server of ``dp``'s RPC manager; True when registered. ``attach`` replaces it.

    Never raises (it runs inside Freqtrade's bot construction): a missing internal is logged
    and left to ``attach``'s self-check, which stops the bot with the reason.
    """
    try:
        manager = selfcheck.rpc_manager_of(dp)
        if manager is None:
            return False
        targets = selfcheck.find_targets(manager)
        if targets.api_server is None:
            return False
        rest.register_routes(targets.api_server.app,
                             rest.build_starting_router(targets.http_basic_or_jwt_token))
    except Exception as err:  # noqa: BLE001 - attach's self-check reports it properly
        logger.warning("Suite REST placeholder not registered (%s: %s); /api/v1/suite/ answers "
                       "404 until the strategy starts", type(err).__name__, err)
        return False
    logger.info("Suite REST routes answer 503 'starting' until the strategy starts")
    return True


def attach(guard: GuardView, dp: Any, clock: Clock) -> SuiteRpc | None:
    """Register the suite's RPC extensions for a running ``guard``.

    Args:
        guard: the risk guard (:class:`~plugins.rpc.view.GuardView`).
        dp: the strategy's Freqtrade ``DataProvider`` (its RPC manager, ``send_msg``).
        clock: the bot's clock (UTC; also times the wait for Telegram's thread).

    Returns ``None`` when Freqtrade runs without RPC (no RPC manager), else the
    :class:`SuiteRpc` whose ``poll()`` the guard calls at each ``bot_loop_start``.

    Raises:
        RpcIntegrationError: a Freqtrade internal the registration needs is missing (the
            message names it and the tested Freqtrade version).
    """
    selfcheck.check_version()
    manager = selfcheck.rpc_manager_of(dp)
    if manager is None:
        return None
    targets = selfcheck.find_targets(manager)
    outbox = Outbox()
    service = SuiteService(guard, outbox, LlmHooks(guard.config), clock)
    suite = SuiteRpc(dp, targets, service, outbox)
    weekly = service.llm.llm_config.weekly_review
    if weekly.enabled:  # ai_suite.llm.weekly_review: the bot loop starts it (plugins/rpc/weekly.py)
        suite.weekly = WeeklyReviews(service.weekly_review, guard.strategy_name, weekly,
                                     marker_path(guard.config), outbox, clock)
    suite.register_rest()
    deadline = clock.monotonic() + TELEGRAM_START_S
    while targets.telegram is not None and not suite.register_telegram():
        if clock.monotonic() > deadline:
            logger.warning("Freqtrade's Telegram thread has not started after %gs; the suite's "
                           "commands are registered at a later bot loop", TELEGRAM_START_S)
            break
        time.sleep(0.1)
    return suite
