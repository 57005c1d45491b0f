"""backtrader orders -> alpaca-py order requests (pure functions, no I/O).

=====================  ====================================================================
backtrader             Alpaca (alpaca-py request)
=====================  ====================================================================
Market                 ``MarketOrderRequest``
Close                  ``MarketOrderRequest`` with ``time_in_force=cls`` (market on close)
Limit (price)          ``LimitOrderRequest(limit_price=price)``
Stop (price)           ``StopOrderRequest(stop_price=price)``
StopLimit (price,      ``StopLimitOrderRequest(stop_price=price, limit_price=plimit)``
plimit)
StopTrail              ``TrailingStopOrderRequest``: ``trailamount`` (USD) -> ``trail_price``;
                       ``trailpercent`` (a *fraction*, 0.02) -> ``trail_percent`` (Alpaca
                       takes *percent*: 2.0)
bracket (parent +      one ``order_class=bracket`` request: the parent's type (market or
stop + limit child)    limit), ``take_profit.limit_price`` from the limit child,
                       ``stop_loss.stop_price`` (and ``limit_price`` for a stop-limit) from
                       the stop child
Stop + Limit linked    one ``order_class=oco`` exit when both have the same whole-share size;
by ``oco=``            otherwise two simple orders, one-cancels-other kept by the broker
StopTrailLimit,        no Alpaca equivalent -> ``OrderMappingError`` (rejected locally)
Historical
=====================  ====================================================================

Validity: ``valid=None`` -> ``time_in_force`` from the config (``day``); ``Order.DAY`` ->
``day``; anything else (a date, a duration) -> ``OrderMappingError``: Alpaca has no
good-till-date. Prices are rounded to Alpaca's tick: $0.01 at or above $1, $0.0001 below.

Fractional shares (Alpaca, "Fractional Trading"): allowed for ``fractionable`` assets on
market, limit, stop and stop-limit orders with ``time_in_force=day``; not on brackets or
trailing stops. Elsewhere quantities are rounded *down* to whole shares (risk only shrinks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import backtrader as bt
from alpaca.trading.enums import OrderClass, OrderSide, TimeInForce
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    OrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)

from adapters.alpaca.errors import OrderMappingError

#: Alpaca accepts up to 9 decimals for fractional quantities.
QTY_DECIMALS = 9
FRACTIONAL_TYPES = frozenset({bt.Order.Market, bt.Order.Limit, bt.Order.Stop, bt.Order.StopLimit})


@dataclass(frozen=True)
class OrderSpec:
    """What a backtrader order asks for, read before the broker builds it.

    Attributes:
        symbol: the Alpaca symbol.
        is_buy: buy (True) or sell.
        qty: shares, > 0.
        exectype: a ``bt.Order`` exec type (``Market``, ``Limit``...).
        price / plimit: backtrader's ``price`` (limit or stop trigger) and ``plimit``.
        trailamount / trailpercent: trailing distance in USD, or as a fraction.
        valid: backtrader's ``valid`` argument as given.
    """

    symbol: str
    is_buy: bool
    qty: float
    exectype: int = bt.Order.Market
    price: float | None = None
    plimit: float | None = None
    trailamount: float | None = None
    trailpercent: float | None = None
    valid: object = None


def tick_round(price: float) -> float:
    """Round to Alpaca's price increment: 2 decimals at or above $1, 4 below."""
    return round(price, 2 if price >= 1 else 4)


def time_in_force(valid: object, default: str) -> TimeInForce:
    """Alpaca's ``time_in_force`` for backtrader's ``valid``.

    Raises:
        OrderMappingError: a good-till-date validity (a date or a non-zero duration).
    """
    if valid is None:
        return TimeInForce(default)
    if valid == bt.Order.DAY:
        return TimeInForce.DAY
    raise OrderMappingError(f"Alpaca has no good-till-date orders (valid={valid!r}); use "
                            "valid=None (config time_in_force) or bt.Order.DAY")


def order_qty(spec: OrderSpec, *, fractionable: bool, fractional_allowed: bool, tif: TimeInForce,
              bracket: bool = False) -> float:
    """The quantity to send: fractional where Alpaca takes it (module docstring), else whole
    shares rounded down.

    Raises:
        OrderMappingError: the quantity rounds down to 0 shares.
    """
    fractional_ok = (fractional_allowed and fractionable and not bracket
                     and spec.exectype in FRACTIONAL_TYPES and tif == TimeInForce.DAY)
    qty = (math.floor(spec.qty * 10**QTY_DECIMALS) / 10**QTY_DECIMALS if fractional_ok
           else float(math.floor(spec.qty + 1e-9)))
    if qty <= 0:
        raise OrderMappingError(f"{spec.qty:g} shares of {spec.symbol} round down to 0 "
                                f"({'fractional' if fractional_ok else 'whole shares only'} here)")
    return qty


