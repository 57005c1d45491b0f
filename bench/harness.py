"""Shared parts of the benchmarks that drive the real ``freqtrade backtesting``.

The benchmarks' shared modules are two: ``bench/_args.py`` checks the command line (every
argument check, one place) and this one runs and reports:

- Config: :func:`deep_merge` (Freqtrade's ``-c`` merge), :func:`shipped_config`, :func:`corr_pairs`.
- Runs: :func:`replay_configs` (a replay exchange over the data dir and the offline overlay
  aimed at it, ``adapters.replay_exchange.overlay``), :func:`run_backtest` (one ``freqtrade
  backtesting`` subprocess, checked), :func:`backtest_subprocess` (the command run, timed).
- Timing: :func:`timing_from_log` (the ``BENCH_TIMING`` lines of the timed model classes in
  ``bench/freqai_models``).
- Output: :func:`jsonable` (the one JSON conversion of every bench report), :func:`write_json`.

A benchmark script (``bench`` is not a package) imports these modules by its folder::

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from harness import replay_configs, ...

Metrics are not here: they come from :mod:`plugins.research` (one definition for every bench).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TIMING_LINE = re.compile(r"BENCH_TIMING (fit|predict) (\S+) (\d+) ([0-9.eE+-]+)")
TRAIN_FAILED = re.compile(r"Training (\S+) raised exception")


class BenchError(RuntimeError):
    """A backtest failed or left no usable result (exit status 1)."""


# --------------------------------------------------------------------------- config


def deep_merge(base: dict, overlay: dict) -> dict:
    """``overlay`` merged into a copy of ``base`` as Freqtrade merges ``-c`` files (dicts
    merged recursively, everything else replaced)."""
    out = dict(base)
    for key, value in overlay.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(
            out.get(key), dict) else value
    return out


def shipped_config(extra: list[Path]) -> tuple[list[Path], dict]:
    """The shipped backtest configs (``config/base.json``, ``config/backtest.json``) and
    ``extra`` files, and their merge."""
    files = [REPO / "config/base.json", REPO / "config/backtest.json"]
    merged: dict = {}
    for path in [*files, *extra]:
        merged = deep_merge(merged, json.loads(path.read_text()))
    return files, merged


def corr_pairs(configured: list[str], pairs: list[str]) -> list[str]:
    """The configured corr pairs that are among ``pairs`` (config order), else ``pairs[:1]``."""
    return [p for p in configured if p in pairs] or pairs[:1]


# --------------------------------------------------------------------------- runs


@contextlib.contextmanager
def replay_configs(datadir: Path, userdir: Path) -> Iterator[Path]:
    """A replay exchange over ``datadir`` serving in this process; yields the offline overlay
    file (``userdir/offline.json``) that points ccxt at it."""
    from adapters.replay_exchange import ReplayExchangeConfig, serving
    from adapters.replay_exchange.overlay import offline_overlay

    with serving(ReplayExchangeConfig(datadir=datadir, port=0)) as server:
        path = userdir / "offline.json"
        path.write_text(json.dumps(offline_overlay(server.api_url)))
        yield path


@dataclass
class RunResult:
    """One finished backtest: ``key`` (report name), ``model`` (class under test), FreqAI
    ``identifier``, ``wall_seconds``, its ``log`` file, ``output`` (stdout/stderr),
    ``results_dir`` and ``models_dir``."""

    key: str
    model: str
    identifier: str
    wall_seconds: float
    log: Path
    output: Path
    results_dir: Path
    models_dir: Path
    extra: dict = field(default_factory=dict)

    def trade_count(self) -> int:
        """Trades of its result file."""
        from freqtrade.data.btanalysis import load_backtest_data

        return len(load_backtest_data(self.results_dir))

    def log_text(self) -> str:
        """The log file, else the console output (where Freqtrade logs without one); never
        both, which would count every log line twice."""
        source = self.log if self.log.exists() else self.output
        return source.read_text(errors="replace") if source.exists() else ""


def run_backtest(key: str, model: str, freqaimodel: str | None, freqaimodel_path: Path | None,
                 strategy: str, configs: list[str], timerange: str, datadir: Path, userdir: Path,
                 overlay: dict | None = None, strategy_path: Path | None = None) -> RunResult:
    """One ``freqtrade backtesting`` subprocess with a fresh FreqAI identifier (so every FreqAI
    model is trained afresh), ``--cache none`` and its own results folder; ``overlay`` (a config
    dict) goes last.

    Args:
        key: the run's name in the report (file names, the identifier).
        model: what is under test (messages).
        freqaimodel / freqaimodel_path: the FreqAI model class and its folder (``None``: the
            configs' own, or no FreqAI).
        strategy / strategy_path: the strategy class and its folder (``None``: the configs').

    Raises:
        BenchError: non-zero exit, no STRATEGY SUMMARY, or no fresh result file (the message
            has the command and the tail of its output).
    """
    from plugins.core.backtest_results import check_latest
    from plugins.core.clock import SYSTEM_CLOCK
    from plugins.core.errors import BacktestResultError

    started_s = int(SYSTEM_CLOCK.now().timestamp())
    identifier = f"bench-{key}-{started_s}"
    overlay_file = userdir / f"{key}.json"
    overlay_file.write_text(json.dumps(deep_merge(overlay or {}, {"freqai": {"identifier": identifier}})))
    results_dir = userdir / "backtest_results" / key
    results_dir.mkdir(parents=True, exist_ok=True)
    logfile, outfile = userdir / "logs" / f"{key}.log", userdir / "logs" / f"{key}.out"
    cmd = [sys.executable, "-m", "freqtrade", "backtesting", *configs, "-c", str(overlay_file),
           "--strategy", strategy, "--timerange", timerange, "--datadir", str(datadir),
           "--cache", "none", "--export", "trades", "--backtest-directory", str(results_dir),
           "--logfile", str(logfile)]
    if strategy_path is not None:
        cmd += ["--strategy-path", str(strategy_path)]
    if freqaimodel is not None:
        cmd += ["--freqaimodel", freqaimodel]
    if freqaimodel_path is not None:
        cmd += ["--freqaimodel-path", str(freqaimodel_path)]
    print(f"[{key}] {model}: freqtrade backtesting {timerange} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    # Freqtrade skips its logging setup (and --logfile) when PYTEST_VERSION is set
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    with outfile.open("w") as out:
        proc = subprocess.run(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, check=False,
                              env=env)
    wall = time.perf_counter() - started
    print(f"[{key}] done in {wall:.1f} s (exit {proc.returncode})", file=sys.stderr, flush=True)
    output = outfile.read_text(errors="replace")
    problem = None
    if proc.returncode != 0:
        problem = f"freqtrade exited with status {proc.returncode}"
    elif "STRATEGY SUMMARY" not in output:
        problem = "freqtrade printed no STRATEGY SUMMARY"
    else:
        try:
            check_latest(results_dir, not_before_s=started_s, min_trades=0)
        except BacktestResultError as err:
            problem = str(err)
    if problem:
        raise BenchError(f"{model} backtest failed: {problem}. Command:\n  {' '.join(cmd)}\n"
                         f"Last lines of its output ({outfile}):\n{output[-4000:]}")
    return RunResult(key, model, identifier, wall, logfile, outfile, results_dir,
                     userdir / "models" / identifier)

# --------------------------------------------------------------------------- timing & output


def timing_from_log(text: str) -> dict[str, Any]:
    """Sums of the ``BENCH_TIMING`` lines and the count of failed trainings in a log:
    ``train_seconds`` (sum of fit wall time), ``inference_us_per_candle`` (predict seconds /
    candles predicted * 1e6), call and row counts."""
    sums = {"fit": [0, 0, 0.0], "predict": [0, 0, 0.0]}   # calls, rows, seconds
    fit_seconds = []
    for kind, _pair, rows, seconds in TIMING_LINE.findall(text):
        entry = sums[kind]
        entry[0] += 1
        entry[1] += int(rows)
        entry[2] += float(seconds)
        if kind == "fit":
            fit_seconds.append(float(seconds))
    fit, pred = sums["fit"], sums["predict"]
    return {"fit_calls": fit[0], "fit_rows": fit[1], "train_seconds": fit[2],
            "fit_seconds_median": float(np.median(fit_seconds)) if fit_seconds else math.nan,
            "predict_calls": pred[0], "predict_rows": pred[1], "predict_seconds": pred[2],
            "inference_us_per_candle": pred[2] / pred[1] * 1e6 if pred[1] else math.nan,
            "failed_trainings": len(TRAIN_FAILED.findall(text))}


def ratio(num: float | None, den: float | None) -> float:
    """``num / den``; NaN where undefined."""
    try:
        value = num / den
    except (TypeError, ZeroDivisionError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON: NaN / inf as ``None``, numpy scalars as Python, paths as text,
    timestamps and datetimes as ISO-8601 (``2024-03-01T00:00:00+00:00``)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: Path, report: dict) -> None:
    """``report`` as indented JSON (:func:`jsonable`), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(report), indent=2))
