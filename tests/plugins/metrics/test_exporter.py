"""The exporter's refresh, figures and serving, on a bot stand-in implementing the
``MetricsView`` Protocol with the suite's real objects (journal, ledger, stage record,
decisions); the guard's own view is tested in ``tests/plugins/guard/test_metricsview.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from plugins.core.clock import FixedClock
from plugins.core.config import SuiteConfigError, load_section
from plugins.llm.ledger import CallRecord, Ledger, TokenUsage
from plugins.metrics.config import MetricsConfig
from plugins.metrics.exporter import SuiteExporter, llm_figures, start_exporter
from plugins.metrics.view import AccountFigures, MetricsView, SourceAge
from plugins.risk.journal import DecisionJournal, JournalRow
from plugins.risk.state import BreakerReason, BreakerTrip, RiskDecision, TradingState

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
PAIR = "BTC/USDT"


class Bot:
    """A running bot as the exporter reads it (``MetricsView``), its state set by the test."""

    def __init__(self, tmp_path: Path, suite: dict | None = None) -> None:
        self.config = {"stake_currency": "USDT", "ai_suite": {
            "llm": {"ledger_path": str(tmp_path / "ledger.sqlite")}, **(suite or {})}}
        self.strategy_name, self.timeframe = "Probe", "1h"
        self.journal = DecisionJournal(tmp_path / "journal.sqlite")
        self.figures: AccountFigures | None = AccountFigures(9_000.0, 10_000.0, 2)
        self.risk = RiskDecision(TradingState.ACTIVE, ())
        self.frames: dict[str, pd.DataFrame] = {}
        self.labels: dict[str, pd.DataFrame] = {}
        self.horizon: int | None = None
        self.drift = None
        self.ages = None
        self.broken: set[str] = set()

    def _maybe_fail(self, what: str) -> None:
        if what in self.broken:
            raise RuntimeError(f"{what} unreadable")

    def account(self):
        self._maybe_fail("account")
        return self.figures

    def decision(self):
        return self.risk

    def kill_switch_locked(self, now):
        return any(t.reason == BreakerReason.DRAWDOWN_KILL_SWITCH for t in self.risk.trips)

    def stage_record(self, now):
        return None

    def analysed_frames(self):
        self._maybe_fail("frames")
        return self.frames

    def realized_labels(self, pair, frame):
        return self.labels.get(pair)

    def label_horizon(self):
        return self.horizon

    def drift_status(self):
        return self.drift

    def altdata_ages(self, now):
        return self.ages


def samples(exporter: SuiteExporter) -> dict[tuple[str, frozenset], float]:
    text = generate_latest(exporter.metrics.registry).decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def get(found: dict, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


@pytest.fixture
def bot(tmp_path):
    b = Bot(tmp_path)
    yield b
    b.journal.close()


def make(bot: Bot, **config) -> SuiteExporter:
    return SuiteExporter(bot, MetricsConfig(enabled=True, **config), FixedClock(NOW))


def test_stand_in_satisfies_the_protocol(bot):
    assert isinstance(bot, MetricsView)


def test_config_when_absent_then_off_on_loopback_and_bad_fields_are_named():
    cfg = load_section({}, "metrics", MetricsConfig)
    assert (cfg.enabled, cfg.host, cfg.port) == (False, "127.0.0.1", 9108)
    with pytest.raises(SuiteConfigError, match=r"ai_suite\.metrics\.host: .*IP address"):
        load_section({"ai_suite": {"metrics": {"host": "localhost:9"}}}, "metrics", MetricsConfig)
    with pytest.raises(SuiteConfigError, match=r"ai_suite\.metrics\.port"):
        load_section({"ai_suite": {"metrics": {"port": 80}}}, "metrics", MetricsConfig)


def test_start_when_disabled_then_no_exporter(bot):
    assert start_exporter(bot, FixedClock(NOW)) is None


def test_account_when_refreshed_then_equity_peak_drawdown_and_open_trades(bot):
    exporter = make(bot)
    exporter.refresh()
    found = samples(exporter)

    assert get(found, "ai_suite_equity", stake_currency="USDT") == 9_000.0
    assert get(found, "ai_suite_equity_peak", stake_currency="USDT") == 10_000.0
    assert get(found, "ai_suite_drawdown_ratio") == pytest.approx(0.1)
    assert get(found, "ai_suite_open_trades") == 2


def test_kill_switch_when_decision_halted_then_state_breaker_and_switch_gauges(bot):
    exporter = make(bot)
    bot.risk = RiskDecision(TradingState.HALTED, (BreakerTrip(
        TradingState.HALTED, BreakerReason.DRAWDOWN_KILL_SWITCH, "drawdown 20 % >= 15 %", None),))
    bot.journal.record(JournalRow(ts=NOW, kind="breaker", decision="trip",
                                  reason="drawdown_kill_switch"))
    exporter.refresh()
    found = samples(exporter)

    assert get(found, "ai_suite_trading_state") == 2
    assert get(found, "ai_suite_kill_switch_engaged") == 1
    assert get(found, "ai_suite_breaker_tripped", breaker="drawdown_kill_switch") == 1
    assert get(found, "ai_suite_breaker_trips_total", breaker="drawdown_kill_switch") == 1


def test_counters_when_rows_predate_the_exporter_then_only_new_rows_count(bot):
    bot.journal.record(JournalRow(ts=NOW, kind="gate", decision="deny", reason="rsi"))
    exporter = make(bot)
    bot.journal.record_many([JournalRow(ts=NOW, kind="gate", decision="deny", reason="rsi"),
                             JournalRow(ts=NOW, kind="gate", decision="pass", reason="rsi"),
                             JournalRow(ts=NOW, kind="gate", decision="deny", reason="regime")])

    found = samples(exporter)  # counted when scraped, no refresh needed

    assert get(found, "ai_suite_entry_denials_total", reason="rsi") == 1
    assert get(found, "ai_suite_entry_denials_total", reason="regime") == 1
    assert get(found, "ai_suite_entry_denials_total", reason="momentum") == 0
    assert samples(exporter) == found, "each row counted once"


def test_refresh_when_one_part_fails_then_others_refresh_and_the_error_is_counted(bot, caplog):
    bot.broken = {"account"}
    exporter = make(bot)
    exporter.refresh()
    exporter.refresh()
    found = samples(exporter)

    assert get(found, "ai_suite_refresh_errors_total", part="account") == 2
    assert get(found, "ai_suite_trading_state") == 0
    assert ("ai_suite_equity", frozenset({("stake_currency", "USDT")})) not in found
    assert caplog.text.count("refreshing account failed") == 1, "logged once until it recovers"


def regime_frame(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({
        "date": pd.date_range("2026-03-10", periods=n, freq="1h", tz="UTC"),
        "close": 100.0, "regime_label": 1, "regime": "calm_bull",
        "regime_prob_0": 0.2, "regime_prob_1": 0.8, "gate_weight_0": 0.3, "gate_weight_1": 0.7,
        "confidence": 0.8, "&-s_close": [0.01, 0.02, np.nan][:n] + [0.0] * max(0, n - 3),
        "&-s_close_mean": 0.0, "do_predict": 1})


def test_model_when_last_candle_has_regime_columns_then_named_probabilities_and_weights(bot):
    bot.frames = {PAIR: regime_frame()}
    exporter = make(bot)
    exporter.refresh()
    found = samples(exporter)

    assert get(found, "ai_suite_regime_probability_ratio", pair=PAIR, regime="calm_bull") == 0.8
    assert get(found, "ai_suite_regime_probability_ratio", pair=PAIR, regime="0") == 0.2
    assert get(found, "ai_suite_gate_weight_ratio", pair=PAIR, regime="calm_bull") == 0.7
    assert get(found, "ai_suite_regime_confidence_ratio", pair=PAIR) == 0.8
    assert get(found, "ai_suite_prediction_in_distribution", pair=PAIR) == 1
    assert (("ai_suite_prediction", frozenset({("pair", PAIR), ("target", "&-s_close")}))
            not in found), "NaN prediction: no sample, never a filled value"
    assert not any(name == "ai_suite_prediction" for name, _ in found), "_mean is not a target"


def test_model_when_pair_leaves_the_whitelist_then_its_samples_go(bot):
    bot.frames = {PAIR: regime_frame()}
    exporter = make(bot)
    exporter.refresh()
    bot.frames = {}
    exporter.refresh()

    assert not any(dict(labels).get("pair") == PAIR for _, labels in samples(exporter))


def test_data_when_new_candle_then_processed_time_moves_and_sources_show_age_and_drift(bot):
    clock = FixedClock(NOW)
    exporter = SuiteExporter(bot, MetricsConfig(enabled=True), clock)
    bot.frames = {PAIR: regime_frame(2)}
    bot.ages = {"fred": SourceAge(7200.0, 86400.0), "empty": SourceAge(float("inf"), 3600.0)}
    bot.drift = {"fred": [{"kind": "outlier"}], "glassnode": []}
    exporter.refresh()
    clock.advance(timedelta(minutes=5))
    exporter.refresh()  # same candle: processed time stays
    first = samples(exporter)
    clock.advance(timedelta(minutes=60))
    bot.frames = {PAIR: regime_frame(3)}
    exporter.refresh()
    second = samples(exporter)

    name = "ai_suite_last_candle_processed_timestamp_seconds"
    assert get(first, name, pair=PAIR) == NOW.timestamp()
    assert get(second, name, pair=PAIR) == (NOW + timedelta(minutes=65)).timestamp()
    assert get(second, "ai_suite_last_candle_open_timestamp_seconds", pair=PAIR) == \
        pd.Timestamp("2026-03-10 02:00", tz="UTC").timestamp()
    assert get(second, "ai_suite_altdata_age_seconds", source="fred") == 7200.0
    assert get(second, "ai_suite_altdata_age_seconds", source="empty") == float("inf")
    assert get(second, "ai_suite_altdata_max_age_seconds", source="fred") == 86400.0
    assert get(second, "ai_suite_altdata_drift_alarms", source="fred") == 1
    assert get(second, "ai_suite_altdata_drift_alarms", source="glassnode") == 0


def test_llm_when_ledger_has_calls_then_month_tokens_spend_and_remaining_budget(bot, tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    usage = TokenUsage(input_tokens=100, output_tokens=20, cache_read_input_tokens=5)
    for ts, billed in ((NOW - timedelta(hours=1), 0.5), (NOW - timedelta(days=3), 1.5),
                       (NOW - timedelta(days=40), 9.0)):  # last month: not counted
        ledger.record(CallRecord(ts, "ideas", "h", "m", "api", "end_turn", usage, billed, billed))
    ledger.close()
    exporter = make(bot)
    exporter.refresh()
    found = samples(exporter)

    assert get(found, "ai_suite_llm_spent_usd", period="day") == 0.5
    assert get(found, "ai_suite_llm_spent_usd", period="month") == 2.0
    assert get(found, "ai_suite_llm_budget_usd", period="month") == 50.0
    assert get(found, "ai_suite_llm_budget_remaining_usd", period="month") == 48.0
    assert get(found, "ai_suite_llm_budget_remaining_usd", period="day") == 4.5
    assert get(found, "ai_suite_llm_tokens", kind="input") == 200
    assert get(found, "ai_suite_llm_tokens", kind="cache_read_input") == 10


def test_llm_figures_when_no_ledger_then_zero_and_no_file_created(tmp_path):
    figures = llm_figures(tmp_path / "llm" / "ledger.sqlite", NOW)

    assert figures["spent"] == {"day": 0.0, "month": 0.0}
    assert not (tmp_path / "llm").exists()


def test_training_when_freqai_reports_then_duration_and_end_time(bot):
    exporter = make(bot)
    exporter.training_finished(PAIR, 12.5, NOW)
    found = samples(exporter)

    assert get(found, "ai_suite_freqai_training_duration_seconds", pair=PAIR) == 12.5
    assert get(found, "ai_suite_freqai_last_training_timestamp_seconds", pair=PAIR) == \
        NOW.timestamp()


def test_loop_when_analysis_takes_time_then_duration_from_bot_loop_start(bot):
    clock = FixedClock(NOW)
    exporter = SuiteExporter(bot, MetricsConfig(enabled=True), clock)
    exporter.loop_started()
    clock.advance(timedelta(seconds=3))
    exporter.loop_finished()
    found = samples(exporter)

    assert get(found, "ai_suite_bot_loop_duration_seconds") == 3.0
    assert get(found, "ai_suite_bot_loop_last_timestamp_seconds") == NOW.timestamp()


def test_ic_when_labels_mature_then_ic_of_candles_analysed_live_beside_control(bot):
    from tests.plugins.metrics.test_frames import HORIZON, frames

    frame, labels, since = frames()
    bot.horizon = HORIZON
    bot.frames, bot.labels = {PAIR: frame[frame["date"] < since]}, {}
    exporter = make(bot)
    exporter.refresh()  # first refresh: the live predictions start after this candle
    assert not any(name == "ai_suite_prediction_ic" for name, _ in samples(exporter))
    bot.frames, bot.labels = {PAIR: frame}, {PAIR: labels}
    exporter.refresh()
    found = samples(exporter)

    labels_of = {"pair": PAIR, "target": "&-s_close"}
    assert get(found, "ai_suite_prediction_ic", **labels_of) > 0.5
    assert abs(get(found, "ai_suite_prediction_ic_control", **labels_of)) < 0.2
    assert get(found, "ai_suite_prediction_ic_tstat", **labels_of) > 3
    assert get(found, "ai_suite_prediction_ic_samples", **labels_of) > 50
