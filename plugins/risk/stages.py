"""Deployment stages: shadow -> canary -> active, with promotion rules and automatic rollback.

``../shared/seeds`` (stage 7): a new strategy first runs in **shadow** (signals journaled, no
orders: Freqtrade's dry-run, whose simulated trades are the shadow results), then **canary**
(live orders at ``canary_stake_frac`` of the normal stake), then **active** (full stake).

Rules (pure functions of the persisted :class:`StageRecord`, the run mode and figures):

- Orders: in live mode a shadow strategy places none (every entry denied, signals still
  journaled); dry-run and backtesting simulate, so shadow trades there at full size.
- Stake: canary stakes are multiplied by ``canary_stake_frac`` in every run mode.
- Promotion is a human request (``python -m plugins.risk stage promote``) that is refused
  unless: shadow -> canary: at least ``promotion_min_trades`` closed shadow trades;
  canary -> active: at least ``promotion_min_trades`` closed canary trades AND their mean
  return per trade is no worse than the shadow trades' mean minus ``promotion_tolerance``
  (fractions, 0.005 = 0.5 percentage points per trade). Thresholds are inclusive, to the
  breakers' 1e-12 tolerance.
- Rollback is automatic: an active strategy whose equity falls ``rollback_drawdown_frac``
  below its peak since it became active goes back to canary.

Each closed trade is filed once in the record's ledger under the stage it was closed in (dry-run
trades always as shadow). The record is one JSON file per user-data folder
(``<user_data_dir>/ai_suite/stages.json``, all strategies, written atomically), shared by the
dry-run and live bots so the shadow evidence reaches the live bot; a backtest keeps its record
in memory only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugins.core.atomic import atomic_write
from plugins.risk.breakers import EPSILON

logger = logging.getLogger(__name__)

STORE_NAME = Path("ai_suite") / "stages.json"


class Stage(StrEnum):
    """Deployment stage, in promotion order."""

    SHADOW = "shadow"
    CANARY = "canary"
    ACTIVE = "active"


NEXT_STAGE = {Stage.SHADOW: Stage.CANARY, Stage.CANARY: Stage.ACTIVE}


class StageError(ValueError):
    """A stage request that the rules refuse, or an unreadable stage store."""


class StageChange(BaseModel):
    """One transition: when (UTC), from, to, why and by whom (``rule`` for automatic ones)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ts: datetime
    from_stage: Stage | None
    to_stage: Stage
    reason: str
    by: str


class StageRecord(BaseModel):
    """A strategy's stage, its history and its closed-trade ledger (persisted).

    Attributes:
        strategy: strategy class name.
        stage: current stage.
        history: every change, oldest first.
        ledger: closed-trade returns (fractions, Freqtrade's ``close_profit``) per stage.
        filed: ``"<mode>:<trade id>"`` keys of trades already in the ledger.
        active_peak_equity: equity peak (stake currency) since the stage became active.
    """

    model_config = ConfigDict(extra="forbid")

    strategy: str
    stage: Stage
    history: list[StageChange] = Field(default_factory=list)
    ledger: dict[Stage, list[float]] = Field(default_factory=dict)
    filed: list[str] = Field(default_factory=list)
    active_peak_equity: float | None = None

    def returns(self, stage: Stage) -> list[float]:
        """Closed-trade returns filed under ``stage`` (fractions)."""
        return self.ledger.get(stage, [])


@dataclass(frozen=True)
class Verdict:
    """A rule's answer: ``allowed`` and the figures behind it in ``reason``."""

    allowed: bool
    reason: str


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def entry_verdict(record: StageRecord, live: bool) -> Verdict:
    """May the bot place an entry order? Not a shadow strategy in live mode."""
    if record.stage == Stage.SHADOW and live:
        return Verdict(False, "shadow stage: signals are journaled, no live orders")
    return Verdict(True, f"{record.stage.value} stage")


def stake_factor(record: StageRecord, canary_stake_frac: float) -> float:
    """Multiplier of the stake: ``canary_stake_frac`` for canary, 1 otherwise."""
    return canary_stake_frac if record.stage == Stage.CANARY else 1.0


def promotion_verdict(record: StageRecord, min_trades: int, tolerance: float) -> Verdict:
    """Whether ``record`` may move to the next stage (see the module docstring)."""
    if record.stage not in NEXT_STAGE:
        return Verdict(False, "already active; there is no later stage")
    own = record.returns(record.stage)
    if len(own) < min_trades:
        return Verdict(False, f"{len(own)} closed {record.stage.value} trades, "
                              f"promotion needs {min_trades}")
    if record.stage == Stage.SHADOW:
        return Verdict(True, f"{len(own)} closed shadow trades >= {min_trades}")
    shadow = record.returns(Stage.SHADOW)
    if not shadow:
        return Verdict(False, "no shadow trades to compare the canary with; run the "
                              "strategy in dry-run first")
    canary_mean, shadow_mean = _mean(own), _mean(shadow)
    figures = (f"canary mean {canary_mean:+.3%} per trade vs shadow {shadow_mean:+.3%} "
               f"(tolerance {tolerance:.3%})")
    if canary_mean < shadow_mean - tolerance - EPSILON:
        return Verdict(False, figures)
    return Verdict(True, figures)


