"""Notifications: the kill-switch reset, drift alerts (each finding once) and review-ready go
through ``dp.send_msg`` and reach a local webhook receiver via Freqtrade's real Webhook RPC
(``allow_custom_messages``), as in a running bot."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from freqtrade.persistence import PairLocks
from freqtrade.rpc.rpc_manager import RPCManager

from plugins.altdata.drift import DriftMonitor
from plugins.core.clock import FixedClock
from plugins.rpc.notify import DriftAlerts, Outbox, notification_text, review_ready_text
from plugins.rpc.registry import attach
from tests.plugins.rpc.conftest import NOW, dry_run_config, running_guard
from tests.plugins.rpc.test_status import real_fear_greed

KILL_REASON = "ai_suite:drawdown_kill_switch: drawdown 50.00% >= 15.00%; human reset needed"


@pytest.fixture
def webhook_config(tmp_path, freqtrade_db, httpserver) -> dict:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return dry_run_config(tmp_path, freqtrade_db, webhook={
        "enabled": True, "url": httpserver.url_for("/hook"), "format": "json",
        "allow_custom_messages": True, "strategy_msg": {"text": "{msg}"}})


def attach_guard(guard):
    return attach(guard, guard.dp, FixedClock(NOW))


def received(httpserver) -> list[str]:
    return [json.loads(request.get_data())["text"] for request, _ in httpserver.log]


def bot_loop(suite, manager) -> None:
    """What Freqtrade's loop does around our code: ``bot_loop_start`` (the guard calls
    ``poll()``), then ``process_msg_queue`` delivers the strategy messages."""
    suite.poll()
    manager.process_msg_queue(suite.dp._msg_queue)


def test_reset_and_drift_notifications_reach_the_webhook_once(webhook_config, httpserver):
    manager = RPCManager(SimpleNamespace(config=webhook_config))
    drift = DriftMonitor()
    drift.check("fear_greed", real_fear_greed()[:"2018-04-25"])
    suite = attach_guard(running_guard(webhook_config, rpc=manager, drift=drift))
    PairLocks.lock_pair("*", NOW + timedelta(days=3650), KILL_REASON, now=NOW, side="*")
    request = threading.Thread(target=lambda: suite.service.killswitch_reset(by="rest:alice"))
    request.start()  # a REST request: the reset runs in the next bot loop
    while request.is_alive():
        bot_loop(suite, manager)
        request.join(0.01)

    bot_loop(suite, manager)  # the same drift finding is not sent again

    texts = received(httpserver)
    assert len(texts) == 2
    reset, alert = sorted(texts, key=lambda text: not text.startswith("Kill switch"))
    assert reset.startswith("Kill switch reset by rest:alice: 1 lock(s) lifted")
    # underscores become spaces: Telegram would read them as legacy-Markdown italics
    assert alert.startswith("Alt-data drift: fear greed.fng value: 64 is +7.6 sd")


def test_new_drift_finding_after_a_later_check_is_sent(webhook_config, httpserver):
    manager = RPCManager(SimpleNamespace(config=webhook_config))
    drift = DriftMonitor()
    series = real_fear_greed()
    suite = attach_guard(running_guard(webhook_config, rpc=manager, drift=drift))
    drift.check("fear_greed", series[:"2018-04-25"])
    bot_loop(suite, manager)

    drift.check("fear_greed", series[:"2018-09-21"])  # a new outlier (31 after ~20)
    bot_loop(suite, manager)

    assert [t.split(":", 2)[2].split(" is ")[0].strip() for t in received(httpserver)] == ["64", "31"]


def test_outbox_when_filled_from_threads_then_flushed_once_in_order():
    outbox = Outbox()
    outbox.put("a")
    outbox.put("b")
    sent = []

    assert outbox.flush(sent.append) == 2 and outbox.flush(sent.append) == 0
    assert sent == ["a", "b"]


def test_drift_alerts_report_schema_changes_too():
    monitor = DriftMonitor()
    monitor.record_schema_error("coinmetrics", ValueError("field 'FlowInExNtv' missing"))

    [text] = DriftAlerts().new(monitor.status())

    assert text == "Alt-data schema change: coinmetrics.*: field 'FlowInExNtv' missing"
    assert notification_text(text) == "Alt-data schema change: coinmetrics.: field 'FlowInExNtv' missing"


def test_review_ready_text_names_the_approve_command():
    assert review_ready_text("r-7", "Cut stakes in high_vol regimes.") == (
        "Review r-7 ready: Cut stakes in high_vol regimes. Approve with /approve r-7")


def test_poll_when_a_step_fails_then_logged_and_the_other_steps_still_run(
        webhook_config, httpserver, caplog):
    class BrokenMonitor:
        def status(self):
            raise OSError("drift store unreadable")

    manager = RPCManager(SimpleNamespace(config=webhook_config))
    suite = attach_guard(running_guard(webhook_config, rpc=manager, drift=BrokenMonitor()))
    suite.outbox.put("still delivered")

    bot_loop(suite, manager)  # must not raise: the guard calls it inside bot_loop_start

    assert received(httpserver) == ["still delivered"]
    assert "Suite RPC drift alerts failed" in caplog.text
