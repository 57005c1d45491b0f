"""Evaluation harness: RegimeGatedMoE vs. LightGBMRegressor on the same strategy and windows.

Runs the real ``freqtrade backtesting`` twice against a replay exchange started here over
``--datadir``: strategy ``RegimeMoE`` (same features, label, entries, exits, config and FreqAI
walk-forward windows), differing only in ``--freqaimodel``: the suite's ``RegimeGatedMoE`` and
Freqtrade's stock ``LightGBMRegressor``. Each run has a fresh FreqAI identifier (both train
every window) and ``--cache none``. The models are loaded through thin timing subclasses in
``bench/freqai_models/`` (``TimedRegimeGatedMoE``, ``TimedLightGBMRegressor``) that log the wall
time of every ``fit`` and ``predict`` and change nothing else.

    python bench/moe_vs_baseline.py --datadir user_data/data/binance --pairs BTC/USDT ETH/USDT \\
        --timerange 20240101-20240401 --out result.json \\
        [--altdata-cache user_data/altdata] [--config extra.json ...] \\
        [--train-days 14] [--backtest-days 7] [--keep]

Works on any data dir, pairs and time range. Prints a table and writes the same as JSON.

Config: ``config/base.json`` + ``config/backtest.json`` + the offline overlay (ccxt aimed at the
replay exchange) + each ``--config`` file in order + the bench overlay (own ``user_data``
dir, pairs, identifier, alt-data cache, ``--train-days``/``--backtest-days`` if given). Corr
pairs: ``freqai.feature_parameters.include_corr_pairlist`` becomes the configured corr pairs
that are among ``--pairs`` (config order), or ``[first pair]`` when none is, so the run needs
candles of the given pairs only.

Metrics per model (``&-s_close`` = mean close of the next ``label_period_candles`` candles /
close - 1, the strategy's label):

- Out-of-sample predictions: FreqAI's per-window backtest prediction files
  (``<user_data>/models/<identifier>/backtesting_predictions/cb_<coin>_<ts>_prediction.feather``),
  rows inside ``--timerange`` with ``do_predict == 1`` and a known realized label. The realized
  label is recomputed from the candles in ``--datadir`` (gaps filled as Freqtrade does) with the
  strategy's formula.
- Directional accuracy: share of rows with ``sign(prediction) == sign(realized)``.
- Rank IC: Spearman correlation of prediction vs. realized label per pair per UTC day (groups
  of at least ``MIN_IC_ROWS`` rows with non-constant values), averaged over the groups; also
  pooled over all rows, and on the rows both models predicted ("common rows").
- Backtest: Freqtrade's result (total profit, trades, max account drawdown, its sharpe and
  sortino) and our daily ratios net of fees: daily P&L = sum of ``profit_abs`` (net of fees) of
  the trades closed that UTC day, 0 on days without closes, over every day of the time range;
  daily return ``r_d`` = P&L / starting balance (not compounded);

      Sharpe  = mean(r) / std(r, ddof=1) * sqrt(365)                   (Sharpe 1994; Lo 2002)
      Sortino = mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(365)          (Sortino & Price 1994)

  with target return 0 and 365 periods a year (crypto trades every day). Sharpe, W. F. (1994),
  "The Sharpe Ratio", J. Portfolio Management 21(1); Lo, A. W. (2002), "The Statistics of
  Sharpe Ratios", Financial Analysts Journal 58(4) (annualising by sqrt of periods for i.i.d.
  returns); Sortino, F. A. & Price, L. N. (1994), "Performance Measurement in a Downside Risk
  Framework", J. Investing 3(3) (downside deviation below a target, over all periods).
- Timing: training wall time = sum of ``fit`` seconds; inference time per candle = sum of
  ``predict`` seconds / candles predicted. Ratios are MoE / baseline.

Targets (figures, not assertions): MoE beats the baseline on rank IC and daily Sharpe; training
and inference time <= 1.5x the baseline. Exit status 0 when both backtests finished, whatever
the figures; 1 when a backtest failed (the tail of its output is printed); 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BENCH_MODELS = REPO / "bench" / "freqai_models"
STRATEGY = "RegimeMoE"
LABEL = "&-s_close"
#: (key in the report, FreqAI model class under test, timing subclass in bench/freqai_models)
MODELS = (("baseline", "LightGBMRegressor", "TimedLightGBMRegressor"),
          ("moe", "RegimeGatedMoE", "TimedRegimeGatedMoE"))
#: fewest rows of one (pair, UTC day) group for its daily rank IC
MIN_IC_ROWS = 3
TARGET_RATIO = 1.5
PERIODS_PER_YEAR = 365
TIMING_LINE = re.compile(r"BENCH_TIMING (fit|predict) (\S+) (\d+) ([0-9.eE+-]+)")
TRAIN_FAILED = re.compile(r"Training (\S+) raised exception")
MIXTURE_FIT = re.compile(r"regime mixture fitted: (\d+) rows, .*?rows per regime (\{.*?\}), "
                         r"fallback to global (\[.*?\]|none)")
PREDICTION_FILE = re.compile(r"^cb_(?P<coin>.+)_(?P<ts>\d+)_prediction\.feather$")


class BenchError(RuntimeError):
    """A backtest failed or left no usable result."""


# --------------------------------------------------------------------------- pure metrics


def realized_label(close: pd.Series, horizon: int) -> pd.Series:
    """The strategy's label on realized candles: mean close of the next ``horizon`` candles /
    close - 1 (NaN where fewer than ``horizon`` candles follow)."""
    return close.shift(-horizon).rolling(horizon).mean() / close - 1


def directional_accuracy(pred: Iterable[float], real: Iterable[float]) -> float:
    """Share (0-1) of rows where ``sign(pred) == sign(real)``; NaN for no rows."""
    p, r = np.asarray(pred, dtype=float), np.asarray(real, dtype=float)
    if p.size == 0:
        return math.nan
    return float(np.mean(np.sign(p) == np.sign(r)))


def spearman(a: Iterable[float], b: Iterable[float]) -> float:
    """Spearman rank correlation (average ranks for ties); NaN when fewer than 2 rows or a
    side is constant."""
    x, y = pd.Series(np.asarray(a, dtype=float)), pd.Series(np.asarray(b, dtype=float))
    if len(x) < 2:
        return math.nan
    rx, ry = x.rank().to_numpy(), y.rank().to_numpy()
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def daily_rank_ic(frame: pd.DataFrame, pred: str = "pred", real: str = "real",
                  min_rows: int = MIN_IC_ROWS) -> tuple[float, float, int]:
    """Rank IC per pair per UTC day, averaged.

    Args:
        frame: rows with ``pair``, ``date`` (tz-aware UTC), ``pred`` and ``real`` columns.
        min_rows: groups with fewer rows are skipped (as are groups where a side is constant).

    Returns:
        (mean IC, std of the daily ICs (ddof=1, NaN below 2 groups), number of groups used).
    """
    if frame.empty:
        return math.nan, math.nan, 0
    day = frame["date"].dt.tz_convert("UTC").dt.floor("D")
    ics = []
    for _, group in frame.groupby([frame["pair"], day], sort=True):
        if len(group) >= min_rows:
            ic = spearman(group[pred], group[real])
            if not math.isnan(ic):
                ics.append(ic)
    if not ics:
        return math.nan, math.nan, 0
    arr = np.asarray(ics)
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else math.nan, int(arr.size)


def daily_returns(trades: pd.DataFrame, start: pd.Timestamp, stop: pd.Timestamp,
                  starting_balance: float) -> pd.Series:
    """Daily returns net of fees: ``profit_abs`` summed by UTC close date, 0 on days without
    closes, over every UTC day from ``start``'s day to the day before ``stop`` (exclusive end;
    widened to cover any close outside), divided by ``starting_balance`` (not compounded)."""
    first = pd.Timestamp(start).tz_convert("UTC").floor("D")
    last = (pd.Timestamp(stop).tz_convert("UTC") - pd.Timedelta(microseconds=1)).floor("D")
    pnl = pd.Series(dtype=float)
    if len(trades):
        close_day = pd.to_datetime(trades["close_date"], utc=True).dt.floor("D")
        pnl = trades["profit_abs"].astype(float).groupby(close_day).sum()
        first, last = min(first, pnl.index.min()), max(last, pnl.index.max())
    days = pd.date_range(first, last, freq="D")
    return pnl.reindex(days, fill_value=0.0).fillna(0.0) / starting_balance


def sharpe(returns: pd.Series, periods: int = PERIODS_PER_YEAR) -> float:
    """``mean / std(ddof=1) * sqrt(periods)``; NaN for fewer than 2 returns or zero std."""
    r = np.asarray(returns, dtype=float)
    if r.size < 2:
        return math.nan
    std = r.std(ddof=1)
    return float(r.mean() / std * math.sqrt(periods)) if std > 0 else math.nan


def sortino(returns: pd.Series, periods: int = PERIODS_PER_YEAR) -> float:
    """``mean / sqrt(mean(min(r, 0)^2)) * sqrt(periods)`` (target 0, downside deviation over
    all periods); NaN for no returns or no losing period."""
    r = np.asarray(returns, dtype=float)
    if r.size == 0:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    return float(r.mean() / downside * math.sqrt(periods)) if downside > 0 else math.nan


def prediction_metrics(frame: pd.DataFrame) -> dict[str, Any]:
    """Directional accuracy and rank IC (daily mean and pooled) of ``pred`` vs ``real``."""
    ic, ic_std, groups = daily_rank_ic(frame)
    return {
        "rows": int(len(frame)),
        "directional_accuracy": directional_accuracy(frame["pred"], frame["real"]),
        "rank_ic_daily_mean": ic,
        "rank_ic_daily_std": ic_std,
        "rank_ic_daily_groups": groups,
        "rank_ic_pooled": spearman(frame["pred"], frame["real"]),
    }


def regime_diagnostics(frame: pd.DataFrame) -> dict[str, Any]:
    """Per ``regime`` name: share of the rows, directional accuracy and rank IC (pooled within
    the regime, and daily mean where a pair-day of that regime has enough rows)."""
    if "regime" not in frame.columns or frame.empty:
        return {}
    out = {}
    for name, group in frame.groupby(frame["regime"].astype(str), sort=True):
        ic, _, groups = daily_rank_ic(group)
        out[name] = {"rows": int(len(group)), "share": len(group) / len(frame),
                     "directional_accuracy": directional_accuracy(group["pred"], group["real"]),
                     "rank_ic_pooled": spearman(group["pred"], group["real"]),
                     "rank_ic_daily_mean": ic, "rank_ic_daily_groups": groups}
    return out


def backtest_metrics(trades: pd.DataFrame, stats: dict, start: pd.Timestamp,
                     stop: pd.Timestamp) -> dict[str, Any]:
    """Freqtrade's headline figures for one strategy plus our daily Sharpe / Sortino."""
    balance = float(stats["starting_balance"])
    returns = daily_returns(trades, start, stop, balance)
    fee = float(trades["fee_open"].median()) if len(trades) and "fee_open" in trades else math.nan
    return {
        "starting_balance": balance,
        "profit_total_frac": float(stats["profit_total"]),
        "profit_total_abs": float(stats["profit_total_abs"]),
        "trades": int(stats["total_trades"]),
        "max_drawdown_account_frac": float(stats.get("max_drawdown_account", 0.0)),
        "freqtrade_sharpe": float(stats.get("sharpe", math.nan)),
        "freqtrade_sortino": float(stats.get("sortino", math.nan)),
        "daily_sharpe": sharpe(returns),
        "daily_sortino": sortino(returns),
        "days": int(len(returns)),
        "fee_per_side": fee,
    }


