"""``freqtrade hyperopt`` (the ``hyperopt`` extra: optuna) on a shipped strategy, offline.

FreqaiBaseline is the shipped strategy with hyperoptable parameters (``entry_threshold`` in the
buy space, ``exit_threshold`` in the sell space); RegimeMoE and the compiled trees declare none.
FreqAI trains its walk-forward models once, then each epoch re-runs the entry/exit logic.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.helpers import e2e_configs, run_freqtrade

pytestmark = pytest.mark.slow

TINY_WINDOW = {
    "strategy": "FreqaiBaseline",
    "freqaimodel": "LightGBMRegressor",
    "max_open_trades": 1,
    "exchange": {"pair_whitelist": ["BTC/USDT"]},
    "freqai": {"identifier": "e2e-hyperopt", "train_period_days": 7, "backtest_period_days": 2,
               "feature_parameters": {"include_corr_pairlist": ["BTC/USDT"]}},
}


def test_hyperopt_when_run_few_epochs_on_baseline_then_epochs_saved_and_params_in_range(
        tmp_path, replay_server, candle_datadir, altdata_cache):
    configs = e2e_configs(tmp_path, replay_server.api_url, candle_datadir, TINY_WINDOW,
                          altdata_cache)

    result = run_freqtrade(["hyperopt", *configs, "--timerange", "20240301-20240305",
                            "--epochs", "4", "--spaces", "buy", "sell", "-j", "1",
                            "--random-state", "7", "--min-trades", "1",
                            "--hyperopt-loss", "SharpeHyperOptLossDaily",
                            "--disable-param-export"],
                           tmp_path / "hyperopt.log", timeout=600)

    log = (tmp_path / "hyperopt.log").read_text()
    assert result.returncode == 0, log[-3000:]
    assert "ModuleNotFoundError" not in log
    [results] = list((tmp_path / "user_data" / "hyperopt_results").glob("*.fthypt"))
    epochs = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(epochs) == 4
    for epoch in epochs:
        assert 0.0 <= epoch["params_dict"]["entry_threshold"] <= 0.02
        assert -0.02 <= epoch["params_dict"]["exit_threshold"] <= 0.0
    assert any(epoch["is_best"] for epoch in epochs)
