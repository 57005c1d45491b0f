"""The broker against a local Alpaca: order lifecycle from trade_updates, cancels, rejects with
Alpaca's reason, brackets, a dropped stream, and fills landing in the ledger and order log."""

from __future__ import annotations

import backtrader as bt
import pytest

from adapters.alpaca.state import StatePaths
from tests.adapters.alpaca.conftest import session, statuses


def buy(size: float, symbol_index: int = 0, **kwargs):
    def act(strategy) -> None:
        strategy.orders[f"buy{len(strategy.orders)}"] = strategy.buy(
            data=strategy.datas[symbol_index], size=size, **kwargs)
    return act


def test_buy_when_alpaca_fills_in_two_parts_then_submitted_accepted_partial_completed(fake, suite):
    # Arrange
    fake.plans["SPY"] = "partial"
    # Act
    result, log = session(fake, suite, {1: [buy(10)]})
    # Assert
    ref = log[0][0]
    assert statuses(log, ref) == ["Submitted", "Accepted", "Partial", "Completed"]
    partial = next(entry for entry in log if entry[1] == "Partial")
    assert partial[2] == pytest.approx(4.0)  # 40 % of 10 shares
    assert log[-1][2] == pytest.approx(10.0) and log[-1][3] == pytest.approx(500.0)
    posted = [q for m, p, q in fake.requests if m == "POST" and p == "/v2/orders"]
    assert len(posted) == 1
    assert result.reconciliation is not None and result.reconciliation.ok
    assert result.reconciliation.attributed == {"script": {"SPY": 10.0}}


def test_buy_when_filled_then_ledger_and_order_log_in_the_paper_folder_only(fake, suite):
    # Act
    result, log = session(fake, suite, {1: [buy(3)]})
    # Assert
    paper = StatePaths.for_mode(suite.alpaca, "paper")
    live = StatePaths.for_mode(suite.alpaca, "live")
    assert (paper.ledger / "script.json").is_file()
    assert paper.journal.is_file() and paper.log_file.is_file()
    assert not live.root.exists()
    events = [e["event"] for e in result.orders]
    assert "submitted" in events and "completed" in events and "reconciliation" in events
    assert "Reconciliation" in paper.log_file.read_text()


def test_cancel_when_order_rests_then_canceled_notification(fake, suite):
    # Arrange
    fake.plans["SPY"] = "hold"

    def cancel(strategy) -> None:
        strategy.cancel(strategy.orders["buy0"])

    # Act
    _, log = session(fake, suite, {1: [buy(5, exectype=bt.Order.Limit, price=450.0)], 3: [cancel]})
    # Assert
    assert statuses(log, log[0][0]) == ["Submitted", "Accepted", "Canceled"]
    assert any(m == "DELETE" for m, _, _ in fake.requests)


def test_buy_when_alpaca_refuses_then_rejected_with_alpacas_reason(fake, suite):
    # Arrange
    fake.reject_next = (403, 40310000, "insufficient buying power")
    # Act
    _, log = session(fake, suite, {1: [buy(5)]})
    # Assert
    assert statuses(log, log[0][0]) == ["Submitted", "Rejected"]
    assert log[-1][4] == "insufficient buying power"


def test_buy_when_rejected_later_on_the_stream_then_rejected_with_the_reason(fake, suite):
    # Arrange
    fake.plans["SPY"] = "reject_async"
    # Act
    _, log = session(fake, suite, {1: [buy(5)]})
    # Assert
    assert statuses(log, log[0][0]) == ["Submitted", "Accepted", "Rejected"]
    assert log[-1][4] == "order size exceeds the venue limit"


def test_bracket_when_take_profit_fills_then_one_alpaca_bracket_and_stop_leg_canceled(fake, suite):
    # Arrange
    fake.plans["SPY"] = "bracket_take_profit"

    def bracket(strategy) -> None:
        strategy.orders["bracket"] = strategy.buy_bracket(data=strategy.datas[0], size=4,
                                                          exectype=bt.Order.Market,
                                                          stopprice=480.0, limitprice=520.0)

    # Act
    _, log = session(fake, suite, {1: [bracket]})
    # Assert
    posted = [o for o in fake.orders.values() if o["order_class"] == "bracket" and o["legs"]]
    assert len(posted) == 1
    assert posted[0]["legs"][0]["limit_price"] == "520.0" and posted[0]["legs"][1]["stop_price"] == "480.0"
    refs = sorted({entry[0] for entry in log})
    parent, stop, take = refs
    assert statuses(log, parent)[-1] == "Completed"
    assert statuses(log, take)[-1] == "Completed"
    assert statuses(log, stop)[-1] == "Canceled"
    assert fake.positions == {}


