"""The ``python -m adapters.replay_exchange`` command line, run as a real process."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pandas as pd
import pytest

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


# ----------------------------------------------------------------- bad input: clear, at start
def _copy_pair(src, dst, *names: str):
    dst.mkdir(parents=True)
    for name in names:
        shutil.copy(src / name, dst / name)
    return dst


@pytest.mark.parametrize("start", ["2030-01-01T00:00", "1990-01-01T00:00"])
def test_replay_start_when_outside_the_data_then_exit_2_naming_the_span_and_fix(start, tmp_path,
                                                                                 candle_datadir):
    datadir = _copy_pair(candle_datadir, tmp_path / "binance", "BTC_USDT-1h.feather",
                         "BTC_USDT-4h.feather")

    result = run_cli("--datadir", str(datadir), "--port", "0", "--replay-start", start)

    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after the INFO log lines / usage
    assert f"--replay-start {start}" in line and "outside the candle data" in line
    assert "2020-09-20" in line and "2025-09-19" in line and "choose a time" in line


def test_candle_file_truncated_then_exit_1_at_start_naming_the_file(tmp_path, candle_datadir):
    datadir = _copy_pair(candle_datadir, tmp_path / "binance", "BTC_USDT-1h.feather",
                         "ETH_USDT-1h.feather")
    broken = datadir / "ETH_USDT-1h.feather"
    with broken.open("r+b") as handle:
        handle.truncate(broken.stat().st_size // 2)

    result = run_cli("--datadir", str(datadir), "--port", "0", "--", sys.executable, "-c", "")

    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after the INFO log lines / usage
    assert str(broken) in line and "cannot be read" in line and "download-data" in line


def test_candle_file_with_a_nan_close_then_exit_1_at_start_naming_the_file_and_row(tmp_path,
                                                                                    candle_datadir):
    datadir = _copy_pair(candle_datadir, tmp_path / "binance", "BTC_USDT-1h.feather")
    frame = pd.read_feather(datadir / "BTC_USDT-1h.feather")
    frame.loc[100, "close"] = float("nan")
    frame.to_feather(datadir / "BTC_USDT-1h.feather")

    result = run_cli("--datadir", str(datadir), "--port", "0", "--", sys.executable, "-c", "")

    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after the INFO log lines / usage
    assert str(datadir / "BTC_USDT-1h.feather") in line and "not finite" in line
    assert str(frame.loc[100, "date"].date()) in line


def test_log_level_unknown_then_exit_2_naming_the_choices(candle_datadir):
    result = run_cli("--datadir", str(candle_datadir), "--port", "0", "--log-level", "BOGUS")

    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--log-level" in result.stderr and "BOGUS" in result.stderr and "WARNING" in result.stderr


def test_double_dash_without_a_command_then_exit_2_saying_what_to_give(candle_datadir):
    result = run_cli("--datadir", str(candle_datadir), "--port", "0", "--")

    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after the INFO log lines / usage
    assert "no command after --" in line and "freqtrade" in line


def test_command_not_found_then_exit_127_naming_it(candle_datadir):
    result = run_cli("--datadir", str(candle_datadir), "--port", "0", "--", "no-such-command-xyz")

    assert result.returncode == 127 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after the INFO log lines / usage
    assert "no-such-command-xyz" in line and "not found" in line
