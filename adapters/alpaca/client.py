"""The raw REST client: alpaca-py's ``TradingClient`` and ``StockHistoricalDataClient`` behind
one boundary, with retries, timeouts and typed errors.

alpaca-py 0.44 retries only 429 and 504, three times, with a fixed 3 s ``time.sleep`` that
cannot be injected, and its ``requests`` session has no timeout. So the SDK's own retry is
switched off (``_retry = 0`` on each client; these private attributes are pinned to
alpaca-py 0.44, checked in ``_configure``) and this module retries instead:

- 429 and 5xx (500, 502, 503, 504) and no answer (connection error, timeout): up to
  ``retry_attempts`` retries, waiting ``retry_backoff_s * 2**n`` capped at
  ``retry_max_backoff_s``, or the ``Retry-After`` header when it asks for longer.
- Order submission is never doubled: every order carries a ``client_order_id``; after a 5xx or
  no answer the order is looked up by that id before sending again (a 429 is refused before
  processing and is simply retried).
- Everything else raises at once; every wire error becomes an ``AlpacaError`` (``errors``).

Results are the adapter's own types (``parsing``). Historical bars are paged here, one request
per page (``limit`` 10000, ``page_token`` = the previous answer's ``next_page_token``), so a
retry repeats one page, not the whole range.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.models import BarSet
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest, OrderRequest
from pydantic import ValidationError

from adapters.alpaca.config import AlpacaConfig, AlpacaCredentials
from adapters.alpaca.errors import (
    AlpacaAuthError,
    AlpacaConnectionError,
    AlpacaError,
    AlpacaOrderRejected,
    AlpacaProtocolError,
    AlpacaRateLimitError,
    AlpacaRequestError,
    AlpacaServerError,
)
from adapters.alpaca.parsing import (
    AccountState,
    AssetInfo,
    BarRecord,
    BrokerPosition,
    OrderState,
    account_state,
    asset_info,
    broker_position,
    error_fields,
    order_state,
    rest_bar,
)
from plugins.core.secrets import safe_cause

logger = logging.getLogger(__name__)
T = TypeVar("T")
PAGE_LIMIT = 10_000
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class _TimeoutSession(requests.Session):
    """A ``requests`` session with a default timeout (alpaca-py passes none)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, method, url, **kwargs):  # noqa: ANN001, ANN201 - requests' signature
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(method, url, **kwargs)


def _configure(client, timeout_s: float) -> None:
    """Switch off the SDK's retry and give its session a timeout (alpaca-py 0.44 internals)."""
    for name in ("_retry", "_retry_codes", "_session"):
        if not hasattr(client, name):
            raise AlpacaError(f"alpaca-py's RESTClient has no {name} any more; this adapter is "
                              "pinned to alpaca-py 0.44 - update adapters/alpaca/client.py")
    client._retry = 0
    client._retry_codes = []
    client._session = _TimeoutSession(timeout_s)


def translate(err: Exception, what: str, *, order: bool = False) -> AlpacaError:
    """A wire exception -> the matching ``AlpacaError`` (see ``errors`` for the mapping)."""
    if isinstance(err, AlpacaError):
        return err
    if isinstance(err, APIError):
        status = err.status_code
        code, message = error_fields(str(err))
        text = f"{what}: HTTP {status} {message}" + (f" (code {code})" if code else "")
        if status == 429:
            return AlpacaRateLimitError(text, status=status, code=code)
        if status is not None and status >= 500:
            return AlpacaServerError(text, status=status, code=code)
        if order and status in (403, 422):
            return AlpacaOrderRejected(message, status=status, code=code)
        if status in (401, 403):
            return AlpacaAuthError(text, status=status, code=code)
        return AlpacaRequestError(text, status=status, code=code)
    if isinstance(err, requests.RequestException):
        return AlpacaConnectionError(f"{what}: no answer ({type(err).__name__}: {err})")
    if isinstance(err, ValidationError | ValueError | KeyError | TypeError):
        return AlpacaProtocolError(f"{what}: answer not in Alpaca's format "
                                   f"({type(err).__name__}: {str(err)[:300]})")
    raise TypeError(f"not a wire error: {err!r}") from err


