"""Shared parts of the benchmarks that drive the real ``freqtrade backtesting``.

- Arguments: :func:`add_data_arguments` / :func:`validate_data_arguments` (``--datadir``,
  ``--pairs``, ``--timerange``): a bad value ends the run with one line naming it and exit
  status 2 (:class:`ArgumentProblem`, :func:`exit_on_problem`). Written to move to a shared
  ``bench/_args.py`` as is.
- Config: :func:`deep_merge` (Freqtrade's ``-c`` merge), :func:`shipped_config`, :func:`corr_pairs`.
- Runs: :func:`replay_configs` (a replay exchange over the data dir and the offline overlay
  aimed at it), :func:`run_backtest` (one ``freqtrade backtesting`` subprocess, checked).
- Timing: :func:`timing_from_log` (the ``BENCH_TIMING`` lines of the timed model classes in
  ``bench/freqai_models``).
- Output: :func:`jsonable`, :func:`write_json`.

Metrics are not here: they come from :mod:`plugins.research` (one definition for every bench).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TIMING_LINE = re.compile(r"BENCH_TIMING (fit|predict) (\S+) (\d+) ([0-9.eE+-]+)")
TRAIN_FAILED = re.compile(r"Training (\S+) raised exception")
PAIR = re.compile(r"^[A-Z0-9]+/[A-Z0-9]+$")
CLOSED_TIMERANGE = re.compile(r"^(\d{8})-(\d{8})$")


class BenchError(RuntimeError):
    """A backtest failed or left no usable result (exit status 1)."""


class ArgumentProblem(ValueError):
    """A bad command-line value; the message names the argument and the fix (exit status 2)."""


# --------------------------------------------------------------------------- arguments


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """``--datadir``, ``--pairs``, ``--timerange`` as every data-driven bench takes them."""
    parser.add_argument("--datadir", type=Path, required=True,
                        help="Freqtrade data dir with <PAIR>-<timeframe>.feather "
                             "(e.g. user_data/data/binance)")
    parser.add_argument("--pairs", nargs="+", required=True, help="pairs, e.g. BTC/USDT ETH/USDT")
    parser.add_argument("--timerange", required=True,
                        help="YYYYMMDD-YYYYMMDD, start inclusive, end exclusive (Freqtrade format)")


def parse_timerange(text: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``YYYYMMDD-YYYYMMDD`` -> (start, stop) UTC, stop exclusive.

    Raises:
        ArgumentProblem: not that format, an open end, or start not before stop.
    """
    from freqtrade.configuration import TimeRange
    from freqtrade.exceptions import ConfigurationError, OperationalException

    closed = CLOSED_TIMERANGE.match(text)
    if closed and closed[1] >= closed[2]:
        raise ArgumentProblem(f"--timerange {text!r}: start {closed[1]} is not before end "
                              f"{closed[2]}; write it earlier-later")
    try:
        timerange = TimeRange.parse_timerange(text)
    except (ConfigurationError, OperationalException, ValueError) as err:
        raise ArgumentProblem(f"--timerange {text!r} is not YYYYMMDD-YYYYMMDD ({err})") from err
    if timerange.startdt is None or timerange.stopdt is None:
        raise ArgumentProblem(f"--timerange {text!r} needs both a start and an end "
                              "(YYYYMMDD-YYYYMMDD)")
    start, stop = pd.Timestamp(timerange.startdt), pd.Timestamp(timerange.stopdt)
    if start >= stop:
        raise ArgumentProblem(f"--timerange {text!r}: start {start:%Y-%m-%d} is not before end "
                              f"{stop:%Y-%m-%d}; write it earlier-later")
    return start, stop


def load_candles(datadir: Path, pair: str, timeframe: str, data_format: str = "feather") -> pd.DataFrame:
    """Freqtrade's candles of ``pair`` (gaps filled as Freqtrade fills them); empty if none."""
    from freqtrade.data.history import load_pair_history

    quiet = logging.getLogger("freqtrade")
    level = quiet.level
    quiet.setLevel(logging.ERROR)        # its "No history for ..." warning: we say it better
    try:
        return load_pair_history(pair, timeframe, datadir, fill_up_missing=True,
                                 data_format=data_format)
    finally:
        quiet.setLevel(level)


