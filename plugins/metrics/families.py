"""Every metric the exporter serves, defined once on its own ``CollectorRegistry``.

Names follow Prometheus' conventions (https://prometheus.io/docs/practices/naming/): the
``ai_suite_`` prefix, base units in the name (``_seconds``, ``_usd``), ``_ratio`` for fractions
0..1, ``_total`` for counters (``prometheus_client`` adds it to a ``Counter``'s name), and
timestamps as ``_timestamp_seconds`` (Unix time, UTC). Money in the stake currency carries the
currency as the ``stake_currency`` label (Freqtrade's ``stake_currency``, e.g. ``USDT``).

A gauge of a figure that is unknown (NaN, no model yet, a source that cannot be read) has no
sample for that label set: the panel shows a gap, never a filled-in value.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from plugins.risk.checks import VENUE_CHECKS, Check
from plugins.risk.journal import DecisionJournal
from plugins.risk.state import BreakerReason

logger = logging.getLogger(__name__)

#: Prefix of every metric name.
PREFIX = "ai_suite_"


class SuiteMetrics:
    """The exporter's metric families (attributes named after the metric without the prefix).

    Args:
        registry: where they are registered (a fresh one by default, so that two bots in one
            test process do not collide, and nothing of ``prometheus_client``'s default
            process collectors is served under our name).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(PREFIX + name, doc, labels, registry=r)

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(PREFIX + name, doc, labels, registry=r)

        # account (the breakers' own snapshot of the latest bot loop)
        self.equity = gauge("equity", "Account equity (starting balance + closed profit + "
                            "unrealized profit at the last analysed close), stake currency",
                            ("stake_currency",))
        self.equity_peak = gauge("equity_peak", "Highest equity seen (the kill switch's "
                                 "anchor), stake currency", ("stake_currency",))
        self.drawdown_ratio = gauge("drawdown_ratio", "1 - equity / equity_peak (fraction)")
        self.open_trades = gauge("open_trades", "Open trades")
        # risk
        self.trading_state = gauge("trading_state", "Risk state of the latest bot loop: "
                                   "0 ACTIVE, 1 REDUCING (no new entries), 2 HALTED")
        self.breaker_tripped = gauge("breaker_tripped", "1 while the breaker holds (a trip of "
                                     "this loop or an active lock of the suite)", ("breaker",))
        self.kill_switch_engaged = gauge("kill_switch_engaged", "1 while the drawdown kill "
                                         "switch's lock is active (human reset needed)")
        self.stage = gauge("stage", "1 for the strategy's current deployment stage, 0 for "
                           "the others", ("strategy", "stage"))
        # model
        self.regime_probability_ratio = gauge(
            "regime_probability_ratio", "Regime probability on the last analysed candle",
            ("pair", "regime"))
        self.gate_weight_ratio = gauge("gate_weight_ratio", "Mixture gate's weight of the "
                                       "regime's expert on the last analysed candle",
                                       ("pair", "regime"))
        self.regime_confidence_ratio = gauge("regime_confidence_ratio", "Regime model's "
                                             "confidence on the last analysed candle", ("pair",))
        self.prediction = gauge("prediction", "FreqAI prediction on the last analysed candle "
                                "(the target's unit: a fraction of price for &-s_close)",
                                ("pair", "target"))
        self.prediction_in_distribution = gauge(
            "prediction_in_distribution", "FreqAI do_predict on the last analysed candle "
            "(1 = inside the training distribution)", ("pair",))
        self.prediction_ic = gauge(
            "prediction_ic", "Rolling out-of-sample rank IC of the live predictions against "
            "their matured labels (non-overlapping samples)", ("pair", "target"))
        self.prediction_ic_tstat = gauge("prediction_ic_tstat", "HAC t-statistic of "
                                         "ai_suite_prediction_ic", ("pair", "target"))
        self.prediction_ic_samples = gauge("prediction_ic_samples", "Non-overlapping matured "
                                           "samples behind ai_suite_prediction_ic",
                                           ("pair", "target"))
        self.prediction_ic_control = gauge(
            "prediction_ic_control", "No-skill control: the same IC with the predictions "
            "randomly permuted (seeded), same samples", ("pair", "target"))
        self.freqai_training_duration_seconds = gauge(
            "freqai_training_duration_seconds", "Wall time of the pair's latest FreqAI "
            "training", ("pair",))
        self.freqai_last_training_timestamp_seconds = gauge(
            "freqai_last_training_timestamp_seconds", "When the pair's latest FreqAI training "
            "finished (Unix time)", ("pair",))
        # data
        self.timeframe_seconds = gauge("timeframe_seconds", "The strategy's timeframe")
        self.last_candle_processed_timestamp_seconds = gauge(
            "last_candle_processed_timestamp_seconds", "When the bot first analysed the "
            "pair's latest candle (wall clock, Unix time)", ("pair",))
        self.last_candle_open_timestamp_seconds = gauge(
            "last_candle_open_timestamp_seconds", "Open time of the pair's latest analysed "
            "candle (Unix time; the recorded time on the replay exchange)", ("pair",))
        self.altdata_age_seconds = gauge(
            "altdata_age_seconds", "Age of the newest value of an alternative-data source "
            "known now (now - its first publication)", ("source",))
        self.altdata_max_age_seconds = gauge(
            "altdata_max_age_seconds", "The source's staleness limit (older = NaN features, "
            "no new entries that need them)", ("source",))
        self.altdata_drift_alarms = gauge("altdata_drift_alarms", "Drift findings of the "
                                          "source's latest check", ("source",))
        # LLM (the call ledger, shared by the bot and the CLIs)
        self.llm_tokens = gauge("llm_tokens", "LLM tokens in the ledger this UTC month, by "
                                "kind", ("kind",))
        self.llm_spent_usd = gauge("llm_spent_usd", "LLM cost billed this UTC day / month",
                                   ("period",))
        self.llm_budget_usd = gauge("llm_budget_usd", "The LLM budget cap of the UTC day / "
                                    "month (ai_suite.llm)", ("period",))
        self.llm_budget_remaining_usd = gauge("llm_budget_remaining_usd", "Budget cap - billed "
                                              "cost of the UTC day / month", ("period",))
        # the bot loop and the exporter itself
        self.bot_loop_duration_seconds = gauge(
            "bot_loop_duration_seconds", "Latest bot loop, from bot_loop_start to the end of "
            "the strategy's analysis of every pair (excludes order handling after it)")
        self.bot_loop_last_timestamp_seconds = gauge(
            "bot_loop_last_timestamp_seconds", "When the latest bot loop started (Unix time)")
        self.refresh_errors = counter("refresh_errors", "Refreshes of a group of metrics "
                                      "that failed (its figures stay at their last value or "
                                      "absent)", ("part",))
        for reason in BreakerReason:
            self.breaker_tripped.labels(reason.value).set(0)
        self.journal_counters = JournalCounters(self.refresh_errors)
        r.register(self.journal_counters)


