"""The in-process Prometheus exporter: figures refreshed in the bot thread, served over HTTP.

:class:`SuiteExporter` reads a running bot through :class:`~plugins.metrics.view.MetricsView`
once per bot loop (:meth:`SuiteExporter.loop_finished`, after the strategy has analysed every
pair) and sets the metrics of :class:`~plugins.metrics.families.SuiteMetrics`;
``prometheus_client``'s HTTP server (a daemon thread) serves them at ``/metrics`` in the text
exposition format (https://prometheus.io/docs/instrumenting/exposition_formats/).

Each group of figures (account, risk, stage, model, IC, data, LLM) is refreshed on
its own: one that fails is logged (once until it recovers) and counted in
``ai_suite_refresh_errors_total{part}``, and never stops the others nor the bot - the exporter
observes, it decides nothing.

Counters (breaker trips, entry denials) count the journal's rows written after the exporter
started, read when scraped (``families.JournalCounters``): the journal is the source of truth,
and a restarted bot starts its counters at 0, as Prometheus expects of a counter (``rate()``
and ``increase()`` handle the reset).
"""

from __future__ import annotations

import errno
import logging
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from freqtrade.exchange import timeframe_to_seconds
from prometheus_client import CollectorRegistry, start_http_server

from plugins.core.clock import Clock
from plugins.core.config import SuiteConfigError, load_section
from plugins.llm.config import LlmConfig
from plugins.llm.ledger import Ledger, day_start, month_start
from plugins.metrics.config import MetricsConfig
from plugins.metrics.families import SuiteMetrics, set_labelled
from plugins.metrics.frames import live_ic, pair_model_figures
from plugins.metrics.view import MetricsView
from plugins.risk.stages import Stage
from plugins.risk.state import BreakerReason

logger = logging.getLogger(__name__)

PARTS = ("account", "risk", "stage", "model", "ic", "data", "llm")


class MetricsPortInUseError(SuiteConfigError):
    """The exporter's port is taken: the bot does not start (a second bot on the same
    ``ai_suite.metrics.port`` would otherwise serve nothing, silently)."""


