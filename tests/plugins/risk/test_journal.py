"""The decision journal: round trips, filters, state, bounded growth, schema guard, file paths."""

from __future__ import annotations

import math
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from freqtrade.enums import RunMode

from plugins.core.errors import SuiteError
from plugins.risk.journal import (
    DecisionJournal,
    JournalError,
    JournalRow,
    features_hash,
    journal_path,
)

T0 = datetime(2024, 3, 6, 15, 30, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# One row per kind of decision; filter cases below refer to them by index.
ROWS = (
    JournalRow(at(0), "signal", "pass", "rsi_ok", "BTC/USDT", features_hash=features_hash({"rsi": 41.5})),
    JournalRow(at(1), "gate", "deny", "daily_loss", "BTC/USDT", "day loss 3.10 % >= 3.00 %"),
    JournalRow(at(2), "gate", "deny", "daily_loss", "ETH/USDT", "day loss 3.20 % >= 3.00 %"),
    JournalRow(at(3), "breaker", "trip", "drawdown_kill_switch", None, "drawdown 15.00 %"),
    JournalRow(at(4), "stake", "clamp", "max_position", "ETH/USDT", "capped", stake=1000.0),
)


@pytest.fixture
def journal(tmp_path: Path):
    with DecisionJournal(tmp_path / "journal.sqlite") as opened:
        yield opened


def count_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]


def test_query_when_rows_recorded_then_all_fields_round_trip_oldest_first(journal):
    journal.record_many(reversed(ROWS))

    rows = journal.query()

    assert rows == list(ROWS)
    assert all(r.ts.tzinfo == UTC for r in rows)


def test_query_when_ts_has_microseconds_and_other_offset_then_same_instant_in_utc(journal):
    cet = datetime(2024, 3, 6, 16, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    journal.record(JournalRow(cet, "reset", "clear", "manual"))

    (row,) = journal.query()

    assert row.ts == cet
    assert row.ts.utcoffset() == timedelta(0)


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, [0, 1, 2, 3, 4]),
    ({"since": at(2)}, [2, 3, 4]),              # since is inclusive
    ({"until": at(2)}, [0, 1]),                 # until is exclusive
    ({"since": at(1), "until": at(3)}, [1, 2]),
    ({"pair": "ETH/USDT"}, [2, 4]),
    ({"reason": "daily_loss"}, [1, 2]),
    ({"kind": "gate"}, [1, 2]),
    ({"kind": "breaker", "pair": "BTC/USDT"}, []),
    ({"limit": 2}, [3, 4]),                     # the newest two, still oldest first
    ({"pair": "BTC/USDT", "limit": 1}, [1]),
    ({"limit": 0}, []),
    ({"since": at(10)}, []),
])
def test_query_when_filtered_then_only_matching_rows(journal, filters, expected):
    journal.record_many(ROWS)

    rows = journal.query(**filters)

    assert rows == [ROWS[i] for i in expected]


def test_query_when_since_is_naive_then_value_error(journal):
    with pytest.raises(ValueError, match="tz-aware"):
        journal.query(since=datetime(2024, 3, 6))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ts": datetime(2024, 3, 6), "kind": "gate"}, "tz-aware"),
    ({"ts": T0, "kind": "vibes"}, "not one of"),
])
def test_journal_row_when_invalid_then_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        JournalRow(decision="deny", reason="daily_loss", **kwargs)


def test_record_many_when_one_row_cannot_be_stored_then_nothing_recorded(journal):
    unbindable = JournalRow(at(1), "gate", "deny", "daily_loss", detail={"loss": 0.031})

    with pytest.raises(sqlite3.Error):
        journal.record_many([ROWS[0], unbindable])

    assert journal.query() == []


def test_summary_when_rows_recorded_then_counts_by_kind_decision_reason(journal):
    journal.record_many([*ROWS, ROWS[1], ROWS[1]])

    counts = journal.summary()

    assert counts == {("gate", "deny", "daily_loss"): 4, ("signal", "pass", "rsi_ok"): 1,
                      ("breaker", "trip", "drawdown_kill_switch"): 1,
                      ("stake", "clamp", "max_position"): 1}
    assert next(iter(counts)) == ("gate", "deny", "daily_loss")


