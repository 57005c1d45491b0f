"""The running guard as ``plugins.rpc`` reads it: the :class:`~plugins.rpc.view.GuardView` of a
``RiskGuardMixin`` strategy.

Reads hand out whole objects the bot thread replaces (the latest decision, the stage record);
the kill-switch methods run in the bot thread (``SuiteService`` hands them to it) with the
bot's own database session.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from plugins.guard.killswitch import active_kill_switch_locks, lift_kill_switch
from plugins.risk.config import StageConfig
from plugins.risk.journal import journal_path
from plugins.risk.stages import Stage, StageRecord
from plugins.risk.state import RiskDecision


class StrategyView:
    """:class:`~plugins.rpc.view.GuardView` of a running ``RiskGuardMixin`` strategy.

    Args:
        strategy: the strategy (an ``IStrategy`` with ``RiskGuardMixin``, after ``bot_start``).
    """

    def __init__(self, strategy: Any) -> None:
        self._strategy = strategy

    @property
    def config(self) -> Mapping[str, Any]:
        return self._strategy.config

    @property
    def strategy_name(self) -> str:
        return type(self._strategy).__name__

    @property
    def stage_config(self) -> StageConfig:
        return self._strategy.stage_config

    def pairs(self) -> list[str]:
        return list(self._strategy.dp.current_whitelist())

    def analysed_frames(self) -> dict[str, pd.DataFrame]:
        dp, timeframe = self._strategy.dp, self._strategy.timeframe
        return {pair: dp.get_analyzed_dataframe(pair, timeframe)[0] for pair in self.pairs()}

    def decision(self) -> RiskDecision:
        return self._strategy.risk_decision

    def stage_record(self, now: datetime) -> StageRecord | None:
        """As stored (a promotion from the CLI shows at once), else the bot's in-memory one."""
        stages = self._strategy.risk_stages
        if stages is None:
            return None
        if self.strategy_name in stages.store.strategies():
            return stages.store.load(self.strategy_name, Stage.SHADOW, now)
        return stages.record

    def drift_status(self) -> Mapping[str, Any] | None:
        monitor = getattr(self._strategy, "altdata_drift", None)  # set by alt-data strategies
        return None if monitor is None else monitor.status()

    def starting_balance(self) -> float | None:
        wallets = self._strategy.wallets
        return None if wallets is None else wallets.get_starting_balance()

    def tree(self) -> Any | None:
        """The compiled strategy's module ``TREE`` (``plugins.strategy_tree.compilers``)."""
        module = sys.modules.get(type(self._strategy).__module__)
        return getattr(module, "TREE", None)

    def kill_switch_locked(self, now: datetime) -> bool:
        return bool(active_kill_switch_locks())

    def lift_kill_switch(self, now: datetime, by: str) -> int:
        return lift_kill_switch(journal_path(self._strategy.config), now, by)
