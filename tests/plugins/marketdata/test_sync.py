"""Filling Freqtrade's data dir from the real data bundle."""

from __future__ import annotations

import subprocess
import sys

import pytest

from plugins.core.errors import DataNotFoundError
from plugins.marketdata.requirements import CandleNeed, candle_needs, missing_candles
from plugins.marketdata.sync import sync_candles
from tests.conftest import REPO_ROOT, bundle_dir


def test_sync_when_dest_empty_then_copies_every_candle_file_with_identical_bytes(tmp_path):
    report = sync_candles(bundle_dir(), tmp_path)

    assert "BTC_USDT-1h.feather" in report.copied
    assert "futures/BTC_USDT_USDT-1h-funding_rate.feather" in report.copied
    source = bundle_dir() / "crypto" / "freqtrade_binance_spot" / "ETH_USDT-4h.feather"
    assert (tmp_path / "ETH_USDT-4h.feather").read_bytes() == source.read_bytes()


def test_sync_when_run_twice_then_second_run_copies_nothing_and_leaves_no_temp_files(tmp_path):
    sync_candles(bundle_dir(), tmp_path)

    report = sync_candles(bundle_dir(), tmp_path)

    assert report.copied == []
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_sync_when_dest_file_differs_then_it_is_replaced(tmp_path):
    sync_candles(bundle_dir(), tmp_path)
    (tmp_path / "XRP_USDT-1d.feather").write_bytes(b"truncated")

    report = sync_candles(bundle_dir(), tmp_path)

    assert report.copied == ["XRP_USDT-1d.feather"]


def test_sync_when_bundle_missing_then_error_says_how_to_get_data(tmp_path):
    with pytest.raises(DataNotFoundError, match="SUITE_DATA_DIR"):
        sync_candles(tmp_path / "absent", tmp_path / "dest")


def test_candle_needs_of_base_config_then_whitelist_and_freqai_timeframes():
    config = {"timeframe": "1h",
              "exchange": {"pair_whitelist": ["BTC/USDT", "XRP/USDT"]},
              "freqai": {"enabled": True, "feature_parameters": {
                  "include_timeframes": ["1h", "4h"], "include_corr_pairlist": ["ETH/USDT"]}}}

    needs = candle_needs(config)

    assert len(needs) == 6
    assert CandleNeed("ETH/USDT", "4h") in needs


def test_missing_candles_then_lists_needs_without_files(tmp_path):
    (tmp_path / "BTC_USDT-1h.feather").write_bytes(b"x")

    missing = missing_candles(tmp_path, [CandleNeed("BTC/USDT", "1h"), CandleNeed("SOL/USDT", "1h")])

    assert missing == [CandleNeed("SOL/USDT", "1h")]


def test_cli_when_config_needs_pair_not_in_bundle_then_exit_1_naming_pair(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"timeframe": "1h", "exchange": {"name": "binance", '
                      '"pair_whitelist": ["SOL/USDT"]}}')

    result = subprocess.run(
        [sys.executable, "-m", "plugins.marketdata", "sync", "--bundle", str(bundle_dir()),
         "--datadir", str(tmp_path / "binance"), "-c", str(config)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)

    assert result.returncode == 1
    assert "lacks candles for: SOL/USDT 1h" in result.stderr
    assert "Traceback" not in result.stderr
