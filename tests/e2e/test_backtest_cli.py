"""``freqtrade backtesting`` and ``lookahead-analysis`` on the replay exchange, real candles."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pandas as pd
import pytest
from freqtrade.data.btanalysis import load_backtest_data

from plugins.core.backtest_results import check_latest
from plugins.research.metrics_table import tables_of_result
from tests.conftest import REPO_ROOT
from tests.e2e.helpers import e2e_configs, run_freqtrade

pytestmark = pytest.mark.slow

SHORT_WINDOW = {
    "timerange": "20240301-20240322",
    "exchange": {"pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
    "freqai": {"identifier": "e2e-backtest", "train_period_days": 14, "backtest_period_days": 7},
}


def test_backtesting_when_default_strategy_run_walk_forward_then_trades_and_result_parses(
        tmp_path, replay_server, candle_datadir, altdata_cache):
    started = int(time.time())
    configs = e2e_configs(tmp_path, replay_server.api_url, candle_datadir, SHORT_WINDOW,
                          altdata_cache)

    result = run_freqtrade(["backtesting", *configs, "-c", str(REPO_ROOT / "config/backtest.json"),
                            "--timerange", SHORT_WINDOW["timerange"]],
                           tmp_path / "backtest.log", timeout=600)

    log = (tmp_path / "backtest.log").read_text()
    assert result.returncode == 0, log[-3000:]
    results_dir = tmp_path / "user_data" / "backtest_results"
    [summary] = check_latest(results_dir, not_before_s=started, min_trades=1)
    assert summary.strategy == "RegimeMoE", "config/base.json runs RegimeMoE on RegimeGatedMoE"
    trades = load_backtest_data(results_dir)
    assert set(trades["pair"]) <= {"BTC/USDT", "ETH/USDT"}
    assert trades["open_date"].min() >= pd.Timestamp("2024-03-01", tz="UTC")
    assert "STRATEGY SUMMARY" in log
    # seed 000's table follows Freqtrade's report (plugins/guard/backtest_report.py), its
    # figures equal Freqtrade's own (wallet curve) and buy-and-hold's return its market change
    assert log.index("RegimeMoE: seed 000 metrics") > log.index("STRATEGY SUMMARY")
    assert "Buy & hold" in log and "red flag(s)" in log
    [table] = tables_of_result(results_dir, config={"datadir": candle_datadir})
    assert table.metrics.sharpe == pytest.approx(table.report["sharpe"])
    assert table.metrics.max_drawdown_frac == pytest.approx(table.report["max_relative_drawdown"])
    assert table.metrics.profit_factor == pytest.approx(table.report["profit_factor"])
    assert table.metrics.control.total_return_frac == pytest.approx(table.report["market_change"])


LOOKAHEAD_WINDOW = {
    **SHORT_WINDOW,
    "exchange": {"pair_whitelist": ["BTC/USDT"]},
    "freqai": {"identifier": "e2e-lookahead", "train_period_days": 10, "backtest_period_days": 5,
               "feature_parameters": {"include_corr_pairlist": ["BTC/USDT"]}},
    "max_open_trades": 1,
    # 10 training days leave ~160 rows after FreqAI's split: let the detector fit on them.
    "ai_suite": {"regime": {"detector": {"min_rows": 100}}},
}


def run_strict_lookahead(tmp_path, api_url, datadir, altdata_cache, *strategy_args: str):
    configs = e2e_configs(tmp_path, api_url, datadir, LOOKAHEAD_WINDOW, altdata_cache)
    export = tmp_path / "lookahead.csv"
    log = tmp_path / "lookahead.log"
    with log.open("w") as out:
        result = subprocess.run(
            [sys.executable, "-m", "plugins.research", "lookahead", *configs,
             *strategy_args, "--timerange", "20240301-20240401", "--minimum-trade-amount", "5",
             "--targeted-trade-amount", "10", "--lookahead-analysis-exportfilename", str(export)],
            cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=900)
    return result.returncode, log.read_text(), export


@pytest.mark.parametrize(("strategy", "model"), [("RegimeMoE", "RegimeGatedMoE"),
                                                  ("FreqaiAltData", "LightGBMRegressor"),
                                                  ("FreqaiBaseline", "LightGBMRegressor")])
def test_lookahead_analysis_when_run_on_shipped_strategy_then_no_biased_signals_or_indicators(
        tmp_path, replay_server, candle_datadir, altdata_cache, strategy, model):
    code, log, export = run_strict_lookahead(tmp_path, replay_server.api_url, candle_datadir,
                                             altdata_cache, "--strategy", strategy,
                                             "--freqaimodel", model)

    assert code == 0, log[-3000:]
    assert "STRICT LOOKAHEAD: no bias" in log
    report = pd.read_csv(export)
    assert report.loc[0, "total_signals"] >= 5
    assert report.loc[0, "biased_entry_signals"] == 0
    assert report.loc[0, "biased_exit_signals"] == 0


@pytest.mark.parametrize("strategy", ["LeakyFreqaiBaseline", "LeakyAltData"])
def test_lookahead_analysis_when_feature_peeks_ahead_then_strict_harness_reports_bias(
        tmp_path, replay_server, candle_datadir, altdata_cache, strategy):
    code, log, _ = run_strict_lookahead(
        tmp_path, replay_server.api_url, candle_datadir, altdata_cache,
        "--strategy-path", str(REPO_ROOT / "tests/e2e/strategies"), "--strategy", strategy,
        "--freqaimodel", "LightGBMRegressor")

    assert code == 1, log[-3000:]
    assert "STRICT LOOKAHEAD: bias detected" in log


#: FreqAI predicts no candle at a run's end (see plugins/research/lookahead.py), so
#: recursive-analysis' last-row check always lists exactly its prediction columns.
FREQAI_LAST_CANDLE_COLUMNS = {"&-s_close", "&-s_close_mean", "&-s_close_std", "do_predict"}
#: ... and RegimeGatedMoE's extra prediction columns (freqai_models/RegimeGatedMoE.py), with
#: the ``_mean``/``_std`` FreqAI writes beside each numeric one (as beside ``&-s_close``).
MOE_PREDICTION_COLUMN = re.compile(r"^(regime(_label|_prob_\d+)?|gate_weight_\d+|expert_pred_\d+|"
                                   r"confidence)(_mean|_std)?$")


def test_recursive_analysis_when_run_on_default_strategy_then_no_recursive_variance(
        tmp_path, replay_server, candle_datadir, altdata_cache):
    configs = e2e_configs(tmp_path, replay_server.api_url, candle_datadir, LOOKAHEAD_WINDOW,
                          altdata_cache)

    result = run_freqtrade(["recursive-analysis", *configs, "--timerange", "20240301-20240320",
                            "--startup-candle", "600", "800", "1000"],
                           tmp_path / "recursive.log", timeout=600)

    log = " ".join((tmp_path / "recursive.log").read_text().split())  # undo log line wrapping
    assert result.returncode == 0, log[-3000:]
    assert "No variance on indicator(s) found due to recursive formula." in log
    flagged = set(re.findall(r"found lookahead in indicator (\S+)", log))
    assert {c for c in flagged if not MOE_PREDICTION_COLUMN.match(c)} <= FREQAI_LAST_CANDLE_COLUMNS, \
        flagged
