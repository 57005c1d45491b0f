"""The live loop end to end: ``freqtrade trade --dry-run`` on the replay exchange with the
suite's REST routes registered by ``plugins.rpc`` (behind Freqtrade's own auth), a kill switch
shown by ``/api/v1/suite/breakers`` and lifted by ``POST killswitch_reset``, state that
survives a restart, and notifications delivered to a local webhook receiver. The suite's
Prometheus exporter is on: its scrapes agree with the bot (``metrics_scrape``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from freqtrade_client import FtRestClient

from plugins.risk.account import PEAK_KEY
from plugins.risk.journal import DecisionJournal
from tests.conftest import REPO_ROOT
from tests.e2e.helpers import FREQTRADE, e2e_configs, free_port, wait_for
from tests.e2e.metrics_scrape import JournalMoved, check_halted_bot, scrape, value

pytestmark = pytest.mark.slow

USER, PASSWORD = "rpc-e2e", "rpc-e2e-password"
GETS = ("regime", "breakers", "journal", "stage", "brief", "drift")
KILL = "drawdown_kill_switch"


def start_bot(configs: list[str], log: Path) -> subprocess.Popen:
    env = dict(os.environ, FREQTRADE__API_SERVER__USERNAME=USER,
               FREQTRADE__API_SERVER__PASSWORD=PASSWORD)
    return subprocess.Popen([*FREQTRADE, "trade", "--dry-run", *configs], cwd=REPO_ROOT, env=env,
                            stdout=log.open("a"), stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=90)


def suite(client: FtRestClient, route: str, **params) -> dict | None:
    """GET /api/v1/suite/<route> through freqtrade-client's generic call (None if down)."""
    answer = client._get(f"suite/{route}", params=params or None)
    return answer if isinstance(answer, dict) and "detail" not in answer else None


def kill_switch_locks(client: FtRestClient) -> list[dict] | None:
    breakers = suite(client, "breakers")
    if breakers is None:
        return None
    return [lock for lock in breakers["locks"] if lock["breaker"] == KILL]


def webhook_texts(httpserver) -> list[str]:
    return [json.loads(request.get_data())["text"] for request, _ in httpserver.log]