def test_summary_when_kind_given_then_only_that_kind(journal):
    journal.record_many(ROWS)

    counts = journal.summary(kind="stake")

    assert counts == {("stake", "clamp", "max_position"): 1}


def test_set_state_when_file_reopened_then_latest_value_persists(tmp_path):
    path = tmp_path / "journal.sqlite"
    with DecisionJournal(path, clock=lambda: T0) as journal:
        journal.set_state("kill_switch", "tripped")
        journal.set_state("kill_switch", "cleared")

    with DecisionJournal(path) as reopened:
        value, missing = reopened.get_state("kill_switch"), reopened.get_state("nothing")

    assert (value, missing) == ("cleared", None)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT updated_at FROM state").fetchall() == [(T0.isoformat(
            timespec="microseconds"),)]


def test_open_when_new_file_then_wal_mode_and_parent_folders_created(tmp_path):
    path = tmp_path / "deep" / "er" / "journal.sqlite"

    DecisionJournal(path).close()

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("one_by_one", [True, False])
def test_record_when_above_max_rows_then_oldest_dropped_down_to_90_percent(tmp_path, one_by_one):
    path = tmp_path / "journal.sqlite"
    rows = [JournalRow(at(i), "signal", "pass", f"r{i}") for i in range(11)]

    with DecisionJournal(path, max_rows=10) as journal:
        if one_by_one:
            for row in rows:
                journal.record(row)
        else:
            journal.record_many(rows)
        kept = journal.query()

    assert kept == rows[-9:]


def test_record_when_at_max_rows_then_nothing_dropped(tmp_path):
    rows = [JournalRow(at(i), "signal", "pass", f"r{i}") for i in range(10)]

    with DecisionJournal(tmp_path / "journal.sqlite", max_rows=10) as journal:
        journal.record_many(rows)
        kept = journal.query()

    assert kept == rows


@pytest.mark.parametrize("one_by_one", [True, False])
def test_record_when_trimmed_then_breaker_trips_and_resets_are_never_deleted(tmp_path,
                                                                            one_by_one):
    # An unreset kill switch tripped long ago, then a reset and a later trip, under a flood of
    # signals and gate checks: trimming drops only the flood's oldest rows.
    kill = JournalRow(at(0), "breaker", "trip", "drawdown_kill_switch", detail="drawdown 20%")
    reset = JournalRow(at(1), "reset", "clear", "drawdown_kill_switch", detail="by alice")
    daily = JournalRow(at(2), "breaker", "trip", "daily_loss", detail="day loss 3%")
    flood = [JournalRow(at(3 + i), "signal" if i % 2 else "gate", "pass", f"r{i}")
             for i in range(40)]

    with DecisionJournal(tmp_path / "journal.sqlite", max_rows=10) as journal:
        journal.record_many([kill, reset, daily])
        if one_by_one:
            for row in flood:
                journal.record(row)
        else:
            journal.record_many(flood)
        kept = journal.query()

    assert kept[:3] == [kill, reset, daily]
    assert kept[3:] == flood[-len(kept) + 3:] and len(kept) - 3 <= 10


def test_record_when_only_breaker_rows_above_max_rows_then_all_kept(tmp_path):
    trips = [JournalRow(at(i), "breaker", "trip", "daily_loss") for i in range(15)]

    with DecisionJournal(tmp_path / "journal.sqlite", max_rows=10) as journal:
        journal.record_many(trips)
        journal.record(JournalRow(at(20), "gate", "pass", "rsi"))
        kept = journal.query()

    assert kept[:15] == trips and len(kept) == 16


