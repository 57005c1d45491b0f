"""``python -m plugins.risk``: journal and summary, run as a real process."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from plugins.risk.journal import DecisionJournal, JournalRow
from tests.conftest import REPO_ROOT

T0 = datetime(2024, 3, 6, 15, 30, tzinfo=UTC)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plugins.risk", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def journal_file(tmp_path: Path) -> Path:
    path = tmp_path / "tradesv3.dryrun.journal.sqlite"
    rows = [
        JournalRow(T0, "signal", "pass", "rsi_ok", "BTC/USDT"),
        JournalRow(T0 + timedelta(minutes=5), "gate", "deny", "daily_loss", "BTC/USDT",
                   "day loss 3.10 % >= 3.00 %"),
        JournalRow(T0 + timedelta(minutes=10), "gate", "deny", "daily_loss", "ETH/USDT",
                   "day loss 3.20 % >= 3.00 %"),
        JournalRow(T0 + timedelta(minutes=15), "stake", "clamp", "max_position", "ETH/USDT",
                   "stake 2000.00 capped to 1000.00", stake=1000.0),
    ]
    with DecisionJournal(path) as journal:
        journal.record_many(rows)
    return path


def test_journal_when_filtered_by_reason_and_since_then_one_aligned_line_per_match(journal_file):
    result = run_cli("journal", "--file", str(journal_file), "--reason", "daily_loss",
                     "--since", "2024-03-06T15:36:00")

    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["ts", "kind", "decision", "reason", "pair", "stake", "detail"]
    assert lines == [
        "2024-03-06T15:40:00+00:00  gate  deny      daily_loss  ETH/USDT      -  day loss 3.20 % >= 3.00 %"]


def test_journal_when_pair_and_limit_given_then_newest_rows_of_that_pair(journal_file):
    result = run_cli("journal", "--file", str(journal_file), "--pair", "ETH/USDT", "--limit", "1")

    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()[1:]
    assert line.split()[:6] == ["2024-03-06T15:45:00+00:00", "stake", "clamp", "max_position",
                                "ETH/USDT", "1000.00"]


def test_journal_when_nothing_matches_then_says_so(journal_file):
    result = run_cli("journal", "--file", str(journal_file), "--kind", "reset")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "No decisions match."


def test_summary_when_rows_recorded_then_counts_sorted_by_count_desc(journal_file):
    result = run_cli("summary", "--file", str(journal_file))

    assert result.returncode == 0, result.stderr
    table = [line.split() for line in result.stdout.splitlines()]
    assert table[0] == ["count", "kind", "decision", "reason"]
    assert table[1] == ["2", "gate", "deny", "daily_loss"]
    assert sorted(table[2:4]) == [["1", "signal", "pass", "rsi_ok"],
                                  ["1", "stake", "clamp", "max_position"]]
    assert table[4] == ["4", "decisions"]


def test_summary_when_kind_given_then_only_that_kind(journal_file):
    result = run_cli("summary", "--file", str(journal_file), "--kind", "stake")

    assert result.returncode == 0, result.stderr
    assert [line.split() for line in result.stdout.splitlines()[1:]] == [
        ["1", "stake", "clamp", "max_position"], ["1", "decisions"]]


@pytest.mark.parametrize("command", ["journal", "summary"])
def test_cli_when_file_missing_then_exit_1_naming_path_and_writer_without_traceback(tmp_path,
                                                                                     command):
    missing = tmp_path / "nowhere" / "journal.sqlite"

    result = run_cli(command, "--file", str(missing))

    assert result.returncode == 1
    assert str(missing) in result.stderr and "RiskGuardMixin" in result.stderr
    assert "Traceback" not in result.stderr
    assert not missing.parent.exists()  # reading never creates a journal


def test_cli_when_since_is_not_a_time_then_usage_error(journal_file):
    result = run_cli("journal", "--file", str(journal_file), "--since", "yesterday")

    assert result.returncode == 2
    assert "not an ISO-8601 time" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_when_reset_killswitch_asked_here_then_exit_2_naming_the_guards_command(tmp_path):
    result = run_cli("reset-killswitch", "--db-url", "sqlite:///tradesv3.dryrun.sqlite", "--yes")

    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ("python -m plugins.guard reset-killswitch --db-url sqlite:///tradesv3.dryrun.sqlite "
            "--yes") in result.stderr
