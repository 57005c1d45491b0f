"""The shared threshold table (``tests/plugins/risk/entry_cases.py``) against the Freqtrade
guard: the same verdicts and the same denying check as the core and the Alpaca guard."""

from __future__ import annotations

import pytest

from tests.plugins.risk.entry_cases import CHECKS, PAIR, RISK, EntryCase, cases


@pytest.mark.parametrize("case", cases())
def test_confirm_trade_entry_when_account_on_a_threshold_then_the_tables_verdict(case: EntryCase,
                                                                               make_bot):
    bot = make_bot(risk=RISK)
    day_start = case.at.replace(hour=0, minute=0)
    for i in range(case.open_positions):
        bot.open_trade(f"ALT{i}/USDT", day_start)
    if case.last_close is not None:
        bot.closed_trade(PAIR, case.at - case.last_close, case.last_profit)
    bot.loop(day_start, case.day_start_equity)
    bot.loop(case.at, case.equity)
    bot.analysed(case.at)

    allowed = bot.confirm(case.at)

    gates = bot.rows(kind="gate", since=case.at)
    assert [r.reason for r in gates] == CHECKS
    assert allowed is case.allowed
    denied = [r.reason for r in gates if r.decision == "deny"]
    assert (case.denied_by in denied) if case.denied_by else denied == []
