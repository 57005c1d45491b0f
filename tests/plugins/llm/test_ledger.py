"""The call ledger under faults: an unreadable ledger fails closed (no LLM call, no spend) with
one clear line naming the file and the fix."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from plugins.llm.errors import LedgerUnreadableError, LlmUnavailableError
from plugins.llm.ledger import Budget, Ledger
from tests.conftest import REPO_ROOT
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
