"""Backtest/dry-run parity: the same candles through ``freqtrade backtesting`` and through
Freqtrade's dry-run loop stepped candle by candle (``bench/dryrun_parity.py``) give the same
entry signals, and every difference is explained by the inputs that differ."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO_ROOT, load_bench

pytestmark = pytest.mark.slow
dryrun_parity = load_bench("dryrun_parity")


def _run(tmp_path, candle_datadir, altdata_cache, *extra: str) -> dict:
    out = tmp_path / "parity.json"
    status = dryrun_parity.main([
        "--datadir", str(candle_datadir), "--altdata-cache", str(altdata_cache),
        "--out", str(out), *extra])
    assert status == 0
    return json.loads(out.read_text())


def test_parity_when_regime_moe_dry_run_steps_over_two_days_then_entry_signals_identical(
        tmp_path, candle_datadir, altdata_cache):
    report = _run(tmp_path, candle_datadir, altdata_cache, "--pairs", "BTC/USDT", "ETH/USDT",
                  "--start", "2024-03-01", "--end", "2024-03-03")

    signals = report["signals"]
    assert report["steps"] == 49, "one process() per candle, the first one before the window"
    assert signals["candles"] == 2 * 48
    assert signals["backtest_entries"] > 0, "the window must exercise entries"
    assert signals["identical_share"] >= dryrun_parity.TARGET_SHARE
    assert report["meets_target"] is True
    for diff in signals["differences"]:
        assert diff["inputs"], f"unexplained difference: {diff}"
    # Both sides trained on bit-identical frames (warm-up and window-by-window features).
    assert set(report["training"]) == {"BTC/USDT", "ETH/USDT"}
    for pair, training in report["training"].items():
        assert training["identical"], f"{pair}: {training}"
    # FreqAI predicted on every candle of the dry-run (the live loop raised on the second
    # prediction before RegimeGatedMoE registered its regime columns' statistics).
    assert report["freqai_schedule"].startswith("one training per side")


def test_parity_when_compiled_tree_without_freqai_then_every_candle_agrees(
        tmp_path, candle_datadir, altdata_cache):
    report = _run(tmp_path, candle_datadir, altdata_cache, "--pairs", "BTC/USDT", "ETH/USDT",
                  "--start", "2024-03-01", "--end", "2024-03-02",
                  "--strategy", "CryptoRegimeTrendV1",
                  "--strategy-path", str(REPO_ROOT / "strategies" / "compiled"), "--no-freqai")

    assert report["signals"]["candle_agreement"] == 1.0
    assert report["signals"]["differences"] == []
    assert report["freqai_schedule"] == "no FreqAI"
