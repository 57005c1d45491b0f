"""``bench/moe_vs_baseline.py``: parsing helpers, and the whole bench on the shipped pairs
over a short window (real backtests, slow)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT, load_bench

bench = load_bench("moe_vs_baseline")
SHIPPED_PAIRS = ["BTC/USDT", "ETH/USDT", "XRP/USDT"]


# --------------------------------------------------------------------------- bench helpers


def test_mixture_fits_from_log_when_one_fit_all_fell_back_then_counted():
    log = "\n".join([
        "x - plugins.regime.mixture - INFO - regime mixture fitted: 234 rows, lightgbm experts (soft "
        "gate), rows per regime {'low_vol_bull': 59, 'high_vol_bear': 175}, fallback to global "
        "['low_vol_bull', 'high_vol_bear'], 3.32s in all (detector 0.26s, experts global 2.97s)",
        "x - plugins.regime.mixture - INFO - regime mixture fitted: 540 rows, lightgbm experts (soft "
        "gate), rows per regime {'low_vol_bull': 300, 'high_vol_bear': 240}, fallback to global "
        "none, 3.32s in all (detector 0.26s, experts global 2.97s)",
    ])

    mixture = bench.mixture_fits_from_log(log)

    assert mixture["fits"] == 2 and mixture["fits_all_regimes_fell_back"] == 1
    assert mixture["own_experts_per_fit_mean"] == pytest.approx(1.0)


def test_evaluation_rows_when_prediction_outside_range_or_unknown_label_then_not_used():
    dates = pd.date_range("2024-03-01", periods=4, freq="1h", tz="UTC")
    preds = pd.DataFrame({"pair": "BTC/USDT", "window": 1, "date": dates, "pred": [0.1] * 4,
                          "do_predict": [1, 0, 1, 1]})
    labels = pd.DataFrame({"pair": "BTC/USDT", "date": dates, "real": [0.01, 0.02, math.nan, 0.03]})

    rows = bench.evaluation_rows(preds, labels, dates[0], dates[3])

    assert rows["used"].tolist() == [True, False, False]       # do_predict 0; no label; dates[3] out


# --------------------------------------------------------------------------- the bench, for real


def _run_bench(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "bench/moe_vs_baseline.py"), *args],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)


def test_bench_when_bad_pair_then_one_error_line_and_exit_2(candle_datadir, altdata_cache,
                                                           tmp_path):
    result = _run_bench("--datadir", str(candle_datadir), "--pairs", "BTC/USDT", "NOPE/USDT",
                        "--altdata-cache", str(altdata_cache),
                        "--timerange", "20240301-20240308", "--out", str(tmp_path / "r.json"),
                        timeout=120)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"moe_vs_baseline: error: --pairs NOPE/USDT: no 1h candles in {candle_datadir} "
        "(expected NOPE_USDT-1h.feather; pairs there: ADA/USDT BTC/USDT ETH/USDT XRP/USDT); "
        "download it or drop the pair"]
    assert not (tmp_path / "r.json").exists()


@pytest.mark.slow
def test_bench_when_run_on_shipped_pairs_then_honest_table_with_controls_and_json_layout(
        candle_datadir, altdata_cache, tmp_path):
    out = tmp_path / "moe.json"
    overlay = tmp_path / "short.json"
    # 10 training days leave ~180 rows after FreqAI's split: let the detector fit on them.
    overlay.write_text(json.dumps({"ai_suite": {"regime": {"detector": {"min_rows": 100}}}}))

    result = _run_bench("--datadir", str(candle_datadir), "--pairs", *SHIPPED_PAIRS,
                        "--timerange", "20240301-20240308", "--train-days", "10",
                        "--backtest-days", "7", "--altdata-cache", str(altdata_cache),
                        "--config", str(overlay), "--n-boot", "200", "--out", str(out))

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    keys = {"ic_nonoverlap", "ic_nonoverlap_t", "ic_cross_sectional", "sharpe_daily", "psr",
            "max_drawdown", "profit_total", "trades"}
    assert set(report["models"]) == {"baseline", "moe"}
    assert set(report["controls"]) == {"no_skill_neg_close", "no_skill_random", "momentum",
                                       "mean_reversion_ema20", "buy_and_hold"}
    for row in [*report["models"].values(), *report["controls"].values()]:
        assert keys <= set(row)
    for name, model in report["models"].items():
        assert model["ic_nonoverlap"] is not None and model["ic_cross_sectional"] is not None, name
        # our account figures are Freqtrade's own
        assert model["max_drawdown"] == pytest.approx(model["freqtrade"]["max_drawdown_account"])
        assert model["profit_total"] == pytest.approx(model["freqtrade"]["profit_total"])
        assert model["trades"] == model["freqtrade"]["total_trades"]
    no_skill = report["controls"]["no_skill_neg_close"]
    assert no_skill["ic_nonoverlap"] is not None and no_skill["trades"] is None
    bh = report["controls"]["buy_and_hold"]
    assert bh["ic_nonoverlap"] is None and bh["trades"] == 3 and bh["sharpe_daily"] is not None
    # the same entry filter: both runs saw the same detector's regimes
    assert report["entry_filter"]["mode"] == "regime"
    assert report["comparison"]["regime_agreement"] == pytest.approx(1.0)
    assert "rank_ic_daily_mean" not in out.read_text()
    assert "control: no_skill_neg_close" in result.stdout and "Verdict:" in result.stdout
    assert "Entry filter: regime" in result.stdout
