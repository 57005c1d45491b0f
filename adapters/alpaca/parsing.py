"""Alpaca's wire formats -> the adapter's own types: units and UTC fixed at the boundary.

Alpaca sends money and quantities as decimal strings (``"100000.5"``), times as RFC 3339 text
(REST, trade updates) or msgpack timestamps (market-data stream). Everything past this module
is ``float`` (USD, shares; negative quantity = short) and tz-aware UTC ``datetime``. Inputs are
alpaca-py's models (REST, validated by the SDK) or raw stream dicts (validated here with the
SDK's models); anything that does not fit raises ``AlpacaProtocolError``.

Formats (Alpaca docs): trade update ``{"stream": "trade_updates", "data": {"event": "fill",
"execution_id": ..., "order": {...}, "timestamp": ..., "price": "..", "qty": "..",
"position_qty": ".."}}``; market-data bar ``{"T": "b", "S": "SPY", "o": .., "h": .., "l": ..,
"c": .., "v": .., "t": <timestamp>, "n": .., "vw": ..}``; REST bar ``{"t": "2021-02-18T05:00:00Z",
"o": .., ...}`` (``t`` is the bar's *start*).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgpack
from alpaca.data.models import Bar
from alpaca.trading.models import Asset, Order, Position, TradeAccount, TradeUpdate
from pydantic import ValidationError

from adapters.alpaca.errors import AlpacaProtocolError


def _f(value: Any, default: float | None = None) -> float | None:
    """A decimal string / number as float (``None`` or ``""`` -> ``default``)."""
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise AlpacaProtocolError(f"not a number: {value!r}") from err


def utc(ts: datetime) -> datetime:
    """``ts`` as tz-aware UTC (a naive time is taken as UTC, as Alpaca's SDK does)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


@dataclass(frozen=True)
class AccountState:
    """The account (USD). ``daytrade_count`` / ``pattern_day_trader``: None when Alpaca no
    longer sends them (alpaca-py 0.44 notes their removal on 2026-07-06)."""

    cash: float
    equity: float
    buying_power: float
    last_equity: float
    multiplier: float
    trading_blocked: bool
    daytrade_count: int | None
    pattern_day_trader: bool | None


@dataclass(frozen=True)
class BrokerPosition:
    """One holding at the broker: ``qty`` in shares (< 0 short), prices in USD."""

    symbol: str
    qty: float
    avg_entry_price: float
    market_value: float
    current_price: float | None


@dataclass(frozen=True)
class AssetInfo:
    """What the adapter needs of an asset: may it be traded, and in fractions?"""

    symbol: str
    tradable: bool
    fractionable: bool


@dataclass(frozen=True)
class OrderState:
    """An Alpaca order. Quantities in shares (``qty`` None for notional orders), prices USD.

    Attributes:
        side: ``buy`` | ``sell``. type: ``market``, ``limit``, ``stop``, ``stop_limit``,
            ``trailing_stop``. status: Alpaca's order status (``new``, ``partially_filled``,
            ``filled``, ``canceled``, ``rejected``, ...). order_class: ``simple``,
            ``bracket``, ``oco``, ``oto``. legs: a bracket's child orders.
    """

    order_id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    status: str
    order_class: str
    qty: float | None
    filled_qty: float
    filled_avg_price: float | None
    limit_price: float | None
    stop_price: float | None
    updated_at: datetime
    legs: tuple[OrderState, ...] = ()


@dataclass(frozen=True)
class OrderUpdate:
    """One ``trade_updates`` event.

    Attributes:
        event: ``new``, ``accepted``, ``partial_fill``, ``fill``, ``canceled``, ``expired``,
            ``rejected``, ``replaced``, ``pending_*``, ...
        order: the order after the event (cumulative ``filled_qty`` / ``filled_avg_price``).
        timestamp: when it happened (UTC).
        execution_id: the fill's id (fills only); a fill seen twice is applied once.
        fill_qty / fill_price: this fill's shares and price (fills only; None otherwise).
        position_qty: the account's position in the symbol after the fill.
        reason: why an order was rejected or canceled, when Alpaca says so.
    """

    event: str
    order: OrderState
    timestamp: datetime
    execution_id: str | None = None
    fill_qty: float | None = None
    fill_price: float | None = None
    position_qty: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class BarRecord:
    """One OHLCV bar: ``start`` (UTC) is the bar's open time, as Alpaca labels it."""

    symbol: str
    start: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    trade_count: float | None = None
    vwap: float | None = None


def _value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str))


def account_state(model: TradeAccount) -> AccountState:
    """``GET /v2/account`` -> ``AccountState``."""
    equity = _f(model.equity, _f(model.portfolio_value, 0.0))
    return AccountState(
        cash=_f(model.cash, 0.0), equity=equity, buying_power=_f(model.buying_power, 0.0),
        last_equity=_f(model.last_equity, equity), multiplier=_f(model.multiplier, 1.0),
        trading_blocked=bool(model.trading_blocked or model.account_blocked
                             or model.trade_suspended_by_user),
        daytrade_count=model.daytrade_count, pattern_day_trader=model.pattern_day_trader)


