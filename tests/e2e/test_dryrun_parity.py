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
    # Both sides' fills are the execution-cost model's (ai_suite.costs).
    assert report["fills"]["backtest"]["within_tolerance"]
    assert report["fills"]["dryrun"]["within_tolerance"]


def test_parity_when_compiled_tree_without_freqai_then_every_candle_agrees(
        tmp_path, candle_datadir, altdata_cache):
    report = _run(tmp_path, candle_datadir, altdata_cache, "--pairs", "BTC/USDT", "ETH/USDT",
                  "--start", "2024-03-01", "--end", "2024-03-02",
                  "--strategy", "CryptoRegimeTrendV1",
                  "--strategy-path", str(REPO_ROOT / "strategies" / "compiled"), "--no-freqai")

    assert report["signals"]["candle_agreement"] == 1.0
    assert report["signals"]["differences"] == []
    assert report["freqai_schedule"] == "no FreqAI"
    assert report["fills"]["dryrun"]["within_tolerance"]


def test_parity_when_costs_on_then_same_trades_and_both_sides_fill_at_the_model_price(
        tmp_path, candle_datadir, altdata_cache):
    report = _run(tmp_path, candle_datadir, altdata_cache,
                  "--pairs", "BTC/USDT", "ETH/USDT", "XRP/USDT",
                  "--start", "2024-03-01", "--end", "2024-03-03", "--strategy", "CostProbe",
                  "--strategy-path", str(REPO_ROOT / "tests" / "e2e" / "strategies"), "--no-freqai")

    trades, fills = report["trades"], report["fills"]
    assert trades["both"] >= 12 and trades["identical_share"] == 1.0, trades
    # The backtest: open/close rates are Freqtrade's proposed open x (1 +/- modelled cost).
    assert fills["backtest"]["orders"] == 2 * trades["backtest_trades"]
    assert fills["backtest"]["max_abs_error_bps"] == 0.0
    # The dry-run: Freqtrade's own walk of the replay's book, at the model's price up to the
    # book's interpolation and the tick (XRP: 1.6 bps a tick).
    assert fills["dryrun"]["orders"] == fills["backtest"]["orders"]
    assert fills["dryrun"]["within_tolerance"], fills["dryrun"]["worst"]
    assert fills["dryrun"]["mean_cost_bps"] == pytest.approx(fills["backtest"]["mean_cost_bps"],
                                                             rel=0.02)