def test_live_loop_when_kill_switch_trips_then_rest_shows_it_survives_restart_and_reset_lifts_it(
        tmp_path, candle_datadir, altdata_cache, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    exchange_port, api_port, metrics_port = free_port(), free_port(), free_port()
    exchange_log, bot_log = tmp_path / "exchange.log", tmp_path / "bot.log"
    db = tmp_path / "dryrun.sqlite"
    # An equity peak of 20 000 USDT from earlier runs, 10 000 in the wallet: a 50 % drawdown.
    with DecisionJournal(tmp_path / "dryrun.journal.sqlite") as journal:
        journal.set_state(PEAK_KEY, "20000.0")
    exchange = subprocess.Popen(
        [sys.executable, "-m", "adapters.replay_exchange", "--datadir", str(candle_datadir),
         "--port", str(exchange_port), "--replay-start", "2024-03-20T00:00"],
        cwd=REPO_ROOT, stdout=exchange_log.open("w"), stderr=subprocess.STDOUT)
    configs = e2e_configs(tmp_path, f"http://127.0.0.1:{exchange_port}/api/v3",
                          tmp_path / "data", {
        "strategy": "RiskScenario", "freqai": {"enabled": False}, "db_url": f"sqlite:///{db}",
        "exchange": {"pair_whitelist": ["BTC/USDT"]}, "internals": {"process_throttle_secs": 1},
        # The replay serves the candle of 2024-03-20 at the wall's time of day: the entry gates
        # and the FOMC blackout of that day (18:00 UTC) would deny the entry after the reset at
        # some hours of the day, so they are off; this test is about the kill switch.
        "ai_suite": {"altdata": {"cache_dir": str(altdata_cache)},
                     "risk": {"gates": {"enabled": False}, "blackout_before_min": 0,
                              "blackout_after_min": 0},
                     "stages": {"enabled": True, "initial": "canary"},
                     "metrics": {"enabled": True, "port": metrics_port}},
        "api_server": {"enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": api_port,
                       "verbosity": "error", "enable_openapi": False, "CORS_origins": [],
                       "jwt_secret_key": "rpc-e2e-jwt-secret-at-least-32-characters"},
        "webhook": {"enabled": True, "url": httpserver.url_for("/hook"), "format": "json",
                    "allow_custom_messages": True, "strategy_msg": {"text": "{msg}"}},
    }) + ["--strategy-path", str(REPO_ROOT / "tests/e2e/strategies")]
    # The shipped config/dryrun.json (API server, allow_custom_messages), under this test's
    # overlay (its database, ports and webhook URL).
    overlay = configs.index(str(tmp_path / "test.json")) - 1
    configs[overlay:overlay] = ["-c", str(REPO_ROOT / "config" / "dryrun.json")]
    client = FtRestClient(f"http://127.0.0.1:{api_port}", USER, PASSWORD)
    base = f"http://127.0.0.1:{api_port}/api/v1/suite"
    bot = None
    try:
        wait_for("the replay exchange", lambda: _up(exchange_port), 60, exchange, exchange_log)
        bot = start_bot(configs, bot_log)
        [lock] = wait_for("the kill switch in /api/v1/suite/breakers",
                          lambda: kill_switch_locks(client), 120, bot, bot_log)
        assert lock["resets"].startswith("human reset") and lock["seconds_to_reset"] is None
        halted = wait_for("the HALTED state", lambda: _state(client, "HALTED"), 30, bot, bot_log)
        assert halted["trips"][0]["breaker"] == KILL
        wait_for("a scrape that agrees with the halted bot", lambda: _metrics_agree(
            metrics_port, client, tmp_path / "dryrun.journal.sqlite"), 60, bot, bot_log)
        for route in GETS:
            assert requests.get(f"{base}/{route}", auth=(USER, PASSWORD), timeout=10).ok, route
            assert requests.get(f"{base}/{route}", timeout=10).status_code == 401, route
        assert requests.post(f"{base}/killswitch_reset", json={"confirm": "CONFIRM"},
                             timeout=10).status_code == 401
        review = requests.get(f"{base}/review", auth=(USER, PASSWORD), timeout=10)
        assert review.status_code == 503 and review.json()["detail"].startswith("not available")
        candles = wait_for("risk_state in the analysed candles",
                           lambda: _last_risk_state(client), 60, bot, bot_log)
        assert candles == 2, "the kill switch shows as HALTED on FreqUI's chart"
        wait_for("the trip notification at the webhook",
                 lambda: any(t.startswith(f"Breaker {KILL.replace('_', ' ')} tripped") for t in
                             webhook_texts(httpserver)), 60, bot, bot_log)
        assert stop(bot) == 130

        bot = start_bot(configs, bot_log)
        assert len(wait_for("the REST API after restart", lambda: kill_switch_locks(client),
                            120, bot, bot_log)) == 1, "the kill switch survives the restart"
        assert suite(client, "stage")["stage"] == "canary", "the stage survives the restart"
        trips = suite(client, "journal", kind="breaker", reason=KILL)["rows"]
        assert trips, "the journal of the first run is read after the restart"

        wait_for("the kill-switch gauge after restart", lambda: _gauges(
            metrics_port, ai_suite_kill_switch_engaged=1, ai_suite_trading_state=2), 30, bot,
            bot_log)
        reset = client._post("suite/killswitch_reset", data={"confirm": "CONFIRM"})
        assert reset["reset"] is True and reset["lifted"] == 1 and reset["by"] == f"rest:{USER}"
        assert kill_switch_locks(client) == []
        wait_for("trading to resume", lambda: _state(client, "ACTIVE"), 60, bot, bot_log)
        wait_for("the kill-switch gauge to drop", lambda: _gauges(
            metrics_port, ai_suite_kill_switch_engaged=0, ai_suite_trading_state=0), 30, bot,
            bot_log)
        # The loop that turned ACTIVE goes on to enter (RiskScenario signals); stopping the bot
        # in the middle of that entry's commit makes Freqtrade log a traceback at cleanup.
        # RiskScenario signals on even UTC hours only (the replay serves the wall's hour).
        if _last_candle_column(client, "enter_long") == 1:
            wait_for("the first entry after the reset", lambda: client.status(), 60, bot,
                     bot_log)
        wait_for("the reset notification at the webhook",
                 lambda: any(t.startswith(f"Kill switch reset by rest:{USER}") for t in
                             webhook_texts(httpserver)), 60, bot, bot_log)
        assert client.locks()["lock_count"] == 0, "Freqtrade's own /locks agrees"
        assert stop(bot) == 130
    finally:
        for proc in (bot, exchange):
            if proc is not None and proc.poll() is None:
                proc.kill()
    log = bot_log.read_text()
    assert log.count("Suite REST routes registered under /api/v1/suite") == 2
    assert "Traceback" not in log, log[-3000:]
    with DecisionJournal(tmp_path / "dryrun.journal.sqlite") as journal:
        resets = journal.query(kind="reset")
    assert [r.reason for r in resets] == [KILL] and f"rest:{USER}" in resets[0].detail


def _metrics_agree(port: int, client: FtRestClient, journal: Path) -> bool:
    """The exporter agrees with the halted bot (asserts), once it has seen the HALTED loop
    and the journal was not written during the scrape (False: try again)."""
    samples = scrape(port)
    if samples is None or value(samples, "ai_suite_trading_state") != 2:
        return False
    try:
        return bool(check_halted_bot(port, client, journal, "RiskScenario", "canary",
                                     "BTC/USDT"))
    except JournalMoved:
        return False


def _gauges(port: int, **expected: float) -> bool:
    samples = scrape(port)
    return samples is not None and all(value(samples, k) == v for k, v in expected.items())


def _state(client: FtRestClient, state: str) -> dict | None:
    breakers = suite(client, "breakers")
    return breakers if breakers is not None and breakers["state"] == state else None


def _last_candle_column(client: FtRestClient, column: str) -> float | None:
    candles = client.pair_candles("BTC/USDT", "1h", limit=1)
    if not candles or column not in candles.get("columns", []):
        return None
    return candles["data"][-1][candles["columns"].index(column)]


def _last_risk_state(client: FtRestClient) -> int | None:
    candles = client.pair_candles("BTC/USDT", "1h", limit=3)
    if not candles or "risk_state" not in candles.get("columns", []):
        return None
    return candles["data"][-1][candles["columns"].index("risk_state")]


def _up(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/v3/ping", timeout=2).ok
    except requests.ConnectionError:
        return False
