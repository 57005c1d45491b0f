"""The human kill-switch reset is all or nothing: Freqtrade's lock change and the journal's
reset row and re-based peak commit together or not at all; a mistyped database never becomes a
new, empty one that reports "0 locks lifted"."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freqtrade.persistence import PairLocks, Trade, init_db

from plugins.guard.__main__ import main
from plugins.guard.killswitch import ResetError, lift_kill_switch, reset_kill_switch
from plugins.risk.account import DAY_KEY, PEAK_KEY, WEEK_KEY
from plugins.risk.journal import DecisionJournal, JournalError
from tests.conftest import REPO_ROOT

NOW = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
KILL_REASON = "ai_suite:drawdown_kill_switch: drawdown 50.00% >= 15.00%; human reset needed"


@pytest.fixture
def trades_db(tmp_path: Path) -> Iterator[Path]:
    """Freqtrade's trades database (SQLite file) holding an active kill-switch lock, and the
    bot's journal beside it with a peak of 20 000."""
    path = tmp_path / "tradesv3.dryrun.sqlite"
    init_db(f"sqlite:///{path}")
    PairLocks.use_db = True
    PairLocks.timeframe = "1h"
    PairLocks.lock_pair("*", NOW + timedelta(days=3650), KILL_REASON, now=NOW, side="*")
    with DecisionJournal(journal_of(path)) as journal:
        journal.set_state(PEAK_KEY, "20000.0")
    yield path
    Trade.session.remove()
    PairLocks.reset_locks()


def journal_of(db: Path) -> Path:
    return db.with_name(f"{db.stem}.journal.sqlite")


