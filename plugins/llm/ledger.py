"""The call ledger and the budget: every LLM call stored; spending capped per UTC day and month.

One SQLite row per call (``calls``): when, which hook, the prompt hash, the model, the token
counts (uncached input, output, cache creation, cache read), the list-price cost (USD) and the
*billed* cost - the same for a call that reached the API, 0 for an answer replayed from a
cassette. The budget sums billed cost since 00:00 UTC of the day and of the month.

Before a live call the budget *reserves* the call's worst-case cost (``estimate_cost``); the
call is refused (``BudgetExceededError``) when spent + reserved + that estimate would exceed a
cap. Reservations are rows of the ledger itself (``reservations``), checked and written in one
``BEGIN IMMEDIATE`` transaction (SQLite's write lock on the file), so every client, thread and
process using the ledger file shares them: parallel council calls, the bot's commands (one
client each) and a CLI run beside the bot cannot overshoot together. The reservation is
released when the call returns and its real cost is written. A reservation whose process died
(same host, pid gone) or older than ``RESERVATION_TTL`` no longer counts.

A ledger that cannot be read or written (not an SQLite file, a foreign ``calls`` table, no
permission) raises ``LedgerUnreadableError`` - an ``LlmUnavailableError``: the budget cannot be
checked, so no call is made (fail closed); the message names the file and the fix.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from plugins.llm.config import ModelPrice
from plugins.llm.errors import BudgetExceededError, LedgerUnreadableError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, hook TEXT NOT NULL,
    prompt_hash TEXT NOT NULL, model TEXT NOT NULL, source TEXT NOT NULL, outcome TEXT NOT NULL,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cache_creation_input_tokens INTEGER NOT NULL, cache_read_input_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL, billed_usd REAL NOT NULL);
CREATE INDEX IF NOT EXISTS calls_ts ON calls(ts);
CREATE TABLE IF NOT EXISTS reservations (id INTEGER PRIMARY KEY, ts TEXT NOT NULL,
    what TEXT NOT NULL, usd REAL NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
    expires TEXT NOT NULL);
"""
#: A reservation older than this no longer counts (a call - SDK retries included - is far
#: shorter: at most ``timeout_s`` x (``max_retries`` + 1) = 600 s x 11 by the config bounds).
RESERVATION_TTL = timedelta(hours=2)
logger = logging.getLogger(__name__)
_COLUMNS = ("ts, hook, prompt_hash, model, source, outcome, input_tokens, output_tokens, "
            "cache_creation_input_tokens, cache_read_input_tokens, cost_usd, billed_usd")


class TokenUsage(BaseModel):
    """Token counts of one answer (the Messages API ``usage`` object).

    Attributes:
        input_tokens: uncached input tokens.
        output_tokens: output tokens.
        cache_creation_input_tokens: input tokens written to the prompt cache.
        cache_read_input_tokens: input tokens read from the prompt cache.
    """

    model_config = ConfigDict(frozen=True)

    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cache_creation_input_tokens: int = Field(default=0, ge=0)
    cache_read_input_tokens: int = Field(default=0, ge=0)

    @classmethod
    def from_api(cls, usage: dict | None) -> TokenUsage:
        """From a response's ``usage`` (absent or null cache fields count as 0)."""
        usage = usage or {}
        return cls(**{k: int(usage.get(k) or 0) for k in cls.model_fields})


def cost_usd(usage: TokenUsage, price: ModelPrice, cache_ttl: str = "5m") -> float:
    """List-price cost of ``usage`` in USD (cache writes at the ``cache_ttl`` rate)."""
    write = price.cache_write_1h_per_mtok if cache_ttl == "1h" else price.cache_write_per_mtok
    return (usage.input_tokens * price.input_per_mtok + usage.output_tokens * price.output_per_mtok
            + usage.cache_creation_input_tokens * write
            + usage.cache_read_input_tokens * price.cache_read_per_mtok) / 1e6


def estimate_cost(request_chars: int, max_tokens: int, price: ModelPrice) -> float:
    """Worst-case cost (USD) of a call before it is sent: every request character counted as a
    token (real tokens average ~4 characters, so this over-counts) at the dearest input rate,
    plus ``max_tokens`` output tokens."""
    dearest_input = max(price.input_per_mtok, price.cache_write_per_mtok, price.cache_write_1h_per_mtok)
    return (request_chars * dearest_input + max_tokens * price.output_per_mtok) / 1e6


