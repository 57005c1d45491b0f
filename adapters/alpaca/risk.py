"""The suite's risk rules on backtrader runs: the same breakers, config and journal as on crypto.

``RiskGuard`` is the backtrader counterpart of ``plugins.risk.mixin.RiskGuardMixin``. It calls
the very same pure rules (``plugins.risk.breakers.evaluate`` on an ``AccountSnapshot``,
``cap_stake``, ``pair_cooldown_until``), reads the same ``ai_suite.risk`` section
(``RiskConfig``), keeps its equity anchors with ``plugins.risk.account.EquityAnchors`` and
writes the same ``DecisionJournal`` rows (kinds ``breaker``, ``gate``, ``stake``). It is
enforced in the broker (``guard.GuardedBrokerMixin``), so no strategy - hand-written or
compiled from a tree - can place an entry around it.

Semantics, as in the Freqtrade mixin: each bar (``observe``) the breakers run on the account;
a trip becomes a *lock* until its ``until`` (daily loss: next 00:00 UTC; weekly: next Monday;
losing streak: its pause), the kill switch locks until a human reset
(``python -m adapters.alpaca reset-killswitch``). While any lock is active no entry passes;
exits always pass. ``max_open_positions`` is checked per entry. Entry checks, in order, each
journaled as a ``gate`` row: breakers, max_open_positions, external pauses (reconciliation
mismatch), FOMC/CPI blackout, the pair cooldown, the pattern-day-trader rule. Stakes above
``max_position_frac`` of equity are shrunk (journaled ``stake``/``clamp``).

Not carried over: the 7 entry gates (EMA band, RSI, momentum, regime, confidence) need the
Freqtrade strategy's analysed dataframe, and the signal-anomaly breaker needs its per-candle
entry-signal counts; neither exists at the broker, so neither runs here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from adapters.alpaca.pdt import DayTradeCounter, pdt_verdict
from plugins.altdata.calendar import EventCalendar
from plugins.risk.account import PEAK_KEY, EquityAnchors
from plugins.risk.breakers import cap_stake, evaluate, pair_cooldown_until
from plugins.risk.config import RiskConfig
from plugins.risk.journal import DecisionJournal, JournalRow
from plugins.risk.snapshot import AccountSnapshot, ClosedTrade
from plugins.risk.state import BreakerReason, RiskDecision, TradingState

logger = logging.getLogger(__name__)

LOCKS_KEY = "alpaca_locks"
DAY_TRADES_KEY = "alpaca_day_trades"
KILL_SWITCH = BreakerReason.DRAWDOWN_KILL_SWITCH.value


@dataclass(frozen=True)
class PdtSettings:
    """The pattern-day-trader rule's thresholds (``AlpacaConfig.pdt_*``)."""

    min_equity_usd: float = 25_000.0
    max_day_trades: int = 3


@dataclass(frozen=True)
class EntryVerdict:
    """One entry's verdict: ``allowed`` and every denial as ``"<check>: <detail>"``."""

    allowed: bool
    denials: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.denials)


