"""Search-space files of ``python -m plugins.research sweep``: validation names the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugins.research.__main__ import main
from plugins.research.space import SpaceError, load_space, split_params
from tests.conftest import REPO_ROOT

GOOD = """
strategy: FreqaiBaseline
freqaimodel: LightGBMRegressor
params:
  freqai.train_period_days: {type: int, low: 5, high: 9}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def test_load_space_when_shipped_moe_space_then_valid_with_tpe_and_family():
    space = load_space(REPO_ROOT / "config/sweeps/moe.yaml")

    assert space.strategy == "RegimeMoE"
    assert space.sampler_kind() == "tpe"
    assert space.family == "ai_suite.regime.detector.kind"
    assert space.enqueue, "the shipped default is evaluated first"


def test_load_space_when_two_objectives_then_nsga2(tmp_path):
    space = load_space(write(tmp_path, GOOD + """
objectives:
  - {metric: sharpe_daily, direction: maximize}
  - {metric: max_drawdown, direction: minimize}
"""))

    assert space.sampler_kind() == "nsga2"


@pytest.mark.parametrize(("text", "named"), [
    (GOOD + "sampler: {kind: tpe, sead: 1}\n", "sampler.sead"),
    (GOOD + "colour: blue\n", "colour"),
    (GOOD.replace("train_period_days", "train_perod_days"), "freqai.train_perod_days"),
    (GOOD + "  freqai.feature_parameters.label_period: {type: int, low: 1, high: 3}\n",
     "label_period"),
    (GOOD + "  ai_suite.regime.detector.kindd: {type: categorical, choices: [hmm]}\n",
     "ai_suite.regime.detector.kindd"),
    (GOOD + "  ai_suite.regime.detector.kind: {type: categorical, choices: [hmm, magic]}\n",
     "ai_suite.regime.detector.kind"),
    (GOOD + "  ai_suite.rsik.max_drawdown_frac: {type: float, low: 0.1, high: 0.2}\n",
     "ai_suite.rsik"),
    (GOOD + "  strategy.entry_treshold: {type: float, low: 0.0, high: 0.01}\n",
     "entry_treshold"),
    (GOOD + "  freqai.backtest_period_days: {type: int, low: 9, high: 3}\n",
     "freqai.backtest_period_days"),
    (GOOD + "  stoploss: {type: float, low: 0.01, high: 0.1}\n", "stoploss"),
    (GOOD + "objectives: [{metric: sharpe, direction: maximize}]\n", "objectives.0.metric"),
    (GOOD + "family: freqaimodel\n", "family"),
    (GOOD + "enqueue: [{freqai.train_period_dayz: 7}]\n", "train_period_dayz"),
    (GOOD.replace("type: int", "type: integer"), "freqai.train_period_days"),
])
def test_load_space_when_key_wrong_then_error_names_it(tmp_path, text, named):
    with pytest.raises(SpaceError) as err:
        load_space(write(tmp_path, text))

    assert named in str(err.value)


def test_load_space_when_not_yaml_or_missing_then_error_names_file(tmp_path):
    with pytest.raises(SpaceError, match="not YAML"):
        load_space(write(tmp_path, "params: [unclosed"))
    with pytest.raises(SpaceError, match="cannot read"):
        load_space(tmp_path / "missing.yaml")


def test_sweep_cli_when_space_invalid_then_exit_2_one_line_no_traceback(tmp_path, capsys):
    bad = write(tmp_path, GOOD.replace("train_period_days", "train_perod_days"))

    code = main(["sweep", "--space", str(bad), "--trials", "2", "--datadir", str(tmp_path),
                 "--pairs", "BTC/USDT", "--timerange", "20240301-20240305"])

    err = capsys.readouterr().err
    assert code == 2
    assert "train_perod_days" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("args", "named"), [
    (["--trials", "0"], "--trials"),
    (["--timerange", "20240305-20240301"], "--timerange"),
    (["--pairs", "BTC/USDT", "BTC/USDT"], "--pairs"),
    (["--pairs", "NOPE/USDT"], "NOPE/USDT"),
])
def test_sweep_cli_when_option_bad_then_exit_2_naming_it(tmp_path, capsys, candle_datadir, args,
                                                          named):
    space = write(tmp_path, GOOD)
    base = {"--trials": ["2"], "--timerange": ["20240301-20240305"], "--pairs": ["BTC/USDT"]}
    base.update({args[0]: args[1:]})
    argv = ["sweep", "--space", str(space), "--datadir", str(candle_datadir)]
    for key, values in base.items():
        argv += [key, *values]

    code = main(argv)

    assert code == 2
    assert named in capsys.readouterr().err


def test_split_params_when_strategy_and_config_keys_then_overlay_and_strategy_values():
    overlay, strategy = split_params({"freqai.train_period_days": 7, "strategy.entry_threshold": 0.01,
                                      "ai_suite.regime.detector.kind": "rules"})

    assert overlay == {"freqai": {"train_period_days": 7},
                       "ai_suite": {"regime": {"detector": {"kind": "rules"}}}}
    assert strategy == {"entry_threshold": 0.01}
