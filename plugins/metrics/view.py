"""What the exporter reads of a running bot: a small typed Protocol.

``plugins.metrics`` depends on this Protocol only, never on the guard's attributes; the
Freqtrade guard implements it (``plugins.guard.metricsview.MetricsStrategyView``) and starts the
exporter at bot start. Every method is called from the bot thread (the exporter refreshes its
figures there, once per bot loop); the HTTP server only serves what was set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from plugins.risk.journal import DecisionJournal
from plugins.risk.stages import StageRecord
from plugins.risk.state import RiskDecision


@dataclass(frozen=True)
class AccountFigures:
    """The breakers' account snapshot of the latest bot loop (``plugins.risk.snapshot``).

    Attributes:
        equity: stake currency (starting balance + closed profit + unrealized profit).
        equity_peak: the highest equity the journal remembers (stake currency).
        open_trades: trades open at that loop.
    """

    equity: float
    equity_peak: float
    open_trades: int


@dataclass(frozen=True)
class SourceAge:
    """One alternative-data source's freshness at ``now``.

    Attributes:
        age_s: seconds since the newest value known now was first published (``inf`` when the
            source has no value at all).
        max_age_s: the source's staleness limit (seconds): older values become NaN features.
    """

    age_s: float
    max_age_s: float


@runtime_checkable
class MetricsView(Protocol):
    """A running bot as the exporter sees it."""

    @property
    def config(self) -> Mapping[str, Any]:
        """The bot's Freqtrade config (``ai_suite.llm`` for the ledger, ``stake_currency``)."""
        ...

    @property
    def strategy_name(self) -> str:
        """The strategy's class name (its stage record is filed under it)."""
        ...

    @property
    def timeframe(self) -> str:
        """The strategy's timeframe (``1h``)."""
        ...

    @property
    def journal(self) -> DecisionJournal:
        """The guard's decision journal (breaker trips and entry checks are counted from it)."""
        ...

    def account(self) -> AccountFigures | None:
        """The account snapshot of the latest bot loop that could take one; ``None`` before
        the first."""
        ...

    def decision(self) -> RiskDecision:
        """The breakers' decision of the latest bot loop (held locks included)."""
        ...

    def kill_switch_locked(self, now: datetime) -> bool:
        """The kill switch's lock is active at ``now``."""
        ...

    def stage_record(self, now: datetime) -> StageRecord | None:
        """The strategy's stage record; ``None`` with stages off or before the first loop."""
        ...

    def analysed_frames(self) -> dict[str, pd.DataFrame]:
        """The latest analysed dataframe of every whitelisted pair."""
        ...

    def realized_labels(self, pair: str, frame: pd.DataFrame) -> pd.DataFrame | None:
        """The FreqAI targets (``&``-columns) the strategy's own ``set_freqai_targets``
        computes on ``frame``'s candles: NaN where the label has not matured yet. ``None``
        without FreqAI."""
        ...

    def label_horizon(self) -> int | None:
        """``label_period_candles`` of the FreqAI config; ``None`` without FreqAI."""
        ...

    def drift_status(self) -> Mapping[str, Any] | None:
        """The alt-data drift monitor's findings by source; ``None`` without a monitor."""
        ...

    def altdata_ages(self, now: datetime) -> Mapping[str, SourceAge] | None:
        """Each alternative-data source's freshness at ``now``; ``None`` without alt data."""
        ...
