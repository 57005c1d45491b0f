"""Equity anchors at the edge: garbage (NaN, inf, zero, negative, corrupt state) is refused with
an ``AccountError`` before anything is stored, so one bad value can never switch the loss
breakers off."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.risk.account import (
    DAY_KEY,
    PEAK_KEY,
    WEEK_KEY,
    AccountError,
    EquityAnchors,
    corrupt_anchor_keys,
)
from plugins.risk.breakers import evaluate
from plugins.risk.config import RiskConfig
from plugins.risk.journal import DecisionJournal
from plugins.risk.snapshot import AccountSnapshot
from plugins.risk.state import BreakerReason, TradingState

NOW = datetime(2024, 3, 6, 15, 30, tzinfo=UTC)
BAD_EQUITY = [math.nan, math.inf, -math.inf, 0.0, -5.0]


@pytest.fixture
def journal(tmp_path) -> DecisionJournal:
    with DecisionJournal(tmp_path / "journal.sqlite") as j:
        yield j


def stored(journal: DecisionJournal) -> dict[str, str | None]:
    return {key: journal.get_state(key) for key in (DAY_KEY, WEEK_KEY, PEAK_KEY)}


@pytest.mark.parametrize("equity", BAD_EQUITY)
def test_update_when_equity_is_not_finite_or_not_positive_then_account_error_and_nothing_stored(
        journal, equity):
    anchors = EquityAnchors(journal)
    anchors.update(NOW, 12_000.0)
    before = stored(journal)

    with pytest.raises(AccountError, match="equity"):
        anchors.update(NOW + timedelta(days=1), equity)  # a new day would re-anchor

    assert stored(journal) == before


@pytest.mark.parametrize("equity", BAD_EQUITY)
def test_update_when_first_equity_is_garbage_then_no_anchor_is_created(journal, equity):
    with pytest.raises(AccountError):
        EquityAnchors(journal).update(NOW, equity)

    assert stored(journal) == {DAY_KEY: None, WEEK_KEY: None, PEAK_KEY: None}


def test_update_when_nan_between_12000_and_6000_then_peak_kept_and_kill_switch_trips(journal):
    # The case: one NaN equity used to become the peak for good (max(nan, x) is nan),
    # and every later loss compared against NaN, so the guard stayed ACTIVE at a 50 % loss.
    anchors = EquityAnchors(journal)
    anchors.update(NOW, 12_000.0)
    with pytest.raises(AccountError):
        anchors.update(NOW + timedelta(hours=1), math.nan)

    day, week, peak = anchors.update(NOW + timedelta(hours=2), 6_000.0)
    decision = evaluate(AccountSnapshot(NOW, 6_000.0, day, week, peak), RiskConfig())

    assert peak == 12_000.0
    assert decision.state == TradingState.HALTED


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "0", "-12000", "12k", "[1]"])
def test_update_when_stored_peak_is_corrupt_then_account_error_naming_the_key_and_the_fix(
        journal, raw):
    journal.set_state(PEAK_KEY, raw)

    with pytest.raises(AccountError) as err:
        EquityAnchors(journal).update(NOW, 10_000.0)

    assert PEAK_KEY in str(err.value) and "reset-killswitch" in str(err.value)
    assert journal.get_state(PEAK_KEY) == raw, "a corrupt peak is never overwritten silently"


@pytest.mark.parametrize("raw", [
    "not json", "[]", json.dumps({"period": "2024-03-06"}),
    json.dumps({"period": "2024-03-06", "equity": "NaN"}),
    json.dumps({"period": "2024-03-06", "equity": -1}),
    '{"period": "2024-03-06", "equity": NaN}',
])
def test_update_when_stored_day_anchor_is_corrupt_then_account_error(journal, raw):
    journal.set_state(DAY_KEY, raw)

    with pytest.raises(AccountError, match=DAY_KEY):
        EquityAnchors(journal).update(NOW, 10_000.0)

    assert corrupt_anchor_keys(journal) == [DAY_KEY]


def test_corrupt_anchor_keys_when_all_valid_or_empty_then_none(journal):
    EquityAnchors(journal).update(NOW, 10_000.0)
    journal.set_state(PEAK_KEY, "")  # re-based by a reset: valid

    assert corrupt_anchor_keys(journal) == []


def test_evaluate_of_a_snapshot_built_from_garbage_is_never_active():
    decision = evaluate(AccountSnapshot(NOW, math.nan, 10_000.0, 10_000.0, 10_000.0),
                        RiskConfig())

    assert decision.state != TradingState.ACTIVE
    assert [t.reason for t in decision.trips] == [BreakerReason.GUARD_ERROR]


@pytest.fixture(scope="module")
def shared_journal(tmp_path_factory) -> DecisionJournal:
    with DecisionJournal(tmp_path_factory.mktemp("anchors") / "journal.sqlite") as j:
        yield j


@settings(max_examples=150, deadline=None)
@given(equities=st.lists(st.floats(), min_size=1, max_size=12))
def test_property_peak_is_the_highest_valid_equity_and_garbage_never_stored(shared_journal,
                                                                            equities):
    for key in (DAY_KEY, WEEK_KEY, PEAK_KEY):
        shared_journal.set_state(key, "")
    anchors = EquityAnchors(shared_journal)
    valid = []
    for i, equity in enumerate(equities):
        try:
            anchors.update(NOW + timedelta(hours=i), equity)
        except AccountError:
            assert not (math.isfinite(equity) and equity > 0)
            continue
        valid.append(equity)

    raw = shared_journal.get_state(PEAK_KEY)
    assert corrupt_anchor_keys(shared_journal) == []
    assert (float(raw) if raw else None) == (max(valid) if valid else None)