@dataclass(frozen=True)
class CallRecord:
    """One ledger row. ``source``: ``api`` or ``cassette``; ``outcome``: the answer's
    ``stop_reason`` (``end_turn``, ``tool_use``, ``refusal``, ``max_tokens`` ...) or
    ``error:<ExceptionType>`` for a call that failed; ``cost_usd``: at list price;
    ``billed_usd``: what was paid (0 for cassette replays and failed calls)."""

    ts: datetime
    hook: str
    prompt_hash: str
    model: str
    source: str
    outcome: str
    usage: TokenUsage
    cost_usd: float
    billed_usd: float


class Ledger:
    """SQLite ledger of LLM calls (see the module docstring); safe to share between threads.

    Args:
        path: the SQLite file (created with its folders).

    Raises (every method):
        LedgerUnreadableError: the file cannot be opened, read or written as a ledger.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=30)
            self._conn = conn
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable up to the last checkpoint
            conn.executescript(_SCHEMA)
            conn.execute(f"SELECT {_COLUMNS} FROM calls LIMIT 0")  # a foreign calls table?
        except (sqlite3.Error, OSError) as err:
            if self._conn is not None:
                self._conn.close()
            raise self._unreadable(err) from err

    def _unreadable(self, err: Exception) -> LedgerUnreadableError:
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        return LedgerUnreadableError(
            f"LLM call ledger {self.path} cannot be read ({reason}); no LLM call is made until "
            f"it can (the budget cannot be checked). If it is corrupt, move it aside: mv "
            f"{self.path} {self.path}.corrupt (a new ledger starts from $0 spent: check the "
            "provider's usage page first), or use another file (ai_suite.llm.ledger_path / "
            "--ledger)")

    @contextmanager
    def _sql(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; SQLite errors become ``LedgerUnreadableError``."""
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as err:
                raise self._unreadable(err) from err

    def record(self, rec: CallRecord) -> None:
        """Append one call."""
        u = rec.usage
        with self._sql():
            self._conn.execute(f"INSERT INTO calls ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", (
                rec.ts.astimezone(UTC).isoformat(timespec="microseconds"), rec.hook, rec.prompt_hash,
                rec.model, rec.source, rec.outcome, u.input_tokens, u.output_tokens,
                u.cache_creation_input_tokens, u.cache_read_input_tokens, rec.cost_usd, rec.billed_usd))

    def billed_since(self, since: datetime) -> float:
        """Billed USD of calls at or after ``since`` (tz-aware)."""
        with self._sql():
            (total,) = self._conn.execute(
                "SELECT COALESCE(SUM(billed_usd), 0) FROM calls WHERE ts >= ?",
                (since.astimezone(UTC).isoformat(timespec="microseconds"),)).fetchone()
        return float(total)

    def reserve(self, usd: float, what: str, caps: Sequence[Cap], now: datetime,
                ttl: timedelta = RESERVATION_TTL) -> int:
        """Hold ``usd`` against ``caps`` for every user of this ledger file (module docstring);
        returns the reservation's id for ``release``.

        Raises:
            BudgetExceededError: billed + held + ``usd`` exceeds a cap; nothing is held.
        """
        with self._sql() as conn:
            conn.execute("BEGIN IMMEDIATE")  # the file's write lock: one reservation at a time
            try:
                rid = _reserve_rows(conn, usd, what, caps, now, ttl)
                conn.execute("COMMIT")
                return rid
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def release(self, reservation_id: int) -> None:
        """Drop a reservation (its call returned; its real cost is recorded)."""
        with self._sql() as conn:
            conn.execute("DELETE FROM reservations WHERE id = ?", (reservation_id,))

    def reserved_usd(self, now: datetime) -> float:
        """USD held by reservations that still count at ``now`` (any process)."""
        with self._sql() as conn:
            (held,) = conn.execute("SELECT COALESCE(SUM(usd), 0) FROM reservations WHERE "
                                   "expires >= ?", (_iso(now),)).fetchone()
        return float(held)

    def calls(self, limit: int | None = None) -> list[CallRecord]:
        """Calls, oldest first (the newest ``limit`` when given)."""
        sql = f"SELECT {_COLUMNS} FROM calls ORDER BY id DESC" + (" LIMIT ?" if limit else "")
        with self._sql():
            rows = self._conn.execute(sql, (limit,) if limit else ()).fetchall()
        out = []
        for r in reversed(rows):
            usage = TokenUsage(input_tokens=r[6], output_tokens=r[7], cache_creation_input_tokens=r[8],
                               cache_read_input_tokens=r[9])
            out.append(CallRecord(datetime.fromisoformat(r[0]), r[1], r[2], r[3], r[4], r[5], usage,
                                  r[10], r[11]))
        return out

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()