def timing_from_log(text: str) -> dict[str, Any]:
    """Sums of the ``BENCH_TIMING`` lines and the count of failed trainings in a log."""
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


def mixture_fits_from_log(text: str) -> dict[str, Any]:
    """The MoE's per-fit ``regime mixture fitted`` log lines (``plugins.regime.mixture``):
    how many regimes got their own expert and how many fell back to the global expert."""
    fits = []
    for rows, per_regime, fallback in MIXTURE_FIT.findall(text):
        try:
            counts = ast.literal_eval(per_regime)
            fell_back = [] if fallback == "none" else ast.literal_eval(fallback)
        except (ValueError, SyntaxError):
            continue
        fits.append({"rows": int(rows), "regimes": len(counts), "own_experts": len(counts) - len(fell_back)})
    if not fits:
        return {"fits": 0}
    return {"fits": len(fits),
            "fits_all_regimes_fell_back": sum(f["own_experts"] == 0 for f in fits),
            "own_experts_per_fit_mean": float(np.mean([f["own_experts"] for f in fits])),
            "regimes_per_fit_mean": float(np.mean([f["regimes"] for f in fits])),
            "training_rows_per_fit_mean": float(np.mean([f["rows"] for f in fits]))}


def ratio(num: float, den: float) -> float:
    """``num / den``; NaN where undefined."""
    try:
        value = num / den
    except (TypeError, ZeroDivisionError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def better(moe: float, base: float) -> bool | None:
    """Whether ``moe > base``; ``None`` where either is NaN."""
    if moe is None or base is None or math.isnan(moe) or math.isnan(base):
        return None
    return moe > base


def jsonable(value: Any) -> Any:
    """``value`` with NaN/inf as ``None``, numpy scalars as Python, paths as str."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


# --------------------------------------------------------------------------- config & data


def deep_merge(base: dict, overlay: dict) -> dict:
    """``overlay`` merged into a copy of ``base`` as Freqtrade merges ``-c`` files (dicts
    merged recursively, everything else replaced)."""
    out = dict(base)
    for key, value in overlay.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(
            out.get(key), dict) else value
    return out


def corr_pairs(configured: list[str], pairs: list[str]) -> list[str]:
    """The configured corr pairs that are among ``pairs`` (config order), else ``pairs[:1]``."""
    return [p for p in configured if p in pairs] or pairs[:1]


def realized_labels(datadir: Path, pairs: list[str], timeframe: str, horizon: int,
                    data_format: str) -> pd.DataFrame:
    """``pair``, ``date``, ``real``: the realized label of every candle in ``datadir``."""
    from freqtrade.data.history import load_pair_history

    frames = []
    for pair in pairs:
        candles = load_pair_history(pair, timeframe, datadir, fill_up_missing=True,
                                    data_format=data_format)
        if candles.empty:
            raise BenchError(f"No {timeframe} candles of {pair} in {datadir}")
        frames.append(pd.DataFrame({"pair": pair, "date": candles["date"],
                                    "real": realized_label(candles["close"], horizon)}))
    return pd.concat(frames, ignore_index=True)


def load_predictions(models_dir: Path, pairs: list[str]) -> pd.DataFrame:
    """Every backtest prediction file of one FreqAI identifier: ``pair``, ``window`` (model
    timestamp), ``date``, ``pred``, ``do_predict`` and ``regime`` where present."""
    folder = models_dir / "backtesting_predictions"
    by_coin = {p.split("/")[0].lower(): p for p in pairs}
    frames = []
    for path in sorted(folder.glob("*_prediction.feather")):
        match = PREDICTION_FILE.match(path.name)
        if not match or match["coin"] not in by_coin:
            continue
        raw = pd.read_feather(path)
        frame = pd.DataFrame({"date": pd.to_datetime(raw["date"], utc=True),
                              "pred": raw[LABEL].astype(float),
                              "do_predict": raw["do_predict"].astype(int)})
        if "regime" in raw.columns:
            frame["regime"] = raw["regime"].astype(str)
        frame.insert(0, "window", int(match["ts"]))
        frame.insert(0, "pair", by_coin[match["coin"]])
        frames.append(frame)
    if not frames:
        raise BenchError(f"No backtest prediction files in {folder}")
    return pd.concat(frames, ignore_index=True)


def evaluation_rows(preds: pd.DataFrame, labels: pd.DataFrame, start: pd.Timestamp,
                    stop: pd.Timestamp | None) -> pd.DataFrame:
    """Predictions inside [start, stop) joined to their realized labels; all rows kept, with
    ``used`` = ``do_predict == 1`` and a known realized label."""
    rows = preds[(preds["date"] >= start) & ((preds["date"] < stop) if stop is not None else True)]
    rows = rows.merge(labels, on=["pair", "date"], how="left")
    rows["used"] = (rows["do_predict"] == 1) & rows["real"].notna() & rows["pred"].notna()
    return rows


# --------------------------------------------------------------------------- running


@dataclass
class RunResult:
    key: str
    model: str
    identifier: str
    wall_seconds: float
    log: Path
    results_dir: Path
    models_dir: Path
    extra: dict = field(default_factory=dict)


def run_backtest(key: str, model: str, timed: str, configs: list[str], args: argparse.Namespace,
                 userdir: Path) -> RunResult:
    """One ``freqtrade backtesting`` run with model class ``timed``; raises BenchError on failure."""
    from plugins.core.backtest_results import check_latest
    from plugins.core.errors import BacktestResultError

    identifier = f"bench-{key}-{int(time.time())}"
    overlay = userdir / f"{key}.json"
    overlay.write_text(json.dumps({"freqai": {"identifier": identifier}}))
    results_dir = userdir / "backtest_results" / key
    results_dir.mkdir(parents=True, exist_ok=True)
    logfile, outfile = userdir / "logs" / f"{key}.log", userdir / "logs" / f"{key}.out"
    cmd = [sys.executable, "-m", "freqtrade", "backtesting", *configs, "-c", str(overlay),
           "--strategy", STRATEGY, "--freqaimodel", timed, "--freqaimodel-path", str(BENCH_MODELS),
           "--timerange", args.timerange, "--datadir", str(args.datadir), "--cache", "none",
           "--export", "trades", "--backtest-directory", str(results_dir),
           "--logfile", str(logfile)]
    print(f"[{key}] {model}: freqtrade backtesting {args.timerange} ...", file=sys.stderr, flush=True)
    started_s = int(time.time())
    started = time.perf_counter()
    with outfile.open("w") as out:
        proc = subprocess.run(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, check=False)
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
    return RunResult(key, model, identifier, wall, logfile, results_dir,
                     userdir / "models" / identifier)


def evaluate(run: RunResult, labels: pd.DataFrame, pairs: list[str], start: pd.Timestamp,
             stop: pd.Timestamp | None) -> tuple[dict[str, Any], pd.DataFrame]:
    """All figures of one finished run, and its evaluation rows."""
    from freqtrade.data.btanalysis import load_backtest_data, load_backtest_stats

    stats = load_backtest_stats(run.results_dir)
    strat = stats["strategy"][STRATEGY]
    trades = load_backtest_data(run.results_dir, strategy=STRATEGY)
    bt_start = pd.Timestamp(start) if start is not None else pd.Timestamp(strat["backtest_start"],
                                                                          tz="UTC")
    bt_stop = pd.Timestamp(stop) if stop is not None else (
        pd.Timestamp(strat["backtest_end"], tz="UTC") + pd.Timedelta(microseconds=1))
    rows = evaluation_rows(load_predictions(run.models_dir, pairs), labels, bt_start, stop)
    used = rows[rows["used"]]
    figures = {
        "model": run.model,
        "identifier": run.identifier,
        "backtest_wall_seconds": run.wall_seconds,
        "predictions": {**prediction_metrics(used), "rows_in_timerange": int(len(rows)),
                        "rows_do_predict_0": int((rows["do_predict"] != 1).sum())},
        "predictions_per_pair": {p: prediction_metrics(g) for p, g in used.groupby("pair")},
        "windows_per_pair": {p: int(g["window"].nunique()) for p, g in rows.groupby("pair")},
        "backtest": backtest_metrics(trades, strat, bt_start, bt_stop),
        "timing": timing_from_log(run.log.read_text(errors="replace")),
    }
    return figures, rows


# --------------------------------------------------------------------------- report


def fmt(value: Any, kind: str = "f4") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "int":
        return f"{int(value):d}"
    if kind == "x":
        return f"{value:.2f}x"
    if kind == "f1":
        return f"{value:.1f}"
    if kind == "f2":
        return f"{value:.2f}"
    return f"{value:.4f}"


def yes_no(flag: bool | None) -> str:
    return "n/a" if flag is None else ("yes" if flag else "no")


def table_rows(report: dict) -> list[tuple[str, str, str, str]]:
    """(metric, baseline, MoE, 'MoE better? / target') rows of the printed table."""
    b, m = report["models"]["baseline"], report["models"]["moe"]
    cmp = report["comparison"]
    stake = report["config"]["stake_currency"]
    rows = []

    def add(label, path, kind, note=""):
        def get(d):
            for part in path:
                d = d[part]
            return d
        rows.append((label, fmt(get(b), kind), fmt(get(m), kind), note))

    add("OOS rows used (do_predict=1)", ("predictions", "rows"), "int")
    add("directional accuracy", ("predictions", "directional_accuracy"), "pct")
    add("rank IC (mean per pair-day)", ("predictions", "rank_ic_daily_mean"), "f4",
        f"MoE better? {yes_no(cmp['rank_ic_better'])}")
    add("rank IC (pooled)", ("predictions", "rank_ic_pooled"), "f4")
    rows.append(("rank IC per pair-day, common rows", fmt(cmp["common_rows"]["baseline"]
                                                          ["rank_ic_daily_mean"]),
                 fmt(cmp["common_rows"]["moe"]["rank_ic_daily_mean"]),
                 f"{cmp['common_rows']['rows']} rows; MoE better? "
                 f"{yes_no(cmp['rank_ic_common_better'])}"))
    add("total profit", ("backtest", "profit_total_frac"), "pct")
    add(f"total profit ({stake})", ("backtest", "profit_total_abs"), "f2")
    add("trades", ("backtest", "trades"), "int")
    add("max drawdown (account)", ("backtest", "max_drawdown_account_frac"), "pct")
    add("Freqtrade sharpe", ("backtest", "freqtrade_sharpe"), "f2")
    add("Freqtrade sortino", ("backtest", "freqtrade_sortino"), "f2")
    add("daily Sharpe, net of fees", ("backtest", "daily_sharpe"), "f2",
        f"MoE better? {yes_no(cmp['daily_sharpe_better'])}")
    add("daily Sortino, net of fees", ("backtest", "daily_sortino"), "f2")
    add("training wall time (s, sum of fit)", ("timing", "train_seconds"), "f1",
        f"ratio {fmt(cmp['train_time_ratio'], 'x')} (target <= {TARGET_RATIO}x: "
        f"{yes_no(cmp['train_time_within_target'])})")
    add("inference (us per candle)", ("timing", "inference_us_per_candle"), "f1",
        f"ratio {fmt(cmp['inference_time_ratio'], 'x')} (target <= {TARGET_RATIO}x: "
        f"{yes_no(cmp['inference_time_within_target'])})")
    add("fits / failed trainings", ("timing", "fit_calls"), "int")
    rows[-1] = (rows[-1][0], f"{rows[-1][1]} / {b['timing']['failed_trainings']}",
                f"{rows[-1][2]} / {m['timing']['failed_trainings']}", "")
    add("backtest wall time (s)", ("backtest_wall_seconds",), "f1")
    return rows


def print_table(report: dict) -> None:
    rows = table_rows(report)
    a = report["arguments"]
    title = (f"RegimeGatedMoE vs LightGBMRegressor - {STRATEGY}, {' '.join(a['pairs'])}, "
             f"{a['timerange']}")
    headers = ("metric", "LightGBMRegressor", "RegimeGatedMoE", "MoE better? / target")
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in (*rows, headers)) for i in range(4)]
        print(title)
        for r in (headers, *rows):
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    else:
        table = Table(title=title)
        for i, h in enumerate(headers):
            table.add_column(h, justify="right" if i in (1, 2) else "left")
        for r in rows:
            table.add_row(*r)
        Console(width=max(140, len(title) + 4)).print(table)
    mixture = report["models"]["moe"].get("mixture") or {}
    if mixture.get("fits"):
        print(f"MoE fits: {mixture['fits']}, regime experts per fit "
              f"{mixture['own_experts_per_fit_mean']:.2f} of {mixture['regimes_per_fit_mean']:.2f} regimes, "
              f"{mixture['training_rows_per_fit_mean']:.0f} training rows per fit")
        if mixture["fits_all_regimes_fell_back"] == mixture["fits"]:
            print("NOTE: in every fit all regimes fell back to the global expert (too few rows per "
                  "regime for ai_suite.regime.mixture.min_regime_samples): the MoE's prediction is a "
                  "single LightGBM, the same as the baseline's. Use longer --train-days.")
    regimes = report["models"]["moe"].get("regimes") or {}
    if regimes:
        print("MoE per regime (its own predicted regime): share / directional accuracy / "
              "rank IC pooled")
        for name, d in regimes.items():
            print(f"  {name:<22} {fmt(d['share'], 'pct'):>8}  {fmt(d['directional_accuracy'], 'pct'):>8}"
                  f"  {fmt(d['rank_ic_pooled']):>8}  ({d['rows']} rows)")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="RegimeGatedMoE vs LightGBMRegressor: same strategy (RegimeMoE), features "
                    "and FreqAI walk-forward windows; prints a table and writes JSON.")
    parser.add_argument("--datadir", type=Path, required=True,
                        help="Freqtrade data dir with <PAIR>-<tf>.feather (user_data/data/binance)")
    parser.add_argument("--pairs", nargs="+", required=True, help="pairs, e.g. BTC/USDT ETH/USDT")
    parser.add_argument("--timerange", required=True, help="YYYYMMDD-YYYYMMDD (Freqtrade format)")
    parser.add_argument("--out", type=Path, required=True, help="JSON result file")
    parser.add_argument("--altdata-cache", type=Path, default=REPO / "user_data/altdata",
                        help="alt-data cache dir (ai_suite.altdata.cache_dir; default "
                             "user_data/altdata)")
    parser.add_argument("--config", nargs="+", type=Path, default=[],
                        help="extra config overlays, applied after the shipped configs "
                             "(e.g. a different ai_suite.regime)")
    parser.add_argument("--train-days", type=int, default=None,
                        help="override freqai.train_period_days (whole days)")
    parser.add_argument("--backtest-days", type=float, default=None,
                        help="override freqai.backtest_period_days (days, may be fractional)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary user_data dir (logs, models, results)")
    args = parser.parse_args(argv)
    args.datadir = args.datadir.resolve()
    args.altdata_cache = args.altdata_cache.resolve()
    args.config = [c.resolve() for c in args.config]
    if not args.datadir.is_dir():
        parser.error(f"--datadir {args.datadir} is not a directory")
    if not args.altdata_cache.is_dir():
        parser.error(f"alt-data cache dir {args.altdata_cache} does not exist. RegimeMoE merges "
                     "alternative-data features from it (all NaN without it, so FreqAI cannot "
                     "train). Fill it with `make data` or `python -m plugins.altdata "
                     "import-shared`, or pass --altdata-cache DIR.")
    for path in args.config:
        if not path.is_file():
            parser.error(f"--config {path}: no such file")
    coins = [p.split("/")[0].lower() for p in args.pairs]
    if len(set(coins)) != len(coins) or len(set(args.pairs)) != len(args.pairs):
        parser.error("pairs must have distinct base currencies: FreqAI names its per-pair model "
                     "and prediction files by base currency only")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from freqtrade.configuration import TimeRange

    from adapters.replay_exchange import ReplayExchangeConfig, serving
    from adapters.replay_exchange.overlay import offline_overlay
    from plugins.core.config import load_suite_config

    timerange = TimeRange.parse_timerange(args.timerange)
    start = pd.Timestamp(timerange.startdt) if timerange.startdt else None
    stop = pd.Timestamp(timerange.stopdt) if timerange.stopdt else None

    shipped = [REPO / "config/base.json", REPO / "config/backtest.json"]
    merged: dict = {}
    for path in [*shipped, *args.config]:
        merged = deep_merge(merged, json.loads(path.read_text()))
    corr = corr_pairs(merged["freqai"]["feature_parameters"].get("include_corr_pairlist", []),
                      args.pairs)
    freqai_overlay: dict[str, Any] = {"feature_parameters": {"include_corr_pairlist": corr}}
    if args.train_days is not None:
        freqai_overlay["train_period_days"] = args.train_days
    if args.backtest_days is not None:
        freqai_overlay["backtest_period_days"] = args.backtest_days

    tmp = Path(tempfile.mkdtemp(prefix="moe-bench-"))
    userdir = tmp / "user_data"
    for sub in ("models", "backtest_results", "logs"):
        (userdir / sub).mkdir(parents=True)
    bench_overlay = {"user_data_dir": str(userdir), "strategy": STRATEGY,
                     "exchange": {"pair_whitelist": args.pairs},
                     "freqai": freqai_overlay,
                     "ai_suite": {"altdata": {"cache_dir": str(args.altdata_cache)}}}
    merged = deep_merge(merged, bench_overlay)
    suite = load_suite_config(merged)
    fa = merged["freqai"]
    horizon = int(fa["feature_parameters"]["label_period_candles"])
    regime = suite.regime
    report: dict[str, Any] = {
        "arguments": {"datadir": args.datadir, "pairs": args.pairs, "timerange": args.timerange,
                      "out": args.out.resolve(), "altdata_cache": args.altdata_cache,
                      "config": args.config, "train_days": args.train_days,
                      "backtest_days": args.backtest_days},
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            "files": [*shipped, "<offline overlay: replay exchange>", *args.config,
                      "<bench overlay>"],
            "strategy": STRATEGY, "timeframe": merged["timeframe"],
            "stake_currency": merged["stake_currency"],
            "train_period_days": fa["train_period_days"],
            "backtest_period_days": fa["backtest_period_days"],
            "label_period_candles": horizon,
            "include_timeframes": fa["feature_parameters"].get("include_timeframes"),
            "include_corr_pairlist": corr,
            "regime": {"detector": regime.detector.kind, "n_regimes": regime.n_regimes(),
                       "gate": regime.mixture.gate, "expert": regime.mixture.expert.kind,
                       "expert_device": regime.mixture.expert.device,
                       "min_regime_samples": regime.mixture.min_regime_samples,
                       "input_window": regime.input_window},
        },
        "metric_definitions": {
            "directional_accuracy": "share of rows with sign(pred) == sign(realized)",
            "rank_ic_daily_mean": f"mean over (pair, UTC day) groups with >= {MIN_IC_ROWS} rows of "
                                  "the Spearman correlation of pred vs realized label",
            "rank_ic_pooled": "Spearman correlation over all rows used",
            "daily_sharpe": "mean(r)/std(r, ddof=1)*sqrt(365), r = daily profit_abs (net of fees, "
                            "by UTC close day, 0 on days without closes) / starting balance",
            "daily_sortino": "mean(r)/sqrt(mean(min(r,0)^2))*sqrt(365)",
            "train_seconds": "sum of fit() wall time over all pairs and windows",
            "inference_us_per_candle": "sum of predict() wall time / candles predicted",
            "realized label": f"mean close of the next {horizon} candles / close - 1",
        },
    }

    runs: dict[str, RunResult] = {}
    try:
        with serving(ReplayExchangeConfig(datadir=args.datadir, port=0)) as server:
            offline = offline_overlay(server.api_url)
            (userdir / "offline.json").write_text(json.dumps(offline))
            (userdir / "bench.json").write_text(json.dumps(bench_overlay))
            configs = [arg for path in [*shipped, userdir / "offline.json", *args.config,
                                        userdir / "bench.json"] for arg in ("-c", str(path))]
            for key, model, timed in MODELS:
                runs[key] = run_backtest(key, model, timed, configs, args, userdir)
        labels = realized_labels(args.datadir, args.pairs, merged["timeframe"], horizon,
                                 merged.get("dataformat_ohlcv", "feather"))
        figures, rows = {}, {}
        for key, run in runs.items():
            figures[key], rows[key] = evaluate(run, labels, args.pairs, start, stop)
    except BenchError as err:
        print(f"moe_vs_baseline: {err}", file=sys.stderr)
        print(f"(user_data kept for inspection: {userdir})", file=sys.stderr)
        return 1

    moe_rows = rows["moe"][rows["moe"]["used"]]
    figures["moe"]["regimes"] = regime_diagnostics(moe_rows)
    figures["moe"]["mixture"] = mixture_fits_from_log(runs["moe"].log.read_text(errors="replace"))
    keys = ["pair", "date"]
    common = rows["baseline"][rows["baseline"]["used"]][[*keys, "pred", "real"]].merge(
        moe_rows[[*keys, "pred"]], on=keys, suffixes=("_base", "_moe"))
    common_figs = {
        name: prediction_metrics(common.rename(columns={f"pred_{suffix}": "pred"}))
        for name, suffix in (("baseline", "base"), ("moe", "moe"))}
    b, m = figures["baseline"], figures["moe"]
    train_ratio = ratio(m["timing"]["train_seconds"], b["timing"]["train_seconds"])
    infer_ratio = ratio(m["timing"]["inference_us_per_candle"], b["timing"]["inference_us_per_candle"])
    report["models"] = figures
    report["comparison"] = {
        "rank_ic_better": better(m["predictions"]["rank_ic_daily_mean"],
                                 b["predictions"]["rank_ic_daily_mean"]),
        "rank_ic_common_better": better(common_figs["moe"]["rank_ic_daily_mean"],
                                        common_figs["baseline"]["rank_ic_daily_mean"]),
        "daily_sharpe_better": better(m["backtest"]["daily_sharpe"], b["backtest"]["daily_sharpe"]),
        "train_time_ratio": train_ratio,
        "inference_time_ratio": infer_ratio,
        "train_time_within_target": None if math.isnan(train_ratio) else train_ratio <= TARGET_RATIO,
        "inference_time_within_target": (None if math.isnan(infer_ratio)
                                         else infer_ratio <= TARGET_RATIO),
        "target_ratio": TARGET_RATIO,
        "common_rows": {"rows": int(len(common)), **common_figs},
    }
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["user_data"] = str(userdir) if args.keep else None

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(jsonable(report), indent=2))
    print_table(report)
    print(f"JSON: {args.out}")
    if args.keep:
        print(f"user_data kept: {userdir}")
    else:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