def test_fill_when_trade_stream_dropped_then_reconnect_resyncs_the_missed_fill(fake, suite):
    # Arrange: the order fills while no trade update reaches the broker
    fake.plans["SPY"] = "fill_silently"

    def drop(i: int) -> None:
        if i == 2:
            fake.streams.drop_trade_clients()

    # Act
    result, log = session(fake, suite, {1: [buy(7)]}, bars=7, between=drop)
    # Assert
    assert fake.streams.trade_connects >= 2
    assert statuses(log, log[0][0])[-1] == "Completed"
    assert log[-1][2] == pytest.approx(7.0)
    assert result.reconciliation.ok and result.reconciliation.attributed == {"script": {"SPY": 7.0}}


def test_sell_when_more_than_the_strategy_holds_then_only_its_own_shares_sold_unattributed_untouched(
        fake, suite):
    # Arrange: 20 SPY bought by hand before the session
    from tests.adapters.alpaca.fake_alpaca import Holding

    fake.positions["SPY"] = Holding(20.0, 450.0)

    def sell(strategy) -> None:
        strategy.orders["sell"] = strategy.sell(data=strategy.datas[0], size=5)

    # Act
    result, log = session(fake, suite, {1: [buy(3)], 3: [sell]})
    # Assert
    sell_ref = max(entry[0] for entry in log)
    assert statuses(log, sell_ref)[-1] == "Completed" and log[-1][2] == pytest.approx(3.0)
    assert fake.positions["SPY"].qty == pytest.approx(20.0)
    report = result.reconciliation
    assert report.ok and report.unattributed == {"SPY": 20.0} and report.attributed == {}


def protect(stop_size: float, limit_size: float):
    """A compiled tree's protective pair: a Stop, then a Limit with ``oco=`` the stop."""
    def act(strategy) -> None:
        data = strategy.datas[0]
        stop = strategy.sell(data=data, size=stop_size, exectype=bt.Order.Stop, price=480.0)
        strategy.orders["stop"] = stop
        strategy.orders["limit"] = strategy.sell(data=data, size=limit_size, exectype=bt.Order.Limit,
                                                 price=520.0, oco=stop)
    return act


def test_protective_pair_when_placed_with_its_entry_then_sent_after_the_fill_as_one_alpaca_oco(fake, suite):
    # Arrange: the entry fills; the OCO exit's stop leg fills later, Alpaca cancels the take profit
    fake.sell_plans["SPY"] = "oco_stop"
    # Act: entry and protective pair in the same bar, before the entry has filled
    _, log = session(fake, suite, {1: [buy(10), protect(10, 10)]})
    # Assert
    entry, stop, limit = sorted({entry[0] for entry in log})
    oco = [o for o in fake.orders.values() if o["order_class"] == "oco"]
    assert len(oco) == 1 and oco[0]["qty"] == "10.0" and oco[0]["legs"][0]["stop_price"] == "480.0"
    posts = [p for m, p, _ in fake.requests if m == "POST"]
    assert len(posts) == 2  # the entry, then one OCO for both exits
    assert statuses(log, entry)[-1] == "Completed"
    assert statuses(log, stop)[-1] == "Completed" and statuses(log, limit)[-1] == "Canceled"
    assert fake.positions == {}


def test_protective_pair_when_sizes_differ_then_two_orders_and_one_cancels_the_other(fake, suite):
    # Arrange: the take profit (4 of 10 shares) fills; the broker cancels the stop itself
    fake.sell_plans["SPY"] = "hold"

    def take_profit_fills(i: int) -> None:
        if i == 3:
            limit = next(o for o in fake.orders.values() if o["type"] == "limit" and o["side"] == "sell")
            fake.fill(limit, 4.0, 520.0)

    # Act
    result, log = session(fake, suite, {1: [buy(10), protect(10, 4)]}, bars=6, between=take_profit_fills)
    # Assert
    entry, stop, limit = sorted({entry[0] for entry in log})
    assert statuses(log, limit)[-1] == "Completed" and statuses(log, stop)[-1] == "Canceled"
    assert [o["order_class"] for o in fake.orders.values() if o["side"] == "sell"] == ["simple", "simple"]
    assert result.reconciliation.attributed == {"script": {"SPY": 6.0}}


def test_protective_stop_when_its_entry_is_rejected_then_rejected_too(fake, suite):
    # Arrange
    fake.plans["SPY"] = "reject_async"
    # Act
    _, log = session(fake, suite, {1: [buy(10), protect(10, 10)]})
    # Assert
    entry, stop, limit = sorted({entry[0] for entry in log})
    assert statuses(log, entry)[-1] == "Rejected"
    assert statuses(log, stop)[-1] == "Rejected" and "entry did not fill" in log[-1][4]
    assert not any(o["side"] == "sell" for o in fake.orders.values())