@dataclass(frozen=True)
class Cap:
    """One budget cap: billed cost since ``since`` plus reservations plus the new estimate
    may not exceed ``usd``. ``label`` (daily, monthly) and ``fix`` go into the refusal."""

    label: str
    since: datetime
    usd: float
    fix: str


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this host still runs."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _reserve_rows(conn: sqlite3.Connection, usd: float, what: str, caps: Sequence[Cap],
                  now: datetime, ttl: timedelta) -> int:
    """Inside a write transaction: drop stale reservations, check ``caps``, insert one."""
    host = socket.gethostname()
    conn.execute("DELETE FROM reservations WHERE expires < ?", (_iso(now),))
    dead = [(rid,) for rid, pid in conn.execute(
        "SELECT id, pid FROM reservations WHERE host = ?", (host,)) if not _alive(pid)]
    conn.executemany("DELETE FROM reservations WHERE id = ?", dead)
    (held,) = conn.execute("SELECT COALESCE(SUM(usd), 0) FROM reservations").fetchone()
    for cap in caps:
        (spent,) = conn.execute("SELECT COALESCE(SUM(billed_usd), 0) FROM calls WHERE ts >= ?",
                                (_iso(cap.since),)).fetchone()
        if spent + held + usd > cap.usd:
            raise BudgetExceededError(
                f"LLM budget: {what} refused: the {cap.label} cap of ${cap.usd:.2f} would be "
                f"exceeded (billed ${spent:.4f}, in flight ${held:.4f}, this call up to "
                f"${usd:.4f}); {cap.fix}. `python -m plugins.llm budget` shows the spend.")
    cursor = conn.execute(
        "INSERT INTO reservations (ts, what, usd, host, pid, expires) VALUES (?,?,?,?,?,?)",
        (_iso(now), what[:200], usd, host, os.getpid(), _iso(now + ttl)))
    return int(cursor.lastrowid)


def day_start(now: datetime) -> datetime:
    """00:00 UTC of ``now``'s UTC day."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    """00:00 UTC of the first day of ``now``'s UTC month."""
    return day_start(now).replace(day=1)


class Budget:
    """Per-day and per-month USD caps over the ledger's billed cost; reservations are the
    ledger's (shared by every ``Budget`` on the same file, in any thread or process).

    Args:
        ledger: where spending is read and reservations are held.
        daily_usd / monthly_usd: the caps (0 refuses every live call).
        clock: the current time (tz-aware); injected so tests control the day.
        reservation_ttl: after this long a reservation no longer counts (a crashed caller).
    """

    def __init__(self, ledger: Ledger, daily_usd: float, monthly_usd: float,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 reservation_ttl: timedelta = RESERVATION_TTL) -> None:
        self.ledger = ledger
        self.daily_usd = daily_usd
        self.monthly_usd = monthly_usd
        self.clock = clock
        self.reservation_ttl = reservation_ttl

    def spent(self) -> tuple[float, float]:
        """Billed USD (today, this month), UTC."""
        now = self.clock()
        return self.ledger.billed_since(day_start(now)), self.ledger.billed_since(month_start(now))

    def in_flight(self) -> float:
        """USD reserved by calls in flight now (every user of the ledger file)."""
        return self.ledger.reserved_usd(self.clock())

    @contextmanager
    def reserve(self, estimate_usd: float, what: str) -> Iterator[None]:
        """Hold ``estimate_usd`` against both caps while the block runs (``Ledger.reserve``).

        Raises:
            BudgetExceededError: spent + reserved + estimate exceeds a cap; nothing is held.
            LedgerUnreadableError: the ledger cannot be read; nothing is held, no call made.
        """
        now = self.clock()
        caps = (Cap("daily", day_start(now), self.daily_usd,
                    "raise ai_suite.llm.daily_budget_usd or wait for 00:00 UTC"),
                Cap("monthly", month_start(now), self.monthly_usd,
                    "raise ai_suite.llm.monthly_budget_usd or wait for the next month"))
        rid = self.ledger.reserve(estimate_usd, what, caps, now, self.reservation_ttl)
        try:
            yield
        finally:
            try:
                self.ledger.release(rid)
            except LedgerUnreadableError as err:  # it stops counting after reservation_ttl
                logger.error("LLM budget: reservation %d of %s not released: %s", rid, what, err)
