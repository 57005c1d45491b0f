"""The call ledger under faults: an unreadable ledger fails closed (no LLM call, no spend) with
one clear line naming the file and the fix; one budget reservation per ledger file, shared by
every client, thread and process, so concurrent commands never overshoot the cap."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from plugins.llm.errors import BudgetExceededError, LedgerUnreadableError, LlmUnavailableError
from plugins.llm.ledger import RESERVATION_TTL, Budget, Ledger
from tests.conftest import REPO_ROOT
from tests.plugins.llm.budget_worker import spend_in_threads
from tests.plugins.llm.test_client import request


def _garbage(path) -> None:
    path.write_bytes(b"this is not an SQLite database\n" * 200)


def test_ledger_when_file_is_not_sqlite_then_unreadable_error_naming_the_file_and_the_fix(tmp_path):
    # Arrange
    path = tmp_path / "ledger.sqlite"
    _garbage(path)
    # Act
    with pytest.raises(LedgerUnreadableError) as err:
        Ledger(path)
    # Assert
    message = str(err.value)
    assert str(path) in message and "no LLM call is made" in message
    assert f"mv {path} {path}.corrupt" in message and "--ledger" in message
    assert isinstance(err.value, LlmUnavailableError)  # the hooks' and CLIs' "cannot answer"


def test_budget_when_ledger_table_unreadable_then_refused_and_nothing_reserved(tmp_path):
    # Arrange: a valid SQLite file whose calls table is not the ledger's
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE calls (id INTEGER PRIMARY KEY, note TEXT)")
    # Act
    with pytest.raises(LedgerUnreadableError, match=str(path)):
        budget = Budget(Ledger(path), daily_usd=5, monthly_usd=50)
        with budget.reserve(0.01, "test call"):
            pytest.fail("a call ran on an unreadable ledger")


def test_client_when_ledger_corrupt_then_no_request_is_sent(fake_model, fake_server, make_llm, tmp_path):
    # Arrange
    path = tmp_path / "ledger.sqlite"
    _garbage(path)
    # Act
    with pytest.raises(LedgerUnreadableError):
        make_llm(ledger_path=path).call(request())
    # Assert
    assert fake_model.requests == []


@pytest.mark.parametrize("command", [["budget"], ["structure", "buy BTC when RSI < 30"]])
def test_cli_when_ledger_corrupt_then_exit_2_one_line_naming_the_file_no_traceback(command, tmp_path):
    # Arrange
    path = tmp_path / "ledger.sqlite"
    _garbage(path)
    # Act
    done = subprocess.run([sys.executable, "-m", "plugins.llm", *command, "--ledger", str(path),
                           "--output-dir", str(tmp_path), "--cassette-mode", "off"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "ANTHROPIC_API_KEY": "sk-test-local-only",
                               "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})
    # Assert
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert str(path) in line and "corrupt" in line


# ------------------------------------------------------------------ one reservation per ledger
CAP, COST = 1.0, 0.3  # three calls fit under the cap, a fourth does not


def _billed(path) -> float:
    ledger = Ledger(path)
    try:
        return ledger.billed_since(datetime(2000, 1, 1, tzinfo=UTC))
    finally:
        ledger.close()


def test_reserve_when_concurrent_commands_each_with_its_own_client_then_billed_never_exceeds_the_cap(
        tmp_path):
    # Arrange: eight commands at once, each with its own Ledger + Budget (LlmHooks builds a
    # client per command), all on one ledger file
    path = tmp_path / "ledger.sqlite"
    # Act
    granted = spend_in_threads(path, CAP, COST, hold_s=0.3, start_at=time.time() + 0.5, threads=8)
    # Assert
    assert granted == 3
    assert _billed(path) == pytest.approx(3 * COST) and _billed(path) <= CAP


@pytest.mark.slow
def test_reserve_when_two_processes_share_the_ledger_then_billed_never_exceeds_the_cap(tmp_path):
    # Arrange
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    start_at = time.time() + 6  # both processes imported and waiting
    argv = [sys.executable, "-m", "tests.plugins.llm.budget_worker", str(path), str(CAP), str(COST),
            "1.0", str(start_at), "4"]
    # Act
    workers = [subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    granted = [int(w.communicate(timeout=120)[0]) for w in workers]
    # Assert
    assert all(w.returncode == 0 for w in workers)
    assert sum(granted) == 3
    assert _billed(path) <= CAP


def test_reserve_when_the_holder_process_died_then_its_reservation_is_dropped(tmp_path):
    # Arrange: a process reserves the whole cap and dies without releasing it
    path = tmp_path / "ledger.sqlite"
    code = ("import os, sys\nfrom plugins.llm.ledger import Budget, Ledger\n"
            f"budget = Budget(Ledger({str(path)!r}), daily_usd={CAP}, monthly_usd={CAP})\n"
            f"budget.reserve({CAP}, 'doomed call').__enter__()\nos._exit(0)\n")
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=60)
    budget = Budget(Ledger(path), daily_usd=CAP, monthly_usd=CAP)
    # Act
    with budget.reserve(COST, "next call"):
        held = budget.in_flight()
    # Assert
    assert held == pytest.approx(COST)
    budget.ledger.close()


def test_reserve_when_a_reservation_is_older_than_its_ttl_then_ignored(tmp_path):
    # Arrange: a reservation of this (live) process, left behind longer ago than the TTL
    clock = [datetime(2026, 5, 4, 12, 0, tzinfo=UTC)]
    budget = Budget(Ledger(tmp_path / "ledger.sqlite"), daily_usd=CAP, monthly_usd=CAP,
                    clock=lambda: clock[0])
    forgotten = budget.reserve(CAP, "forgotten call")  # entered, never exited
    forgotten.__enter__()
    with pytest.raises(BudgetExceededError, match="in flight \\$1.0000"), budget.reserve(COST, "too early"):
        pass
    clock[0] += RESERVATION_TTL + timedelta(seconds=1)
    # Act
    with budget.reserve(COST, "later call"):
        held = budget.in_flight()
    # Assert
    assert held == pytest.approx(COST)
    budget.ledger.close()
