"""The suite's risk rules on backtrader runs: the same breakers, config and journal as on crypto.

``RiskGuard`` is the backtrader counterpart of ``plugins.guard.RiskGuardMixin``. It runs the
very same core: the breakers (``plugins.risk.breakers.evaluate`` on an ``AccountSnapshot``), the
trips to lock (``plugins.risk.entry.new_trips``), the entry decision
(``plugins.risk.entry.decide_entry``) and the stake cap (``cap_stake``); reads the same
``ai_suite.risk`` section (``RiskConfig``), keeps its equity anchors with
``plugins.risk.account.EquityAnchors`` and writes the same ``DecisionJournal`` rows (kinds
``breaker``, ``gate``, ``stake``). It is enforced in the broker (``guard.GuardedBrokerMixin``),
so no strategy - hand-written or compiled from a tree - can place an entry around it.

Semantics, as in the Freqtrade guard: each bar (``observe``) the breakers run on the account;
a trip becomes a *lock* until its ``until`` (daily loss: next 00:00 UTC; weekly: next Monday;
losing streak: its pause), the kill switch locks until a human reset
(``python -m adapters.alpaca reset-killswitch``); locks live in the journal's state, not in a
Freqtrade database. While any lock is active no entry passes; exits always pass. Entry checks,
in order, each journaled as a ``gate`` row: breakers (the locks in force), max_open_positions,
the FOMC/CPI blackout, the pair cooldown (the gates that need no analysed candle), then this
venue's own: a reconciliation pause, the pattern-day-trader rule. Stakes above
``max_position_frac`` of equity are shrunk (journaled ``stake``/``clamp``). Failing closed, as
the Freqtrade guard does (``plugins.guard.faults``): a garbage account (NaN / infinite /
non-positive equity, a corrupt anchor) or a failing breaker run denies new entries with reason
``guard_error`` (journaled once, never locked, cleared at the next good bar) and never raises.

Not carried over: the 7 entry gates (EMA band, RSI, momentum, regime, confidence) need the
Freqtrade strategy's analysed dataframe, and the signal-anomaly breaker needs its per-candle
entry-signal counts; neither exists at the broker, so neither runs here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from adapters.alpaca.config import AlpacaConfig
from adapters.alpaca.pdt import DayTradeCounter, pdt_verdict
from plugins.altdata.calendar import EventCalendar
from plugins.risk.account import PEAK_KEY, AccountError, EquityAnchors
from plugins.risk.breakers import cap_stake, evaluate, positive_finite
from plugins.risk.checks import Check, CheckResult
from plugins.risk.config import RiskConfig
from plugins.risk.entry import EntryDecision, EntryFacts, decide_entry, new_trips
from plugins.risk.journal import DecisionJournal, JournalRow
from plugins.risk.snapshot import AccountSnapshot, ClosedTrade
from plugins.risk.state import BreakerReason, BreakerTrip, RiskDecision, TradingState

logger = logging.getLogger(__name__)

LOCKS_KEY = "alpaca_locks"
DAY_TRADES_KEY = "alpaca_day_trades"
KILL_SWITCH = BreakerReason.DRAWDOWN_KILL_SWITCH.value


@dataclass(frozen=True)
class PdtSettings:
    """The pattern-day-trader rule's thresholds (from ``AlpacaConfig.pdt_min_equity_usd`` /
    ``pdt_max_day_trades``, where their defaults are defined)."""

    min_equity_usd: float
    max_day_trades: int

    @classmethod
    def from_config(cls, config: AlpacaConfig) -> PdtSettings:
        """The thresholds of ``ai_suite.alpaca``."""
        return cls(config.pdt_min_equity_usd, config.pdt_max_day_trades)


@dataclass
class GuardFault:
    """The guard failing closed: since when, what failed first, whether that was journaled."""

    since: datetime
    detail: str
    journaled: bool = False

    def trip_row(self) -> JournalRow:
        return JournalRow(ts=self.since, kind="breaker", decision="trip",
                          reason=BreakerReason.GUARD_ERROR.value, detail=self.detail)


class RiskGuard:
    """Breakers, entry checks and stake cap for one backtrader run (module docstring).

    Args:
        config: ``ai_suite.risk``.
        journal: the run's decision journal (also the store of anchors, locks and day trades).
        events: FOMC/CPI calendar for the blackout (None: no blackout check; the runners
            fail closed and refuse to start without it when a blackout is configured).
        day_trades: the PDT day-trade counter (None: PDT rule off).
        pdt: PDT thresholds (needed with ``day_trades``).

    Raises:
        ValueError: ``day_trades`` without ``pdt``.
    """

    def __init__(self, config: RiskConfig, journal: DecisionJournal, *,
                 events: EventCalendar | None = None, day_trades: DayTradeCounter | None = None,
                 pdt: PdtSettings | None = None) -> None:
        if day_trades is not None and pdt is None:
            raise ValueError("the pattern-day-trader rule needs its thresholds: pass pdt="
                             "PdtSettings.from_config(<ai_suite.alpaca>)")
        self.config = config
        self.journal = journal
        self.events = events
        self.day_trades = day_trades
        self.pdt = pdt
        self.anchors = EquityAnchors(journal)
        self.closed: list[ClosedTrade] = []
        self.decision = RiskDecision(TradingState.ACTIVE, ())
        self.fault: GuardFault | None = None
        self.pauses: dict[str, str] = {}
        self.account_day_trades: int | None = None
        raw = journal.get_state(LOCKS_KEY)
        self.locks: dict[str, str | None] = json.loads(raw) if raw else {}

    # --- per bar ---------------------------------------------------------------------------
    def observe(self, now: datetime, equity: float, open_positions: int) -> RiskDecision:
        """Run the breakers on the account at ``now`` (UTC) and lock new trips (journaled).

        Fails closed like the Freqtrade guard (``plugins.guard.faults``), never raises: when
        the account is garbage (a NaN / infinite / non-positive ``equity``, a corrupt stored
        anchor: ``AccountError``; any input ``invalid_inputs`` refuses) or the breakers cannot
        run, the guard is in a fault - no new entries (check ``breakers``, reason
        ``guard_error``), exits continue. The fault is logged and journaled once when it
        begins (kind ``breaker``, ``trip``, ``guard_error``), never locked, and ends with a
        ``clear`` row at the first observation that succeeds again.
        """
        try:
            decision = self._evaluate(now, equity, open_positions)
        except Exception as err:  # noqa: BLE001 - fail closed, never crash the broker's cycle
            self.decision = self._fail(now, "observe", err)
            return self.decision
        self._recover(now)
        self.decision = decision
        return decision

    def _evaluate(self, now: datetime, equity: float, open_positions: int) -> RiskDecision:
        """The breakers on the account at ``now``; new trips locked and journaled.

        Raises:
            AccountError: the account is garbage (nothing stored, nothing locked).
        """
        day, week, peak = self.anchors.update(now, equity)
        snapshot = AccountSnapshot(now=now, equity=equity, equity_day_start=day,
                                   equity_week_start=week, equity_peak=peak,
                                   open_positions=open_positions, closed_trades=tuple(self.closed))
        decision = evaluate(snapshot, self.config)
        if any(t.reason == BreakerReason.GUARD_ERROR for t in decision.trips):
            raise AccountError(decision.reason)  # a fault, never a lock (it would never end)
        changed = False
        for trip in new_trips(decision, self.active_locks(now)):
            self.locks[trip.reason.value] = None if trip.until is None else trip.until.isoformat()
            changed = True
            logger.warning("Breaker %s tripped (%s): %s until %s", trip.reason.value,
                           trip.state.name, trip.detail, trip.until or "human reset")
            self.journal.record(JournalRow(ts=now, kind="breaker", decision="trip",
                                           reason=trip.reason.value, detail=trip.detail))
        if changed:
            self.journal.set_state(LOCKS_KEY, json.dumps(self.locks))
        return decision

    # --- failing closed ----------------------------------------------------------------------
    def _fail(self, now: datetime, hook: str, err: Exception) -> RiskDecision:
        """Enter (or stay in) the fault; the decision in force: ``guard_error`` plus the trips
        the locks hold. Logged with its traceback and journaled when the fault begins."""
        detail = f"{hook}: {type(err).__name__}: {err}"
        if self.fault is None:
            logger.error("Risk guard failed in %s; no new entries, exits continue, until it "
                         "succeeds", hook, exc_info=err)
            self.fault = GuardFault(since=now, detail=detail)
        else:
            logger.warning("Risk guard still failing (since %s) in %s: %s", self.fault.since,
                           hook, detail)
        if not self.fault.journaled:
            try:
                self.journal.record(self.fault.trip_row())
                self.fault.journaled = True
            except Exception as journal_err:  # noqa: BLE001 - retried at the next failure / recovery
                logger.warning("Risk guard error not journaled yet (%s)", journal_err)
        return self._in_force(now)

    def _recover(self, now: datetime) -> None:
        """After a successful observation: end a fault (``clear`` row, and the ``trip`` row
        if it could not be written while it lasted)."""
        fault = self.fault
        if fault is None:
            return
        rows = [] if fault.journaled else [fault.trip_row()]
        rows.append(JournalRow(ts=now, kind="breaker", decision="clear",
                               reason=BreakerReason.GUARD_ERROR.value,
                               detail=f"recovered; failing since {fault.since.isoformat()}: "
                                      f"{fault.detail}"))
        self.journal.record_many(rows)
        self.fault = None
        logger.warning("Risk guard recovered (failing since %s); entries allowed again",
                       fault.since)

    def _in_force(self, now: datetime) -> RiskDecision:
        """The trips in force at ``now``: those the locks hold, plus ``guard_error`` while the
        guard is in a fault."""
        held = self.held(now)
        if self.fault is None:
            return held
        trips = (BreakerTrip(TradingState.REDUCING, BreakerReason.GUARD_ERROR, self.fault.detail,
                             None), *held.trips)
        return RiskDecision(max(t.state for t in trips), trips)

    def _locked(self, reason: str, now: datetime) -> bool:
        if reason not in self.locks:
            return False
        until = self.locks[reason]
        return until is None or now < datetime.fromisoformat(until)

    def active_locks(self, now: datetime) -> list[str]:
        """Reasons locked at ``now``."""
        return [reason for reason in self.locks if self._locked(reason, now)]

    def held(self, now: datetime) -> RiskDecision:
        """The trips the locks hold at ``now``: HALTED for the kill switch (until a human
        reset), REDUCING for the others (until their lock ends)."""
        trips = []
        for reason in self.active_locks(now):
            until = self.locks[reason]
            kill = reason == KILL_SWITCH
            trips.append(BreakerTrip(
                TradingState.HALTED if kill else TradingState.REDUCING, BreakerReason(reason),
                "locked until a human reset" if until is None else f"locked until {until}",
                None if until is None else datetime.fromisoformat(until)))
        return RiskDecision(max((t.state for t in trips), default=TradingState.ACTIVE),
                            tuple(trips))

    @property
    def halted(self) -> bool:
        """The kill switch is locked (until a human reset)."""
        return KILL_SWITCH in self.locks and self.locks[KILL_SWITCH] is None

    # --- entries ---------------------------------------------------------------------------
    def check_entry(self, symbol: str, now: datetime, stake: float, equity: float,
                    open_positions: int) -> EntryDecision:
        """The entry-check core (``plugins.risk.entry.decide_entry``) on one proposed entry of
        ``stake`` USD; journaled, one row per check."""
        cfg = self.config
        if not positive_finite(equity):
            self._fail(now, "check_entry", AccountError(
                f"Account equity is {equity!r}, not a finite amount > 0: the breakers cannot "
                "judge it, so no new entries until it is valid"))
        facts = EntryFacts(
            pair=symbol, now=now, stake=stake, breakers=self._in_force(now),
            open_positions=open_positions,
            last_closed=next((t for t in reversed(self.closed) if t.pair == symbol), None),
            in_blackout=(self.events is not None
                         and bool(cfg.blackout_before_min or cfg.blackout_after_min)
                         and self.events.in_blackout_at(now, cfg.blackout_before_min,
                                                        cfg.blackout_after_min)),
            analyses_candles=False, venue=self._venue_checks(now, equity))
        decision = decide_entry(facts, cfg)
        self.journal.record_many(decision.journal_rows())
        if not decision.allowed:
            logger.info("Entry %s denied: %s", symbol, decision.reason)
        return decision

    def _venue_checks(self, now: datetime, equity: float) -> tuple[CheckResult, ...]:
        """This venue's own checks: a pause (reconciliation mismatch), the PDT rule."""
        checks = [CheckResult(Check(name), False, detail) for name, detail in self.pauses.items()]
        if self.day_trades is not None:
            count = max(self.day_trades.count(now), self.account_day_trades or 0)
            verdict = pdt_verdict(equity, count, min_equity=self.pdt.min_equity_usd,
                                  max_day_trades=self.pdt.max_day_trades)
            checks.append(CheckResult(Check.PATTERN_DAY_TRADER, verdict.allowed, verdict.reason))
        return tuple(checks)

    def cap(self, symbol: str, now: datetime, stake: float, equity: float) -> float:
        """``stake`` after ``max_position_frac`` (a clamp is journaled). A stake over the cap by
        float noise only (a strategy sizing exactly at the cap) is left as it is."""
        if stake <= equity * self.config.max_position_frac * (1 + 1e-9):
            return stake
        capped, clamp = cap_stake(stake, equity, self.config)
        if clamp:
            self.journal.record(JournalRow(ts=now, kind="stake", decision="clamp",
                                           reason="max_position_frac", pair=symbol, detail=clamp,
                                           stake=capped))
        return capped

    # --- events ----------------------------------------------------------------------------
    def record_close(self, symbol: str, closed_at: datetime, profit_abs: float) -> None:
        """A position of ``symbol`` went flat with ``profit_abs`` USD (net of commission)."""
        self.closed.append(ClosedTrade(symbol, closed_at, profit_abs))

    def record_fill(self, symbol: str, at: datetime, opening: bool) -> None:
        """A fill, for the day-trade count (persisted)."""
        if self.day_trades is None:
            return
        if self.day_trades.on_fill(symbol, at, opening):
            logger.info("Day trade in %s counted (%d in the last 5 sessions)", symbol,
                        self.day_trades.count(at))
        self.journal.set_state(DAY_TRADES_KEY, self.day_trades.dumps(at))

    def pause(self, name: str, detail: str, now: datetime) -> None:
        """Pause new entries for an external reason (a reconciliation mismatch), journaled."""
        if self.pauses.get(name) != detail:
            self.journal.record(JournalRow(ts=now, kind="breaker", decision="trip", reason=name,
                                           detail=detail))
        self.pauses[name] = detail

    def resume(self, name: str, detail: str, now: datetime) -> None:
        """Lift a pause set by ``pause`` (journaled when one was active)."""
        if self.pauses.pop(name, None) is not None:
            self.journal.record(JournalRow(ts=now, kind="breaker", decision="clear", reason=name,
                                           detail=detail))


def reset_kill_switch(journal: DecisionJournal, now: datetime, by: str) -> bool:
    """The human reset: lift the kill switch's lock and re-base the equity peak to the next
    equity seen (journaled, kind ``reset``). Returns whether a lock was lifted."""
    raw = journal.get_state(LOCKS_KEY)
    locks = json.loads(raw) if raw else {}
    lifted = locks.pop(KILL_SWITCH, "absent") != "absent"
    journal.set_state(LOCKS_KEY, json.dumps(locks))
    journal.set_state(PEAK_KEY, "")
    journal.record(JournalRow(ts=now, kind="reset", decision="clear", reason=KILL_SWITCH,
                              detail=f"kill switch reset by {by}: {'lock lifted' if lifted else 'no lock'}"))
    return lifted

