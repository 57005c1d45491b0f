"""The decision journal: every risk decision (signal, gate, breaker, stake, stage, reset) as one
row of a SQLite file, one file per run mode (``journal_path``), plus a key/value ``state`` table.

Times are stored as fixed-width ISO-8601 UTC text (``2024-03-06T15:30:00.000000+00:00``), so
text order is time order. Bounded growth: after each write, once the table holds more than
``max_rows`` trimmable rows, the oldest of them (in insertion order) are deleted down to 90 % of
``max_rows``, so trimming runs once per ~10 % of ``max_rows`` writes. Breaker trips (an unreset
kill switch among them) and resets are never trimmed (``KEPT_KINDS``): they are few, and they
are the record a human reads after a halt. SQLite reuses the freed pages: the file stops growing
at about ``max_rows`` rows plus the kept ones (~150 bytes each, ~300 MB at the default 2 M).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from plugins.core.errors import SuiteError

#: Bump when the table layout changes; a file of another version is refused (``JournalError``)
#: unless ``_MIGRATIONS`` upgrades it (version 1 -> 2 added ``until``, the end of a breaker lock).
SCHEMA_VERSION = 2
KINDS = frozenset({"signal", "gate", "breaker", "stake", "stage", "reset"})
#: Kinds never trimmed: breaker trips (and their clears) and kill-switch resets.
KEPT_KINDS = ("breaker", "reset")
_TRIMMABLE = f"kind NOT IN ({', '.join(repr(k) for k in KEPT_KINDS)})"
#: Run modes whose journal lies next to Freqtrade's trades database.
LIVE_MODES = frozenset({"dry_run", "live"})
KEEP_FRAC = 0.9
_COLUMNS = "ts, kind, decision, reason, pair, detail, stake, features_hash, until"
_SQLITE_URL = re.compile(r"^sqlite(\+\w+)?:///(?P<path>[^?]+)")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, kind TEXT NOT NULL,
    decision TEXT NOT NULL, reason TEXT NOT NULL, pair TEXT, detail TEXT NOT NULL DEFAULT '',
    stake REAL, features_hash TEXT, until TEXT);
CREATE INDEX IF NOT EXISTS decisions_ts ON decisions(ts);
CREATE INDEX IF NOT EXISTS decisions_pair ON decisions(pair);
CREATE INDEX IF NOT EXISTS decisions_reason ON decisions(reason);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
"""
#: schema version -> statements that upgrade a file of that version to the next one
_MIGRATIONS = {"1": "ALTER TABLE decisions ADD COLUMN until TEXT"}


class JournalError(SuiteError):
    """The journal file is unusable: written by another schema version, or not a SQLite
    database. Raised on opening, before anything is written; the CLI exits 1 with it. Move the
    file aside (a fresh journal is then created) or use the suite version that wrote it."""


@dataclass(frozen=True)
class JournalRow:
    """One decision: at ``ts`` (tz-aware; read back as UTC), ``kind`` (one of ``KINDS``) decided
    ``decision`` (``"pass"``, ``"deny"``, ``"trip"``, ``"clamp"``...) for machine-readable
    ``reason`` (``"daily_loss"``, ``"rsi_overbought"``...) on ``pair`` (``None``: account-wide).
    ``detail``: human-readable figures (``"day loss 3.10 % >= 3.00 %"``); ``stake``: in stake
    currency, after the decision; ``features_hash``: ``features_hash()`` of a signal's inputs;
    ``until``: for a breaker trip, when its lock ends (tz-aware UTC)."""

    ts: datetime
    kind: str
    decision: str
    reason: str
    pair: str | None = None
    detail: str = ""
    stake: float | None = None
    features_hash: str | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError(f"JournalRow.ts must be tz-aware (UTC), got naive {self.ts}")
        if self.kind not in KINDS:
            raise ValueError(f"JournalRow.kind {self.kind!r} is not one of {sorted(KINDS)}")


def _params(r: JournalRow) -> tuple:
    """The ``_COLUMNS`` values of ``r`` as stored."""
    return (_iso(r.ts), r.kind, r.decision, r.reason, r.pair, r.detail,
            None if r.stake is None else float(r.stake), r.features_hash,
            None if r.until is None else _iso(r.until))


def _iso(ts: datetime) -> str:
    """Fixed-width ISO-8601 UTC text of the tz-aware ``ts`` (text order = time order)."""
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts}: pass a tz-aware (UTC) time")
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


