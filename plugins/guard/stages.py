"""Deployment stages on a running Freqtrade strategy (``ai_suite.stages``, ``plugins.risk.stages``).

Each bot loop files the trades closed since the last one under the current stage (a dry-run
files them as shadow), tracks the equity peak while active and rolls an active strategy back
to canary on its drawdown. The stage record is re-read every loop: a promotion or demotion from
the CLI (or REST) applies at the next loop; the bot saves at once after each change it makes
itself. Every change is logged, notified and journaled (kind ``stage``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from freqtrade.enums import RunMode
from freqtrade.persistence import Trade

from plugins.risk.config import StageConfig
from plugins.risk.journal import JournalRow
from plugins.risk.stages import (
    Stage,
    StageRecord,
    StageStore,
    change_stage,
    file_trade,
    rollback_verdict,
    track_peak,
)

logger = logging.getLogger(__name__)


class StageLoop:
    """The stage of one strategy, kept in ``store`` (module docstring).

    Args:
        store: the stage store (``stages.json`` of the user data dir).
        config: ``ai_suite.stages``.
        strategy: the strategy's class name.
        runmode: Freqtrade's run mode (a dry-run files its trades as shadow).
        record_or_keep: journals a row (keeping it for the recovery when the journal fails).
        notify: sends a notification (never raises).
    """

    def __init__(self, store: StageStore, config: StageConfig, strategy: str, runmode: object,
                 record_or_keep: Callable[[JournalRow], None],
                 notify: Callable[[str], None]) -> None:
        self.store = store
        self.config = config
        self.strategy = strategy
        self.mode = str(getattr(runmode, "value", runmode))
        self.record_or_keep = record_or_keep
        self.notify = notify
        self.record: StageRecord | None = None

    def run(self, now: datetime, equity: float) -> None:
        """File newly closed trades, track the active peak, roll back on its drawdown."""
        before = self.record
        record = self.store.load(self.strategy, Stage(self.config.initial), now)
        self.record = record
        if before is None or before.stage != record.stage:
            logger.info("Deployment stage of %s: %s", record.strategy, record.stage.value)
            if before is not None:
                last = record.history[-1]
                self.record_or_keep(JournalRow(
                    ts=now, kind="stage", decision=record.stage.value,
                    reason=f"{before.stage.value}->{record.stage.value}",
                    detail=f"{last.reason} (by {last.by})"))
        filed_as = Stage.SHADOW if self.mode == RunMode.DRY_RUN.value else record.stage
        changed = False
        filed = set(record.filed)
        for trade in Trade.get_trades_proxy(is_open=False):
            key = f"{self.mode}:{trade.id}"
            if key not in filed and trade.close_profit is not None:
                changed |= file_trade(record, key, filed_as, float(trade.close_profit))
        changed |= track_peak(record, equity)
        verdict = rollback_verdict(record, equity, self.config.rollback_drawdown_frac)
        if verdict.allowed:
            self.change(now, Stage.CANARY, f"rollback: {verdict.reason}", "rule")
            return
        if changed:
            self.store.save(record)

    def change(self, now: datetime, to: Stage, reason: str, by: str) -> None:
        """Move the strategy to stage ``to`` (saved, logged, notified, journaled)."""
        record = self.record
        change = change_stage(record, to, now, reason, by)
        self.store.save(record)
        logger.warning("Stage of %s: %s -> %s (%s)", record.strategy, change.from_stage, to,
                       reason)
        self.notify(f"Stage {record.strategy}: {change.from_stage} -> {to.value}: {reason}")
        self.record_or_keep(JournalRow(ts=now, kind="stage", decision=to.value,
                                       reason=f"{change.from_stage}->{to.value}",
                                       detail=f"{reason} (by {by})"))
