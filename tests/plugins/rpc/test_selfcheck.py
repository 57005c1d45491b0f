"""The start-up self-check: every Freqtrade internal plugins.rpc touches is verified, and a
missing one stops the bot with a message naming it and the tested Freqtrade version."""

from __future__ import annotations

import logging
import types

import pytest
from fastapi import FastAPI

from plugins.rpc import selfcheck
from plugins.rpc.selfcheck import TESTED_FREQTRADE, RpcIntegrationError


class Throwaway:
    """An object with exactly the attributes a test gives it."""

    def __init__(self, **attrs) -> None:
        self.__dict__.update(attrs)


def ui_app() -> FastAPI:
    from freqtrade.rpc.api_server.web_ui import router_ui

    app = FastAPI()
    app.include_router(router_ui)
    return app


async def _send_msg(msg: str) -> None:
    return None


def started_telegram(**drop: bool) -> Throwaway:
    attrs = {"_app": Throwaway(add_handler=lambda handler: None), "_loop": object(),
             "_send_msg": _send_msg}
    return Throwaway(**{k: v for k, v in attrs.items() if k not in drop})


def test_tested_version_is_the_pinned_freqtrade():
    import freqtrade

    assert TESTED_FREQTRADE == "2026.9" == freqtrade.__version__
    assert selfcheck.check_version() is True


def test_check_version_when_other_version_then_warns(caplog):
    with caplog.at_level(logging.WARNING):
        assert selfcheck.check_version("2027.1") is False

    assert "tested with Freqtrade 2026.9, this is 2027.1" in caplog.text


def test_rpc_manager_when_dataprovider_lacks_private_rpc_then_error_names_it():
    with pytest.raises(RpcIntegrationError, match=r"DataProvider\._DataProvider__rpc is missing.*"
                                                  r"tested with Freqtrade 2026\.9"):
        selfcheck.rpc_manager_of(Throwaway())


def test_rpc_manager_when_real_dataprovider_then_found():
    from freqtrade.data.dataprovider import DataProvider

    manager = object()
    dp = DataProvider({"timeframe": "1h"}, None, rpc=manager)

    assert selfcheck.rpc_manager_of(dp) is manager


def test_find_targets_when_manager_has_no_registered_modules_then_error_names_it():
    with pytest.raises(RpcIntegrationError, match=r"RPCManager\.registered_modules is missing"):
        selfcheck.find_targets(Throwaway())


def api_server_without_init(**attrs):
    """A throwaway instance of Freqtrade's ApiServer class (its singleton ``__new__`` and its
    ``__init__``, which starts uvicorn, bypassed), with only ``attrs`` set."""
    from freqtrade.rpc.api_server import ApiServer

    server = object.__new__(ApiServer)
    server.__dict__.update(attrs)
    return server


def test_find_targets_when_api_server_has_no_app_then_error_names_it():
    with pytest.raises(RpcIntegrationError, match=r"ApiServer\.app is missing"):
        selfcheck.find_targets(Throwaway(registered_modules=[api_server_without_init()]))


def test_catch_all_index_when_ui_route_missing_then_error_names_it():
    with pytest.raises(RpcIntegrationError, match=r"UI catch-all route /\{rest_of_path:path\}"):
        selfcheck.catch_all_index(FastAPI())


def test_catch_all_index_when_freqtrade_ui_router_included_then_found():
    app = ui_app()

    assert selfcheck.catch_all_index(app) == len(app.router.routes) - 1


def test_find_targets_when_auth_dependency_moved_then_error_names_it(monkeypatch):
    import freqtrade.rpc.api_server.api_auth as api_auth

    monkeypatch.delattr(api_auth, "http_basic_or_jwt_token")

    server = api_server_without_init(app=ui_app())

    with pytest.raises(RpcIntegrationError,
                       match=r"freqtrade\.rpc\.api_server\.api_auth\.http_basic_or_jwt_token"):
        selfcheck.find_targets(Throwaway(registered_modules=[server]))


@pytest.mark.parametrize("missing", ["_app", "_loop", "_send_msg"])
def test_check_telegram_when_internal_missing_then_error_names_it(missing):
    with pytest.raises(RpcIntegrationError, match=rf"Telegram\.{missing} is missing"):
        selfcheck.check_telegram(started_telegram(**{missing: True}))


def test_check_telegram_when_send_msg_not_a_coroutine_then_error():
    telegram = started_telegram()
    telegram._send_msg = lambda msg: None

    with pytest.raises(RpcIntegrationError, match=r"Telegram\._send_msg as a coroutine function"):
        selfcheck.check_telegram(telegram)


def test_check_telegram_when_authorized_only_moved_then_error_names_it(monkeypatch):
    import freqtrade.rpc.telegram as ft_telegram

    monkeypatch.delattr(ft_telegram, "authorized_only")

    with pytest.raises(RpcIntegrationError, match=r"freqtrade\.rpc\.telegram\.authorized_only"):
        selfcheck.check_telegram(started_telegram())


def test_check_telegram_when_all_present_then_returns_freqtrades_decorator():
    from freqtrade.rpc.telegram import authorized_only

    assert selfcheck.check_telegram(started_telegram()) is authorized_only


def test_telegram_ready_only_once_the_thread_set_app_and_loop():
    assert not selfcheck.telegram_ready(types.SimpleNamespace(_send_msg=_send_msg))
    assert selfcheck.telegram_ready(started_telegram())
