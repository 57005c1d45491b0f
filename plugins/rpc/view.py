"""What the suite's commands read and ask of a running risk guard: a small typed Protocol.

``plugins.rpc`` depends on this Protocol only, never on the guard's attributes; the Freqtrade
guard implements it (``plugins.guard.rpcview.StrategyView``) and hands it to :func:`attach
<plugins.rpc.registry.attach>` at bot start. Reads return whole objects the bot thread replaces
(never mutated by a caller); the kill-switch methods change state and are called in the bot
thread only (``service.SuiteService.killswitch_reset`` hands them to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from plugins.risk.config import StageConfig
from plugins.risk.stages import StageRecord
from plugins.risk.state import RiskDecision


@runtime_checkable
class GuardView(Protocol):
    """A running risk guard as the suite's REST routes and Telegram commands see it."""

    @property
    def config(self) -> Mapping[str, Any]:
        """The bot's Freqtrade config (its journal's path, ``datadir``, ``ai_suite.llm``)."""
        ...

    @property
    def strategy_name(self) -> str:
        """The strategy's class name (its stage record and trades are filed under it)."""
        ...

    @property
    def stage_config(self) -> StageConfig:
        """``ai_suite.stages``."""
        ...

    def pairs(self) -> list[str]:
        """The whitelisted pairs now."""
        ...

    def analysed_frames(self) -> dict[str, pd.DataFrame]:
        """The latest analysed dataframe of every whitelisted pair (Freqtrade's cached copy)."""
        ...

    def decision(self) -> RiskDecision:
        """The breakers' decision of the latest bot loop (ACTIVE before the first)."""
        ...

    def stage_record(self, now: datetime) -> StageRecord | None:
        """The strategy's stage record as stored, else the bot's in-memory one; ``None`` with
        stages off or before the first loop."""
        ...

    def drift_status(self) -> Mapping[str, Any] | None:
        """The alt-data drift monitor's findings (``DriftMonitor.status()``); ``None`` without
        a monitor."""
        ...

    def starting_balance(self) -> float | None:
        """The wallet's starting balance (stake currency); ``None`` when unknown."""
        ...

    def tree(self) -> Any | None:
        """The strategy tree a compiled strategy was generated from; ``None`` for hand-written
        strategies."""
        ...

    def kill_switch_locked(self, now: datetime) -> bool:
        """The kill switch's lock is active at ``now`` (bot thread)."""
        ...

    def lift_kill_switch(self, now: datetime, by: str) -> int:
        """Lift the kill switch (all or nothing, journaled); returns the locks lifted (bot
        thread).

        Raises:
            JournalError, sqlite3.Error, sqlalchemy.exc.SQLAlchemyError: nothing changed.
        """
        ...
