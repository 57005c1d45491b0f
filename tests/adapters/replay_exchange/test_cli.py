"""The ``python -m adapters.replay_exchange`` command line, run as a real process."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.conftest import REPO_ROOT


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "adapters.replay_exchange", *args],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)


def test_port_in_use_then_clear_error_and_nonzero_exit(candle_datadir):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        result = run_cli("--datadir", str(candle_datadir), "--port", str(port))

    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_dir_then_says_where_data_is_expected(tmp_path):
    result = run_cli("--datadir", str(tmp_path / "nowhere"), "--port", "0")

    assert result.returncode == 1
    assert "does not exist" in result.stderr and "make data" in result.stderr


def test_data_dir_without_candles_then_says_which_files_are_expected(tmp_path):
    result = run_cli("--datadir", str(tmp_path), "--port", "0")

    assert result.returncode == 1
    assert "BTC_USDT-1h.feather" in result.stderr


def test_command_after_double_dash_then_runs_with_server_up_and_passes_exit_status(candle_datadir):
    probe = ("import os, sys, urllib.request, json;"
             "body = urllib.request.urlopen(os.environ['REPLAY_EXCHANGE_URL'] + '/time').read();"
             "sys.exit(3 if 'serverTime' in json.loads(body) else 4)")

    result = run_cli("--datadir", str(candle_datadir), "--port", "0", "--", sys.executable,
                     "-c", probe)

    assert result.returncode == 3, result.stderr
