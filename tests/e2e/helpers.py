"""Helpers for tests that drive the real ``freqtrade`` CLI."""

from __future__ import annotations

import copy
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from freqtrade.misc import deep_merge_dicts

from adapters.replay_exchange.overlay import offline_overlay
from tests.conftest import REPO_ROOT, write_json

FREQTRADE = [sys.executable, "-m", "freqtrade"]


def e2e_configs(tmp_path: Path, api_url: str, datadir: Path, extra: dict,
                altdata_cache: Path | None = None) -> list[str]:
    """CLI arguments: ``-c`` the shipped base config, the offline overlay aimed at ``api_url``
    and a test overlay (own user_data dir, the alt-data cache, ``extra`` on top), then
    ``--datadir DATADIR``
    (freqtrade reads the data dir from the command line only, not from config files)."""
    user_data = tmp_path / "user_data"
    for sub in ("backtest_results", "models", "logs"):
        (user_data / sub).mkdir(parents=True, exist_ok=True)
    overlay = write_json(tmp_path / "offline.json", offline_overlay(api_url))
    cache = {"ai_suite": {"altdata": {"cache_dir": str(altdata_cache)}}} if altdata_cache else {}
    test = write_json(tmp_path / "test.json", deep_merge_dicts(
        copy.deepcopy(extra), {"user_data_dir": str(user_data), **cache}))
    args = ["-c", str(REPO_ROOT / "config" / "base.json"), "-c", str(overlay)]
    return [*args, "-c", str(test), "--datadir", str(datadir)]


def run_freqtrade(args: list[str], log: Path, timeout: float) -> subprocess.CompletedProcess:
    """Run ``freqtrade ARGS`` from the repo root, output to ``log``; raise on timeout."""
    with log.open("w") as out:
        return subprocess.run([*FREQTRADE, *args], cwd=REPO_ROOT, stdout=out,
                              stderr=subprocess.STDOUT, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float, proc: subprocess.Popen,
             log) -> Any:
    """Poll ``probe`` until it returns something truthy; fail if ``proc`` dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"process exited ({proc.returncode}) while waiting for {what}:\n"
                        f"{log.read_text()[-3000:]}")
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what}:\n{log.read_text()[-3000:]}")