def broker_position(model: Position) -> BrokerPosition:
    """``GET /v2/positions`` item -> ``BrokerPosition`` (short positions get a negative qty)."""
    qty = abs(_f(model.qty, 0.0))
    if _value(model.side) == "short":
        qty = -qty
    return BrokerPosition(symbol=model.symbol, qty=qty, avg_entry_price=_f(model.avg_entry_price, 0.0),
                          market_value=_f(model.market_value, 0.0), current_price=_f(model.current_price))


def asset_info(model: Asset) -> AssetInfo:
    """``GET /v2/assets/{symbol}`` -> ``AssetInfo``."""
    active = _value(model.status) == "active"
    return AssetInfo(symbol=model.symbol, tradable=bool(model.tradable) and active,
                     fractionable=bool(model.fractionable))


def order_state(model: Order) -> OrderState:
    """An alpaca-py ``Order`` (REST answer or inside a trade update) -> ``OrderState``."""
    return OrderState(
        order_id=str(model.id), client_order_id=model.client_order_id, symbol=model.symbol or "",
        side=_value(model.side), type=_value(model.type or model.order_type),
        status=_value(model.status), order_class=_value(model.order_class),
        qty=_f(model.qty), filled_qty=_f(model.filled_qty, 0.0),
        filled_avg_price=_f(model.filled_avg_price), limit_price=_f(model.limit_price),
        stop_price=_f(model.stop_price), updated_at=utc(model.updated_at),
        legs=tuple(order_state(leg) for leg in (model.legs or ())))


def order_update(message: dict | bytes | str) -> OrderUpdate:
    """A ``trade_updates`` stream message (JSON text or its parsed dict) -> ``OrderUpdate``.

    Raises:
        AlpacaProtocolError: not JSON, not a trade update, or missing a required field.
    """
    if isinstance(message, bytes | str):
        try:
            message = json.loads(message)
        except ValueError as err:
            raise AlpacaProtocolError(f"trade update is not JSON: {message!r:.200}") from err
    if not isinstance(message, dict) or message.get("stream") != "trade_updates":
        raise AlpacaProtocolError(f"not a trade_updates message: {message!r:.200}")
    data = message.get("data")
    if not isinstance(data, dict):
        raise AlpacaProtocolError(f"trade update without data: {message!r:.200}")
    try:
        model = TradeUpdate(**data)
    except (ValidationError, TypeError, ValueError) as err:
        raise AlpacaProtocolError(f"malformed trade update ({err.__class__.__name__}: "
                                  f"{str(err)[:300]})") from err
    event = _value(model.event)
    fill = event in ("fill", "partial_fill")
    reason = data.get("reason") or (data.get("order") or {}).get("reject_reason")
    return OrderUpdate(
        event=event, order=order_state(model.order), timestamp=utc(model.timestamp),
        execution_id=str(model.execution_id) if model.execution_id else None,
        fill_qty=_f(model.qty) if fill else None, fill_price=_f(model.price) if fill else None,
        position_qty=_f(model.position_qty), reason=str(reason) if reason else None)


def _stream_time(value: Any) -> datetime:
    if isinstance(value, msgpack.Timestamp):
        return utc(value.to_datetime())
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, str):
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    raise AlpacaProtocolError(f"bar time {value!r} is neither a msgpack timestamp nor RFC 3339")


def stream_bar(message: dict) -> BarRecord:
    """A market-data stream bar (``T`` = ``b`` minute bar, ``u`` updated, ``d`` daily)
    -> ``BarRecord``.

    Raises:
        AlpacaProtocolError: not a bar or a field missing.
    """
    if not isinstance(message, dict) or message.get("T") not in ("b", "u", "d"):
        raise AlpacaProtocolError(f"not a bar message: {message!r:.200}")
    try:
        return BarRecord(symbol=str(message["S"]), start=_stream_time(message["t"]),
                         open=float(message["o"]), high=float(message["h"]), low=float(message["l"]),
                         close=float(message["c"]), volume=float(message["v"]),
                         trade_count=_f(message.get("n")), vwap=_f(message.get("vw")))
    except (KeyError, TypeError, ValueError) as err:
        raise AlpacaProtocolError(f"malformed bar message {message!r:.200}: {err}") from err


def rest_bar(model: Bar) -> BarRecord:
    """An alpaca-py REST ``Bar`` -> ``BarRecord``."""
    return BarRecord(symbol=model.symbol, start=utc(model.timestamp), open=model.open,
                     high=model.high, low=model.low, close=model.close, volume=model.volume,
                     trade_count=model.trade_count, vwap=model.vwap)


def error_fields(body: str) -> tuple[int | None, str]:
    """Alpaca's error body ``{"code": 40310000, "message": "..."}`` -> (code, message); a body
    that is not JSON (a proxy's HTML 502 page) gives (None, its first 200 characters)."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None, (body or "").strip()[:200]
    if not isinstance(data, dict):
        return None, str(data)[:200]
    code = data.get("code")
    return (int(code) if isinstance(code, int | str) and str(code).isdigit() else None,
            str(data.get("message") or data)[:500])
