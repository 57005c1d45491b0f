"""The human reset of the kill switch: the one way to lift a drawdown halt.

Deactivates the kill switch's global locks in Freqtrade's database (what ``/locks`` shows)
and re-bases the equity peak in the decision journal to the next equity the bot sees, so the
same drawdown does not trip it again at once; the reset itself is journaled.

Two entry points share :func:`lift_kill_switch`:

- :func:`reset_kill_switch` (the CLI, ``python -m plugins.guard reset-killswitch``) opens the
  database itself with ``init_db``; it runs in its own process beside the bot (Freqtrade reads
  locks from the database on every check).
- Inside a running bot (``plugins.rpc``: REST ``POST /api/v1/suite/killswitch_reset``,
  Telegram ``/killswitch_reset CONFIRM``, through the guard's ``GuardView.lift_kill_switch``)
  ``init_db`` must not be called again (it would replace the bot's engine and sessions);
  :func:`lift_kill_switch` uses Freqtrade's thread-scoped session as Freqtrade's own
  ``RPC._rpc_delete_lock`` does.

All or nothing: the journal is opened (it must exist) and its write transaction begun (reset
row, re-based peak) before the locks change; the lock change commits inside it, and the journal
commits last. Any failure before that leaves both as they were; should the journal's final
commit fail after the locks were lifted, the locks are put back. The CLI never creates a
database: a ``--db-url`` naming a SQLite file that does not exist, or one that is not a
Freqtrade trades database, is refused (``ResetError``) before anything is opened for writing.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from pathlib import Path

from freqtrade.exceptions import OperationalException
from freqtrade.persistence import init_db
from freqtrade.persistence.pairlock import PairLock
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from plugins.core.errors import SuiteError
from plugins.risk.account import PEAK_KEY, corrupt_anchor_keys
from plugins.risk.journal import JournalRow, open_existing
from plugins.risk.state import BreakerReason, lock_reason

logger = logging.getLogger(__name__)

DB_URL_FIX = ("pass the bot's db_url as --db-url (e.g. sqlite:///tradesv3.dryrun.sqlite, a "
              "path relative to the folder the bot runs in)")


class ResetError(SuiteError):
    """The kill-switch reset cannot run: ``--db-url`` does not name the bot's trades database
    (a SQLite file that does not exist or is not Freqtrade's, an unparseable URL, a server that
    does not answer). Nothing was changed or created; the CLI exits 1 with this message, which
    never contains the URL's password."""


def active_kill_switch_locks() -> list[PairLock]:
    """The kill switch's active locks, read through ``PairLock.session`` (Freqtrade's
    scoped session: the database must be initialised, by ``init_db`` or the running bot)."""
    prefix = lock_reason(BreakerReason.DRAWDOWN_KILL_SWITCH)
    return list(PairLock.session.scalars(select(PairLock).filter(
        PairLock.active.is_(True), PairLock.reason.like(f"{prefix}%"))).all())


def lift_kill_switch(journal_file: Path, now: datetime, by: str) -> int:
    """Deactivate the kill switch's locks and re-base the equity peak (and any corrupt day /
    week anchor, ``account.corrupt_anchor_keys``); returns how many active kill-switch locks
    were deactivated. The reset is journaled (kind ``reset``). All or nothing (module
    docstring).

    Uses the caller's thread-scoped ``PairLock.session`` and commits it (rolls it back on
    failure); the caller removes the session when done (Freqtrade's request and Telegram
    wrappers do).

    Args:
        journal_file: the bot's decision journal (``journal.journal_path``); it must exist.
            Opened here with its own SQLite connection (one per thread).
        now: time of the reset (UTC, tz-aware): the locks' new end and the journal row's time.
        by: who reset it (recorded), e.g. ``cli:alice``, ``rest:admin``, ``telegram:42``.

    Raises:
        JournalError: the journal does not exist or is not a usable journal (nothing changed).
        sqlite3.Error, sqlalchemy.exc.SQLAlchemyError: the journal or the trades database could
            not be written (nothing changed).
    """
    with open_existing(journal_file) as journal:
        locks = active_kill_switch_locks()
        corrupt = [key for key in corrupt_anchor_keys(journal) if key != PEAK_KEY]
        detail = f"kill switch reset by {by}: {len(locks)} lock(s) lifted"
        if corrupt:
            detail += f"; corrupt equity anchors re-based: {', '.join(corrupt)}"
        row = JournalRow(ts=now, kind="reset", decision="clear",
                         reason=BreakerReason.DRAWDOWN_KILL_SWITCH.value, detail=detail)
        before = [(lock, lock.lock_end_time) for lock in locks]
        lifted = False
        try:
            with journal.staged([row], {PEAK_KEY: "", **dict.fromkeys(corrupt, "")}):
                for lock in locks:
                    lock.active = False
                    lock.lock_end_time = now.replace(tzinfo=None)  # Freqtrade stores naive UTC
                PairLock.session.commit()
                lifted = True
        except BaseException:
            if not lifted:
                PairLock.session.rollback()
            else:  # only the journal's final commit failed: put the locks back
                logger.error("Kill-switch reset not journaled; re-activating its locks")
                for lock, end in before:
                    lock.active = True
                    lock.lock_end_time = end
                PairLock.session.commit()
            raise
    return len(locks)


