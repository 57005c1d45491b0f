"""``python -m plugins.research walkforward`` end to end: hyperopt in sample, backtest out of
sample, on real candles through replay exchanges, on local Ray."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from freqtrade.data.btanalysis import load_backtest_data

from plugins.research.evidence import load_evidence, window_matrix
from tests.conftest import REPO_ROOT, write_json

pytestmark = pytest.mark.slow

TINY = {"max_open_trades": 1,
        "freqai": {"train_period_days": 5, "backtest_period_days": 2}}


def test_walkforward_when_hyperopt_on_short_range_then_oos_windows_follow_their_in_sample(
        tmp_path, candle_datadir, altdata_cache):
    overlay = write_json(tmp_path / "tiny.json", {
        **TINY, "ai_suite": {"altdata": {"cache_dir": str(altdata_cache)}}})
    out = tmp_path / "wf"
    with (tmp_path / "wf.log").open("w") as log:
        result = subprocess.run(
            [sys.executable, "-m", "plugins.research", "walkforward", "--strategy",
             "FreqaiBaseline", "--freqaimodel", "LightGBMRegressor",
             "-c", str(REPO_ROOT / "config/base.json"), "-c", str(overlay),
             "--datadir", str(candle_datadir), "--pairs", "BTC/USDT",
             "--timerange", "20240301-20240309", "--in-sample-days", "4",
             "--out-of-sample-days", "2", "--epochs", "3", "--top-k", "2", "--workers", "2",
             "--out", str(out)],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=900, check=False)

    text = (tmp_path / "wf.log").read_text()
    assert result.returncode == 0, text[-4000:]
    report = json.loads((out / "walkforward.json").read_text())
    windows = report["windows"]
    assert [(w["in_sample"], w["out_of_sample"]) for w in windows] == [
        ("20240301-20240305", "20240305-20240307"), ("20240303-20240307", "20240307-20240309")]
    for i, w in enumerate(windows):
        is_end = pd.Timestamp(w["in_sample"].split("-")[1], tz="UTC")
        oos_start, oos_end = (pd.Timestamp(d, tz="UTC") for d in w["out_of_sample"].split("-"))
        assert oos_start >= is_end, "out of sample starts after its in-sample window"
        assert w["params"] is not None and w["oos_state"] == "complete", text[-3000:]
        trades = load_backtest_data(out / f"w-{i:02d}-oos-r1" / "user_data" / "backtest_results")
        if len(trades):
            assert trades["open_date"].min() >= oos_start
            assert trades["close_date"].max() <= oos_end
        # the out-of-sample run used the in-sample winner's parameters
        params = json.loads((out / f"w-{i:02d}-oos-r1" / "strategies" /
                             "FreqaiBaseline.json").read_text())["params"]
        assert params["buy"]["entry_threshold"] == pytest.approx(w["params"]["entry_threshold"])
    assert windows[0]["out_of_sample"].split("-")[1] <= windows[1]["out_of_sample"].split("-")[0]
    equity = pd.read_csv(out / "equity.csv")
    assert list(equity["date"].str[:10]) == ["2024-03-05", "2024-03-06", "2024-03-07",
                                             "2024-03-08"], "stitched OOS days, none twice"
    assert set(report["parameter_stability"]) == {"entry_threshold", "exit_threshold"}
    assert report["decay"]["is_sharpe_mean"] is not None or windows[0]["is_trades"] == 0
    evidence = load_evidence(out / "evidence.json")
    matrix = window_matrix(evidence)
    assert list(matrix.index) == ["rank-1", "rank-2"]
    assert list(matrix.columns) == ["2024-03-05/2024-03-06", "2024-03-07/2024-03-08"]
    assert report["survival"]["survival_rate"] is not None
    assert "stitched out of sample" in text and "buy-and-hold" in text

    survival = subprocess.run([sys.executable, "-m", "plugins.research", "survival",
                               "--evidence", str(out / "evidence.json"), "--out", str(tmp_path)],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert survival.returncode == 0, survival.stderr
    assert "2 variants x 2 windows" in survival.stdout
