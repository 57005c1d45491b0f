"""``python -m plugins.research sweep`` end to end: optuna + local Ray + real FreqAI backtests.

Tiny trials on real candles (1 pair, 4 days, 5-7 training days, 2-day FreqAI windows) on
FreqaiBaseline / LightGBMRegressor, each through its own replay exchange.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import psutil
import pytest

from plugins.research.evidence import load_evidence
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

SPACE = """
strategy: FreqaiBaseline
freqaimodel: LightGBMRegressor
overrides:
  max_open_trades: 1
  freqai: {backtest_period_days: 2}
sampler: {seed: 3, n_startup_trials: 4}
score: {window_days: 1}
trial_timeout_s: 300
params:
  freqai.train_period_days: {type: int, low: 5, high: 7}
  strategy.entry_threshold: {type: float, low: 0.0, high: 0.004}
"""
#: a model class that does not exist: Freqtrade exits 1 on this trial
FAILING = """
enqueue:
  - {freqai.train_period_days: 6, strategy.entry_threshold: 0.001, freqaimodel: NoSuchModel}
  - {freqai.train_period_days: 5, strategy.entry_threshold: 0.0, freqaimodel: LightGBMRegressor}
"""
TIMERANGE = "20240301-20240305"


def space_text(altdata_cache: Path, extra: str = "") -> str:
    """The tiny space with the alt-data cache (FOMC/CPI calendars included) of the fixture."""
    return SPACE.replace("overrides:\n", "overrides:\n  ai_suite: {altdata: {cache_dir: "
                         f"'{altdata_cache}'}}}}\n") + extra


def sweep_command(space: Path, out: Path, datadir: Path, trials: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "plugins.research", "sweep", "--space", str(space),
            "--trials", str(trials), "--workers", str(workers), "--datadir", str(datadir),
            "--pairs", "BTC/USDT", "--timerange", TIMERANGE, "--out", str(out),
            "--heartbeat", "2"]


def run_sweep(cmd: list[str], log: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    with log.open("w") as out:
        return subprocess.run(cmd, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)


def study_trials(out: Path, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{out / 'study.sqlite3'}").trials


def kill_worker_of(trial_dir: Path, proc: subprocess.Popen, log: Path) -> int:
    """SIGKILL the Ray worker running the trial in ``trial_dir`` once its backtest runs;
    returns the worker's pid."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        for child in _descendants(proc.pid):
            try:
                cmdline = child.cmdline()
            except psutil.Error:
                continue
            if "adapters.replay_exchange" in cmdline and any(
                    str(trial_dir) in arg for arg in cmdline):
                time.sleep(2)
                worker = child.parent()
                worker.kill()
                return worker.pid
        time.sleep(0.3)
    raise AssertionError(f"the trial in {trial_dir} never started")