def set_labelled(gauge: Gauge, values: Mapping[tuple[str, ...], float]) -> None:
    """Set ``gauge`` to exactly ``values`` (label values -> value): a label set that is not
    there, or whose value is None / NaN, loses its sample (unknown, not 0). ``+Inf`` is kept
    (Prometheus' own value for "beyond any limit", e.g. the age of a source with no data)."""
    wanted = {k: float(v) for k, v in values.items() if v is not None and not math.isnan(v)}
    for labels in list(gauge._metrics):  # noqa: SLF001 - prometheus_client has no public list
        if labels not in wanted:
            gauge.remove(*labels)
    for labels, value in wanted.items():
        gauge.labels(*labels).set(value)


def set_scalar(gauge: Gauge, value: float | None) -> None:
    """Set an unlabelled gauge; ``None`` / NaN leaves it as it was (it cannot lose its one
    sample) - callers that must show "unknown" use a labelled gauge."""
    if value is not None and math.isfinite(value):
        gauge.set(value)



class JournalCounters(Collector):
    """``ai_suite_breaker_trips_total{breaker}`` and ``ai_suite_entry_denials_total{reason}``:
    the journal's ``breaker``/``trip`` and ``gate``/``deny`` rows written since
    :meth:`start` (by any process), counted when scraped, so a scrape agrees with the journal
    read at that moment. Every breaker and every Freqtrade entry check has a sample from the
    start (0 until it happens).

    Args:
        errors: ``ai_suite_refresh_errors_total``; a journal that cannot be read counts there
            (``part="journal"``) and the counters keep their last values.
    """

    def __init__(self, errors: Counter) -> None:
        self._errors = errors
        self._lock = threading.Lock()
        self._journal: DecisionJournal | None = None
        self._cursor = 0
        self.trips = dict.fromkeys((r.value for r in BreakerReason), 0)
        self.denials = dict.fromkeys((c.value for c in Check if c not in VENUE_CHECKS), 0)

    def start(self, journal: DecisionJournal) -> None:
        """Count the rows of ``journal`` written from now on."""
        with self._lock:
            self._journal = journal
            self._cursor, _ = journal.counts_after(0)

    def sync(self) -> None:
        """Add the rows written since the last sync.

        Raises:
            sqlite3.Error: the journal cannot be read (nothing is counted).
        """
        with self._lock:
            if self._journal is None:
                return
            self._cursor, counts = self._journal.counts_after(self._cursor)
            for (kind, decision, reason), n in counts.items():
                if kind == "breaker" and decision == "trip":
                    self.trips[reason] = self.trips.get(reason, 0) + n
                elif kind == "gate" and decision == "deny":
                    self.denials[reason] = self.denials.get(reason, 0) + n

    def collect(self) -> Iterator[CounterMetricFamily]:
        try:
            self.sync()
        except Exception as err:  # noqa: BLE001 - a scrape must not fail on the journal
            self._errors.labels("journal").inc()
            logger.warning("Metrics: reading the decision journal failed (%s: %s)",
                           type(err).__name__, err)
        trips = CounterMetricFamily(PREFIX + "breaker_trips", "Breaker trips journaled since "
                                    "the bot started", labels=("breaker",))
        denials = CounterMetricFamily(PREFIX + "entry_denials", "Entry checks that denied an "
                                      "entry, journaled since the bot started, by check",
                                      labels=("reason",))
        with self._lock:
            for reason, n in sorted(self.trips.items()):
                trips.add_metric((reason,), n)
            for reason, n in sorted(self.denials.items()):
                denials.add_metric((reason,), n)
        yield trips
        yield denials

    def describe(self) -> list:
        return []  # dynamic: never collected at registration (no journal yet)
