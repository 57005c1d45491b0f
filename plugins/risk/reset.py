"""The human reset of the kill switch: the one way to lift a drawdown halt.

Deactivates the kill switch's global locks in Freqtrade's database (what ``/locks`` shows)
and re-bases the equity peak in the decision journal to the next equity the bot sees, so the
same drawdown does not trip it again at once; the reset itself is journaled.

Two entry points share :func:`lift_kill_switch`:

- :func:`reset_kill_switch` (the CLI, ``python -m plugins.risk reset-killswitch``) opens the
  database itself with ``init_db``; it runs in its own process beside the bot (Freqtrade reads
  locks from the database on every check).
- Inside a running bot (``plugins.rpc``: REST ``POST /api/v1/suite/killswitch_reset``,
  Telegram ``/killswitch_reset CONFIRM``) ``init_db`` must not be called again (it would
  replace the bot's engine and sessions); :func:`lift_kill_switch` uses Freqtrade's
  thread-scoped session as Freqtrade's own ``RPC._rpc_delete_lock`` does.
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


def active_kill_switch_locks() -> list[PairLock]:
    """The kill switch's active locks, read through ``PairLock.session`` (Freqtrade's
    scoped session: the database must be initialised, by ``init_db`` or the running bot)."""
    prefix = lock_reason(BreakerReason.DRAWDOWN_KILL_SWITCH)
    return list(PairLock.session.scalars(select(PairLock).filter(
        PairLock.active.is_(True), PairLock.reason.like(f"{prefix}%"))).all())


def lift_kill_switch(journal_file: Path, now: datetime, by: str) -> int:
    """Deactivate the kill switch's locks and re-base the equity peak; returns how many
    active kill-switch locks were deactivated. The reset is journaled (kind ``reset``).

    Uses the caller's thread-scoped ``PairLock.session`` and commits it; the caller removes
    the session when done (Freqtrade's request and Telegram wrappers do).

    Args:
        journal_file: the bot's decision journal (``journal.journal_path``); opened here with
            its own SQLite connection (one per thread).
        now: time of the reset (UTC, tz-aware): the locks' new end and the journal row's time.
        by: who reset it (recorded), e.g. ``cli:alice``, ``rest:admin``, ``telegram:42``.
    """
    locks = active_kill_switch_locks()
    for lock in locks:
        lock.active = False
        lock.lock_end_time = now.replace(tzinfo=None)  # Freqtrade stores naive UTC
    PairLock.session.commit()
    with DecisionJournal(journal_file) as journal:
        journal.set_state(PEAK_KEY, "")
        journal.record(JournalRow(ts=now, kind="reset", decision="clear",
                                  reason=BreakerReason.DRAWDOWN_KILL_SWITCH.value,
                                  detail=f"kill switch reset by {by}: {len(locks)} lock(s) lifted"))
    return len(locks)


def reset_kill_switch(db_url: str, journal_file: Path, now: datetime, by: str) -> int:
    """The CLI's reset, in a process of its own: open ``db_url`` and :func:`lift_kill_switch`.

    Never call it inside a running bot (``init_db`` would replace the bot's sessions).

    Args:
        db_url: Freqtrade's database (``sqlite:///tradesv3.dryrun.sqlite``).
        journal_file: the bot's decision journal (``journal.journal_path``).
        now: time of the reset (UTC), for the journal.
        by: who reset it (recorded).
    """
    init_db(db_url)
    return lift_kill_switch(journal_file, now, by)