def rollback_verdict(record: StageRecord, equity: float, drawdown_frac: float) -> Verdict:
    """``allowed`` = roll back active -> canary: equity ``drawdown_frac`` below the active peak.

    Uses ``record.active_peak_equity``; call :func:`track_peak` first with the same equity.
    """
    peak = record.active_peak_equity
    if record.stage != Stage.ACTIVE or not peak:
        return Verdict(False, "not active")
    drawdown = (peak - equity) / peak
    figures = f"drawdown {drawdown:.2%} from the active peak {peak:.2f} (limit {drawdown_frac:.2%})"
    return Verdict(drawdown >= drawdown_frac - EPSILON, figures)


def track_peak(record: StageRecord, equity: float) -> bool:
    """Raise ``active_peak_equity`` to ``equity`` while active; True when it changed."""
    if record.stage != Stage.ACTIVE:
        return False
    if record.active_peak_equity is None or equity > record.active_peak_equity:
        record.active_peak_equity = equity
        return True
    return False


def change_stage(record: StageRecord, to: Stage, now: datetime, reason: str, by: str) -> StageChange:
    """Move ``record`` to ``to`` (in place), append the change to its history and return it."""
    change = StageChange(ts=now, from_stage=record.stage, to_stage=to, reason=reason, by=by)
    record.stage = to
    record.history.append(change)
    record.active_peak_equity = None
    return change


def file_trade(record: StageRecord, key: str, stage: Stage, ret: float) -> bool:
    """File one closed trade's return under ``stage`` unless ``key`` was filed; True if new."""
    if key in record.filed:
        return False
    record.filed.append(key)
    record.ledger.setdefault(stage, []).append(float(ret))
    return True


class StageStore:
    """The stage records of all strategies in one JSON file (``path=None``: in memory).

    Raises:
        StageError: the file exists but is not a valid store (the message names the file).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory: dict[str, StageRecord] = {}

    @staticmethod
    def for_config(config: dict, live_modes: bool) -> StageStore:
        """The store of a Freqtrade config: its file in dry-run/live, memory otherwise."""
        if not live_modes:
            return StageStore(None)
        return StageStore(Path(config["user_data_dir"]) / STORE_NAME)

    def _read_all(self) -> dict[str, StageRecord]:
        if self.path is None:
            return self._memory
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text())
            if not isinstance(raw, dict):
                raise ValueError(f"its JSON is a {type(raw).__name__}, not a mapping of "
                                 "strategy name -> stage record")
            return {name: StageRecord.model_validate(rec) for name, rec in raw.items()}
        except (OSError, ValueError, ValidationError) as err:
            reason = str(err).splitlines()[0][:300]
            raise StageError(f"Stage store {self.path} is unreadable ({reason}); restore it from "
                             "a backup or delete it to start every strategy at its initial stage"
                             ) from err

    def load(self, strategy: str, initial: Stage, now: datetime) -> StageRecord:
        """The record of ``strategy``; a new one at ``initial`` (saved) if it has none."""
        records = self._read_all()
        if strategy in records:
            return records[strategy]
        record = StageRecord(strategy=strategy, stage=initial)
        record.history.append(StageChange(ts=now, from_stage=None, to_stage=initial,
                                          reason="first start", by="config"))
        self.save(record)
        return record

    def save(self, record: StageRecord) -> None:
        """Write ``record`` (atomically, keeping the other strategies' records)."""
        records = dict(self._read_all())
        records[record.strategy] = record
        if self.path is None:
            self._memory = records
            return
        payload = {name: rec.model_dump(mode="json") for name, rec in records.items()}
        atomic_write(self.path, lambda tmp: tmp.write_text(json.dumps(payload, indent=2)))

    def strategies(self) -> list[str]:
        """Names of the strategies with a record."""
        return sorted(self._read_all())


def promote(store: StageStore, strategy: str, min_trades: int, tolerance: float, now: datetime,
            by: str) -> StageChange:
    """The human promotion request: move ``strategy`` to its next stage if the rules allow.

    A running bot applies it at its next loop (it re-reads its record every loop).

    Raises:
        StageError: no record for ``strategy``, or the rules refuse (the message says why).
    """
    if strategy not in store.strategies():
        raise StageError(f"No stage record for {strategy!r}; known: {store.strategies() or 'none'}."
                         " A record is created when the bot first runs with ai_suite.stages on.")
    record = store.load(strategy, Stage.SHADOW, now)
    verdict = promotion_verdict(record, min_trades, tolerance)
    if not verdict.allowed:
        raise StageError(f"{strategy} stays {record.stage.value}: {verdict.reason}")
    change = change_stage(record, NEXT_STAGE[record.stage], now, f"promoted: {verdict.reason}", by)
    store.save(record)
    return change


def demote(store: StageStore, strategy: str, to: Stage, now: datetime, by: str,
           reason: str) -> StageChange:
    """The human demotion: move ``strategy`` to an earlier stage (always allowed).

    Raises:
        StageError: no record for ``strategy``, or ``to`` is not earlier than its stage.
    """
    if strategy not in store.strategies():
        raise StageError(f"No stage record for {strategy!r}; known: {store.strategies() or 'none'}")
    record = store.load(strategy, Stage.SHADOW, now)
    order = list(Stage)
    if order.index(to) >= order.index(record.stage):
        raise StageError(f"{to.value} is not earlier than {strategy}'s stage "
                         f"{record.stage.value}; use promote to move forward")
    change = change_stage(record, to, now, f"demoted: {reason}", by)
    store.save(record)
    return change
