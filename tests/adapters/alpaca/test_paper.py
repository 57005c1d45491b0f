"""A paper session end to end: a strategy tree compiled for backtrader trades on the local
Alpaca (orders placed, filled, protective stop managed, reconciled, journaled)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.alpaca.runner import strategy_from_tree
from adapters.alpaca.state import StatePaths
from plugins.risk.journal import DecisionJournal
from tests.adapters.alpaca.conftest import session

TREE = Path(__file__).parent / "trees" / "paper_minute_momentum.yaml"


def test_paper_session_when_compiled_tree_enters_and_exits_then_filled_reconciled_journaled(fake, suite):
    # Arrange: flat history at 500, then up (entry), then down (exit signal); prices stay a few
    # bars at each level, so a fill a bar late has the same price
    cls, tree = strategy_from_tree(TREE)
    fake.sell_plans["SPY"] = "hold"  # the protective stop rests until canceled
    prices = [501.0, 501.0, 501.0, 495.0, 495.0, 495.0, 495.0]
    # Act
    result, _ = session(fake, suite, {}, bars=len(prices), prices=prices, strategy=cls,
                        strategy_id=tree.name)
    # Assert: the tree's fills
    actions = [(row["action"], row["price"]) for row in result.instance.tree_log]
    assert actions == [("enter", 501.0), ("exit_signal", 495.0)]
    # orders at Alpaca: entry, protective stops (re-placed each bar, canceled), the exit
    sells = [o for o in fake.orders.values() if o["side"] == "sell"]
    assert [o["type"] for o in fake.orders.values() if o["status"] == "filled"] == ["market", "market"]
    assert {o["status"] for o in sells if o["type"] == "stop"} == {"canceled"}
    assert all(float(o["stop_price"]) == pytest.approx(501.0 * 0.95) for o in sells if o["type"] == "stop")
    # reconciled flat, journaled, logged - all in the paper folder
    assert result.reconciliation.ok and result.reconciliation.attributed == {}
    assert fake.positions == {}
    paths = StatePaths.for_mode(suite.alpaca, "paper")
    with DecisionJournal(paths.journal) as journal:
        gates = journal.query(kind="gate", pair="SPY")
    assert gates and all(row.decision == "pass" for row in gates)
    events = [e["event"] for e in result.orders]
    assert events.count("completed") >= 2 and "cancel_requested" in events