class SuiteExporter:
    """Refreshes the suite's metrics from a running bot and serves them (module docstring).

    Args:
        view: the running bot (:class:`~plugins.metrics.view.MetricsView`).
        config: ``ai_suite.metrics``.
        clock: the bot's clock (UTC ``now()``, ``monotonic()``).
        metrics: the metric families (a fresh registry by default).

    Raises:
        SuiteConfigError: ``ai_suite.llm`` is invalid (it is read for the budget).
    """

    def __init__(self, view: MetricsView, config: MetricsConfig, clock: Clock,
                 metrics: SuiteMetrics | None = None) -> None:
        self.view = view
        self.config = config
        self.clock = clock
        self.metrics = metrics if metrics is not None else SuiteMetrics()
        self.llm_config = load_section(view.config, "llm", LlmConfig)
        self.stake_currency = str(view.config.get("stake_currency", ""))
        self.metrics.journal_counters.start(view.journal)
        self._failing: set[str] = set()
        self._loop_started: float | None = None
        self._llm_read_at: float | None = None
        self._last_candle: dict[str, pd.Timestamp] = {}
        self._processed_at: dict[str, float] = {}
        self._first_live_candle: dict[str, pd.Timestamp] = {}
        self._ic_cache: dict[str, tuple[pd.Timestamp, dict]] = {}
        self._server = None
        self._served = AfterFirstRefresh(self.metrics.registry)
        self.metrics.timeframe_seconds.set(timeframe_to_seconds(view.timeframe))

    # --- HTTP -------------------------------------------------------------------------------

    def serve(self) -> int:
        """Start the HTTP server on ``host:port``; returns the port it listens on.

        Raises:
            MetricsPortInUseError: the port is in use (the message names
                ``ai_suite.metrics.port`` and how to fix it).
            OSError: another socket error (e.g. ``host`` is not an address of this machine).
        """
        host, port = self.config.host, self.config.port
        try:
            self._server, _ = start_http_server(port, addr=host, registry=self._served)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise MetricsPortInUseError(
                    f"ai_suite.metrics.port: {host}:{port} is already in use (another bot or "
                    f"exporter?); choose a free port or set ai_suite.metrics.enabled to false"
                ) from None
            raise
        port = self._server.server_address[1]
        logger.info("Prometheus metrics served at http://%s:%d/metrics", host, port)
        return port

    def close(self) -> None:
        """Stop the HTTP server (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- hooks of the bot -------------------------------------------------------------------

    def loop_started(self) -> None:
        """The bot loop began (``bot_loop_start``)."""
        self._loop_started = self.clock.monotonic()
        self.metrics.bot_loop_last_timestamp_seconds.set(self.clock.now().timestamp())

    def loop_finished(self) -> None:
        """The strategy analysed every pair: the loop's duration, then :meth:`refresh`."""
        if self._loop_started is not None:
            self.metrics.bot_loop_duration_seconds.set(self.clock.monotonic() - self._loop_started)
            self._loop_started = None
        self.refresh()

    def training_finished(self, pair: str, duration_s: float, finished_at: datetime) -> None:
        """A FreqAI training of ``pair`` took ``duration_s`` and ended at ``finished_at``
        (called from FreqAI's training thread; ``prometheus_client`` values are thread-safe)."""
        self.metrics.freqai_training_duration_seconds.labels(pair).set(duration_s)
        self.metrics.freqai_last_training_timestamp_seconds.labels(pair).set(
            finished_at.timestamp())

    # --- refresh ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Refresh every group of figures; never raises (module docstring). The first refresh
        opens ``/metrics`` (empty until then: no sample rather than a default 0)."""
        try:
            self._refresh(self.clock.now())
        finally:
            self._served.ready = True

    def _refresh(self, now: datetime) -> None:
        frames: dict[str, pd.DataFrame] | None = None
        for part in PARTS:
            try:
                if part in ("model", "ic", "data"):
                    if frames is None:
                        frames = self.view.analysed_frames()
                    getattr(self, f"_refresh_{part}")(now, frames)
                else:
                    getattr(self, f"_refresh_{part}")(now)
            except Exception as err:  # noqa: BLE001 - an observer never breaks the bot
                self.metrics.refresh_errors.labels(part).inc()
                if part not in self._failing:
                    logger.warning("Metrics: refreshing %s failed (%s: %s); its figures keep "
                                   "their last value until it recovers", part,
                                   type(err).__name__, err)
                    self._failing.add(part)
            else:
                if part in self._failing:
                    logger.info("Metrics: refreshing %s works again", part)
                    self._failing.discard(part)

    def _refresh_account(self, now: datetime) -> None:
        m, figures = self.metrics, self.view.account()
        if figures is None:
            return
        m.equity.labels(self.stake_currency).set(figures.equity)
        m.equity_peak.labels(self.stake_currency).set(figures.equity_peak)
        if figures.equity_peak > 0 and math.isfinite(figures.equity):
            m.drawdown_ratio.set(max(0.0, 1.0 - figures.equity / figures.equity_peak))
        m.open_trades.set(figures.open_trades)

    def _refresh_risk(self, now: datetime) -> None:
        m, decision = self.metrics, self.view.decision()
        m.trading_state.set(int(decision.state))
        tripped = {t.reason.value for t in decision.trips}
        for reason in BreakerReason:
            m.breaker_tripped.labels(reason.value).set(int(reason.value in tripped))
        m.kill_switch_engaged.set(int(self.view.kill_switch_locked(now)))

    def _refresh_stage(self, now: datetime) -> None:
        record = self.view.stage_record(now)
        name = self.view.strategy_name
        set_labelled(self.metrics.stage, {} if record is None else {
            (name, stage.value): float(stage == record.stage) for stage in Stage})

    def _refresh_model(self, now: datetime, frames: Mapping[str, pd.DataFrame]) -> None:
        m = self.metrics
        probs, weights, conf, preds, in_dist = {}, {}, {}, {}, {}
        for pair, frame in frames.items():
            fig = pair_model_figures(frame)
            probs.update({(pair, regime): p for regime, p in fig.regime_probabilities.items()})
            weights.update({(pair, regime): w for regime, w in fig.gate_weights.items()})
            preds.update({(pair, target): v for target, v in fig.predictions.items()})
            if fig.confidence is not None:
                conf[(pair,)] = fig.confidence
            if fig.do_predict is not None:
                in_dist[(pair,)] = fig.do_predict
        set_labelled(m.regime_probability_ratio, probs)
        set_labelled(m.gate_weight_ratio, weights)
        set_labelled(m.regime_confidence_ratio, conf)
        set_labelled(m.prediction, preds)
        set_labelled(m.prediction_in_distribution, in_dist)

    def _refresh_ic(self, now: datetime, frames: Mapping[str, pd.DataFrame]) -> None:
        m, horizon = self.metrics, self.view.label_horizon()
        values: dict[str, dict[tuple[str, str], float]] = {
            "ic": {}, "t": {}, "n": {}, "control": {}}
        if horizon is not None:
            for pair, frame in frames.items():
                if frame.empty or "date" not in frame.columns:
                    continue
                # out of sample: candles this process analysed live, after the first one
                first = self._first_live_candle.setdefault(pair, frame["date"].iloc[-1])
                since = max(first, frame["date"].iloc[-1]
                            - pd.Timedelta(days=self.config.ic_window_days))
                # labels mature once per candle: computed again only on a new candle
                last = frame["date"].iloc[-1]
                cached = self._ic_cache.get(pair)
                if cached is None or cached[0] != last:
                    labels = self.view.realized_labels(pair, frame)
                    results = {} if labels is None else live_ic(
                        frame, labels, horizon, self.view.timeframe, since)
                    self._ic_cache[pair] = cached = (last, results)
                for target, result in cached[1].items():
                    key = (pair, target)
                    values["ic"][key], values["t"][key] = result.ic, result.t_stat
                    values["n"][key], values["control"][key] = result.n_obs, result.control_ic
        set_labelled(m.prediction_ic, values["ic"])
        set_labelled(m.prediction_ic_tstat, values["t"])
        set_labelled(m.prediction_ic_samples, values["n"])
        set_labelled(m.prediction_ic_control, values["control"])

    def _refresh_data(self, now: datetime, frames: Mapping[str, pd.DataFrame]) -> None:
        m = self.metrics
        opened, processed = {}, {}
        for pair, frame in frames.items():
            if frame.empty or "date" not in frame.columns:
                continue
            last = pd.Timestamp(frame["date"].iloc[-1])
            if self._last_candle.get(pair) != last:
                self._last_candle[pair] = last
                self._processed_at[pair] = now.timestamp()
            opened[(pair,)] = last.timestamp()
            processed[(pair,)] = self._processed_at[pair]
        set_labelled(m.last_candle_open_timestamp_seconds, opened)
        set_labelled(m.last_candle_processed_timestamp_seconds, processed)
        ages = self.view.altdata_ages(now) or {}
        set_labelled(m.altdata_age_seconds, {(s,): a.age_s for s, a in ages.items()})
        set_labelled(m.altdata_max_age_seconds, {(s,): a.max_age_s for s, a in ages.items()})
        drift = self.view.drift_status()
        set_labelled(m.altdata_drift_alarms, {} if drift is None else {
            (source,): float(len(found)) for source, found in drift.items()})

    def _refresh_llm(self, now: datetime) -> None:
        if (self._llm_read_at is not None
                and self.clock.monotonic() - self._llm_read_at < self.config.llm_refresh_s):
            return
        self._llm_read_at = self.clock.monotonic()
        m, cfg = self.metrics, self.llm_config
        figures = llm_figures(Path(cfg.ledger_path), now)
        caps = {"day": cfg.daily_budget_usd, "month": cfg.monthly_budget_usd}
        for period, cap in caps.items():
            m.llm_budget_usd.labels(period).set(cap)
            m.llm_spent_usd.labels(period).set(figures["spent"][period])
            m.llm_budget_remaining_usd.labels(period).set(cap - figures["spent"][period])
        set_labelled(m.llm_tokens, {(kind,): n for kind, n in figures["tokens"].items()})


class AfterFirstRefresh:
    """What the HTTP server serves: ``registry``'s metrics once ``ready`` (after the first
    refresh of the bot loop), nothing before - a gauge never set would show 0, and an
    unknown kill switch must not read "not engaged"."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.ready = False

    def collect(self):
        if self.ready:
            yield from self.registry.collect()

    def restricted_registry(self, names) -> AfterFirstRefresh:
        """``/metrics?name[]=...`` (``prometheus_client.exposition``)."""
        restricted = AfterFirstRefresh(self.registry.restricted_registry(names))
        restricted.ready = self.ready
        return restricted