def active_locks(db: Path) -> int:
    """Active locks as another process sees them (not through the test's session)."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM pairlocks WHERE active = 1").fetchone()[0]


def journal_state(db: Path) -> tuple[str | None, int]:
    with DecisionJournal(journal_of(db)) as journal:
        return journal.get_state(PEAK_KEY), len(journal.query(kind="reset"))


def test_lift_when_locked_then_lock_lifted_peak_rebased_and_one_reset_row(trades_db):
    lifted = lift_kill_switch(journal_of(trades_db), NOW, "cli:alice")

    assert lifted == 1 and active_locks(trades_db) == 0
    assert journal_state(trades_db) == ("", 1)


def test_lift_when_journal_is_not_sqlite_then_journal_error_and_lock_stays(trades_db):
    journal_of(trades_db).write_bytes(b"not a database, but a disk full of garbage" * 100)

    with pytest.raises(JournalError):
        lift_kill_switch(journal_of(trades_db), NOW, "cli:alice")

    assert active_locks(trades_db) == 1, "the kill switch is not lifted without its reset row"


def test_lift_when_journal_missing_then_journal_error_nothing_created_and_lock_stays(trades_db):
    journal_of(trades_db).unlink()

    with pytest.raises(JournalError, match="No decision journal"):
        lift_kill_switch(journal_of(trades_db), NOW, "cli:alice")

    assert not journal_of(trades_db).exists() and active_locks(trades_db) == 1


def test_lift_when_journal_locked_by_another_process_then_journal_error_and_nothing_changed(
        trades_db):
    holder = sqlite3.connect(journal_of(trades_db), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the journal's write lock
    try:
        with pytest.raises(JournalError, match="locked"):
            lift_kill_switch(journal_of(trades_db), NOW, "cli:alice")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert active_locks(trades_db) == 1
    assert journal_state(trades_db) == ("20000.0", 0)


def test_lift_when_reset_row_cannot_be_written_then_locks_untouched_and_peak_kept(trades_db):
    # The journal opens, but its write fails (here: a trigger someone added refuses it).
    with sqlite3.connect(journal_of(trades_db)) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON decisions WHEN NEW.kind = 'reset' "
                     "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")

    with pytest.raises(sqlite3.Error, match="disk I/O error"):
        lift_kill_switch(journal_of(trades_db), NOW, "cli:alice")

    assert active_locks(trades_db) == 1
    assert journal_state(trades_db) == ("20000.0", 0)


def test_lift_when_freqtrade_database_cannot_be_written_then_journal_unchanged(trades_db):
    holder = sqlite3.connect(trades_db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the lock change cannot commit
    try:
        with pytest.raises(Exception, match="locked"):
            lift_kill_switch(journal_of(trades_db), NOW, "cli:alice")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert active_locks(trades_db) == 1
    assert journal_state(trades_db) == ("20000.0", 0), "no reset row, peak not re-based"


def test_lift_when_anchors_corrupt_then_they_are_rebased_with_the_peak(trades_db):
    with DecisionJournal(journal_of(trades_db)) as journal:
        journal.set_state(DAY_KEY, "not json")
        journal.set_state(WEEK_KEY, '{"period": "2024-W12", "equity": 10000.0}')

    lift_kill_switch(journal_of(trades_db), NOW, "cli:alice")

    with DecisionJournal(journal_of(trades_db)) as journal:
        assert journal.get_state(DAY_KEY) == "" and journal.get_state(PEAK_KEY) == ""
        assert journal.get_state(WEEK_KEY) == '{"period": "2024-W12", "equity": 10000.0}'
        [row] = journal.query(kind="reset")
    assert "equity_day_anchor" in row.detail


def test_reset_when_sqlite_file_does_not_exist_then_reset_error_and_nothing_created(tmp_path):
    typo = tmp_path / "tradesv3.dryrun.sqllite"

    with pytest.raises(ResetError, match="No Freqtrade database") as err:
        reset_kill_switch(f"sqlite:///{typo}", journal_of(typo), NOW, "cli:alice")

    assert str(typo) in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_reset_when_sqlite_file_is_not_a_trades_database_then_reset_error_and_untouched(
        tmp_path):
    other = tmp_path / "journal.sqlite"
    with DecisionJournal(other):
        pass
    before = other.read_bytes()

    with pytest.raises(ResetError, match="not a Freqtrade trades database"):
        reset_kill_switch(f"sqlite:///{other}", other, NOW, "cli:alice")

    assert other.read_bytes() == before


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plugins.guard", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def run_main(capsys, *args: str) -> subprocess.CompletedProcess:
    """``python -m plugins.guard ARGS`` in this process (faster than a subprocess)."""
    status = main(list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, out.out, out.err)


def test_cli_reset_when_db_url_path_mistyped_then_exit_1_naming_it_and_no_database_created(
        tmp_path):
    typo = tmp_path / "tradesv3.dryrun.sqllite"

    result = run_cli("reset-killswitch", "--db-url", f"sqlite:///{typo}", "--yes")

    assert result.returncode == 1
    assert str(typo) in result.stderr and "--db-url" in result.stderr
    assert "Traceback" not in result.stderr and "lock(s) lifted" not in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("db_url", ["notaurl", "sqlite:///", "mysql+nodriver://u:s3cr3t@h/db",
                                    "postgresql+psycopg://admin:s3cr3t@127.0.0.1:1/trades"])
def test_cli_reset_when_db_url_unusable_then_exit_1_without_traceback_or_password(
        tmp_path, capsys, db_url):
    journal = tmp_path / "journal.dry_run.sqlite"
    with DecisionJournal(journal):
        pass

    result = run_main(capsys, "reset-killswitch", "--db-url", db_url, "--journal", str(journal), "--yes")

    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("guard: ") and "--db-url" in result.stderr
    assert "Traceback" not in result.stderr and "s3cr3t" not in result.stderr + result.stdout


def test_cli_reset_when_journal_unreadable_then_exit_1_and_kill_switch_still_active(trades_db,
                                                                                   capsys):
    journal_of(trades_db).write_bytes(b"garbage" * 1000)

    result = run_main(capsys, "reset-killswitch", "--db-url", f"sqlite:///{trades_db}", "--yes")

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert str(journal_of(trades_db)) in result.stderr
    assert active_locks(trades_db) == 1


def test_cli_reset_when_journal_missing_then_exit_1_naming_the_journal_option(trades_db, capsys):
    journal_of(trades_db).unlink()

    result = run_main(capsys, "reset-killswitch", "--db-url", f"sqlite:///{trades_db}", "--yes")

    assert result.returncode == 1 and "--journal" in result.stderr
    assert not journal_of(trades_db).exists() and active_locks(trades_db) == 1


def test_cli_reset_when_not_confirmed_and_stdin_closed_then_not_reset(trades_db):
    result = subprocess.run([sys.executable, "-m", "plugins.guard", "reset-killswitch",
                             "--db-url", f"sqlite:///{trades_db}"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert active_locks(trades_db) == 1
