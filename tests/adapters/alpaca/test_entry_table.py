"""The shared threshold table (``tests/plugins/risk/entry_cases.py``) against the Alpaca guard:
the same verdicts and the same denying check as the core and the Freqtrade guard."""

from __future__ import annotations

import pytest

from adapters.alpaca.risk import RiskGuard
from adapters.alpaca.runner import BUNDLE_CALENDAR
from plugins.altdata.calendar import EventCalendar
from plugins.risk.config import RiskConfig
from plugins.risk.journal import DecisionJournal
from tests.plugins.risk.entry_cases import CHECKS, PAIR, RISK, EntryCase, cases


@pytest.mark.parametrize("case", cases())
def test_check_entry_when_account_on_a_threshold_then_the_tables_verdict(case: EntryCase,
                                                                       tmp_path):
    with DecisionJournal(tmp_path / "journal.sqlite") as journal:
        guard = RiskGuard(RiskConfig.model_validate(RISK), journal,
                          events=EventCalendar.from_dir(BUNDLE_CALENDAR))
        if case.last_close is not None:
            guard.record_close(PAIR, case.at - case.last_close, case.last_profit)
        guard.observe(case.at.replace(hour=0, minute=0), case.day_start_equity,
                      case.open_positions)
        guard.observe(case.at, case.equity, case.open_positions)

        decision = guard.check_entry(PAIR, case.at, 100.0, case.equity, case.open_positions)

        assert [c.check for c in decision.checks] == CHECKS
        assert decision.allowed is case.allowed
        denied = [c.check for c in decision.checks if not c.passed]
        assert (case.denied_by in denied) if case.denied_by else denied == []
        assert [r.reason for r in journal.query(kind="gate")] == CHECKS
