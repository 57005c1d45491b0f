"""The guard's Prometheus exporter: a real guarded strategy (``conftest.GuardBot``), its
exporter serving over HTTP, the exposition parsed with ``prometheus_client.parser``."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from plugins.core.clock import FixedClock
from plugins.guard.metricsview import MetricsStrategyView, attach_metrics
from plugins.metrics.view import MetricsView

NOON = datetime(2024, 3, 6, 12, tzinfo=UTC)
NO_BLACKOUT = {"blackout_before_min": 0, "blackout_after_min": 0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def metrics_bot(make_bot, tmp_path):
    """A guarded strategy with stages, metrics on a free port and an LLM ledger path that
    does not exist (no call made)."""
    port = free_port()
    bot = make_bot(risk=NO_BLACKOUT, stages={"enabled": True, "initial": "canary"},
                   suite={"metrics": {"enabled": True, "port": port},
                          "llm": {"ledger_path": str(tmp_path / "none" / "ledger.sqlite")}})
    return bot, port


def test_bot_start_when_backtesting_with_metrics_enabled_then_no_exporter_and_port_free(
        metrics_bot):
    bot, port = metrics_bot

    assert bot.strategy.suite_metrics is None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # nobody listens: backtests never serve metrics


def test_view_when_guard_started_then_a_metrics_view_of_its_state(metrics_bot):
    bot, _ = metrics_bot
    bot.loop(NOON, 10_000.0)

    view = MetricsStrategyView(bot.strategy)

    assert isinstance(view, MetricsView)
    assert view.account().equity == 10_000.0 and view.account().open_trades == 0
    assert view.journal is bot.strategy.risk_journal and view.timeframe == "1h"
    assert view.label_horizon() is None and view.realized_labels("BTC/USDT", None) is None
    assert view.altdata_ages(NOON) is None and view.drift_status() is None


def test_breaker_trip_when_day_loss_then_gauge_state_and_counter_move(metrics_bot, tmp_path):
    bot, port = metrics_bot
    clock = FixedClock(NOON)
    bot.analysed(NOON)
    bot.loop(NOON, 10_000.0)
    exporter = attach_metrics(bot.strategy, clock)
    try:
        assert scrape(port) == {}, "nothing served before the first refresh"
        bot.strategy.analyze([])  # Freqtrade's analysis of the loop: the exporter refreshes
        calm = scrape(port)
        assert sample(calm, "ai_suite_breaker_tripped", breaker="daily_loss") == 0
        assert sample(calm, "ai_suite_breaker_trips_total", breaker="daily_loss") == 0
        assert sample(calm, "ai_suite_trading_state") == 0
        assert sample(calm, "ai_suite_equity", stake_currency="USDT") == 10_000.0
        assert sample(calm, "ai_suite_stage", strategy="GuardedStrategy", stage="canary") == 1
        assert sample(calm, "ai_suite_stage", strategy="GuardedStrategy", stage="active") == 0
        assert sample(calm, "ai_suite_llm_budget_remaining_usd", period="day") == 5.0
        assert not (tmp_path / "none").exists(), "the ledger is read, never created"

        later = NOON + timedelta(hours=1)
        clock.set(later)
        bot.loop(later, 9_600.0)  # a 4 % day loss, limit 3 %
        bot.strategy.analyze([])
        tripped = scrape(port)

        trips = bot.rows(kind="breaker")
        assert [r.reason for r in trips] == ["daily_loss"]
        assert sample(tripped, "ai_suite_breaker_tripped", breaker="daily_loss") == 1
        assert sample(tripped, "ai_suite_breaker_trips_total", breaker="daily_loss") == 1
        assert sample(tripped, "ai_suite_trading_state") == int(bot.strategy.risk_decision.state)
        assert sample(tripped, "ai_suite_trading_state") == 1, "REDUCING"
        assert sample(tripped, "ai_suite_kill_switch_engaged") == 0
        assert sample(tripped, "ai_suite_drawdown_ratio") == pytest.approx(0.04)
        assert sample(tripped, "ai_suite_equity_peak", stake_currency="USDT") == 10_000.0

        assert bot.confirm(later) is False  # denied by the breakers check, journaled
        denials = [r for r in bot.rows(kind="gate") if r.decision == "deny"]
        scraped = scrape(port)
        for reason in {r.reason for r in denials}:
            assert sample(scraped, "ai_suite_entry_denials_total", reason=reason) == sum(
                r.reason == reason for r in denials), "counted when scraped, from the journal"
    finally:
        exporter.close()


def test_attach_when_port_in_use_then_error_names_the_config_field(metrics_bot):
    bot, port = metrics_bot
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with pytest.raises(Exception, match=r"ai_suite\.metrics\.port: 127\.0\.0\.1:\d+ is "
                                            r"already in use") as err:
            attach_metrics(bot.strategy, FixedClock(NOON))
    assert type(err.value).__name__ == "MetricsPortInUseError"
