"""Reconciliation: broker positions vs. attribution per strategy, the unattributed bucket, and
mismatches that pause entries (seed 003)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.alpaca.reconcile import AttributionLedger, reconcile
from adapters.alpaca.state import StatePaths
from plugins.risk.journal import DecisionJournal
from tests.adapters.alpaca.conftest import session, statuses
from tests.adapters.alpaca.fake_alpaca import Holding

NOW = datetime(2024, 3, 6, 15, 0, tzinfo=UTC)


def _ledger(**holdings: float) -> AttributionLedger:
    ledger = AttributionLedger()
    for symbol, qty in holdings.items():
        ledger.apply_fill("mr", symbol, qty, 100.0)
    return ledger


@pytest.mark.parametrize(("attributed", "broker", "unattributed", "mismatch"), [
    ({"SPY": 10}, {"SPY": 10}, {}, False),                  # consistent
    ({}, {"AAPL": 5}, {"AAPL": 5}, False),                  # bought by hand: unattributed
    ({"SPY": 10}, {"SPY": 12.5}, {"SPY": 2.5}, False),      # excess on the same side
    ({"SPY": 10}, {"SPY": 9.999999}, {}, False),            # within tolerance
    ({"SPY": 10}, {"SPY": 4}, {}, True),                    # broker holds less
    ({"SPY": 10}, {}, {}, True),                            # closed by hand
    ({"SPY": 10}, {"SPY": -3}, {}, True),                   # other side
])
def test_reconcile_when_broker_vs_attribution_then_bucket_or_mismatch(attributed, broker, unattributed,
                                                                      mismatch):
    # Act
    report = reconcile(broker, _ledger(**attributed), now=NOW)
    # Assert
    assert report.unattributed == pytest.approx(unattributed)
    assert (not report.ok) is mismatch


def test_reconcile_when_open_order_of_the_suite_unknown_then_orphan_mismatch_foreign_ignored():
    report = reconcile({}, AttributionLedger(), now=NOW,
                       open_order_ids=["ais-mr-3-deadbeef", "manual-order-1", "ais-mr-4-cafe0000"],
                       known_order_ids=["ais-mr-4-cafe0000"])
    assert [m.detail for m in report.mismatches] == [
        "open order ais-mr-3-deadbeef is the suite's but unknown to this session (orphan)"]


def test_ledger_when_fill_replayed_then_applied_once_and_persisted_per_strategy(tmp_path):
    # Arrange
    ledger = AttributionLedger(tmp_path)
    # Act
    assert ledger.apply_fill("mr", "SPY", 10, 100.0, "exec-1")
    assert not ledger.apply_fill("mr", "SPY", 10, 100.0, "exec-1")
    ledger.apply_fill("mr", "SPY", 10, 110.0, "exec-2")
    ledger.apply_fill("mr", "SPY", -5, 120.0, "exec-3")
    ledger.apply_fill("trend", "QQQ", 3, 400.0, "exec-4")
    # Assert
    again = AttributionLedger(tmp_path)
    assert again.holding("mr", "SPY").qty == 15 and again.holding("mr", "SPY").avg_price == pytest.approx(105)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mr.json", "trend.json"]
    assert not again.apply_fill("mr", "SPY", 10, 100.0, "exec-1")


def test_accept_broker_when_closed_by_hand_then_attribution_cut_to_the_broker():
    ledger = _ledger(SPY=10)
    changes = ledger.accept_broker({"SPY": 4.0}, ["SPY"])
    assert changes == ["mr:SPY 10->4"]
    assert reconcile({"SPY": 4.0}, ledger, now=NOW).ok


def test_session_when_account_holds_a_position_by_hand_then_unattributed_and_untouched(fake, suite):
    # Arrange
    fake.positions["AAPL"] = Holding(5.0, 180.0)

    def buy(strategy) -> None:
        strategy.buy(data=strategy.datas[0], size=2)

    # Act
    result, log = session(fake, suite, {1: [buy]}, bars=4)
    # Assert
    report = result.reconciliation
    assert report.ok
    assert report.unattributed == {"AAPL": 5.0}
    assert report.attributed == {"script": {"SPY": 2.0}}
    assert any("unattributed (not touched)" in line and "AAPL" in line for line in report.lines())
    assert fake.positions["AAPL"].qty == 5.0
    assert not any(o["symbol"] == "AAPL" for o in fake.orders.values())


def test_session_when_attribution_disagrees_then_alert_and_entries_paused(fake, suite):
    # Arrange: the ledger says the strategy holds 10 QQQ; the account holds none (sold by hand)
    paths = StatePaths.for_mode(suite.alpaca, "paper")
    AttributionLedger(paths.ledger).apply_fill("script", "QQQ", 10, 400.0, "old-fill")

    def buy(strategy) -> None:
        strategy.buy(data=strategy.datas[0], size=2)

    # Act
    result, log = session(fake, suite, {1: [buy]}, bars=3)
    # Assert
    assert not result.reconciliation.ok
    assert "QQQ: strategies hold 10, broker 0" in result.reconciliation.summary()
    assert statuses(log, log[0][0]) == ["Rejected"]
    assert "reconciliation" in log[0][4] and "QQQ" in log[0][4]
    assert not any(m == "POST" for m, _, _ in fake.requests)
    with DecisionJournal(paths.journal) as journal:
        trips = journal.query(kind="breaker", reason="reconciliation")
    assert trips and trips[0].decision == "trip"


def test_cli_reconcile_when_closed_by_hand_then_exit_1_and_accept_broker_settles_it(
        fake, alpaca_config, tmp_path, monkeypatch, capsys):
    # Arrange: the strategy's 10 SPY were partly sold by hand (4 left); 3 AAPL bought by hand
    import json

    from adapters.alpaca.__main__ import main

    monkeypatch.setenv("APCA_API_KEY_ID", "PKTEST00000000001234")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "test-secret-not-real")
    config = tmp_path / "alpaca.json"
    config.write_text(json.dumps({"ai_suite": {"alpaca": alpaca_config.model_dump(mode="json")}}))
    paths = StatePaths.for_mode(alpaca_config, "paper")
    AttributionLedger(paths.ledger).apply_fill("mr", "SPY", 10, 500.0, "fill-1")
    fake.positions["SPY"] = Holding(4.0, 500.0)
    fake.positions["AAPL"] = Holding(3.0, 180.0)
    # Act
    first = main(["reconcile", "-c", str(config)])
    report = capsys.readouterr().out
    settled = main(["reconcile", "--accept-broker", "-c", str(config)])
    again = main(["reconcile", "-c", str(config)])
    # Assert
    assert first == 1 and "MISMATCH" in report and "unattributed" in report and "AAPL" in report
    assert settled == 0 and again == 0
    assert AttributionLedger(paths.ledger).holding("mr", "SPY").qty == 4.0
    with DecisionJournal(paths.journal) as journal:
        assert "mr:SPY 10->4" in journal.query(kind="reset")[0].detail
