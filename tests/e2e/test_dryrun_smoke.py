"""``freqtrade trade --dry-run`` on the replay exchange in replay mode, driven over REST: the
default config (RegimeMoE on RegimeGatedMoE) trains, predicts regimes, and after a restart
reuses its saved models."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pandas as pd
import pytest
import requests
from freqtrade_client import FtRestClient

from plugins.altdata.config import AltDataConfig
from plugins.altdata.registry import build_providers
from tests.conftest import REPO_ROOT
from tests.e2e.helpers import FREQTRADE, e2e_configs, free_port, wait_for

pytestmark = pytest.mark.slow

REPLAY_START = "2024-03-20T00:00"
API_USER = "suite-e2e"
API_PASSWORD = "e2e-password-not-a-secret"


def altdata_for_replay(cache_dir, replay_start: str) -> dict:
    """``ai_suite`` for a replay dry-run: the shipped alt data shifted like the candles, and
    every provider's live refresh aimed at a closed local port (no internet here: refreshes
    fail, are logged once, and the shipped values stay until they go stale)."""
    shift = (pd.Timestamp.now(tz="UTC").normalize() - pd.Timestamp(replay_start, tz="UTC")).days
    names = [p.name for p in build_providers(AltDataConfig())]
    return {"altdata": {"cache_dir": str(cache_dir), "replay_shift_days": shift,
                        "providers": {n: {"base_url": "http://127.0.0.1:9"} for n in names}}}


def test_dry_run_when_replaying_real_candles_then_bot_processes_candles_answers_rest_and_exits_cleanly(
        tmp_path, candle_datadir, altdata_cache):
    exchange_port, api_port = free_port(), free_port()
    exchange_log = tmp_path / "replay_exchange.log"
    bot_log = tmp_path / "freqtrade.log"
    exchange = subprocess.Popen(
        [sys.executable, "-m", "adapters.replay_exchange", "--datadir", str(candle_datadir),
         "--port", str(exchange_port), "--replay-start", REPLAY_START],
        cwd=REPO_ROOT, stdout=exchange_log.open("w"), stderr=subprocess.STDOUT)
    api_url = f"http://127.0.0.1:{exchange_port}/api/v3"
    bot = None
    try:
        wait_for("the replay exchange", lambda: _pings(api_url), 60, exchange, exchange_log)
        configs = e2e_configs(tmp_path, api_url, tmp_path / "dryrun_data", {
            "db_url": f"sqlite:///{tmp_path / 'dryrun.sqlite'}",
            "exchange": {"pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
            "freqai": {"identifier": "e2e-dryrun", "train_period_days": 10},
            "internals": {"process_throttle_secs": 2},
            "ai_suite": {**altdata_for_replay(altdata_cache, REPLAY_START),
                         # 10 days leave ~170 training rows after FreqAI's split
                         "regime": {"detector": {"min_rows": 100}}},
            "api_server": {"enabled": True, "listen_ip_address": "127.0.0.1",
                           "listen_port": api_port, "verbosity": "error",
                           "enable_openapi": False, "CORS_origins": [],
                           "jwt_secret_key": "e2e-jwt-secret-at-least-32-characters-long"},
        })
        env = dict(os.environ, FREQTRADE__API_SERVER__USERNAME=API_USER,
                   FREQTRADE__API_SERVER__PASSWORD=API_PASSWORD)
        def start_bot():
            return subprocess.Popen([*FREQTRADE, "trade", "--dry-run", *configs],
                                    cwd=REPO_ROOT, env=env, stdout=bot_log.open("a"),
                                    stderr=subprocess.STDOUT)

        bot = start_bot()
        client = FtRestClient(f"http://127.0.0.1:{api_port}", API_USER, API_PASSWORD)

        wait_for("the REST API", lambda: (client.ping() or {}).get("status") == "pong", 120,
                 bot, bot_log)
        candles = wait_for("analysed candles", lambda: _analysed_candles(client), 120, bot,
                           bot_log)
        models = tmp_path / "user_data" / "models" / "e2e-dryrun"
        wait_for("FreqAI models trained on the replayed candles",
                 lambda: {p.parent.name.split("_")[0] for p in models.glob("sub-train-*/*_model.*")}
                 >= {"sub-train-BTC", "sub-train-ETH"}, 240, bot, bot_log)

        assert candles["columns"][:6] == ["date", "open", "high", "low", "close", "volume"]
        assert isinstance(client.status(), list)
        assert client.count()["max"] == 3
        assert client.locks()["lock_count"] == 0
        unauthorized = requests.get(f"http://127.0.0.1:{api_port}/api/v1/status", timeout=5)
        assert unauthorized.status_code == 401

        bot.send_signal(signal.SIGTERM)
        # freqtrade turns SIGTERM into KeyboardInterrupt, cleans up, and exits with 130.
        assert bot.wait(timeout=90) == 130, bot_log.read_text()[-3000:]
        trainings = bot_log.read_text().count("Starting training")

        # FreqAI trains in the background, so the first run's candles were analysed before any
        # model existed (predictions would start with the next hourly candle). After a restart
        # the saved models predict at once: regime columns on the first analysed candle.
        bot = start_bot()
        regimes = wait_for("regime columns after the restart",
                           lambda: _analysed_candles(client, "regime"), 180, bot, bot_log)
        assert {"regime_label", "regime_prob_0", "gate_weight_0", "expert_pred_0",
                "confidence"} <= set(regimes["columns"])
        log = bot_log.read_text()
        assert "Found existing historic predictions" in log, "FreqAI reloads its saved state"
        assert log.count("Starting training") == trainings, "the saved models are reused"
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=90) == 130, bot_log.read_text()[-3000:]
    finally:
        for proc in (bot, exchange):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    log = bot_log.read_text()
    assert "Cleaning up modules" in log
    assert "Traceback" not in log and " - ERROR - " not in log, log[-3000:]


def _pings(api_url: str) -> bool:
    try:
        return requests.get(f"{api_url}/ping", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def _analysed_candles(client: FtRestClient, column: str = "do_predict") -> dict | None:
    """The analysed BTC/USDT candles, once the strategy (and FreqAI) has produced ``column``
    with a value on the last candle."""
    try:
        candles = client.pair_candles("BTC/USDT", "1h", limit=5)
    except requests.ConnectionError:
        return None
    if not candles or not candles.get("data") or column not in candles["columns"]:
        return None
    if candles["data"][-1][candles["columns"].index(column)] in (None, ""):
        return None
    return candles
