"""backtrader orders -> alpaca-py requests: one case table, plus fractional and validity rules."""

from __future__ import annotations

import backtrader as bt
import pytest
from alpaca.trading.enums import TimeInForce

from adapters.alpaca.errors import OrderMappingError
from adapters.alpaca.orders import OrderSpec, bracket_request, order_qty, order_request, time_in_force


def _fields(spec: OrderSpec, tif: TimeInForce = TimeInForce.DAY) -> dict:
    request = order_request(spec, qty=spec.qty, client_order_id="cid", tif=tif)
    return {k: getattr(v, "value", v) for k, v in request.to_request_fields().items()}


@pytest.mark.parametrize(("spec", "expected"), [
    (OrderSpec("SPY", True, 3, bt.Order.Market), {"type": "market", "side": "buy", "time_in_force": "day"}),
    (OrderSpec("SPY", True, 3, bt.Order.Close), {"type": "market", "time_in_force": "cls"}),
    (OrderSpec("SPY", False, 3, bt.Order.Limit, price=512.345), {"type": "limit", "limit_price": 512.35}),
    (OrderSpec("SPY", False, 3, bt.Order.Stop, price=480.0), {"type": "stop", "stop_price": 480.0}),
    (OrderSpec("SPY", False, 3, bt.Order.StopLimit, price=480.0, plimit=479.5),
     {"type": "stop_limit", "stop_price": 480.0, "limit_price": 479.5}),
    (OrderSpec("SPY", False, 3, bt.Order.StopTrail, trailpercent=0.025),
     {"type": "trailing_stop", "trail_percent": 2.5}),
    (OrderSpec("SPY", False, 3, bt.Order.StopTrail, trailamount=1.5),
     {"type": "trailing_stop", "trail_price": 1.5}),
    (OrderSpec("PENNY", True, 3, bt.Order.Limit, price=0.123456), {"limit_price": 0.1235}),
])
def test_order_request_when_backtrader_exectype_then_alpaca_request(spec, expected):
    fields = _fields(spec)
    assert {k: fields.get(k) for k in expected} == expected
    assert fields["client_order_id"] == "cid" and fields["qty"] == 3


@pytest.mark.parametrize("spec", [
    OrderSpec("SPY", False, 3, bt.Order.StopTrailLimit, price=1, plimit=1, trailamount=1),
    OrderSpec("SPY", False, 3, bt.Order.StopTrail),
    OrderSpec("SPY", True, 3, bt.Order.Limit),
])
def test_order_request_when_no_alpaca_equivalent_then_mapping_error(spec):
    with pytest.raises(OrderMappingError):
        _fields(spec)


def test_bracket_request_when_market_entry_then_one_bracket_with_both_legs():
    request = bracket_request(OrderSpec("SPY", True, 4), OrderSpec("SPY", False, 4, bt.Order.StopLimit,
                                                                   price=480, plimit=479),
                              OrderSpec("SPY", False, 4, bt.Order.Limit, price=520), qty=4,
                              client_order_id="cid", tif=TimeInForce.GTC)
    fields = request.to_request_fields()
    assert fields["order_class"].value == "bracket"
    assert fields["take_profit"] == {"limit_price": 520.0}
    assert fields["stop_loss"] == {"stop_price": 480.0, "limit_price": 479.0}


@pytest.mark.parametrize(("valid", "expected"), [(None, "gtc"), (bt.Order.DAY, "day")])
def test_time_in_force_when_valid_none_or_day_then_mapped(valid, expected):
    assert time_in_force(valid, "gtc").value == expected


def test_time_in_force_when_good_till_date_then_mapping_error():
    from datetime import datetime

    with pytest.raises(OrderMappingError, match="good-till-date"):
        time_in_force(datetime(2030, 1, 1), "day")


@pytest.mark.parametrize(("qty", "exectype", "fractionable", "tif", "bracket", "expected"), [
    (2.75, bt.Order.Market, True, TimeInForce.DAY, False, 2.75),
    (2.75, bt.Order.Market, False, TimeInForce.DAY, False, 2.0),     # asset not fractionable
    (2.75, bt.Order.Market, True, TimeInForce.GTC, False, 2.0),      # fractional needs day
    (2.75, bt.Order.StopTrail, True, TimeInForce.DAY, False, 2.0),   # not for trailing stops
    (2.75, bt.Order.Market, True, TimeInForce.DAY, True, 2.0),       # not for brackets
    (2.9999999999, bt.Order.Market, False, TimeInForce.DAY, False, 3.0),  # float noise
])
def test_order_qty_when_fractional_rules_then_fraction_or_whole_shares_rounded_down(
        qty, exectype, fractionable, tif, bracket, expected):
    spec = OrderSpec("SPY", True, qty, exectype)
    assert order_qty(spec, fractionable=fractionable, fractional_allowed=True, tif=tif,
                     bracket=bracket) == pytest.approx(expected)


def test_order_qty_when_below_one_whole_share_then_mapping_error():
    with pytest.raises(OrderMappingError, match="round down to 0"):
        order_qty(OrderSpec("SPY", True, 0.4), fractionable=False, fractional_allowed=True,
                  tif=TimeInForce.DAY)
