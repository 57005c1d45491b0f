"""The raw REST client: alpaca-py's real clients against the local Alpaca, retries on 429 and
5xx, typed errors, idempotent order submission, paged bars."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alpaca.common.exceptions import APIError
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest

from adapters.alpaca.client import AlpacaRest, translate
from adapters.alpaca.config import AlpacaConfig
from adapters.alpaca.errors import (
    AlpacaAuthError,
    AlpacaConnectionError,
    AlpacaOrderRejected,
    AlpacaRateLimitError,
    AlpacaRequestError,
    AlpacaServerError,
)
from tests.adapters.alpaca.conftest import CREDENTIALS

BODY = json.dumps({"code": 42910000, "message": "rate limit exceeded"})


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def rest(alpaca_config: AlpacaConfig, sleeps: list[float]) -> AlpacaRest:
    return AlpacaRest(alpaca_config, CREDENTIALS, sleep=sleeps.append)


def _count(fake, method: str, path: str) -> int:
    return sum(1 for m, p, _ in fake.requests if m == method and p == path)


def test_account_when_429_then_503_then_ok_then_retried_honouring_retry_after(fake, rest, sleeps):
    # Arrange
    fake.failures += [("GET", "/v2/account", 429, BODY, {"Retry-After": "0.03"}),
                      ("GET", "/v2/account", 503, '{"code": 50300000, "message": "busy"}', {})]
    # Act
    account = rest.account()
    # Assert
    assert account.cash == pytest.approx(100_000.0) and account.equity == pytest.approx(100_000.0)
    assert sleeps == [pytest.approx(0.03), pytest.approx(0.02)]  # Retry-After, then 0.01 x 2
    assert _count(fake, "GET", "/v2/account") == 3


def test_account_when_429_persists_then_rate_limit_error_after_every_retry(fake, rest, sleeps):
    # Arrange
    fake.failures += [("GET", "/v2/account", 429, BODY, {})] * 5
    # Act / Assert
    with pytest.raises(AlpacaRateLimitError, match="rate limit exceeded") as info:
        rest.account()
    assert info.value.status == 429 and info.value.code == 42910000
    assert _count(fake, "GET", "/v2/account") == 4  # 1 + retry_attempts (3)
    assert sleeps == [pytest.approx(0.01), pytest.approx(0.02), pytest.approx(0.04)]


def test_account_when_502_html_then_server_error_with_the_text(fake, rest):
    # Arrange
    fake.failures += [("GET", "/v2/account", 502, "<html>Bad Gateway</html>", {})] * 4
    # Act / Assert
    with pytest.raises(AlpacaServerError, match="HTTP 502 <html>Bad Gateway</html>"):
        rest.account()


def test_account_when_401_then_auth_error_and_no_retry(fake, rest, sleeps):
    # Arrange
    fake.failures.append(("GET", "/v2/account", 401, '{"code": 40110000, "message": "unauthorized."}', {}))
    # Act / Assert
    with pytest.raises(AlpacaAuthError, match="unauthorized"):
        rest.account()
    assert sleeps == []


def test_submit_when_500_after_alpaca_created_it_then_found_by_client_order_id_not_doubled(fake, rest):
    # Arrange
    fake.fail_after_create = True
    request = MarketOrderRequest(symbol="SPY", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                 client_order_id="ais-test-1-abcd")
    # Act
    order = rest.submit_order(request)
    # Assert
    assert order.client_order_id == "ais-test-1-abcd" and order.symbol == "SPY"
    assert _count(fake, "POST", "/v2/orders") == 1
    assert _count(fake, "GET", "/v2/orders:by_client_order_id") == 1
    assert len(fake.orders) == 1


def test_submit_when_alpaca_says_403_then_order_rejected_with_its_message(fake, rest):
    # Arrange
    fake.reject_next = (403, 40310000, "insufficient buying power")
    request = MarketOrderRequest(symbol="SPY", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                 client_order_id="ais-test-2-abcd")
    # Act / Assert
    with pytest.raises(AlpacaOrderRejected) as info:
        rest.submit_order(request)
    assert str(info.value) == "insufficient buying power" and info.value.status == 403


def test_cancel_when_order_already_filled_then_request_error_422(fake, rest):
    # Arrange
    order = fake.create_order({"symbol": "SPY", "qty": 1, "side": "buy", "type": "market",
                               "time_in_force": "day", "client_order_id": "x"})
    fake.fill(order, 1.0, event=False)
    # Act / Assert
    with pytest.raises(AlpacaRequestError) as info:
        rest.cancel_order(order["id"])
    assert info.value.status == 422


def test_bars_when_several_pages_then_every_page_read_with_adjustment_and_feed(fake, rest):
    # Arrange: 120 daily bars served 50 per page
    start = datetime(2024, 1, 2, 5, tzinfo=UTC)
    fake.daily_bars["SPY"] = [{"t": (start + timedelta(days=i)).isoformat().replace("+00:00", "Z"),
                               "o": 400.0 + i, "h": 401.0 + i, "l": 399.0 + i, "c": 400.5 + i,
                               "v": 1e6, "n": 1000, "vw": 400.2 + i} for i in range(120)]
    # Act
    bars = rest.bars(["SPY"], TimeFrame.Day, start, None, adjustment="split")
    # Assert
    assert [b.close for b in bars["SPY"]] == [400.5 + i for i in range(120)]
    pages = [q for m, p, q in fake.requests if p == "/v2/stocks/bars"]
    assert len(pages) == 3
    assert [("page_token" in q) for q in pages] == [False, True, True]
    assert all(q["adjustment"] == "split" and q["feed"] == "iex" and q["timeframe"] == "1Day"
               for q in pages)


def test_account_when_nothing_listens_then_connection_error_after_retries(alpaca_config, sleeps):
    # Arrange: a port nobody listens on
    config = alpaca_config.model_copy(update={"trading_url": "http://127.0.0.1:9", "retry_attempts": 1})
    rest = AlpacaRest(config, CREDENTIALS, sleep=sleeps.append)
    # Act / Assert
    with pytest.raises(AlpacaConnectionError, match="no answer"):
        rest.account()
    assert len(sleeps) == 1


class _Http:
    def __init__(self, status: int) -> None:
        self.response = type("R", (), {"status_code": status, "headers": {}})()
        self.request = None


@pytest.mark.parametrize(("status", "order", "expected"), [
    (400, False, AlpacaRequestError), (401, False, AlpacaAuthError), (401, True, AlpacaAuthError),
    (403, False, AlpacaAuthError), (403, True, AlpacaOrderRejected), (404, False, AlpacaRequestError),
    (422, True, AlpacaOrderRejected), (422, False, AlpacaRequestError), (429, True, AlpacaRateLimitError),
    (499, False, AlpacaRequestError), (500, True, AlpacaServerError), (504, False, AlpacaServerError),
])
def test_translate_when_status_then_typed_error(status, order, expected):
    # Arrange
    err = APIError(json.dumps({"code": status * 100000, "message": "m"}), _Http(status))
    # Act
    typed = translate(err, "call", order=order)
    # Assert
    assert type(typed) is expected and typed.status == status
