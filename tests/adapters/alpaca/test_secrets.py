"""Neither half of the Alpaca key pair ever appears in an exception or a log line (DEBUG
included): alpaca-py's real clients against the local Alpaca on every REST error path (the
error bodies echo the credentials, as a misbehaving proxy might), an unreachable server, and a
whole paper session (REST + both websocket streams, which authenticate with the pair)."""

from __future__ import annotations

import json
import logging
import traceback
import uuid

import pytest
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest

from adapters.alpaca.client import AlpacaRest
from adapters.alpaca.config import AlpacaConfig, AlpacaCredentials
from adapters.alpaca.errors import AlpacaError
from tests.adapters.alpaca.conftest import CREDENTIALS, session


@pytest.fixture
def credentials() -> AlpacaCredentials:
    """A pair unique to the test (the redaction registry lives as long as the process)."""
    tag = uuid.uuid4().hex.upper()
    return AlpacaCredentials(key_id=f"PKLEAK{tag[:14]}", secret_key=f"leak-canary-{tag}")


def formatted(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def echoing(credentials: AlpacaCredentials, code: int) -> str:
    return json.dumps({"code": code, "message": f"request not authorized for key "
                       f"{credentials.key_id} / secret {credentials.secret_key}"})


def assert_no_credentials(credentials: AlpacaCredentials, *texts: str) -> None:
    for text in texts:
        assert credentials.key_id not in text and credentials.secret_key not in text


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/v2/account", 401, 40110000), ("GET", "/v2/account", 403, 40310000),
    ("GET", "/v2/account", 429, 42910000), ("GET", "/v2/account", 500, 50010000),
    ("POST", "/v2/orders", 403, 40310000), ("POST", "/v2/orders", 422, 42210000),
])
def test_rest_when_alpaca_errors_and_echoes_credentials_then_in_neither_error_nor_logs(
        fake, alpaca_config, credentials, caplog, method, path, status, code):
    fake.failures += [(method, path, status, echoing(credentials, code), {})] * 6
    rest = AlpacaRest(alpaca_config, credentials, sleep=lambda s: None)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AlpacaError) as raised:
        if method == "GET":
            rest.account()
        else:
            rest.submit_order(MarketOrderRequest(symbol="SPY", qty=1, side=OrderSide.BUY,
                                                 time_in_force=TimeInForce.DAY,
                                                 client_order_id=uuid.uuid4().hex))

    assert raised.value.status == status
    assert_no_credentials(credentials, formatted(raised.value), caplog.text)


def test_rest_when_alpaca_unreachable_then_credentials_in_neither_error_nor_logs(
        alpaca_config, credentials, caplog):
    config = AlpacaConfig.model_validate({**alpaca_config.model_dump(),
                                          "trading_url": "http://127.0.0.1:9", "retry_attempts": 1})
    rest = AlpacaRest(config, credentials, sleep=lambda s: None)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AlpacaError) as raised:
        rest.account()

    assert_no_credentials(credentials, formatted(raised.value), caplog.text)


def test_paper_session_when_run_at_debug_then_credentials_never_logged(fake, suite, caplog):
    caplog.set_level(logging.DEBUG)

    session(fake, suite, {}, bars=2, interval_s=0.1)

    assert "trade_updates stream connected" in caplog.text
    assert_no_credentials(CREDENTIALS, caplog.text)