TOKEN_KINDS = ("input", "output", "cache_creation_input", "cache_read_input")


def llm_figures(ledger_path: Path, now: datetime) -> dict[str, Any]:
    """Billed USD of the UTC day and month and the month's tokens by kind (``TOKEN_KINDS``)
    from the call ledger at ``ledger_path``. No ledger file: nothing was called, all 0 (the
    file is not created here).

    Raises:
        LedgerUnreadableError: the file exists and is not a readable ledger.
    """
    zero = {"spent": {"day": 0.0, "month": 0.0}, "tokens": dict.fromkeys(TOKEN_KINDS, 0)}
    if not ledger_path.is_file():
        return zero
    ledger = Ledger(ledger_path)
    try:
        month = month_start(now)
        tokens = dict.fromkeys(TOKEN_KINDS, 0)
        for call in ledger.calls():
            if call.ts >= month:
                for kind in TOKEN_KINDS:
                    tokens[kind] += getattr(call.usage, f"{kind}_tokens")
        return {"spent": {"day": ledger.billed_since(day_start(now)),
                          "month": ledger.billed_since(month)}, "tokens": tokens}
    finally:
        ledger.close()


def start_exporter(view: MetricsView, clock: Clock,
                   wrap: Callable[[SuiteExporter], None] | None = None) -> SuiteExporter | None:
    """The exporter of ``view``'s bot, serving, when ``ai_suite.metrics.enabled``; else None.

    Args:
        view: the running bot.
        clock: its clock.
        wrap: called with the exporter before it serves (the guard hooks the bot loop and
            FreqAI's training timer to it).

    Raises:
        SuiteConfigError: ``ai_suite.metrics`` or ``ai_suite.llm`` is invalid.
        MetricsPortInUseError: the port is in use.
    """
    config = load_section(view.config, "metrics", MetricsConfig)
    if not config.enabled:
        return None
    exporter = SuiteExporter(view, config, clock)
    if wrap is not None:
        wrap(exporter)
    exporter.serve()
    return exporter

