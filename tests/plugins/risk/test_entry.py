"""The entry-check core: the shared threshold table on ``decide_entry`` itself, the order and
names of the checks, and which trips get a new lock (``new_trips``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from plugins.altdata.calendar import EventCalendar
from plugins.risk.breakers import evaluate
from plugins.risk.checks import Check, CheckResult
from plugins.risk.config import RiskConfig
from plugins.risk.entry import EntryFacts, decide_entry, new_trips
from plugins.risk.gates import SignalCandle
from plugins.risk.snapshot import AccountSnapshot, ClosedTrade
from plugins.risk.stages import Verdict
from plugins.risk.state import BreakerReason, BreakerTrip, RiskDecision, TradingState
from tests.conftest import bundle_dir
from tests.plugins.risk.entry_cases import CHECKS, NOW, PAIR, RISK, EntryCase, cases

CFG = RiskConfig.model_validate(RISK)
ACTIVE = RiskDecision(TradingState.ACTIVE, ())


def facts_of(case: EntryCase, calendar: EventCalendar) -> EntryFacts:
    """What a guard would gather for ``case``: the breakers on the account at ``case.at``."""
    snapshot = AccountSnapshot(now=case.at, equity=case.equity,
                               equity_day_start=case.day_start_equity,
                               equity_week_start=case.day_start_equity,
                               equity_peak=max(case.day_start_equity, case.equity),
                               open_positions=case.open_positions)
    last = (None if case.last_close is None
            else ClosedTrade(PAIR, case.at - case.last_close, case.last_profit))
    return EntryFacts(pair=PAIR, now=case.at, stake=100.0, breakers=evaluate(snapshot, CFG),
                      open_positions=case.open_positions, last_closed=last,
                      in_blackout=calendar.in_blackout_at(case.at, CFG.blackout_before_min,
                                                          CFG.blackout_after_min),
                      analyses_candles=False)


@pytest.fixture(scope="module")
def calendar() -> EventCalendar:
    return EventCalendar.from_dir(bundle_dir() / "macro" / "calendar")


@pytest.mark.parametrize("case", cases())
def test_decide_entry_when_account_on_a_threshold_then_the_tables_verdict(case, calendar):
    decision = decide_entry(facts_of(case, calendar), CFG)

    assert [c.check for c in decision.checks] == CHECKS
    assert decision.allowed is case.allowed
    denied = [c.check for c in decision.checks if not c.passed]
    assert (case.denied_by in denied) if case.denied_by else denied == []


def test_decide_entry_when_denied_then_one_journal_row_per_check_with_the_reason():
    facts = EntryFacts(pair=PAIR, now=NOW, stake=250.0, breakers=ACTIVE, open_positions=3,
                       analyses_candles=False)

    decision = decide_entry(facts, CFG)

    assert decision.reason == "max_open_positions: 3 open, max 3"
    assert [(r.kind, r.reason, r.decision, r.pair, r.stake) for r in decision.journal_rows()] == [
        ("gate", "breakers", "pass", PAIR, 250.0), ("gate", "max_open_positions", "deny", PAIR, 250.0),
        ("gate", "news_blackout", "pass", PAIR, 250.0), ("gate", "cooldown", "pass", PAIR, 250.0)]


def test_decide_entry_when_venue_analyses_candles_but_has_none_then_analysed_candle_denies():
    decision = decide_entry(EntryFacts(pair=PAIR, now=NOW, stake=1.0, breakers=ACTIVE,
                                       open_positions=0, candle=None), CFG)

    assert [str(c) for c in decision.checks if not c.passed] == [
        f"analysed_candle: no analysed dataframe with gate columns for {PAIR}"]


def test_decide_entry_when_gates_on_and_candle_given_then_all_seven_gates_after_the_stage():
    candle = SignalCandle(close=105.0, ema200=100.0, rsi=55.0, momentum=0.01, momentum_before=0.0)
    cfg = RiskConfig()
    facts = EntryFacts(pair=PAIR, now=NOW, stake=1.0, breakers=ACTIVE, open_positions=0,
                       stage=Verdict(False, "shadow stage: no live orders"), candle=candle)

    decision = decide_entry(facts, cfg)

    assert [c.check for c in decision.checks] == [
        Check.BREAKERS, Check.MAX_OPEN_POSITIONS, Check.STAGE, Check.REGIME, Check.EMA200_BAND,
        Check.RSI, Check.NEWS_BLACKOUT, Check.COOLDOWN, Check.MOMENTUM, Check.CONFIDENCE]
    assert decision.denials == ("stage: shadow stage: no live orders",)


def test_decide_entry_when_venue_checks_given_then_they_run_last_and_can_deny():
    pdt = CheckResult(Check.PATTERN_DAY_TRADER, False, "3 day trades, equity < 25000")
    facts = EntryFacts(pair=PAIR, now=NOW, stake=1.0, breakers=ACTIVE, open_positions=0,
                       analyses_candles=False, venue=(pdt,))

    decision = decide_entry(facts, CFG)

    assert decision.checks[-1] == pdt and not decision.allowed


def trip(reason: BreakerReason) -> BreakerTrip:
    return BreakerTrip(TradingState.REDUCING, reason, "x", NOW + timedelta(hours=1))


def test_new_trips_when_some_already_locked_then_only_the_others_and_never_open_positions():
    decision = RiskDecision(TradingState.REDUCING, (
        trip(BreakerReason.DAILY_LOSS), trip(BreakerReason.MAX_OPEN_POSITIONS),
        trip(BreakerReason.LOSING_STREAK)))

    fresh = new_trips(decision, [BreakerReason.LOSING_STREAK])

    assert [t.reason for t in fresh] == [BreakerReason.DAILY_LOSS]
