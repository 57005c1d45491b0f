"""A paper session restarted while its orders are open at Alpaca (local Alpaca, real alpaca-py
client): the orders are rebuilt from the broker at start, fills after the restart - or while no
session ran - land in the strategy's attribution exactly once, and a fill of one of the
strategy's orders that no record explains keeps entries paused until a human settles it."""

from __future__ import annotations

import json

import backtrader as bt
import pytest

from adapters.alpaca.reconcile import AttributionLedger, reconcile
from adapters.alpaca.state import StatePaths
from tests.adapters.alpaca.conftest import session, statuses
from tests.adapters.alpaca.fake_alpaca import Holding


def rest_limit_buy(size: float):
    """A limit buy far below the market: it rests at Alpaca (plan ``hold``)."""
    def act(strategy) -> None:
        strategy.orders["rest"] = strategy.buy(data=strategy.datas[0], size=size,
                                               exectype=bt.Order.Limit, price=450.0)
    return act


def resting_order(fake) -> dict:
    [order] = [o for o in fake.orders.values() if o["side"] == "buy" and o["type"] == "limit"]
    return order


def attributed(suite) -> float:
    ledger = AttributionLedger(StatePaths.for_mode(suite.alpaca, "paper").ledger)
    return ledger.holding("script", "SPY").qty


def test_restart_when_a_resting_order_fills_after_the_restart_then_attributed_to_the_strategy(fake,
                                                                                               suite):
    # Arrange: session 1 leaves a limit buy resting at Alpaca
    fake.plans["SPY"] = "hold"
    first, _ = session(fake, suite, {1: [rest_limit_buy(10)]}, bars=3)
    assert first.reconciliation.ok and attributed(suite) == 0

    def fill_it(i: int) -> None:
        if i == 2:
            fake.fill(resting_order(fake), 10.0, 450.0)

    # Act: session 2 (a restart) sees the fill on the trade_updates stream
    second, _ = session(fake, suite, {}, bars=4, between=fill_it)
    # Assert
    report = second.reconciliation
    assert report.ok, report.summary()
    assert report.attributed == {"script": {"SPY": 10.0}} and report.unattributed == {}
    assert attributed(suite) == pytest.approx(10.0)
    events = [e["event"] for e in second.orders]
    assert "adopted" in events and "adopted_fill" in events


def test_restart_when_partly_filled_before_and_rest_after_then_each_share_counted_once(fake, suite):
    # Arrange: 4 of 10 fill in session 1, the order keeps resting
    fake.plans["SPY"] = "hold"

    def part(i: int) -> None:
        if i == 2:
            fake.fill(resting_order(fake), 4.0, 450.0)

    session(fake, suite, {1: [rest_limit_buy(10)]}, bars=4, between=part)
    assert attributed(suite) == pytest.approx(4.0)

    def rest(i: int) -> None:
        if i == 2:
            fake.fill(resting_order(fake), 6.0, 449.0)

    # Act
    second, _ = session(fake, suite, {}, bars=4, between=rest)
    # Assert
    assert second.reconciliation.ok, second.reconciliation.summary()
    assert attributed(suite) == pytest.approx(10.0)
    held = AttributionLedger(StatePaths.for_mode(suite.alpaca, "paper").ledger).holding("script", "SPY")
    assert held.avg_price == pytest.approx((4 * 450.0 + 6 * 449.0) / 10)


def test_restart_when_the_order_filled_while_no_session_ran_then_attributed_at_start(fake, suite):
    # Arrange
    fake.plans["SPY"] = "hold"
    session(fake, suite, {1: [rest_limit_buy(10)]}, bars=3)
    fake.fill(resting_order(fake), 10.0, 450.0, event=False)  # nobody listening

    def sell_five(strategy) -> None:
        strategy.sell(data=strategy.datas[0], size=5)

    # Act: the restarted strategy may sell what the filled order bought
    second, log = session(fake, suite, {1: [sell_five]}, bars=4)
    # Assert
    assert second.reconciliation.ok, second.reconciliation.summary()
    assert statuses(log, log[0][0])[-1] == "Completed"
    assert attributed(suite) == pytest.approx(5.0)


def test_restart_when_an_open_order_of_the_strategy_has_no_record_and_no_fill_then_adopted(fake, suite):
    # Arrange: an order of an earlier session whose record is gone (an older ledger file)
    order = fake.create_order({"symbol": "SPY", "qty": "3", "side": "buy", "type": "limit",
                               "time_in_force": "day", "limit_price": "450",
                               "client_order_id": "ais-script-999-deadbeef"})
    fake.set_status(order, "new")

    def fill_it(i: int) -> None:
        if i == 2:
            fake.fill(order, 3.0, 450.0)

    # Act
    result, _ = session(fake, suite, {}, bars=4, between=fill_it)
    # Assert: nothing of it was attributed before (no fill), so all of it is the strategy's
    assert result.reconciliation.ok, result.reconciliation.summary()
    assert attributed(suite) == pytest.approx(3.0)


def test_fill_when_an_order_of_the_strategy_unknown_to_any_record_fills_then_pause_kept_until_settled(
        fake, suite, alpaca_config, tmp_path, monkeypatch):
    # Arrange: mid-session, an order with the strategy's prefix that no record explains fills
    # (placed by another process under the strategy's name, or its record lost)
    order = {}

    def appear_then_fill(i: int) -> None:
        if i == 1:
            order.update(fake.create_order({
                "symbol": "SPY", "qty": "3", "side": "buy", "type": "limit", "time_in_force": "day",
                "limit_price": "450", "client_order_id": "ais-script-999-deadbeef"}))
            fake.set_status(fake.orders[order["id"]], "new")
        if i == 2:
            fake.fill(fake.orders[order["id"]], 3.0, 450.0)

    def buy_later(strategy) -> None:
        strategy.buy(data=strategy.datas[0], size=1)

    # Act: a reconciliation runs after the fill (the interval is 0 here)
    suite = suite.model_copy(update={"alpaca": alpaca_config.model_copy(
        update={"reconcile_interval_s": 0})})
    result, log = session(fake, suite, {4: [buy_later]}, bars=5, between=appear_then_fill)
    # Assert: the fill is not attributed, and entries stay paused
    report = result.reconciliation
    assert not report.ok
    assert any("ais-script-999-deadbeef" in m.detail and "no record" in m.detail
               for m in report.mismatches), report.summary()
    assert statuses(log, log[0][0]) == ["Rejected"] and "reconciliation" in log[0][4]
    assert attributed(suite) == 0
    # Act: a human settles it (the broker's holding is accepted as not the strategy's)
    from adapters.alpaca.__main__ import main

    monkeypatch.setenv("APCA_API_KEY_ID", "PKTEST00000000001234")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "test-secret-not-real")
    config = tmp_path / "alpaca.json"
    config.write_text(json.dumps({"ai_suite": {"alpaca": alpaca_config.model_dump(mode="json")}}))
    assert main(["reconcile", "-c", str(config)]) == 1
    assert main(["reconcile", "--accept-broker", "-c", str(config)]) == 0
    # Assert
    ledger = AttributionLedger(StatePaths.for_mode(suite.alpaca, "paper").ledger)
    after = reconcile({"SPY": 3.0}, ledger, now=report.at)
    assert after.ok and after.unattributed == {"SPY": 3.0}
    assert fake.positions["SPY"] == Holding(3.0, 450.0)