def validate_data_arguments(datadir: Path, pairs: list[str], start: pd.Timestamp,
                            stop: pd.Timestamp, timeframes: list[str], lookback: pd.Timedelta,
                            data_format: str = "feather") -> dict[str, pd.DataFrame]:
    """Check that every pair has candles of every timeframe covering ``[start - lookback,
    stop)`` and return the candles of the first timeframe per pair.

    Raises:
        ArgumentProblem: the data dir is missing, a pair is malformed or repeated, its file is
            missing, or its candles start after ``start - lookback`` / end before ``stop``.
    """
    if not datadir.is_dir():
        raise ArgumentProblem(f"--datadir {datadir} is not a directory")
    if len(set(pairs)) != len(pairs):
        raise ArgumentProblem(f"--pairs lists a pair twice: {' '.join(pairs)}")
    for pair in pairs:
        if not PAIR.match(pair):
            raise ArgumentProblem(f"--pairs {pair!r} is not BASE/QUOTE (e.g. BTC/USDT)")
    out = {}
    need_from = start - lookback
    last_needed = stop - pd.Timedelta(seconds=1)
    for pair in pairs:
        for timeframe in timeframes:
            candles = load_candles(datadir, pair, timeframe, data_format)
            name = f"{pair.replace('/', '_')}-{timeframe}.{data_format}"
            if candles.empty:
                raise ArgumentProblem(f"--pairs {pair}: no {timeframe} candles in {datadir} "
                                      f"(expected {name}); download them or drop the pair")
            first, last = candles["date"].iloc[0], candles["date"].iloc[-1]
            if first > need_from:
                raise ArgumentProblem(
                    f"--pairs {pair}: {timeframe} candles in {datadir} start {first:%Y-%m-%d %H:%M}, "
                    f"the run needs them from {need_from:%Y-%m-%d %H:%M} (--timerange start minus "
                    f"training and warm-up); start the time range later or add older candles")
            if last < last_needed - pd.Timedelta(days=1):
                raise ArgumentProblem(
                    f"--pairs {pair}: {timeframe} candles in {datadir} end {last:%Y-%m-%d %H:%M}, "
                    f"before the --timerange end {stop:%Y-%m-%d}; end it earlier or add candles")
            out.setdefault(pair, candles)
    return out


@contextlib.contextmanager
def exit_on_problem(prog: str) -> Iterator[None]:
    """Turn :class:`ArgumentProblem` into one line on stderr and exit status 2."""
    try:
        yield
    except ArgumentProblem as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


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

    def log_text(self) -> str:
        """The log file, else the console output (where Freqtrade logs without one); never
        both, which would count every log line twice."""
        source = self.log if self.log.exists() else self.output
        return source.read_text(errors="replace") if source.exists() else ""


def run_backtest(key: str, model: str, freqaimodel: str, freqaimodel_path: Path, strategy: str,
                 configs: list[str], timerange: str, datadir: Path, userdir: Path,
                 overlay: dict | None = None) -> RunResult:
    """One ``freqtrade backtesting`` subprocess with a fresh FreqAI identifier, ``--cache
    none`` and its own results folder; ``overlay`` (a config dict) goes last.

    Raises:
        BenchError: non-zero exit, no STRATEGY SUMMARY, or no fresh result file (the message
            has the command and the tail of its output).
    """
    from plugins.core.backtest_results import check_latest
    from plugins.core.errors import BacktestResultError

    identifier = f"bench-{key}-{int(time.time())}"
    overlay_file = userdir / f"{key}.json"
    overlay_file.write_text(json.dumps(deep_merge(overlay or {}, {"freqai": {"identifier": identifier}})))
    results_dir = userdir / "backtest_results" / key
    results_dir.mkdir(parents=True, exist_ok=True)
    logfile, outfile = userdir / "logs" / f"{key}.log", userdir / "logs" / f"{key}.out"
    cmd = [sys.executable, "-m", "freqtrade", "backtesting", *configs, "-c", str(overlay_file),
           "--strategy", strategy, "--freqaimodel", freqaimodel, "--freqaimodel-path",
           str(freqaimodel_path), "--timerange", timerange, "--datadir", str(datadir),
           "--cache", "none", "--export", "trades", "--backtest-directory", str(results_dir),
           "--logfile", str(logfile)]
    print(f"[{key}] {model}: freqtrade backtesting {timerange} ...", file=sys.stderr, flush=True)
    started_s = int(time.time())
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
    """``value`` with NaN/inf as ``None``, numpy scalars as Python, paths and timestamps as str."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path | pd.Timestamp):
        return str(value)
    return value


def write_json(path: Path, report: dict) -> None:
    """``report`` as indented JSON (:func:`jsonable`), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(report), indent=2))
