"""The kill switch in ``freqtrade trade --dry-run``: a global lock in /locks that survives a
restart and is lifted only by the human reset command. The deployment stage is persisted the
same way, and a demotion from the CLI reaches the running bot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from freqtrade_client import FtRestClient

from plugins.risk.account import PEAK_KEY
from plugins.risk.journal import DecisionJournal
from plugins.risk.stages import STORE_NAME, Stage, StageStore
from tests.conftest import REPO_ROOT
from tests.e2e.helpers import FREQTRADE, e2e_configs, free_port, wait_for

pytestmark = pytest.mark.slow

USER, PASSWORD = "risk-e2e", "risk-e2e-password"
KILL = "ai_suite:drawdown_kill_switch"


def start_bot(configs: list[str], log: Path) -> subprocess.Popen:
    env = dict(os.environ, FREQTRADE__API_SERVER__USERNAME=USER,
               FREQTRADE__API_SERVER__PASSWORD=PASSWORD)
    return subprocess.Popen([*FREQTRADE, "trade", "--dry-run", *configs], cwd=REPO_ROOT, env=env,
                            stdout=log.open("a"), stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=90)


def kill_switch_locks(client: FtRestClient) -> list[dict] | None:
    locks = client.locks()
    if not locks:
        return None
    return [lk for lk in locks["locks"] if lk["reason"].startswith(KILL) and lk["active"]]


def test_kill_switch_when_drawdown_from_persisted_peak_then_lock_survives_restart_until_reset(
        tmp_path, candle_datadir, altdata_cache):
    exchange_port, api_port = free_port(), free_port()
    exchange_log, bot_log = tmp_path / "exchange.log", tmp_path / "bot.log"
    db = tmp_path / "dryrun.sqlite"
    # The journal remembers an equity peak of 20 000 USDT from earlier runs; the wallet holds
    # 10 000: a 50 % drawdown, far past max_drawdown_frac 0.15.
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
        "ai_suite": {"altdata": {"cache_dir": str(altdata_cache)},
                     "stages": {"enabled": True, "initial": "canary"}},
        "api_server": {"enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": api_port,
                       "verbosity": "error", "enable_openapi": False, "CORS_origins": [],
                       "jwt_secret_key": "risk-e2e-jwt-secret-at-least-32-characters"},
    }) + ["--strategy-path", str(REPO_ROOT / "tests/e2e/strategies")]
    client = FtRestClient(f"http://127.0.0.1:{api_port}", USER, PASSWORD)
    bot = None
    try:
        wait_for("the replay exchange", lambda: _up(exchange_port), 60, exchange, exchange_log)
        bot = start_bot(configs, bot_log)
        [lock] = wait_for("the kill switch lock in /locks", lambda: kill_switch_locks(client), 120,
                          bot, bot_log)
        assert lock["pair"] == "*" and "drawdown" in lock["reason"]
        assert stop(bot) == 130

        bot = start_bot(configs, bot_log)
        wait_for("the REST API after restart", lambda: client.locks() is not None, 120, bot,
                 bot_log)
        # the restarted bot's first loop has read the stage (a demotion before it is no change)
        wait_for("the first loop after restart", lambda: bot_log.read_text().count(
            "Deployment stage of RiskScenario: canary") == 2, 60, bot, bot_log)
        assert len(kill_switch_locks(client)) == 1, "the kill switch survives the restart"
        stages = StageStore(tmp_path / "user_data" / STORE_NAME)
        assert stages.strategies() == ["RiskScenario"], "the stage record is persisted"
        demoted = subprocess.run(
            [sys.executable, "-m", "plugins.risk", "stage", "demote", "--user-data-dir",
             str(tmp_path / "user_data"), "--strategy", "RiskScenario", "--to", "shadow"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert demoted.returncode == 0, demoted.stderr
        wait_for("the bot to apply the demotion", lambda: _journaled_stage(tmp_path), 60, bot,
                 bot_log)

        reset = subprocess.run(
            [sys.executable, "-m", "plugins.guard", "reset-killswitch", "--db-url",
             f"sqlite:///{db}", "--yes"], cwd=REPO_ROOT, capture_output=True, text=True,
            timeout=120)
        assert reset.returncode == 0, reset.stderr
        assert "1 lock(s) lifted" in reset.stdout
        wait_for("the lock to be lifted", lambda: kill_switch_locks(client) == [], 60, bot,
                 bot_log)
        assert stop(bot) == 130
    finally:
        for proc in (bot, exchange):
            if proc is not None and proc.poll() is None:
                proc.kill()
    with DecisionJournal(tmp_path / "dryrun.journal.sqlite") as journal:
        reasons = {(r.kind, r.reason) for r in journal.query()}
    assert ("breaker", "drawdown_kill_switch") in reasons
    assert ("reset", "drawdown_kill_switch") in reasons
    history = StageStore(tmp_path / "user_data" / STORE_NAME).load(
        "RiskScenario", Stage.ACTIVE, datetime.now(UTC)).history
    assert [(c.from_stage, c.to_stage) for c in history] == [
        (None, Stage.CANARY), (Stage.CANARY, Stage.SHADOW)], "one first start over two runs"


def _journaled_stage(tmp_path: Path) -> bool:
    with DecisionJournal(tmp_path / "dryrun.journal.sqlite") as journal:
        return any(r.reason == "canary->shadow" for r in journal.query(kind="stage"))


def _up(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/v3/ping", timeout=2).ok
    except requests.ConnectionError:
        return False
