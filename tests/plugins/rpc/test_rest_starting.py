"""Before the strategy's ``bot_start`` registers the suite's REST routes, every suite path
answers 503 "starting" (with Retry-After), not the UI catch-all's 404 - on Freqtrade's real
ApiServer (its uvicorn start skipped), triggered by the real ``RiskGuardMixin`` when Freqtrade
hands the strategy its DataProvider (``strategy.dp = ...``, as ``FreqtradeBot.__init__`` does)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from freqtrade.data.dataprovider import DataProvider

from plugins.core.clock import FixedClock
from plugins.rpc.registry import announce_starting, attach
from plugins.rpc.rest import PREFIX, STARTING_RETRY_AFTER_S
from tests.plugins.guard.conftest import GuardedStrategy
from tests.plugins.rpc.conftest import NOW, bot_loop, running_guard
from tests.plugins.rpc.test_rest import PASSWORD, USER, api_config, manager  # noqa: F401 - fixtures


def _client(manager) -> TestClient:  # noqa: F811 - the fixture's value
    [api] = manager.registered_modules
    return TestClient(api.app)


def test_suite_path_when_dry_run_strategy_gets_its_dataprovider_then_503_starting_not_404(
        api_config, manager):  # noqa: F811
    strategy = GuardedStrategy(api_config)
    client = _client(manager)
    assert client.get(f"{PREFIX}/regime", auth=(USER, PASSWORD)).status_code == 404  # catch-all

    strategy.dp = DataProvider(api_config, None, rpc=manager)

    for method, route in (("GET", "regime"), ("GET", "journal"), ("POST", "approve")):
        answer = client.request(method, f"{PREFIX}/{route}", auth=(USER, PASSWORD))
        assert answer.status_code == 503, route
        assert answer.json()["detail"].startswith("starting")
        assert answer.headers["Retry-After"] == str(STARTING_RETRY_AFTER_S)
    assert client.get(f"{PREFIX}/regime").status_code == 401  # still behind Freqtrade's auth


def test_suite_path_when_attach_runs_after_the_placeholder_then_real_routes_answer(
        api_config, manager):  # noqa: F811
    guard = running_guard(api_config, rpc=manager)
    assert announce_starting(guard.dp)
    client = _client(manager)
    assert client.get(f"{PREFIX}/regime", auth=(USER, PASSWORD)).status_code == 503

    suite = attach(guard, guard.dp, FixedClock(NOW))

    with bot_loop(suite.service):
        assert client.get(f"{PREFIX}/regime", auth=(USER, PASSWORD)).status_code == 200
        assert client.get(f"{PREFIX}/no-such-route", auth=(USER, PASSWORD)).status_code == 404


def test_announce_starting_when_no_rpc_manager_then_nothing_is_registered(api_config):  # noqa: F811
    assert announce_starting(DataProvider(api_config, None)) is False
