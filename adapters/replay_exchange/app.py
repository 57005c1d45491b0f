"""HTTP routes of the replay exchange: Binance spot public REST paths under ``/api/v3``.

Query parameters are parsed here, by hand, so that bad input gets Binance's own error body
(``{"code": ..., "msg": ...}``, HTTP 400) rather than FastAPI's validation format.
"""

from __future__ import annotations

import json
import logging
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from adapters.replay_exchange.errors import BinanceAPIError
from adapters.replay_exchange.exchange import (
    DEPTH_DEFAULT_LIMIT,
    KLINES_DEFAULT_LIMIT,
    ReplayExchange,
)

logger = logging.getLogger(__name__)

_INT_RE = re.compile(r"^[0-9]{1,20}$")
_SYMBOL_RE = re.compile(r"^[A-Z0-9-_.]{1,20}$")
_SYMBOLS_LEGAL = '^\\["[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}\\]$'


def _symbol(request: Request, required: bool = True) -> str | None:
    value = request.query_params.get("symbol")
    if not value:
        if required:
            raise BinanceAPIError.mandatory("symbol")
        return None
    if not _SYMBOL_RE.match(value):
        raise BinanceAPIError.illegal_chars("symbol", "^[A-Z0-9-_.]{1,20}$")
    return value


def _symbols(request: Request) -> list[str] | None:
    """``symbols`` is a JSON array of symbol strings, e.g. ``["BTCUSDT","ETHUSDT"]``."""
    raw = request.query_params.get("symbols")
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise BinanceAPIError.illegal_chars("symbols", _SYMBOLS_LEGAL)
    return value


def _int(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not _INT_RE.match(raw):
        raise BinanceAPIError.illegal_chars(name, "^[0-9]{1,20}$")
    return int(raw)


def create_app(exchange: ReplayExchange) -> FastAPI:
    """FastAPI app serving ``exchange`` under Binance's spot paths.

    Routes: GET /api/v3/ping, time, exchangeInfo, klines, uiKlines, ticker/24hr,
    ticker/price, ticker/bookTicker, depth. Anything else answers 404 in Binance's error
    format (the replay exchange has no private/trading endpoints: dry-run simulates orders).
    """
    app = FastAPI(title="Replay exchange (Binance spot dialect)", docs_url=None, redoc_url=None,
                  openapi_url=None)

    @app.exception_handler(BinanceAPIError)
    async def _binance_error(_: Request, err: BinanceAPIError) -> JSONResponse:
        logger.debug("Request error %s: %s", err.code, err.msg)
        return JSONResponse({"code": err.code, "msg": err.msg}, status_code=err.status)

    @app.get("/api/v3/ping")
    def ping() -> dict:
        return {}

    @app.get("/api/v3/time")
    def server_time() -> dict:
        return {"serverTime": exchange.server_time_ms()}

    @app.get("/api/v3/exchangeInfo")
    def exchange_info(request: Request) -> dict:
        one = _symbol(request, required=False)
        return exchange.exchange_info([one] if one else _symbols(request))

    @app.get("/api/v3/klines")
    @app.get("/api/v3/uiKlines")
    def klines(request: Request) -> list:
        symbol = _symbol(request)
        interval = request.query_params.get("interval")
        if not interval:
            raise BinanceAPIError.mandatory("interval")
        return exchange.klines(
            symbol, interval,
            start_ms=_int(request, "startTime", None),
            end_ms=_int(request, "endTime", None),
            limit=_int(request, "limit", KLINES_DEFAULT_LIMIT),
        )

    def _per_symbol(request: Request, one_fn):
        one = _symbol(request, required=False)
        if one:
            return one_fn(one)
        wanted = _symbols(request) or [i.symbol for i in exchange.store.symbols]
        return [one_fn(s) for s in wanted]

    @app.get("/api/v3/ticker/24hr")
    def ticker_24hr(request: Request):
        return _per_symbol(request, exchange.ticker_24hr)

    @app.get("/api/v3/ticker/price")
    def ticker_price(request: Request):
        return _per_symbol(request, exchange.ticker_price)

    @app.get("/api/v3/ticker/bookTicker")
    def book_ticker(request: Request):
        return _per_symbol(request, exchange.book_ticker)

    @app.get("/api/v3/depth")
    def depth(request: Request) -> dict:
        return exchange.depth(_symbol(request), _int(request, "limit", DEPTH_DEFAULT_LIMIT))

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
    def unknown(path: str) -> JSONResponse:
        return JSONResponse(
            {"code": -1000, "msg": f"Unknown endpoint '/{path}': the replay exchange serves "
                                   "Binance spot market data only (no account or order routes)."},
            status_code=404)

    return app
