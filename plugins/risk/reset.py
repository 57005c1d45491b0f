"""The human reset of the kill switch: the one way to lift a drawdown halt.

Deactivates the kill switch's global locks in Freqtrade's database (what ``/locks`` shows)
and re-bases the equity peak in the decision journal to the next equity the bot sees, so the
same drawdown does not trip it again at once; the reset itself is journaled. Works while the
bot runs (Freqtrade reads locks from the database on every check).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from freqtrade.persistence import init_db
from freqtrade.persistence.pairlock import PairLock
from sqlalchemy import select

from plugins.risk.account import PEAK_KEY
from plugins.risk.journal import DecisionJournal, JournalRow
from plugins.risk.mixin import lock_reason
from plugins.risk.state import BreakerReason


def reset_kill_switch(db_url: str, journal_file: Path, now: datetime, by: str) -> int:
    """Lift the kill switch; returns how many active kill-switch locks were deactivated.

    Args:
        db_url: Freqtrade's database (``sqlite:///tradesv3.dryrun.sqlite``).
        journal_file: the bot's decision journal (``journal.journal_path``).
        now: time of the reset (UTC), for the journal.
        by: who reset it (recorded).
    """
    init_db(db_url)
    prefix = lock_reason(BreakerReason.DRAWDOWN_KILL_SWITCH)
    locks = PairLock.session.scalars(select(PairLock).filter(
        PairLock.active.is_(True), PairLock.reason.like(f"{prefix}%"))).all()
    for lock in locks:
        lock.active = False
    PairLock.session.commit()
    with DecisionJournal(journal_file) as journal:
        journal.set_state(PEAK_KEY, "")
        journal.record(JournalRow(ts=now, kind="reset", decision="clear",
                                  reason=BreakerReason.DRAWDOWN_KILL_SWITCH.value,
                                  detail=f"kill switch reset by {by}: {len(locks)} lock(s) lifted"))
    return len(locks)
