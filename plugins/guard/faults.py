"""Failing closed: when the guard cannot judge, no new entries pass and exits continue.

Anything the guard reads that is garbage or unusable (a NaN / infinite / non-positive equity or
last close, a corrupt equity anchor, an unwritable journal, an unreadable stage store...) makes
it fail closed: reason ``guard_error``, REDUCING (HALTED stays HALTED while the kill switch's
lock holds). The fault is logged, notified and journaled once when it begins (kind ``breaker``,
``trip``, ``guard_error``; written at the recovery if the journal was what failed, with every
row kept back meanwhile) and ends with a ``clear`` row and a notification at the first bot loop
that succeeds again (:meth:`FailClosed.recover`). No hook lets Freqtrade fall back to its
default, which for ``confirm_trade_entry`` is to allow the entry.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from plugins.risk.checks import Check
from plugins.risk.journal import DecisionJournal, JournalError, JournalRow
from plugins.risk.state import BreakerReason, BreakerTrip, RiskDecision, TradingState

logger = logging.getLogger(__name__)


@dataclass
class GuardFault:
    """The guard failing closed: since when, what failed first, whether that was journaled,
    and journal rows that could not be written while it lasted (written at the recovery)."""

    since: datetime
    detail: str
    pending: list[JournalRow]
    journaled: bool = False

    def trip_row(self) -> JournalRow:
        return JournalRow(ts=self.since, kind="breaker", decision="trip",
                          reason=BreakerReason.GUARD_ERROR.value, detail=self.detail)


class FailClosed:
    """The guard's journal writes and its fault state (module docstring).

    Args:
        journal: the bot's decision journal.
        notify: sends a notification (never raises).
        held: the trips the suite's locks hold at a time (raises when the locks are unreadable).
    """

    def __init__(self, journal: DecisionJournal, notify: Callable[[str], None],
                 held: Callable[[datetime], tuple[BreakerTrip, ...]]) -> None:
        self.journal = journal
        self.notify = notify
        self.held = held
        self.fault: GuardFault | None = None
        self._pending: list[JournalRow] = []

    def record_or_keep(self, row: JournalRow) -> None:
        """Journal ``row``; if the journal fails, keep it for the recovery (then re-raise)."""
        try:
            self.journal.record(row)
        except Exception:
            (self._pending if self.fault is None else self.fault.pending).append(row)
            raise

    def fail(self, now: datetime, hook: str, err: Exception, last: RiskDecision,
             journal: bool = False) -> RiskDecision:
        """Fail closed; returns the decision in force: ``guard_error`` (REDUCING) plus the
        trips the locks hold (HALTED while the kill switch's lock holds; the HALTED trips of
        ``last``, the latest decision, if the locks cannot be read). The first failure is
        logged with its traceback, notified and journaled (at the time it began); while it
        lasts, later failures are logged only. When the journal itself fails, the trip row is
        written at the recovery (:meth:`recover`).

        Args:
            journal: try to journal the trip now if it is not yet (the bot loop does; hooks
                called per pair or per entry do not, to keep a locked journal from stalling
                the loop once per call).
        """
        detail = f"{hook}: {type(err).__name__}: {err}"
        fault = self.fault
        if fault is None:
            logger.error("Risk guard failed in %s; no new entries, exits continue, until it "
                         "succeeds", hook, exc_info=err)
            fault = self.fault = GuardFault(since=now, detail=detail, pending=self._pending)
            self._pending = []
            self.notify(f"Risk guard failing: no new entries, exits continue ({detail})")
        else:
            logger.warning("Risk guard still failing (since %s) in %s: %s", fault.since,
                           hook, detail)
        trips = [BreakerTrip(TradingState.REDUCING, BreakerReason.GUARD_ERROR, detail, None)]
        try:
            trips += self.held(now)
        except Exception:  # noqa: BLE001 - the state falls back to what the last loop saw
            trips += [t for t in last.trips if t.state == TradingState.HALTED]
        if journal and not fault.journaled:
            try:
                self.journal.record(fault.trip_row())
                fault.journaled = True
            except Exception as journal_err:  # noqa: BLE001 - written at the recovery
                logger.warning("Risk guard error not journaled yet (%s); it is written when "
                               "the journal works again", journal_err)
        return RiskDecision(max(t.state for t in trips), tuple(trips))

    def recover(self, now: datetime) -> None:
        """After a successful loop: end a fault. Journals what it could not (the trip row,
        rows kept from the failing loops) and a ``clear`` row, notifies, and only then lets
        entries resume. Raises if the journal still fails (the fault then goes on)."""
        fault = self.fault
        if fault is None:
            return
        rows = list(fault.pending)
        if not fault.journaled:
            rows.append(fault.trip_row())
        rows.append(JournalRow(ts=now, kind="breaker", decision="clear",
                               reason=BreakerReason.GUARD_ERROR.value,
                               detail=f"recovered; failing since {fault.since.isoformat()}: "
                                      f"{fault.detail}"))
        self.journal.record_many(sorted(rows, key=lambda r: r.ts))
        self.fault = None
        logger.warning("Risk guard recovered (failing since %s); entries allowed again",
                       fault.since)
        self.notify(f"Risk guard recovered: entries allowed again (failing since "
                    f"{fault.since:%Y-%m-%d %H:%M} UTC: {fault.detail})")

    def deny_on_error(self, now: datetime, pair: str, hook: str, err: Exception,
                      last: RiskDecision) -> RiskDecision | None:
        """Journal a guard failure on one entry as a denial (Freqtrade would otherwise fall
        back to its default, which for ``confirm_trade_entry`` is to allow the entry). Never
        raises: when the journal is what failed (or fails now), the whole guard fails closed
        and the new decision in force is returned (``None`` when it did not change)."""
        if isinstance(err, sqlite3.Error | JournalError):
            return self.fail(now, hook, err, last)  # the journal itself failed: no second try
        try:
            self.journal.record(JournalRow(ts=now, kind="gate", decision="deny",
                                           reason=Check.GUARD_ERROR.value, pair=pair,
                                           detail=f"{hook}: {type(err).__name__}: {err}"))
        except Exception as journal_err:  # noqa: BLE001 - never raise into Freqtrade's default
            return self.fail(now, hook, journal_err, last)
        return None