class DecisionJournal:
    """SQLite journal of risk decisions. One connection guarded by a lock, so it may be shared
    between threads (Freqtrade's strategy callbacks run in one, its API server in another); WAL
    mode lets other processes (the CLI) read while the bot writes.

    Args:
        path: the SQLite file; it and its parent folders are created when missing.
        max_rows: most rows kept (see the module docstring for how it is trimmed).
        clock: time of ``state.updated_at``. Audit metadata only, never a decision input, so
            the wall clock is the right default even in backtests.

    Raises:
        JournalError: the file has another schema version or is not a SQLite database.
    """

    def __init__(self, path: Path, max_rows: int = 2_000_000, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows}")
        self.path = Path(path)
        self.max_rows = max_rows
        self._clock = clock
        self._floor: int | None = None  # no trimmable row has a smaller id (see _trim)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._create()
        except sqlite3.DatabaseError as err:
            self._conn.close()
            raise JournalError(f"Decision journal {self.path} is not a usable SQLite file ({err})"
                               ) from err
        except JournalError:
            self._conn.close()
            raise

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:  # some errors already rolled back
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _create(self) -> None:
        """Check the schema version first, so a foreign layout is refused before it is touched."""
        with self._transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            found = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = None if found is None else found[0]
            while version in _MIGRATIONS:
                conn.execute(_MIGRATIONS[version])
                version = str(int(version) + 1)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))
            if found is None:
                conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif version != str(SCHEMA_VERSION):
                raise JournalError(f"Decision journal {self.path} has schema version {version}; "
                                   f"this suite reads version {SCHEMA_VERSION}. Move the file "
                                   "aside (a new one is created) or use the suite that wrote it.")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)

    def _trim(self, conn: sqlite3.Connection) -> None:
        """Delete the oldest trimmable rows (not ``KEPT_KINDS``) down to ``KEEP_FRAC`` of
        ``max_rows`` once more than ``max_rows`` of them exist. Cheap on every write: ids only
        grow, so the span from the oldest trimmable id (``_floor``, known after the first
        check or trim) to the newest id bounds their count; COUNT(*) runs only past it."""
        low, high = conn.execute("SELECT (SELECT MIN(id) FROM decisions), "
                                 "(SELECT MAX(id) FROM decisions)").fetchone()  # both O(log n)
        if high is None or high - max(low, self._floor or low) + 1 <= self.max_rows:
            return
        count = conn.execute(f"SELECT COUNT(*) FROM decisions WHERE {_TRIMMABLE}").fetchone()[0]
        if count <= self.max_rows:
            # kept rows stretch the span: start it at the oldest trimmable row from now on
            first = conn.execute(f"SELECT id FROM decisions WHERE {_TRIMMABLE} ORDER BY id "
                                 "LIMIT 1").fetchone()
            self._floor = first[0] if first else high + 1
            return
        keep = max(1, int(self.max_rows * KEEP_FRAC))
        cutoff = conn.execute(f"SELECT id FROM decisions WHERE {_TRIMMABLE} ORDER BY id DESC "
                              "LIMIT 1 OFFSET ?", (keep - 1,)).fetchone()[0]
        conn.execute(f"DELETE FROM decisions WHERE id < ? AND {_TRIMMABLE}", (cutoff,))
        self._floor = cutoff

    def record(self, row: JournalRow) -> None:
        """Append one decision."""
        self.record_many([row])

    def record_many(self, rows: Iterable[JournalRow]) -> None:
        """Append decisions in one transaction (all or none)."""
        params = [_params(r) for r in rows]
        with self._transaction() as conn:
            conn.executemany(f"INSERT INTO decisions ({_COLUMNS}) VALUES "
                             "(?, ?, ?, ?, ?, ?, ?, ?, ?)", params)
            self._trim(conn)

    @contextmanager
    def staged(self, rows: Iterable[JournalRow], state: Mapping[str, str]) -> Iterator[None]:
        """Write ``rows`` and the ``state`` values in one transaction that commits only when
        the ``with`` block ends without an exception, and is rolled back otherwise: the journal
        side of a change elsewhere (Freqtrade's locks) that must commit together with its
        record. The block must not use this journal object (its lock is held).

        Raises:
            sqlite3.Error: the journal cannot be written (nothing is; the block does not run).
        """
        params = [_params(r) for r in rows]
        with self._transaction() as conn:
            conn.executemany(f"INSERT INTO decisions ({_COLUMNS}) VALUES "
                             "(?, ?, ?, ?, ?, ?, ?, ?, ?)", params)
            updated = _iso(self._clock())
            conn.executemany("INSERT INTO state VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                             "value = excluded.value, updated_at = excluded.updated_at",
                             [(key, value, updated) for key, value in state.items()])
            yield

    def query(self, since: datetime | None = None, until: datetime | None = None,
              pair: str | None = None, reason: str | None = None, kind: str | None = None,
              limit: int | None = None) -> list[JournalRow]:
        """Decisions with ``since <= ts < until`` matching every filter given, oldest first.

        ``limit`` keeps the *newest* ``limit`` matches (like ``tail``), still oldest first.
        """
        clauses, params = [], []
        bounds = (None if since is None else _iso(since), None if until is None else _iso(until))
        for column, op, value in (("ts", ">=", bounds[0]), ("ts", "<", bounds[1]),
                                  ("pair", "=", pair), ("reason", "=", reason), ("kind", "=", kind)):
            if value is not None:
                clauses.append(f"{column} {op} ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        if limit is None:
            sql = f"SELECT {_COLUMNS} FROM decisions {where} ORDER BY ts, id"
        else:
            if limit < 0:
                raise ValueError(f"limit must be >= 0, got {limit}")
            sql = f"SELECT {_COLUMNS} FROM decisions {where} ORDER BY ts DESC, id DESC LIMIT ?"
            params.append(limit)
        with self._lock:
            records = self._conn.execute(sql, params).fetchall()
        if limit is not None:
            records.reverse()
        return [JournalRow(datetime.fromisoformat(r[0]), *r[1:-1],
                           until=None if r[-1] is None else datetime.fromisoformat(r[-1]))
                for r in records]

    def summary(self, kind: str | None = None) -> dict[tuple[str, str, str], int]:
        """Row counts by (kind, decision, reason), largest first; only ``kind`` when given."""
        where, params = ("WHERE kind = ?", (kind,)) if kind is not None else ("", ())
        sql = (f"SELECT kind, decision, reason, COUNT(*) AS n FROM decisions {where} "
               "GROUP BY kind, decision, reason ORDER BY n DESC, kind, decision, reason")
        with self._lock:
            return {(k, d, r): n for k, d, r, n in self._conn.execute(sql, params)}

    def counts_after(self, row_id: int) -> tuple[int, dict[tuple[str, str, str], int]]:
        """The rows written after row ``row_id`` (by any process): the largest row id now
        (``row_id`` when none is newer; 0 for an empty journal) and their counts by (kind,
        decision, reason). Pass the id returned to the next call to count each row once
        (trimming removes only old rows, so the ids only grow)."""
        with self._lock:
            (last,) = self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM decisions").fetchone()
            rows = self._conn.execute(
                "SELECT kind, decision, reason, COUNT(*) FROM decisions WHERE id > ? AND id <= ? "
                "GROUP BY kind, decision, reason", (row_id, last)).fetchall()
        return max(int(last), row_id), {(k, d, r): n for k, d, r, n in rows}

    def get_state(self, key: str) -> str | None:
        """The stored value of ``key``, or ``None``."""
        with self._lock:
            found = self._conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if found is None else found[0]

    def set_state(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` (replacing any), stamped with ``clock()``."""
        with self._transaction() as conn:
            conn.execute("INSERT INTO state VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                         "value = excluded.value, updated_at = excluded.updated_at",
                         (key, value, _iso(self._clock())))

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> DecisionJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_existing(path: Path) -> DecisionJournal:
    """The journal at ``path``; never creates one (a typo must not look like an empty journal,
    and a reset must not be recorded in a journal the bot never reads).

    Raises:
        JournalError: ``path`` does not exist, or is not a journal of this schema version.
    """
    path = Path(path)
    if not path.is_file():
        raise JournalError(f"No decision journal at {path}. It is written by strategies using "
                           "RiskGuardMixin: next to the trades database in dry-run/live "
                           "(<db name>.journal.sqlite), under user_data/backtest_results/ "
                           "otherwise.")
    return DecisionJournal(path)


def journal_path(config: dict) -> Path:
    """The journal file of a Freqtrade run: one file per run mode.

    - dry_run / live with a SQLite ``db_url``: ``<db stem>.journal.sqlite`` next to the trades
      database (``sqlite:///tradesv3.dryrun.sqlite`` -> ``tradesv3.dryrun.journal.sqlite``,
      relative to the working folder as Freqtrade resolves it).
    - dry_run / live on another database (postgresql, in-memory): ``<user_data_dir>/journal.<mode>.sqlite``.
    - other modes (backtest, hyperopt, ...): ``<user_data_dir>/backtest_results/journal.<mode>.sqlite``.

    ``config["runmode"]`` is a ``freqtrade.enums.RunMode`` or its value string.
    """
    runmode = config["runmode"]
    mode = str(getattr(runmode, "value", runmode))
    user_data = Path(config["user_data_dir"])
    if mode not in LIVE_MODES:
        return user_data / "backtest_results" / f"journal.{mode}.sqlite"
    match = _SQLITE_URL.match(str(config.get("db_url") or ""))
    if match is None or match["path"] == ":memory:":
        return user_data / f"journal.{mode}.sqlite"
    db = Path(match["path"])
    return db.with_name(f"{db.stem}.journal.sqlite")


def features_hash(values: Mapping[str, float]) -> str:
    """First 16 hex chars of the sha256 of the name-sorted (name, value) pairs, each value
    rounded to 12 significant digits (so float noise from recomputation does not change it;
    -0.0 counts as 0.0) and NaN written as ``"nan"``. Independent of the mapping's order."""
    pairs = [[name, "nan" if math.isnan(v) else f"{float(v) + 0.0:.12g}"]
             for name, v in sorted(values.items())]
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:16]
