"""The weekly review on a schedule: due at the configured weekday/time (UTC) of the bot's
clock, once per week across restarts (atomic marker), notified; a RegimeMoE-style strategy gets
a settings review with its regime and expert diagnostics through the real Anthropic client
against the local Messages API server, and its proposal is a diff that is never applied."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from freqtrade.persistence import Trade, init_db

from plugins.core.clock import FixedClock
from plugins.llm.config import WeeklyReviewConfig
from plugins.llm.testing.fake_server import FakeModel, Reply, serving
from plugins.rpc.llm_hooks import LlmUnavailable
from plugins.rpc.notify import Outbox
from plugins.rpc.registry import SuiteRpc
from plugins.rpc.status import Answer
from plugins.rpc.weekly import WeeklyReviews, last_slot, marker_path, regime_diagnostics
from tests.plugins.rpc.conftest import LLM_KEY_ENV, NOW, analysed_frame, dry_run_config, running_guard, service_for

WED_NOON = WeeklyReviewConfig(enabled=True, weekday="wed", time_utc="12:00")  # NOW is Wed 12:00


def _sent(outbox: Outbox) -> list[str]:
    texts: list[str] = []
    outbox.flush(texts.append)
    return texts


def _schedule(tmp_path, clock, review, cfg=WED_NOON, outbox=None):
    return WeeklyReviews(review, "RegimeMoE", cfg, tmp_path / "ai_suite" / "weekly_review.json",
                         outbox or Outbox(), clock, spawn=lambda job: job())


@pytest.mark.parametrize(("now", "slot"), [
    (datetime(2024, 3, 20, 12, 0, tzinfo=UTC), datetime(2024, 3, 20, 12, 0, tzinfo=UTC)),
    (datetime(2024, 3, 20, 11, 59, tzinfo=UTC), datetime(2024, 3, 13, 12, 0, tzinfo=UTC)),
    (datetime(2024, 3, 24, 3, 0, tzinfo=UTC), datetime(2024, 3, 20, 12, 0, tzinfo=UTC)),
])
def test_last_slot_when_before_or_after_the_weekly_time_then_latest_past_slot(now, slot):
    assert last_slot(now, WED_NOON) == slot


def test_tick_when_first_start_then_latest_slot_recorded_and_no_review(tmp_path):
    calls = []
    weekly = _schedule(tmp_path, FixedClock(NOW + timedelta(days=1)), calls.append)

    assert not weekly.tick()

    assert calls == []
    assert json.loads(weekly.marker.read_text()) == {"RegimeMoE": NOW.isoformat()}


def test_tick_when_weekly_time_reached_then_one_review_notified_and_not_repeated_after_restart(
        tmp_path):
    clock, outbox, calls = FixedClock(NOW - timedelta(minutes=1)), Outbox(), []

    def review(slot):
        calls.append(slot)
        return Answer({}, "Review config-20240320-abcd: fine")

    assert not _schedule(tmp_path, clock, review, outbox=outbox).tick()  # first start: records
    clock.set(NOW)
    weekly = _schedule(tmp_path, clock, review, outbox=outbox)
    assert weekly.tick() and calls == [NOW]
    assert not weekly.tick(), "the same slot runs once"
    restarted = _schedule(tmp_path, FixedClock(NOW + timedelta(hours=5)), review, outbox=outbox)
    assert not restarted.tick(), "a restart does not repeat the week's review"
    [text] = _sent(outbox)
    assert text.startswith("Weekly review of RegimeMoE (2024-03-20 12:00 UTC):\nReview config-")
    later = _schedule(tmp_path, FixedClock(NOW + timedelta(days=9)), review, outbox=outbox)
    assert later.tick() and calls == [NOW, NOW + timedelta(days=7)], "a missed week runs once"


def test_tick_when_llm_unavailable_then_reason_notified_and_week_marked(tmp_path):
    clock, outbox = FixedClock(NOW - timedelta(hours=1)), Outbox()

    def review(slot):
        raise LlmUnavailable("no API key and no cassette")

    _schedule(tmp_path, clock, review, outbox=outbox).tick()
    clock.set(NOW)
    assert _schedule(tmp_path, clock, review, outbox=outbox).tick()

    assert _sent(outbox) == ["Weekly review of RegimeMoE not available: no API key and no cassette"]
    assert json.loads((tmp_path / "ai_suite" / "weekly_review.json").read_text())["RegimeMoE"] == \
        NOW.isoformat()


def test_tick_when_marker_corrupt_then_no_review_and_marker_rewritten(tmp_path):
    calls = []
    weekly = _schedule(tmp_path, FixedClock(NOW), calls.append)
    weekly.marker.parent.mkdir(parents=True)
    weekly.marker.write_text("{not json")

    assert not weekly.tick()

    assert calls == [] and json.loads(weekly.marker.read_text()) == {"RegimeMoE": NOW.isoformat()}


NARRATIVE = {"summary": "Choppy week: the calm-bull expert carried most weight and lost.",
             "what_worked": ["exits"], "what_did_not": ["entries in the turbulent regime"],
             "suggestions": ["fewer regimes"],
             "config_changes": [
                 {"path": "ai_suite.regime.detector.n_regimes", "value_json": "2",
                  "why": "two regimes explain the week"},
                 {"path": "ai_suite.risk.max_drawdown_frac", "value_json": "0.5",
                  "why": "not allowed"}]}


def test_weekly_review_when_moe_strategy_then_settings_diff_with_diagnostics_never_applied(
        tmp_path, monkeypatch):
    model = FakeModel([]).add("HOOK: review.config", Reply.json(NARRATIVE))
    with serving(model) as server:
        monkeypatch.setenv(LLM_KEY_ENV, "sk-test")
        config = dry_run_config(tmp_path, "sqlite://", ai_suite={
            "llm": {"base_url": server.base_url, "weekly_review": WED_NOON.model_dump()},
            "regime": {"detector": {"n_regimes": 3}}})
        guard = running_guard(config)
        init_db(f"sqlite:///{tmp_path / 'trades.sqlite'}")
        service = service_for(guard)

        try:
            answer = service.weekly_review(NOW)
        finally:
            Trade.session.remove()

    assert answer.text.startswith("Review config-20240320-")
    assert "1 settings change(s) proposed as a diff for your approval (never applied)" in answer.text
    assert "1 rejected" in answer.text
    diff = (tmp_path / "llm" / "reviews" / answer.data["review_id"] / "config.diff").read_text()
    assert '-        "n_regimes": 3' in diff and '+        "n_regimes": 2' in diff
    assert config["ai_suite"]["regime"]["detector"]["n_regimes"] == 3, "never applied"
    meta = json.loads((tmp_path / "llm" / "reviews" / answer.data["review_id"] / "review.json")
                      .read_text())
    btc = meta["diagnostics"]["BTC/USDT"]
    assert btc["candles"] > 0 and abs(sum(btc["regime_share"].values()) - 1) < 1e-3
    assert "gate_weight_mean" in btc
    assert meta["rejected"][0]["reason"].startswith("ai_suite.risk.max_drawdown_frac is not a "
                                                    "reviewable setting")
    [request] = model.requests
    assert "statistics" in request.body["messages"][0]["content"]
    assert "diagnostics" in request.body["messages"][0]["content"]
    assert marker_path(config).name == "weekly_review.json"


def test_regime_diagnostics_when_no_candles_in_window_then_zero_count():
    frames = {"BTC/USDT": analysed_frame("BTC/USDT")}

    out = regime_diagnostics(frames, NOW + timedelta(days=1))

    assert out == {"BTC/USDT": {"candles": 0}}


def test_bot_loop_poll_when_weekly_time_reached_then_review_runs_and_notification_sent(
        tmp_path, freqtrade_db):
    guard = running_guard(dry_run_config(tmp_path, freqtrade_db))
    service = service_for(guard)
    sent: list[str] = []
    dp = SimpleNamespace(send_msg=lambda text, always_send=False: sent.append(text))
    suite = SuiteRpc(dp, SimpleNamespace(api_server=None, telegram=None), service, service.outbox)
    clock = FixedClock(NOW - timedelta(minutes=5))
    suite.weekly = WeeklyReviews(lambda slot: Answer({}, "Review ok"), guard.strategy_name, WED_NOON,
                                 marker_path(guard.config), service.outbox, clock,
                                 spawn=lambda job: job())
    suite.poll()
    clock.set(NOW)

    suite.poll()
    suite.poll()

    assert sent == ["Weekly review of TestBot (2024-03-20 12:00 UTC):\nReview ok"]