def _retry_after_s(err: Exception) -> float:
    response = getattr(err, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        return 0.0


def _retryable(err: Exception) -> bool:
    if isinstance(err, APIError):
        return err.status_code in RETRY_STATUSES
    return isinstance(err, requests.ConnectionError | requests.Timeout)


class AlpacaRest:
    """Account, assets, orders, positions and historical bars over alpaca-py.

    Args:
        config: ``ai_suite.alpaca``.
        credentials: the key pair.
        live: False (default) = paper endpoints and paper keys; True = live trading
            (only ``AlpacaStore`` with its explicit confirmation sets it).
        sleep: how to wait between retries (injected; tests pass a recorder).

    Every method raises ``AlpacaError`` subclasses only (see ``errors``).
    """

    def __init__(self, config: AlpacaConfig, credentials: AlpacaCredentials, *, live: bool = False,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.live = live
        self._sleep = sleep
        self.trading = TradingClient(credentials.key_id, credentials.secret_key, paper=not live,
                                     url_override=config.trading_url)
        self.data = StockHistoricalDataClient(credentials.key_id, credentials.secret_key,
                                              url_override=config.data_url)
        for client in (self.trading, self.data):
            _configure(client, config.request_timeout_s)

    # --- retry core ------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], T], *, retry: bool = True,
              before_retry: Callable[[], T | None] | None = None, order: bool = False) -> T:
        """``fn()`` with retries (module docstring); ``before_retry`` may return a result that
        makes a retry unnecessary (the order was placed after all)."""
        cfg = self.config
        for attempt in range(cfg.retry_attempts + 1):
            try:
                return fn()
            except (APIError, requests.RequestException, ValidationError, ValueError, KeyError,
                    TypeError) as err:
                if not (retry and _retryable(err)) or attempt == cfg.retry_attempts:
                    raise translate(err, what, order=order) from safe_cause(err)
                wait = max(min(cfg.retry_backoff_s * 2 ** attempt, cfg.retry_max_backoff_s),
                           _retry_after_s(err))
                logger.warning("%s failed (%s); retry %d/%d in %.2f s", what,
                               translate(err, what), attempt + 1, cfg.retry_attempts, wait)
                self._sleep(wait)
                if before_retry is not None and not (isinstance(err, APIError)
                                                     and err.status_code == 429):
                    found = before_retry()
                    if found is not None:
                        return found
        raise AssertionError("unreachable")  # pragma: no cover

    # --- account ---------------------------------------------------------------------------
    def account(self) -> AccountState:
        """``GET /v2/account``."""
        return self._call("GET /v2/account", lambda: account_state(self.trading.get_account()))

    def positions(self) -> list[BrokerPosition]:
        """``GET /v2/positions``: every holding of the account (the suite's and others')."""
        return self._call("GET /v2/positions",
                          lambda: [broker_position(p) for p in self.trading.get_all_positions()])

    def asset(self, symbol: str) -> AssetInfo:
        """``GET /v2/assets/{symbol}``."""
        return self._call(f"GET /v2/assets/{symbol}",
                          lambda: asset_info(self.trading.get_asset(symbol)))

    # --- orders ----------------------------------------------------------------------------
    def open_orders(self) -> list[OrderState]:
        """``GET /v2/orders?status=open&nested=true``: open orders, bracket legs nested."""
        request = GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True, limit=500)
        return self._call("GET /v2/orders",
                          lambda: [order_state(o) for o in self.trading.get_orders(request)])

    def order(self, order_id: str) -> OrderState:
        """``GET /v2/orders/{id}``."""
        return self._call(f"GET /v2/orders/{order_id}",
                          lambda: order_state(self.trading.get_order_by_id(order_id)))

    def order_by_client_id(self, client_order_id: str) -> OrderState | None:
        """``GET /v2/orders:by_client_order_id``; None when Alpaca knows no such order (404)."""
        try:
            return self._call("GET /v2/orders:by_client_order_id", lambda: order_state(
                self.trading.get_order_by_client_id(client_order_id)))
        except AlpacaRequestError as err:
            if err.status == 404:
                return None
            raise

    def submit_order(self, request: OrderRequest) -> OrderState:
        """``POST /v2/orders``; ``request.client_order_id`` is required (no doubled orders).

        Raises:
            AlpacaOrderRejected: Alpaca refused it (403/422); the message is Alpaca's reason.
        """
        cid = request.client_order_id
        if not cid:
            raise ValueError("submit_order needs a client_order_id (retries rely on it)")
        return self._call(f"POST /v2/orders ({cid})",
                          lambda: order_state(self.trading.submit_order(request)),
                          before_retry=lambda: self.order_by_client_id(cid), order=True)

    def cancel_order(self, order_id: str) -> None:
        """``DELETE /v2/orders/{id}``; Alpaca confirms the cancel on ``trade_updates``.

        Raises:
            AlpacaRequestError: 404 (unknown) or 422 (no longer cancelable, e.g. filled).
        """
        self._call(f"DELETE /v2/orders/{order_id}",
                   lambda: self.trading.cancel_order_by_id(order_id))

    # --- market data -----------------------------------------------------------------------
    def bars(self, symbols: list[str], timeframe: TimeFrame, start: datetime,
             end: datetime | None, *, adjustment: str | None = None,
             feed: str | None = None) -> dict[str, list[BarRecord]]:
        """``GET /v2/stocks/bars``, every page, as ``{symbol: [BarRecord, ...]}`` (oldest first;
        a symbol with no bars is absent). ``adjustment`` / ``feed`` default to the config."""
        request = StockBarsRequest(symbol_or_symbols=list(symbols), timeframe=timeframe, start=start,
                                   end=end, adjustment=adjustment or self.config.adjustment,
                                   feed=feed or self.config.feed)
        params = request.to_request_fields()
        params["timeframe"] = timeframe.value
        out: dict[str, list[BarRecord]] = {}
        token: str | None = None
        pages = 0
        while True:
            page = {**params, "limit": PAGE_LIMIT, **({"page_token": token} if token else {})}
            response = self._call(f"GET /v2/stocks/bars (page {pages + 1})",
                                  lambda page=page: self.data.get("/stocks/bars", page))
            try:
                barset = BarSet(response.get("bars") or {})
            except (ValidationError, TypeError, ValueError, AttributeError) as err:
                raise AlpacaProtocolError(f"bars page {pages + 1} not in Alpaca's format: "
                                          f"{str(err)[:300]}") from err
            for symbol, items in barset.data.items():
                out.setdefault(symbol, []).extend(rest_bar(b) for b in items)
            pages += 1
            token = response.get("next_page_token")
            if not token:
                break
        logger.debug("bars %s %s: %d pages, %s", symbols, timeframe.value, pages,
                     {s: len(b) for s, b in out.items()})
        return out