def test_sweep_when_three_trials_on_two_workers_with_one_crashing_then_all_recorded_and_scored(
        tmp_path, candle_datadir, altdata_cache):
    space = tmp_path / "tiny.yaml"
    space.write_text(space_text(altdata_cache, "  freqaimodel: {type: categorical, choices: "
                                               "[LightGBMRegressor, NoSuchModel]}\n" + FAILING))
    out = tmp_path / "sweep"
    log_file = tmp_path / "sweep.log"

    with log_file.open("w") as log_out:
        proc = subprocess.Popen(sweep_command(space, out, candle_datadir, trials=3, workers=2),
                                cwd=REPO_ROOT, stdout=log_out, stderr=subprocess.STDOUT)
        try:
            lost_worker = kill_worker_of(out / "trials" / "t-0001", proc, log_file)
            proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()

    log = log_file.read_text()
    assert proc.returncode == 0, log[-4000:]
    summary = json.loads((out / "sweep.json").read_text())
    assert len(summary["trials"]) == 3
    by_id = {t["trial_id"]: t for t in summary["trials"]}
    failed = by_id["t-0000"]
    assert failed["outcome"] == "failed" and failed["reason"].startswith("exit status")
    failed_result = json.loads((out / failed["result"]).read_text())
    assert "NoSuchModel" in failed_result["log_tail"], "the failure keeps its log tail"
    complete = [json.loads((out / t["result"]).read_text()) for t in summary["trials"]
                if t["outcome"] == "complete"]
    assert complete, log[-4000:]
    for r in complete:
        assert r["metrics"]["trades"] is not None
        assert len(r["daily_returns"]) == len(r["days"]) >= 4
        assert r["controls"]["no_skill_neg_close"]["rows"] > 0, "IC beside the no-skill control"
    # isolation: own user_data, FreqAI identifier and strategy copy per trial
    configs = [json.loads((out / "trials" / t / "config.json").read_text()) for t in by_id]
    assert len({c["user_data_dir"] for c in configs}) == 3
    assert len({c["freqai"]["identifier"] for c in configs}) == 3
    assert all(c["strategy_path"].startswith(str(out / "trials")) for c in configs)
    assert len({json.loads((out / t["result"]).read_text())["pid"]
                for t in summary["trials"][:2]}) == 2, "the first two ran on two workers"
    # the worker lost mid-trial: Ray ran the trial again on another worker, once
    retried = json.loads((out / by_id["t-0001"]["result"]).read_text())
    assert by_id["t-0001"]["outcome"] == "complete" and retried["pid"] != lost_worker
    assert not list((REPO_ROOT / "strategies").glob("FreqaiBaseline.json"))
    # optuna: 3 finished trials, the failed one as FAIL; evidence counts all of them
    states = [t.state.name for t in study_trials(out, "tiny")]
    assert len(states) == 3 and "COMPLETE" in states and "FAIL" in states
    evidence = load_evidence(out / "evidence.json")
    assert evidence.n_trials == 3
    assert {t.id for t in evidence.trials if t.state == "failed"} >= {"t-0000"}
    assert (out / "optimization_history.html").is_file()
    assert "buy-and-hold" in log and "Deflated Sharpe" in log


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_sweep_when_killed_mid_trial_and_rerun_then_remaining_trials_run_once(
        tmp_path, candle_datadir, altdata_cache):
    space = tmp_path / "tiny.yaml"
    space.write_text(space_text(altdata_cache))
    out = tmp_path / "sweep"
    cmd = sweep_command(space, out, candle_datadir, trials=3, workers=1)
    first_log = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=first_log, stderr=subprocess.STDOUT)
    tree: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 400
        while not (out / "trials" / "t-0001" / "command.txt").exists():
            assert proc.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the second trial never started"
            time.sleep(0.5)
        time.sleep(3)                     # the second trial is mid-backtest
        tree = _descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        first_log.close()
        if proc.poll() is None:
            proc.kill()
        time.sleep(2)
        for child in tree:               # Ray's agents outlive a killed driver: end ours
            if child.is_running():
                child.kill()
    before = study_trials(out, "tiny")
    assert [t.state.name for t in before][:2] == ["COMPLETE", "RUNNING"]
    completed_params = before[0].params

    result = run_sweep(cmd, tmp_path / "second.log")

    log = (tmp_path / "second.log").read_text()
    assert result.returncode == 0, log[-4000:]
    trials = study_trials(out, "tiny")
    assert sum(t.state.name == "COMPLETE" for t in trials) + sum(
        t.state.name == "FAIL" and t.user_attrs.get("outcome") != "interrupted"
        for t in trials) == 3
    interrupted = [t for t in trials if t.user_attrs.get("outcome") == "interrupted"]
    assert [t.number for t in interrupted] == [1]
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == 1]
    assert len(retry) == 1 and retry[0].params == interrupted[0].params
    assert sum(t.params == completed_params for t in trials) == 1, "completed trial not repeated"
    summary = json.loads((out / "sweep.json").read_text())
    assert len(summary["trials"]) == 3
    assert load_evidence(out / "evidence.json").n_trials == 3
