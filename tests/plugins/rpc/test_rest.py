"""The suite's REST routes on Freqtrade's real ApiServer (built by Freqtrade's real RPCManager,
only its uvicorn start skipped), registered by ``attach`` as in a running bot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from freqtrade.persistence import PairLocks
from freqtrade.rpc.api_server import ApiServer
from freqtrade.rpc.api_server.api_auth import http_basic_or_jwt_token
from freqtrade.rpc.rpc_manager import RPCManager

from plugins.core.clock import FixedClock
from plugins.rpc.registry import SuiteRpc, attach
from plugins.rpc.rest import PREFIX
from tests.plugins.rpc.conftest import NOW, bot_loop, dry_run_config, running_guard

USER, PASSWORD = "suite", "suite-password"
GETS = ("regime", "breakers", "journal", "stage", "brief", "drift")
KILL_REASON = "ai_suite:drawdown_kill_switch: drawdown 50.00% >= 15.00%; human reset needed"


@pytest.fixture
def api_config(tmp_path, freqtrade_db) -> dict:
    return dry_run_config(tmp_path, freqtrade_db, api_server={
        "enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": 0,
        "username": USER, "password": PASSWORD, "CORS_origins": [],
        "jwt_secret_key": "suite-rest-test-secret-at-least-32-characters"})


@pytest.fixture
def manager(api_config, monkeypatch) -> Iterator[RPCManager]:
    monkeypatch.setattr(ApiServer, "start_api", lambda self: None)  # no uvicorn thread
    manager = RPCManager(SimpleNamespace(config=api_config))
    yield manager
    manager.cleanup()
    ApiServer.shutdown()


@pytest.fixture
def suite(api_config, manager) -> Iterator[SuiteRpc]:
    guard = running_guard(api_config, rpc=manager)
    suite = attach(guard, guard.dp, FixedClock(NOW))
    with bot_loop(suite.service):
        yield suite


@pytest.fixture
def client(manager, suite) -> TestClient:
    [api] = manager.registered_modules
    return TestClient(api.app)


@pytest.mark.parametrize("route", GETS)
def test_get_when_basic_auth_then_200_without_then_401(client, route):
    assert client.get(f"{PREFIX}/{route}", auth=(USER, PASSWORD)).status_code == 200
    assert client.get(f"{PREFIX}/{route}").status_code == 401
    assert client.get(f"{PREFIX}/{route}", auth=(USER, "wrong")).status_code == 401


def test_get_when_jwt_from_freqtrades_login_then_200(client):
    token = client.post("/api/v1/token/login", auth=(USER, PASSWORD)).json()["access_token"]

    answer = client.get(f"{PREFIX}/regime", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 200
    assert [p["pair"] for p in answer.json()["pairs"]] == ["BTC/USDT", "ETH/USDT"]


def test_routes_added_after_start_without_reordering_are_swallowed_by_the_ui_catch_all(manager):
    [api] = manager.registered_modules
    late = APIRouter(prefix="/api/v1/late", dependencies=[Depends(http_basic_or_jwt_token)])
    late.add_api_route("/ping", lambda: {"ok": True})
    api.app.include_router(late)

    assert TestClient(api.app).get("/api/v1/late/ping", auth=(USER, PASSWORD)).status_code == 404


def test_register_twice_then_routes_replaced_not_duplicated(client, suite):
    count = len(client.app.router.routes)

    suite.register_rest()

    assert len(client.app.router.routes) == count
    assert client.get(f"{PREFIX}/stage", auth=(USER, PASSWORD)).status_code == 200


def test_breakers_then_killswitch_reset_lifts_the_lock(client):
    PairLocks.lock_pair("*", NOW + timedelta(days=3650), KILL_REASON, now=NOW, side="*")
    before = client.get(f"{PREFIX}/breakers", auth=(USER, PASSWORD)).json()
    assert [lock["breaker"] for lock in before["locks"]] == ["drawdown_kill_switch"]

    refused = client.post(f"{PREFIX}/killswitch_reset", auth=(USER, PASSWORD), json={})
    reset = client.post(f"{PREFIX}/killswitch_reset", auth=(USER, PASSWORD),
                        json={"confirm": "CONFIRM"})
    unauthorized = client.post(f"{PREFIX}/killswitch_reset", json={"confirm": "CONFIRM"})

    assert refused.status_code == 422 and unauthorized.status_code == 401
    assert reset.status_code == 200 and reset.json()["lifted"] == 1
    assert reset.json()["by"] == f"rest:{USER}"
    assert client.get(f"{PREFIX}/breakers", auth=(USER, PASSWORD)).json()["locks"] == []
    journal = client.get(f"{PREFIX}/journal", params={"kind": "reset"}, auth=(USER, PASSWORD))
    assert [r["reason"] for r in journal.json()["rows"]] == ["drawdown_kill_switch"]


def test_journal_when_kind_unknown_then_422(client):
    answer = client.get(f"{PREFIX}/journal", params={"kind": "nope"}, auth=(USER, PASSWORD))

    assert answer.status_code == 422 and "kind must be one of" in answer.text


def test_review_when_strategy_has_no_tree_then_503_not_available(client):
    review = client.get(f"{PREFIX}/review", auth=(USER, PASSWORD))

    assert review.status_code == 503
    assert review.json()["detail"].startswith("not available: TestBot was not compiled "
                                              "from a strategy tree")


def test_approve_when_review_unknown_then_409_refused(client):
    approve = client.post(f"{PREFIX}/approve", auth=(USER, PASSWORD),
                          json={"id": "20240320-0123abcd"})

    assert approve.status_code == 409
    assert "No review '20240320-0123abcd'" in approve.json()["detail"]


@pytest.mark.parametrize("rid", ["../forged", "/etc/passwd", "2" * 5000, "r1"],
                         ids=["parent", "absolute", "5000-chars", "short"])
def test_approve_when_id_not_of_the_generated_shape_then_422_naming_the_shape(client, rid):
    approve = client.post(f"{PREFIX}/approve", auth=(USER, PASSWORD), json={"id": rid})

    assert approve.status_code == 422
    detail = approve.json()["detail"]
    assert "is not a review id" in detail and "YYYYMMDD-" in detail and len(detail) < 400