def order_request(spec: OrderSpec, *, qty: float, client_order_id: str, tif: TimeInForce,
                  extended_hours: bool = False) -> OrderRequest:
    """A simple (non-bracket) order request.

    Raises:
        OrderMappingError: no Alpaca equivalent, or a price the type needs is missing.
    """
    side = OrderSide.BUY if spec.is_buy else OrderSide.SELL
    common = {"symbol": spec.symbol, "qty": qty, "side": side, "time_in_force": tif,
              "client_order_id": client_order_id}
    et = spec.exectype
    if et == bt.Order.Market:
        return MarketOrderRequest(**common)
    if et == bt.Order.Close:
        return MarketOrderRequest(**{**common, "time_in_force": TimeInForce.CLS})
    if et == bt.Order.Limit:
        return LimitOrderRequest(**common, limit_price=tick_round(_need(spec.price, "Limit price")),
                                 extended_hours=extended_hours or None)
    if et == bt.Order.Stop:
        return StopOrderRequest(**common, stop_price=tick_round(_need(spec.price, "Stop price")))
    if et == bt.Order.StopLimit:
        return StopLimitOrderRequest(**common, stop_price=tick_round(_need(spec.price, "StopLimit price")),
                                     limit_price=tick_round(_need(spec.plimit or spec.price,
                                                                  "StopLimit plimit")))
    if et == bt.Order.StopTrail:
        if spec.trailamount:
            return TrailingStopOrderRequest(**common, trail_price=tick_round(spec.trailamount))
        if spec.trailpercent:
            return TrailingStopOrderRequest(**common, trail_percent=round(spec.trailpercent * 100, 4))
        raise OrderMappingError("a StopTrail order needs trailamount or trailpercent")
    raise OrderMappingError(f"backtrader {bt.Order.ExecTypes[et]} orders have no Alpaca equivalent; "
                            "use Market, Close, Limit, Stop, StopLimit or StopTrail")


def bracket_request(parent: OrderSpec, stop: OrderSpec, take_profit: OrderSpec, *, qty: float,
                    client_order_id: str, tif: TimeInForce) -> OrderRequest:
    """One Alpaca bracket from backtrader's three bracket orders (``buy_bracket`` /
    ``sell_bracket``): the parent's entry, the stop child's stop loss, the limit child's take
    profit.

    Raises:
        OrderMappingError: a parent other than Market/Limit, a stop child other than
            Stop/StopLimit, a take-profit child other than Limit, or a time in force other
            than day/gtc (Alpaca's bracket rules).
    """
    if tif not in (TimeInForce.DAY, TimeInForce.GTC):
        raise OrderMappingError(f"Alpaca brackets take day or gtc, not {tif.value}")
    if parent.exectype not in (bt.Order.Market, bt.Order.Limit):
        raise OrderMappingError("a bracket's entry must be Market or Limit for Alpaca")
    if stop.exectype not in (bt.Order.Stop, bt.Order.StopLimit) or take_profit.exectype != bt.Order.Limit:
        raise OrderMappingError("a bracket needs a Stop/StopLimit child and a Limit child")
    stop_loss = StopLossRequest(
        stop_price=tick_round(_need(stop.price, "bracket stop price")),
        limit_price=tick_round(stop.plimit) if stop.exectype == bt.Order.StopLimit and stop.plimit
        else None)
    fields = {"symbol": parent.symbol, "qty": qty, "time_in_force": tif,
              "side": OrderSide.BUY if parent.is_buy else OrderSide.SELL,
              "order_class": OrderClass.BRACKET, "client_order_id": client_order_id,
              "take_profit": TakeProfitRequest(limit_price=tick_round(
                  _need(take_profit.price, "bracket take-profit price"))),
              "stop_loss": stop_loss}
    if parent.exectype == bt.Order.Limit:
        return LimitOrderRequest(**fields, limit_price=tick_round(_need(parent.price, "bracket limit")))
    return MarketOrderRequest(**fields)


def oco_request(stop: OrderSpec, take_profit: OrderSpec, *, qty: float, client_order_id: str,
                tif: TimeInForce) -> OrderRequest:
    """One Alpaca OCO exit (``order_class=oco``) from a backtrader Stop/StopLimit order and a
    Limit order linked by ``oco=`` with the same size: the take profit is the parent limit
    order, the stop loss its leg; when one fills Alpaca cancels the other.

    Raises:
        OrderMappingError: the pair is not one Stop/StopLimit and one Limit on the same side.
    """
    if (stop.exectype not in (bt.Order.Stop, bt.Order.StopLimit) or take_profit.exectype != bt.Order.Limit
            or stop.is_buy != take_profit.is_buy):
        raise OrderMappingError("an Alpaca OCO needs one Stop/StopLimit and one Limit order on one side")
    stop_loss = StopLossRequest(
        stop_price=tick_round(_need(stop.price, "OCO stop price")),
        limit_price=tick_round(stop.plimit) if stop.exectype == bt.Order.StopLimit and stop.plimit
        else None)
    return LimitOrderRequest(symbol=stop.symbol, qty=qty, time_in_force=tif,
                             side=OrderSide.BUY if stop.is_buy else OrderSide.SELL,
                             order_class=OrderClass.OCO, client_order_id=client_order_id,
                             take_profit=TakeProfitRequest(limit_price=tick_round(
                                 _need(take_profit.price, "OCO take-profit price"))),
                             stop_loss=stop_loss)


def _need(value: float | None, what: str) -> float:
    if value is None or not math.isfinite(value) or value <= 0:
        raise OrderMappingError(f"{what} is missing or not positive ({value!r})")
    return float(value)