def test_open_when_other_schema_version_then_journal_error(tmp_path):
    path = tmp_path / "journal.sqlite"
    DecisionJournal(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")

    with pytest.raises(JournalError, match="schema version 99") as raised:
        DecisionJournal(path)

    assert isinstance(raised.value, SuiteError)
    assert str(path) in str(raised.value)


def test_open_when_file_is_not_sqlite_then_journal_error(tmp_path):
    path = tmp_path / "journal.sqlite"
    path.write_bytes(b"definitely not a database" * 100)

    with pytest.raises(JournalError, match="not a usable SQLite file"):
        DecisionJournal(path)


def test_record_when_two_threads_write_then_every_row_kept(journal):
    def write(pair: str) -> None:
        for i in range(500):
            journal.record(JournalRow(at(i), "signal", "pass", "rsi_ok", pair))

    threads = [threading.Thread(target=write, args=(p,)) for p in ("BTC/USDT", "ETH/USDT")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert count_rows(journal.path) == 1000
    assert len(journal.query(pair="ETH/USDT")) == 500


@pytest.mark.parametrize(("runmode", "db_url", "expected"), [
    (RunMode.DRY_RUN, "sqlite:///tradesv3.dryrun.sqlite", Path("tradesv3.dryrun.journal.sqlite")),
    ("dry_run", "sqlite:///db/trades.sqlite", Path("db/trades.journal.sqlite")),
    (RunMode.LIVE, "sqlite:////srv/bot/tradesv3.sqlite", Path("/srv/bot/tradesv3.journal.sqlite")),
    (RunMode.LIVE, "sqlite+pysqlite:////srv/t.sqlite?timeout=5", Path("/srv/t.journal.sqlite")),
    (RunMode.LIVE, "postgresql+psycopg://bot:pw@db:5432/trades", Path("ud/journal.live.sqlite")),
    (RunMode.DRY_RUN, "sqlite://", Path("ud/journal.dry_run.sqlite")),
    (RunMode.DRY_RUN, "sqlite:///:memory:", Path("ud/journal.dry_run.sqlite")),
    (RunMode.BACKTEST, "sqlite:///tradesv3.sqlite", Path("ud/backtest_results/journal.backtest.sqlite")),
    ("hyperopt", None, Path("ud/backtest_results/journal.hyperopt.sqlite")),
])
def test_journal_path_when_run_mode_and_db_url_then_one_file_per_mode(runmode, db_url, expected):
    config = {"runmode": runmode, "user_data_dir": "ud", "db_url": db_url}

    path = journal_path(config)

    assert path == expected


def test_features_hash_when_same_values_in_other_order_then_same_hash():
    a = {"rsi": 41.5, "ema_gap": -0.0123, "volume_z": 1.7}
    b = {"volume_z": 1.7, "rsi": 41.5, "ema_gap": -0.0123}

    assert features_hash(a) == features_hash(b)
    assert len(features_hash(a)) == 16
    int(features_hash(a), 16)  # hex


@pytest.mark.parametrize(("a", "b", "same"), [
    ({"x": 0.1 + 0.2}, {"x": 0.3}, True),            # float noise below 12 digits
    ({"x": 0.0}, {"x": -0.0}, True),
    ({"x": math.nan}, {"x": float("nan")}, True),
    ({"x": 1}, {"x": 1.0}, True),
    ({"x": 0.3}, {"x": 0.300000001}, False),
    ({"x": 1.0}, {"y": 1.0}, False),
    ({"x": 1.0}, {"x": 1.0, "y": 1.0}, False),
    ({"x": math.nan}, {"x": 0.0}, False),
])
def test_features_hash_when_values_compared_then_equal_only_up_to_12_digits(a, b, same):
    assert (features_hash(a) == features_hash(b)) == same


def test_open_when_version_1_file_then_migrated_with_rows_kept_and_until_recorded(tmp_path):
    path = tmp_path / "journal.sqlite"
    with sqlite3.connect(path) as conn:  # the version-1 layout, as the first release wrote it
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute("CREATE TABLE decisions (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, "
                     "kind TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT NOT NULL, pair TEXT, "
                     "detail TEXT NOT NULL DEFAULT '', stake REAL, features_hash TEXT)")
        conn.execute("INSERT INTO decisions (ts, kind, decision, reason, detail) VALUES "
                     "('2024-03-01T00:00:00.000000+00:00', 'breaker', 'trip', 'daily_loss', 'x')")
    until = datetime(2024, 3, 2, tzinfo=UTC)

    with DecisionJournal(path) as journal:
        journal.record(JournalRow(ts=datetime(2024, 3, 1, 1, tzinfo=UTC), kind="breaker",
                                  decision="trip", reason="losing_streak", until=until))
        old, new = journal.query()

    assert (old.reason, old.until) == ("daily_loss", None)
    assert (new.reason, new.until) == ("losing_streak", until)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
