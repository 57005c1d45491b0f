"""The Freqtrade internals ``plugins.rpc`` registers through, checked once at bot start.

Freqtrade has no plugin API for Telegram commands or REST routes, so the suite reaches into
a few internals (probed on Freqtrade ``TESTED_FREQTRADE``, see DESIGN.md "Extension points").
Every one of them is checked here before anything is registered; a missing one raises
:class:`RpcIntegrationError` naming it and the tested version, so an upgrade that moved an
internal stops the bot at start-up instead of silently losing the commands.

Internals touched:

- ``DataProvider._DataProvider__rpc``: the ``RPCManager`` (None outside dry-run/live);
- ``RPCManager.registered_modules``: the ``ApiServer`` and ``Telegram`` instances;
- ``ApiServer.app`` (FastAPI) and its UI catch-all route ``/{rest_of_path:path}``, which our
  routes must precede; ``freqtrade.rpc.api_server.api_auth.http_basic_or_jwt_token``;
- ``Telegram._app`` / ``_loop`` (set in the Telegram thread), ``Telegram._send_msg`` and
  ``freqtrade.rpc.telegram.authorized_only``.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import freqtrade

from plugins.core.errors import SuiteError

logger = logging.getLogger(__name__)

#: The Freqtrade version whose internals were probed; another version logs a warning.
TESTED_FREQTRADE = "2026.9"
#: Path of Freqtrade's UI catch-all route (``freqtrade/rpc/api_server/web_ui.py``).
UI_CATCH_ALL = "/{rest_of_path:path}"
RPC_ATTRIBUTE = "_DataProvider__rpc"


class RpcIntegrationError(SuiteError):
    """A Freqtrade internal that ``plugins.rpc`` needs is missing or changed. Raised at bot
    start (``bot_start``), which stops the bot: pin Freqtrade to ``TESTED_FREQTRADE`` or port
    ``plugins.rpc`` to the new internals (the message names the missing one)."""


def _missing(what: str, why: str = "") -> RpcIntegrationError:
    detail = f" ({why})" if why else ""
    return RpcIntegrationError(
        f"Freqtrade internal {what} is missing{detail}: the suite's Telegram commands and REST "
        f"routes are tested with Freqtrade {TESTED_FREQTRADE}, this is Freqtrade "
        f"{freqtrade.__version__}. Pin freqtrade=={TESTED_FREQTRADE} or update plugins/rpc.")


def require_attr(obj: Any, name: str, what: str) -> Any:
    """``getattr(obj, name)``, or :class:`RpcIntegrationError` naming ``what``."""
    try:
        return getattr(obj, name)
    except AttributeError:
        raise _missing(what) from None


def require_import(module: str, name: str) -> Any:
    """``module.name`` imported, or :class:`RpcIntegrationError` naming it."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise _missing(f"{module}.{name}", str(err)) from None


def check_version(version: str = freqtrade.__version__) -> bool:
    """True when ``version`` is the tested one; logs a warning otherwise."""
    if version == TESTED_FREQTRADE:
        return True
    logger.warning("plugins.rpc was tested with Freqtrade %s, this is %s: the start-up "
                   "self-check verifies the internals it uses", TESTED_FREQTRADE, version)
    return False


def rpc_manager_of(dp: Any) -> Any:
    """The RPC manager of a strategy's ``DataProvider`` (``None`` in backtesting and other
    non-trade modes).

    Raises:
        RpcIntegrationError: the DataProvider no longer keeps it under ``__rpc``.
    """
    return require_attr(dp, RPC_ATTRIBUTE, f"DataProvider.{RPC_ATTRIBUTE}")


@dataclass(frozen=True)
class RpcTargets:
    """What the suite registers into: Freqtrade's ``ApiServer`` and ``Telegram`` instances
    (``None`` when that module is disabled) and the FastAPI / Telegram helpers it uses."""

    api_server: Any | None
    telegram: Any | None
    http_basic_or_jwt_token: Callable[..., Any] | None
    authorized_only: Callable[..., Any] | None


def holds_route(route: Any, test: Callable[[Any], bool]) -> bool:
    """Whether ``route`` is, or (an included router) contains, a route passing ``test``.

    FastAPI up to 0.11x copies an included router's routes into ``app.router.routes``; the
    FastAPI pinned with Freqtrade 2026.9 keeps one entry per included router instead (its
    ``original_router`` holds the routes).
    """
    if test(route):
        return True
    inner = getattr(route, "original_router", None)
    return inner is not None and any(holds_route(r, test) for r in getattr(inner, "routes", ()))


def catch_all_index(app: Any) -> int:
    """Index in ``app.router.routes`` of the entry holding Freqtrade's UI catch-all route.

    Raises:
        RpcIntegrationError: ``app.router.routes`` or the catch-all route is missing.
    """
    router = require_attr(app, "router", "ApiServer.app.router")
    routes = require_attr(router, "routes", "ApiServer.app.router.routes")
    for index, route in enumerate(routes):
        if holds_route(route, lambda r: getattr(r, "path", None) == UI_CATCH_ALL):
            return index
    raise _missing(f"the UI catch-all route {UI_CATCH_ALL} in ApiServer.app.router.routes")


def check_api_server(api_server: Any) -> Callable[..., Any]:
    """Check the REST internals; returns ``http_basic_or_jwt_token``."""
    app = require_attr(api_server, "app", "ApiServer.app")
    catch_all_index(app)
    return require_import("freqtrade.rpc.api_server.api_auth", "http_basic_or_jwt_token")


def check_telegram(telegram: Any) -> Callable[..., Any]:
    """Check the Telegram internals on a started ``Telegram`` instance (its thread has set
    ``_app`` and ``_loop``, see :func:`telegram_ready`); returns ``authorized_only``."""
    require_attr(telegram, "_app", "Telegram._app")
    require_attr(telegram, "_loop", "Telegram._loop")
    send = require_attr(telegram, "_send_msg", "Telegram._send_msg")
    if not inspect.iscoroutinefunction(send):
        raise _missing("Telegram._send_msg as a coroutine function", f"found {send!r}")
    if not callable(getattr(require_attr(telegram, "_app", "Telegram._app"), "add_handler", None)):
        raise _missing("Telegram._app.add_handler")
    return require_import("freqtrade.rpc.telegram", "authorized_only")


def telegram_ready(telegram: Any) -> bool:
    """Whether the Telegram thread has created ``_app`` and ``_loop`` yet."""
    return hasattr(telegram, "_app") and hasattr(telegram, "_loop")


def find_targets(manager: Any) -> RpcTargets:
    """Freqtrade's REST and Telegram modules among ``manager.registered_modules``, with the
    REST internals checked (Telegram's are checked once its thread is up: ``check_telegram``).

    Raises:
        RpcIntegrationError: a required internal is missing.
    """
    modules = require_attr(manager, "registered_modules", "RPCManager.registered_modules")
    api_class = require_import("freqtrade.rpc.api_server", "ApiServer")
    telegram_class = require_import("freqtrade.rpc.telegram", "Telegram")
    api_server = next((m for m in modules if isinstance(m, api_class)), None)
    telegram = next((m for m in modules if isinstance(m, telegram_class)), None)
    auth = check_api_server(api_server) if api_server is not None else None
    authorized = None
    if telegram is not None:
        require_attr(telegram, "_send_msg", "Telegram._send_msg")
        authorized = require_import("freqtrade.rpc.telegram", "authorized_only")
    return RpcTargets(api_server, telegram, auth, authorized)
