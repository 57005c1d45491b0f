"""The running guard as ``plugins.metrics`` reads it, and the hooks that feed the exporter.

:class:`MetricsStrategyView` is the :class:`~plugins.metrics.view.MetricsView` of a
``RiskGuardMixin`` strategy. :func:`attach_metrics` starts the exporter at bot start in
dry-run/live when ``ai_suite.metrics.enabled`` and hooks it to:

- the strategy's ``analyze`` (Freqtrade calls it once per bot loop, right after
  ``bot_loop_start``, for every pair): the loop's duration and the refresh of the figures;
- FreqAI's ``train_timer`` (``IFreqaiModel.train_timer("start" | "stop", pair)``, Freqtrade
  2026.9, called by its training thread around each pair's training): the training's
  duration and end time. Both are wrapped on the instance; the originals still run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import wraps
from typing import Any

import pandas as pd

from plugins.altdata.contract import AVAILABLE_AT, FIRST_AVAILABLE_AT
from plugins.core.clock import Clock
from plugins.guard.locks import kill_switch_held
from plugins.metrics.exporter import SuiteExporter, start_exporter
from plugins.metrics.view import AccountFigures, SourceAge
from plugins.risk.journal import DecisionJournal
from plugins.risk.stages import Stage, StageRecord
from plugins.risk.state import RiskDecision

logger = logging.getLogger(__name__)


class MetricsStrategyView:
    """:class:`~plugins.metrics.view.MetricsView` of a running ``RiskGuardMixin`` strategy.

    Args:
        strategy: the strategy (an ``IStrategy`` with ``RiskGuardMixin``, in ``bot_start``).
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
    def timeframe(self) -> str:
        return self._strategy.timeframe

    @property
    def journal(self) -> DecisionJournal:
        return self._strategy.risk_journal

    def account(self) -> AccountFigures | None:
        snap = self._strategy.risk_snapshot
        if snap is None:
            return None
        return AccountFigures(snap.equity, snap.equity_peak, snap.open_positions)

    def decision(self) -> RiskDecision:
        return self._strategy.risk_decision

    def kill_switch_locked(self, now: datetime) -> bool:
        return kill_switch_held(now)

    def stage_record(self, now: datetime) -> StageRecord | None:
        """As stored (a promotion from the CLI shows at once), else the bot's in-memory one."""
        stages = self._strategy.risk_stages
        if stages is None:
            return None
        if self.strategy_name in stages.store.strategies():
            return stages.store.load(self.strategy_name, Stage.SHADOW, now)
        return stages.record

    def analysed_frames(self) -> dict[str, pd.DataFrame]:
        dp, timeframe = self._strategy.dp, self._strategy.timeframe
        return {pair: dp.get_analyzed_dataframe(pair, timeframe)[0]
                for pair in dp.current_whitelist()}

    def label_horizon(self) -> int | None:
        freqai = self._strategy.config.get("freqai") or {}
        if not freqai.get("enabled"):
            return None
        horizon = (freqai.get("feature_parameters") or {}).get("label_period_candles")
        return int(horizon) if horizon else None

    def realized_labels(self, pair: str, frame: pd.DataFrame) -> pd.DataFrame | None:
        """The strategy's ``set_freqai_targets`` on a copy of ``frame``'s OHLCV columns."""
        if self.label_horizon() is None or frame.empty:
            return None
        candles = frame[["date", "open", "high", "low", "close", "volume"]].copy()
        labelled = self._strategy.set_freqai_targets(candles, {"pair": pair, "tf": "",
                                                               "timeframe": self.timeframe})
        return labelled[[c for c in labelled.columns if str(c).startswith("&")]]

    def drift_status(self) -> Mapping[str, Any] | None:
        monitor = getattr(self._strategy, "altdata_drift", None)  # set by alt-data strategies
        return None if monitor is None else monitor.status()

    def altdata_ages(self, now: datetime) -> Mapping[str, SourceAge] | None:
        """Age of the newest value known at ``now`` of each feature source of an alt-data
        strategy (``altdata``: ``plugins.altdata.features.AltDataFeatures``)."""
        features = getattr(self._strategy, "altdata", None)
        if features is None or not hasattr(features, "feature_providers"):
            return None
        known_at = pd.Timestamp(now)
        ages = {}
        for name in features.feature_providers:
            frame = features.derived(name, known_at)
            limit = features.max_staleness(name).total_seconds()
            if frame.empty:
                ages[name] = SourceAge(float("inf"), limit)
                continue
            served = frame.loc[frame[AVAILABLE_AT].idxmax()] if frame.index.is_unique \
                else frame.sort_values(AVAILABLE_AT).iloc[-1]
            ages[name] = SourceAge((known_at - served[FIRST_AVAILABLE_AT]).total_seconds(), limit)
        return ages


def attach_metrics(strategy: Any, clock: Clock) -> SuiteExporter | None:
    """Start the exporter of ``strategy`` (dry-run/live) when ``ai_suite.metrics.enabled``,
    with its hooks (module docstring); None when disabled.

    Raises:
        SuiteConfigError: ``ai_suite.metrics`` / ``ai_suite.llm`` is invalid, or the port is
            in use (``MetricsPortInUseError``): the bot does not start.
    """
    return start_exporter(MetricsStrategyView(strategy), clock,
                          wrap=lambda exporter: _hook(strategy, exporter))


def _hook(strategy: Any, exporter: SuiteExporter) -> None:
    analyze = strategy.analyze

    @wraps(analyze)
    def analyze_and_refresh(*args, **kwargs):
        try:
            return analyze(*args, **kwargs)
        finally:
            exporter.loop_finished()

    strategy.analyze = analyze_and_refresh
    freqai = getattr(strategy, "freqai", None)
    timer = getattr(freqai, "train_timer", None)
    if timer is None:
        return
    started: dict[str, float] = {}

    @wraps(timer)
    def train_timer(do: str = "start", pair: str = ""):
        # FreqAI passes the pair only on "stop"; one pair trains at a time (its own thread)
        if do == "start":
            started["t"] = time.monotonic()
        elif do == "stop" and "t" in started:
            try:
                exporter.training_finished(pair, time.monotonic() - started.pop("t"),
                                           datetime.now(UTC))
            except Exception:  # noqa: BLE001 - an observer never breaks FreqAI's training
                logger.exception("Metrics: recording the training of %s failed", pair)
        return timer(do, pair)

    freqai.train_timer = train_timer