class RiskGuard:
    """Breakers, entry checks and stake cap for one backtrader run (module docstring).

    Args:
        config: ``ai_suite.risk``.
        journal: the run's decision journal (also the store of anchors, locks and day trades).
        events: FOMC/CPI calendar for the blackout (None: no blackout check; the runners
            fail closed and refuse to start without it when a blackout is configured).
        day_trades: the PDT day-trade counter (None: PDT rule off).
        pdt: PDT thresholds.
    """

    def __init__(self, config: RiskConfig, journal: DecisionJournal, *,
                 events: EventCalendar | None = None, day_trades: DayTradeCounter | None = None,
                 pdt: PdtSettings | None = None) -> None:
        self.config = config
        self.journal = journal
        self.events = events
        self.day_trades = day_trades
        self.pdt = pdt or PdtSettings()
        self.anchors = EquityAnchors(journal)
        self.closed: list[ClosedTrade] = []
        self.decision = RiskDecision(TradingState.ACTIVE, ())
        self.pauses: dict[str, str] = {}
        self.account_day_trades: int | None = None
        raw = journal.get_state(LOCKS_KEY)
        self.locks: dict[str, str | None] = json.loads(raw) if raw else {}

    # --- per bar ---------------------------------------------------------------------------
    def observe(self, now: datetime, equity: float, open_positions: int) -> RiskDecision:
        """Run the breakers on the account at ``now`` (UTC) and lock new trips (journaled)."""
        day, week, peak = self.anchors.update(now, equity)
        snapshot = AccountSnapshot(now=now, equity=equity, equity_day_start=day,
                                   equity_week_start=week, equity_peak=peak,
                                   open_positions=open_positions, closed_trades=tuple(self.closed))
        decision = evaluate(snapshot, self.config)
        changed = False
        for trip in decision.trips:
            if trip.reason == BreakerReason.MAX_OPEN_POSITIONS or self._locked(trip.reason.value, now):
                continue
            self.locks[trip.reason.value] = None if trip.until is None else trip.until.isoformat()
            changed = True
            logger.warning("Breaker %s tripped (%s): %s until %s", trip.reason.value,
                           trip.state.name, trip.detail, trip.until or "human reset")
            self.journal.record(JournalRow(ts=now, kind="breaker", decision="trip",
                                           reason=trip.reason.value, detail=trip.detail))
        if changed:
            self.journal.set_state(LOCKS_KEY, json.dumps(self.locks))
        self.decision = decision
        return decision

    def _locked(self, reason: str, now: datetime) -> bool:
        if reason not in self.locks:
            return False
        until = self.locks[reason]
        return until is None or now < datetime.fromisoformat(until)

    def active_locks(self, now: datetime) -> list[str]:
        """Reasons locked at ``now``."""
        return [reason for reason in self.locks if self._locked(reason, now)]

    @property
    def halted(self) -> bool:
        """The kill switch is locked (until a human reset)."""
        return KILL_SWITCH in self.locks and self.locks[KILL_SWITCH] is None

    # --- entries ---------------------------------------------------------------------------
    def check_entry(self, symbol: str, now: datetime, stake: float, equity: float,
                    open_positions: int) -> EntryVerdict:
        """Every entry check on one proposed entry of ``stake`` USD (journaled, one row each)."""
        cfg = self.config
        locks = self.active_locks(now)
        checks: list[tuple[str, bool, str]] = [
            ("breakers", not locks, "; ".join(f"{r} locked" for r in locks) or "no breaker tripped"),
            ("max_open_positions", open_positions < cfg.max_open_positions,
             f"{open_positions} open, max {cfg.max_open_positions}"),
        ]
        for name, detail in self.pauses.items():
            checks.append((name, False, detail))
        if self.events is not None and (cfg.blackout_before_min or cfg.blackout_after_min):
            blocked = bool(self.events.in_blackout(pd.Series([pd.Timestamp(now)]),
                                                   cfg.blackout_before_min,
                                                   cfg.blackout_after_min).iloc[0])
            checks.append(("news_blackout", not blocked,
                           "within the FOMC/CPI blackout" if blocked else "no FOMC/CPI event near"))
        last = next((t for t in reversed(self.closed) if t.pair == symbol), None)
        if last is not None:
            until = pair_cooldown_until(last.closed_at, last.profit_abs, cfg)
            checks.append(("pair_cooldown", now >= until,
                           f"cooling down until {until.isoformat()}" if now < until else "no cooldown"))
        if self.day_trades is not None:
            count = max(self.day_trades.count(now), self.account_day_trades or 0)
            verdict = pdt_verdict(equity, count, min_equity=self.pdt.min_equity_usd,
                                  max_day_trades=self.pdt.max_day_trades)
            checks.append(("pattern_day_trader", verdict.allowed, verdict.reason))
        self.journal.record_many([
            JournalRow(ts=now, kind="gate", decision="pass" if ok else "deny", reason=name,
                       pair=symbol, detail=detail, stake=stake) for name, ok, detail in checks])
        denials = tuple(f"{name}: {detail}" for name, ok, detail in checks if not ok)
        if denials:
            logger.info("Entry %s denied: %s", symbol, "; ".join(denials))
        return EntryVerdict(not denials, denials)

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