def _redacted(db_url: str) -> str:
    """``db_url`` with its password (if any) replaced by ``***``."""
    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable URL>"


def check_db_url(db_url: str) -> None:
    """Refuse a ``db_url`` that does not name an existing Freqtrade trades database, before
    anything opens it for writing (``init_db`` would create a missing SQLite file).

    Raises:
        ResetError: unparseable, in-memory, a SQLite file that does not exist, or a SQLite
            file without Freqtrade's ``pairlocks`` table.
    """
    try:
        url = make_url(db_url)
    except (ArgumentError, ValueError):
        raise ResetError(f"--db-url {_redacted(db_url)} is not a database URL; "
                         f"{DB_URL_FIX}.") from None
    if not url.drivername.startswith("sqlite"):
        return
    if not url.database or url.database == ":memory:":
        raise ResetError(f"--db-url {_redacted(db_url)} names no database file (an in-memory "
                         f"database holds no bot's locks); {DB_URL_FIX}.")
    path = Path(url.database)
    if not path.is_file():
        raise ResetError(f"No Freqtrade database at {path.resolve()} (from --db-url "
                         f"{_redacted(db_url)}); "
                         f"nothing was created. Check the path: {DB_URL_FIX}.")
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
            found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'pairlocks'").fetchone()
    except sqlite3.Error as err:
        raise ResetError(f"{path} (from --db-url) cannot be read as SQLite ({err}); "
                         f"{DB_URL_FIX}.") from None
    if found is None:
        raise ResetError(f"{path} (from --db-url) is not a Freqtrade trades database (no "
                         f"pairlocks table); {DB_URL_FIX}.")


def reset_kill_switch(db_url: str, journal_file: Path, now: datetime, by: str) -> int:
    """The CLI's reset, in a process of its own: check and open ``db_url``, then
    :func:`lift_kill_switch`.

    Never call it inside a running bot (``init_db`` would replace the bot's sessions).

    Args:
        db_url: Freqtrade's database (``sqlite:///tradesv3.dryrun.sqlite``).
        journal_file: the bot's decision journal (``journal.journal_path``); it must exist.
        now: time of the reset (UTC), for the journal.
        by: who reset it (recorded).

    Raises:
        ResetError: ``db_url`` does not name an existing trades database, or it cannot be
            opened; the journal does not exist or cannot be written (nothing changed or
            created).
        JournalError: the journal is not a usable journal (nothing changed).
    """
    check_db_url(db_url)
    if not Path(journal_file).is_file():
        raise ResetError(f"No decision journal at {journal_file}; nothing was changed. Pass the "
                         "bot's journal with --journal PATH (<db name>.journal.sqlite beside a "
                         "SQLite db_url, <user_data>/journal.<mode>.sqlite for other databases).")
    open_existing(journal_file).close()  # verify the journal before touching the database
    password = make_url(db_url).password
    try:
        init_db(db_url)
        return lift_kill_switch(journal_file, now, by)
    except sqlite3.Error as err:
        raise ResetError(f"The decision journal {journal_file} cannot be written ({err}); "
                         "nothing was changed. Retry when no other process holds it.") from None
    except (OperationalException, SQLAlchemyError, ModuleNotFoundError) as err:
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        if password:
            text = text.replace(str(password), "***")
        raise ResetError(f"Cannot use the database at --db-url {_redacted(db_url)} "
                         f"({type(err).__name__}: {text}); nothing was changed. "
                         f"{DB_URL_FIX}.") from None
