"""``bench/edge_report.py``: argument checks, the marked-to-market equity, the DSR and MoE
diagnostics helpers, and the whole report on one pair over one week (real backtests, slow)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO_ROOT, load_bench

bench = load_bench("edge_report")
ROW_KEYS = {"ic_nonoverlap", "ic_nonoverlap_t", "sharpe_daily", "dsr", "max_drawdown",
            "profit_total", "trades", "exposure_frac", "n_trials"}


def _candles(closes: list[float], start: str = "2024-03-01") -> pd.DataFrame:
    dates = pd.date_range(start, periods=len(closes), freq="1h", tz="UTC")
    return pd.DataFrame({"date": dates, "open": closes, "close": closes})


def _trade(opened: str, closed: str, amount: float, rate: float, profit: float) -> dict:
    return {"pair": "BTC/USDT", "open_date": pd.Timestamp(opened, tz="UTC"),
            "close_date": pd.Timestamp(closed, tz="UTC"), "amount": amount, "open_rate": rate,
            "fee_open": 0.0, "fee_close": 0.0, "profit_abs": profit}


def test_marked_to_market_when_position_open_then_equity_moves_with_close_and_realizes_at_exit():
    candles = {"BTC/USDT": _candles([100, 90, 80, 120, 120, 120])}
    trades = pd.DataFrame([_trade("2024-03-01 01:00", "2024-03-01 03:00", 10, 100, 200.0)])
    start, stop = pd.Timestamp("2024-03-01", tz="UTC"), pd.Timestamp("2024-03-01 06:00", tz="UTC")

    equity, exposure = bench.marked_to_market(trades, candles, start, stop, 1000.0)

    # held over the 01:00 and 02:00 candles: marked at their closes (90, 80) vs entry 100;
    # realized +200 from the exit at 03:00 on
    assert equity.tolist() == [1000.0, 1000.0, 900.0, 800.0, 1200.0, 1200.0, 1200.0]
    assert exposure == pytest.approx(2 / 6)


def test_marked_to_market_when_no_trades_then_flat_equity_and_no_exposure():
    candles = {"BTC/USDT": _candles([100, 101, 102])}
    start, stop = pd.Timestamp("2024-03-01", tz="UTC"), pd.Timestamp("2024-03-02", tz="UTC")

    equity, exposure = bench.marked_to_market(pd.DataFrame(columns=["pair"]), candles, start,
                                              stop, 500.0)

    assert set(equity.tolist()) == {500.0} and exposure == 0.0


def test_deflated_when_one_trial_then_equals_psr_and_more_trials_deflate():
    returns = pd.Series(np.random.default_rng(1).normal(0.002, 0.01, 200))

    one = bench.deflated(returns, 1, [])
    many = bench.deflated(returns, 50, [0.0, 0.05, -0.05, 0.1, 0.02])

    from plugins.research.stats import psr_from_returns
    assert one == pytest.approx(psr_from_returns(returns))
    assert many < one


def test_mixture_fits_when_log_has_fits_then_rows_and_fallback_share_per_regime():
    log = "\n".join([
        "regime mixture fitted: 522 rows, lightgbm experts (soft gate), rows per regime "
        "{'bull': 400, 'bear': 122}, fallback to global ['bear'], 1s",
        "regime mixture fitted: 522 rows, lightgbm experts (soft gate), rows per regime "
        "{'bull': 300, 'bear': 222}, fallback to global none, 1s"])

    fits = bench.mixture_fits(log)

    assert fits["fits"] == 2
    assert fits["per_regime"]["bull"] == {"fits_present": 2, "rows_mean": 350.0,
                                          "fallback_share": 0.0}
    assert fits["per_regime"]["bear"]["fallback_share"] == 0.5


def test_moe_diagnostics_when_gate_weights_given_then_serve_share_and_correlation():
    dates = pd.date_range("2024-03-01", periods=4, freq="1h", tz="UTC")
    default = pd.DataFrame({"pair": "BTC/USDT", "date": dates, "pred": [1.0, 2.0, 3.0, 4.0],
                            "gate_weight_0": [0.9, 0.8, 0.2, 0.1],
                            "gate_weight_1": [0.1, 0.2, 0.8, 0.9],
                            "gate_weight_0_mean": [5.0, 5.0, 5.0, 5.0]})
    baseline = default[["pair", "date"]].assign(pred=[4.0, 3.0, 2.0, 1.0])

    moe = bench.moe_diagnostics(default, baseline, "")

    assert moe["expert_serve_share"] == {"0": 0.5, "1": 0.5}
    assert moe["prediction_rank_correlation_vs_baseline"] == pytest.approx(-1.0)
    assert moe["mixture"] == {"fits": 0, "per_regime": {}}


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "bench/edge_report.py"), *args],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(("extra", "message"), [
    (["--fee", "1.5"], "--fee 1.5: a fraction per side"),
    (["--evidence", "/nonexistent/evidence.json"], "--evidence /nonexistent/evidence.json: no such file"),
    (["--pairs", "BTC/USDT", "NOPE/USDT"], "--pairs NOPE/USDT: no 1h candles"),
])
def test_edge_report_when_bad_argument_then_one_error_line_and_exit_2(
        candle_datadir, altdata_cache, tmp_path, extra, message):
    args = ["--datadir", str(candle_datadir), "--pairs", "BTC/USDT",
            "--altdata-cache", str(altdata_cache), "--timerange", "20240301-20240315",
            "--out", str(tmp_path / "r.json")]
    result = _run(*args, *extra, timeout=120)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edge_report: error: ") and message in lines[0]
    assert not (tmp_path / "r.json").exists()


@pytest.mark.slow
def test_edge_report_when_run_on_one_pair_one_week_then_four_models_with_controls_and_json(
        candle_datadir, altdata_cache, tmp_path):
    out = tmp_path / "edge.json"
    overlay = tmp_path / "short.json"
    # 10 training days leave ~180 rows after FreqAI's split: let the detector fit on them.
    overlay.write_text(json.dumps({"ai_suite": {"regime": {"detector": {"min_rows": 100}}}}))

    result = _run("--datadir", str(candle_datadir), "--pairs", "BTC/USDT",
                  "--timerange", "20240301-20240308", "--train-days", "10", "--backtest-days", "7",
                  "--altdata-cache", str(altdata_cache), "--config", str(overlay),
                  "--n-boot", "100", "--out", str(out))

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert list(report["models"]) == ["default", "baseline", "trend_rule", "buy_and_hold"]
    for name, row in report["models"].items():
        assert ROW_KEYS <= set(row), name
        assert row["n_trials"] == 1 and 0 <= row["exposure_frac"] <= 1
    assert report["models"]["buy_and_hold"]["ic_nonoverlap"] is None
    assert report["models"]["default"]["ic_nonoverlap"] is not None
    assert {"no_skill_neg_close", "no_skill_random"} <= set(report["controls"])
    for name in ("default", "baseline", "trend_rule"):
        row = report["models"][name]
        assert row["trades"] == row["freqtrade"]["total_trades"]
        assert row["fee_per_side"] in (None, pytest.approx(0.001))
    moe = report["moe"]
    assert moe["gate_columns"] >= 2 and moe["mixture"]["fits"] >= 1
    assert moe["windows"]["windows"] >= 1 and moe["windows"]["training_rows_mean"] > 0
    assert math.isclose(sum(moe["expert_serve_share"].values()), 1.0)
    assert "Is there an edge?" in result.stdout and "control: no_skill_neg_close" in result.stdout


def test_window_diagnostics_when_no_regime_metadata_then_zero_windows(tmp_path):
    (tmp_path / "sub-train-BTC_1").mkdir()
    (tmp_path / "sub-train-BTC_1" / "cb_btc_1_metadata.json").write_text("{}")

    assert bench.window_diagnostics(tmp_path) == {"windows": 0}


def test_window_diagnostics_when_fits_recorded_then_means_over_windows(tmp_path):
    for ts, fell in ((1, False), (2, True)):
        folder = tmp_path / f"sub-train-BTC_{ts}"
        folder.mkdir()
        fit = {"training_rows": 500, "rows_per_expert": {"bull": 400, "bear": 100},
               "own_expert": {"bull": True, "bear": not fell}, "fallback_rate": 0.5 * fell,
               "all_fell_back": False}
        (folder / f"cb_btc_{ts}_metadata.json").write_text(json.dumps({"regime_diagnostics": fit}))
        (folder / f"cb_btc_{ts}_expert_serve.json").write_text(json.dumps(
            {"rows": 10, "global_fallback_share": 0.2 * fell, "corr_with_global": 0.9,
             "mean_abs_gap_to_global": 0.001, "serve_share": {"bull": 0.8, "bear": 0.2}}))

    win = bench.window_diagnostics(tmp_path)

    assert win["windows"] == 2 and win["own_experts_mean"] == 1.5
    assert win["fallback_rate_mean"] == pytest.approx(0.25)
    assert win["corr_with_global_mean"] == pytest.approx(0.9)
    assert win["serve_share_mean"] == {"bull": pytest.approx(0.8), "bear": pytest.approx(0.2)}
