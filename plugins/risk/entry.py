"""The entry-check core: one decision for every entry and one rule for which trips to lock, the
same on every venue.

Each venue's guard gathers the facts (:class:`EntryFacts`: the breaker trips in force, open
positions, the pair's last closed trade, whether an FOMC/CPI blackout is on, the stage's
verdict, the signal candle, its own checks) and asks :func:`decide_entry`; the decision is
pure, typed (:class:`EntryDecision` of :class:`~plugins.risk.checks.CheckResult`) and journaled
by the guard one ``gate`` row per check (:meth:`EntryDecision.journal_rows`). Each bot loop it
runs the breakers and locks what :func:`new_trips` returns. Users: ``plugins.guard`` (Freqtrade)
and ``adapters.alpaca.risk`` (backtrader / Alpaca); one case table at the thresholds runs
against both (``tests/plugins/risk/entry_cases.py``).

Checks, in order: ``breakers`` (no trip in force), ``max_open_positions``, ``stage`` (when
stages are on), then the gates (``plugins.risk.gates``: all seven on a venue that analyses
candles and with the gates enabled, else the news blackout and the pair cooldown) - or
``analysed_candle`` (deny) when a venue that analyses candles has none for the pair - and last
the venue's own checks (Alpaca: reconciliation pause, pattern-day-trader rule). An entry is
allowed only if every check passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from plugins.risk.breakers import pair_cooldown_until
from plugins.risk.checks import Check, CheckResult
from plugins.risk.config import RiskConfig
from plugins.risk.gates import NO_CANDLE, GateInputs, SignalCandle, evaluate_gates
from plugins.risk.journal import JournalRow
from plugins.risk.snapshot import ClosedTrade
from plugins.risk.stages import Verdict
from plugins.risk.state import BreakerReason, BreakerTrip, RiskDecision


@dataclass(frozen=True)
class EntryFacts:
    """What the entry checks read, gathered by the venue's guard.

    Attributes:
        pair: the pair (or symbol) to enter.
        now: the time of the entry (UTC, tz-aware).
        stake: the stake proposed (stake currency), journaled with each check.
        breakers: the trips in force: this loop's plus those locks still hold.
        open_positions: trades open now.
        last_closed: the pair's latest closed trade (its cooldown), ``None`` when none.
        in_blackout: ``now`` is inside an FOMC/CPI blackout window.
        stage: the deployment stage's verdict (``stages.entry_verdict``); ``None``: stages off.
        candle: the signal candle's gate values; ``None``: none analysed for the pair.
        analyses_candles: the venue analyses candles (Freqtrade). ``False`` (Alpaca's broker):
            only the blackout and cooldown gates run, and no candle is expected.
        venue: verdicts of the venue's own checks (:data:`~plugins.risk.checks.VENUE_CHECKS`).
    """

    pair: str
    now: datetime
    stake: float
    breakers: RiskDecision
    open_positions: int
    last_closed: ClosedTrade | None = None
    in_blackout: bool = False
    stage: Verdict | None = None
    candle: SignalCandle | None = None
    analyses_candles: bool = True
    venue: tuple[CheckResult, ...] = ()


@dataclass(frozen=True)
class EntryDecision:
    """Every check's verdict on one entry, in the order they ran."""

    pair: str
    now: datetime
    stake: float
    checks: tuple[CheckResult, ...]

    @property
    def allowed(self) -> bool:
        """True only when every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def denials(self) -> tuple[str, ...]:
        """``"<check>: <detail>"`` of every check that failed."""
        return tuple(str(c) for c in self.checks if not c.passed)

    @property
    def reason(self) -> str:
        """The denials, ``;``-joined (empty when allowed)."""
        return "; ".join(self.denials)

    def journal_rows(self) -> list[JournalRow]:
        """One ``gate`` row per check: ``reason`` the check, ``decision`` pass / deny."""
        return [JournalRow(ts=self.now, kind="gate", decision="pass" if c.passed else "deny",
                           reason=c.check.value, pair=self.pair, detail=c.detail,
                           stake=self.stake) for c in self.checks]


def cooling_down(last_closed: ClosedTrade | None, now: datetime, cfg: RiskConfig) -> bool:
    """The pair is inside its post-trade pause (``pair_cooldown_until`` of its last close)."""
    if last_closed is None:
        return False
    return now < pair_cooldown_until(last_closed.closed_at, last_closed.profit_abs, cfg)


def decide_entry(facts: EntryFacts, cfg: RiskConfig) -> EntryDecision:
    """Every entry check on ``facts`` (module docstring for the order); pure."""
    checks = [
        CheckResult(Check.BREAKERS, facts.breakers.allows_entries,
                    facts.breakers.reason or "no breaker tripped"),
        CheckResult(Check.MAX_OPEN_POSITIONS, facts.open_positions < cfg.max_open_positions,
                    f"{facts.open_positions} open, max {cfg.max_open_positions}"),
    ]
    if facts.stage is not None:
        checks.append(CheckResult(Check.STAGE, facts.stage.allowed, facts.stage.reason))
    candle = facts.candle if facts.analyses_candles else NO_CANDLE
    if candle is None:
        checks.append(CheckResult(Check.ANALYSED_CANDLE, False,
                                  f"no analysed dataframe with gate columns for {facts.pair}"))
    else:
        inputs = GateInputs(**vars(candle), in_blackout=facts.in_blackout,
                            cooling_down=cooling_down(facts.last_closed, facts.now, cfg))
        checks += evaluate_gates(inputs, cfg.gates, candle_gates=facts.analyses_candles)
    checks += facts.venue
    return EntryDecision(facts.pair, facts.now, facts.stake, tuple(checks))


def new_trips(decision: RiskDecision, locked: Iterable[BreakerReason]) -> tuple[BreakerTrip, ...]:
    """The trips of a bot loop's ``decision`` that get a new lock: every trip but
    ``max_open_positions`` (checked per entry, it ends when a trade closes) and those a lock
    already holds (``locked``: the breakers whose locks are in force)."""
    held = set(locked)
    return tuple(t for t in decision.trips
                 if t.reason != BreakerReason.MAX_OPEN_POSITIONS and t.reason not in held)
