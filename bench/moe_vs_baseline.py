"""Is there an edge? RegimeGatedMoE vs LightGBMRegressor, beside no-skill controls, same run.

    python bench/moe_vs_baseline.py --datadir user_data/data/binance --pairs BTC/USDT ETH/USDT \\
        --timerange 20240101-20240401 --out result.json \\
        [--entry-filter regime|none] [--altdata-cache user_data/altdata] [--config extra.json ...]
        [--train-days 14] [--backtest-days 7] [--seed 0] [--n-boot 1000] [--keep]

Works on any data dir, pairs and time range; prints a table and writes the same as JSON.

**Runs.** The real ``freqtrade backtesting`` twice against a replay exchange over
``--datadir``: strategy ``RegimeMoE`` (same features, label, entries, exits, config and FreqAI
walk-forward windows), differing only in ``--freqaimodel``: the suite's ``RegimeGatedMoE`` and
Freqtrade's stock ``LightGBMRegressor``, each with a fresh FreqAI identifier and ``--cache
none``, loaded through timing subclasses in ``bench/freqai_models/`` that change nothing else.

**Same entry filter for both** (``--entry-filter``): ``regime`` (default) gives the baseline
the same detector's ``regime`` and ``confidence`` columns
(``bench/freqai_models/TimedRegimeLightGBMRegressor.py``), so both trade behind RegimeMoE's
regime filter and the risk layer's confidence gate alike; the report shows how often the two
runs' regimes agree. ``none`` switches the filter off for both (no blocked regime, minimum
confidence 0). Either way the P&L difference is the models'.

**Controls, same run, same candles** (``controls.<name>`` in the JSON): the no-skill predictor
``-close`` (``no_skill_neg_close``: known at prediction time, it scores well only on a broken
metric), seeded noise (``no_skill_random``), a momentum and a mean-reversion one-liner, and
equal-weight buy-and-hold (trading figures only). The IC controls are scored on every candle of
the time range with a known label; the models on their out-of-sample predictions
(``do_predict == 1``).

**Metrics** (:mod:`plugins.research`; definitions in the JSON's ``metric_definitions``):
``ic_nonoverlap`` (rank IC on every h-th candle, h = the label's candles, all offsets averaged)
with its HAC t-statistic ``ic_nonoverlap_t``, ``ic_cross_sectional`` (null with < 3 pairs),
``sharpe_daily`` (annualized from daily returns net of fees), ``psr``, ``max_drawdown``,
``profit_total``, ``trades`` (Freqtrade's own figures: ``freqtrade.data.metrics``), and
block-bootstrap 95 % intervals of the IC, the Sharpe ratio and the MoE-minus-baseline
differences (seeded by ``--seed``). There is no per-day IC: with 24-candle labels that overlap
by 23/24 it ranked ``-close`` at +0.76.

**Verdict.** A model shows a prediction edge only if its non-overlapping IC is positive with
t >= 2; "MoE better" only if the bootstrap interval of the difference excludes 0. Timing:
training and inference time ratios MoE / baseline (target <= 1.5x; figures, not assertions).

Exit status 0 when both backtests finished, whatever the figures; 1 when a backtest failed (the
tail of its output is printed); 2 on a bad argument (one line naming it).
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import re
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _args import (  # noqa: E402
    ArgumentProblem,
    add_data_arguments,
    exit_on_problem,
    parse_timerange,
    validate_data_arguments,
)
from harness import (  # noqa: E402
    REPO,
    BenchError,
    RunResult,
    corr_pairs,
    deep_merge,
    ratio,
    replay_configs,
    run_backtest,
    shipped_config,
    timing_from_log,
    write_json,
)

from plugins.research import evaluation  # noqa: E402
from plugins.research.controls import (  # noqa: E402
    CONTROL_PREDICTORS,
    buy_and_hold_balance,
    control_predictors,
    realized_label,
)
from plugins.research.stats import ic_ci, information_coefficient, sharpe_difference_ci  # noqa: E402

PROG = "moe_vs_baseline"
BENCH_MODELS = REPO / "bench" / "freqai_models"
STRATEGY = "RegimeMoE"
LABEL = "&-s_close"
#: report key -> (model under test, timing class with the regime filter, plain timing class)
MODELS = {"baseline": ("LightGBMRegressor", "TimedRegimeLightGBMRegressor", "TimedLightGBMRegressor"),
          "moe": ("RegimeGatedMoE", "TimedRegimeGatedMoE", "TimedRegimeGatedMoE")}
TARGET_RATIO = 1.5
#: fee per side for buy-and-hold when the backtests made no trade (Binance spot taker)
DEFAULT_FEE = 0.001
MIXTURE_FIT = re.compile(r"regime mixture fitted: (\d+) rows, .*?rows per regime (\{.*?\}), "
                         r"fallback to global (\[.*?\]|none)")
PREDICTION_FILE = re.compile(r"^cb_(?P<coin>.+)_(?P<ts>\d+)_prediction\.feather$")


# --------------------------------------------------------------------------- predictions


def load_predictions(models_dir: Path, pairs: list[str]) -> pd.DataFrame:
    """Every backtest prediction file of one FreqAI identifier
    (``<models_dir>/backtesting_predictions/cb_<coin>_<ts>_prediction.feather``): ``pair``,
    ``window`` (model timestamp), ``date`` (UTC), ``pred``, ``do_predict`` and ``regime``
    where present.

    Raises:
        BenchError: no prediction file.
    """
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


def realized_labels(candles: dict[str, pd.DataFrame], horizon: int) -> pd.DataFrame:
    """``pair``, ``date``, ``close``, ``real`` (the strategy's label on realized candles)."""
    return pd.concat([pd.DataFrame({"pair": pair, "date": c["date"], "close": c["close"],
                                    "real": realized_label(c["close"], horizon)})
                      for pair, c in candles.items()], ignore_index=True)


def evaluation_rows(preds: pd.DataFrame, labels: pd.DataFrame, start: pd.Timestamp,
                    stop: pd.Timestamp) -> pd.DataFrame:
    """Predictions inside [start, stop) joined to their realized labels; ``used`` =
    ``do_predict == 1`` with a known label and prediction."""
    rows = preds[(preds["date"] >= start) & (preds["date"] < stop)]
    rows = rows.merge(labels[["pair", "date", "real"]], on=["pair", "date"], how="left")
    rows["used"] = (rows["do_predict"] == 1) & rows["real"].notna() & rows["pred"].notna()
    return rows


def control_frames(candles: dict[str, pd.DataFrame], horizon: int, start: pd.Timestamp,
                   stop: pd.Timestamp, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Prediction frames of each control predictor on the candles of [start, stop) with a
    known label (see :data:`plugins.research.controls.CONTROL_PREDICTORS`)."""
    out: dict[str, list[pd.DataFrame]] = {name: [] for name in CONTROL_PREDICTORS}
    for pair, c in candles.items():
        real = realized_label(c["close"], horizon)
        inside = (c["date"] >= start) & (c["date"] < stop)
        for name, pred in control_predictors(c["close"], horizon, rng).items():
            out[name].append(pd.DataFrame({"pair": pair, "date": c["date"], "pred": pred,
                                           "real": real})[inside])
    return {name: pd.concat(frames, ignore_index=True).dropna() for name, frames in out.items()}


def regime_diagnostics(frame: pd.DataFrame, horizon: int, timeframe: str) -> dict[str, Any]:
    """Per ``regime`` name: share of the rows and the non-overlapping IC within it."""
    if "regime" not in frame.columns or frame.empty:
        return {}
    out = {}
    for name, group in frame.groupby(frame["regime"].astype(str), sort=True):
        ic = information_coefficient(group, horizon, timeframe)
        out[name] = {"rows": int(len(group)), "share": len(group) / len(frame),
                     "ic_nonoverlap": ic.ic, "ic_nonoverlap_t": ic.t_stat}
    return out


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


# --------------------------------------------------------------------------- evaluation


def evaluate_model(run: RunResult, labels: pd.DataFrame, args: argparse.Namespace,
                   start: pd.Timestamp, stop: pd.Timestamp, horizon: int, timeframe: str,
                   rng: np.random.Generator) -> tuple[dict[str, Any], pd.DataFrame, pd.Series]:
    """One model's row (:mod:`plugins.research.evaluation`) with Freqtrade's own figures
    beside ours, its evaluation rows and its daily returns."""
    from freqtrade.data.btanalysis import load_backtest_data, load_backtest_stats

    stats = load_backtest_stats(run.results_dir)["strategy"][STRATEGY]
    trades = load_backtest_data(run.results_dir, strategy=STRATEGY)
    rows = evaluation_rows(load_predictions(run.models_dir, args.pairs), labels, start, stop)
    used = rows[rows["used"]]
    prediction = evaluation.prediction_row(used, horizon, timeframe, rng, args.n_boot)
    trading, returns = evaluation.trading_row_from_trades(
        trades, start.to_pydatetime(), stop.to_pydatetime(), float(stats["starting_balance"]),
        rng, args.n_boot)
    row = evaluation.report_row(prediction, trading, model=run.model)
    row["freqtrade"] = {key: stats.get(key) for key in (
        "profit_total", "max_drawdown_account", "total_trades", "profit_factor", "calmar",
        "sharpe", "sortino", "starting_balance")}
    row["predictions_per_pair"] = {
        p: {"rows": int(len(g)), "ic_nonoverlap": information_coefficient(g, horizon, timeframe).ic}
        for p, g in used.groupby("pair")}
    row["windows_per_pair"] = {p: int(g["window"].nunique()) for p, g in rows.groupby("pair")}
    row["rows_do_predict_0"] = int((rows["do_predict"] != 1).sum())
    row["timing"] = timing_from_log(run.log_text())
    row["backtest_wall_seconds"] = run.wall_seconds
    fee = float(trades["fee_open"].median()) if len(trades) and "fee_open" in trades else math.nan
    row["fee_per_side"] = fee
    return row, rows, returns


def evaluate_controls(candles: dict[str, pd.DataFrame], horizon: int, timeframe: str,
                      start: pd.Timestamp, stop: pd.Timestamp, starting_balance: float, fee: float,
                      rng: np.random.Generator, n_boot: int) -> dict[str, dict[str, Any]]:
    """``controls.<name>`` rows: the IC controls and buy-and-hold."""
    controls = {}
    for name, frame in control_frames(candles, horizon, start, stop, rng).items():
        controls[name] = evaluation.report_row(
            evaluation.prediction_row(frame, horizon, timeframe, rng, n_boot),
            description=CONTROL_PREDICTORS[name])
    balance = buy_and_hold_balance(candles, start, stop, starting_balance, fee)
    trading, _ = evaluation.trading_row_from_balance(balance, len(candles), rng, n_boot)
    controls["buy_and_hold"] = evaluation.report_row(
        None, trading, description=f"equal-weight buy at the first open, sell at the last close, "
                                   f"fee {fee:.4%} per side")
    return controls


def compare(models: dict[str, dict], rows: dict[str, pd.DataFrame], returns: dict[str, pd.Series],
            horizon: int, rng: np.random.Generator, n_boot: int) -> dict[str, Any]:
    """MoE minus baseline: IC on the rows both predicted and daily Sharpe on the same days
    (paired block bootstrap), regime agreement, time ratios."""
    keys = ["pair", "date"]
    base = rows["baseline"][rows["baseline"]["used"]]
    moe = rows["moe"][rows["moe"]["used"]]
    common = base[[*keys, "real", "pred"] + (["regime"] if "regime" in base else [])].merge(
        moe[[*keys, "pred"] + (["regime"] if "regime" in moe else [])], on=keys,
        suffixes=("_base", "_moe"))
    ic_diff = (ic_ci(common, horizon, rng, pred="pred_moe", compare="pred_base", n_boot=n_boot)
               if len(common) >= 3 else None)
    sharpe_diff = sharpe_difference_ci(returns["moe"], returns["baseline"], rng, n_boot=n_boot)
    agreement = (float((common["regime_base"] == common["regime_moe"]).mean())
                 if {"regime_base", "regime_moe"} <= set(common.columns) and len(common) else None)
    b, m = models["baseline"]["timing"], models["moe"]["timing"]
    train = ratio(m["train_seconds"], b["train_seconds"])
    infer = ratio(m["inference_us_per_candle"], b["inference_us_per_candle"])
    corr = (float(common["pred_moe"].corr(common["pred_base"], method="spearman"))
            if len(common) > 2 else None)
    return {"common_rows": int(len(common)),
            "ic_difference": ic_diff.to_dict() if ic_diff else None,
            "sharpe_difference": sharpe_diff.to_dict(),
            "prediction_rank_correlation": corr,
            "regime_agreement": agreement,
            "train_time_ratio": train, "inference_time_ratio": infer, "target_ratio": TARGET_RATIO,
            "train_time_within_target": None if math.isnan(train) else train <= TARGET_RATIO,
            "inference_time_within_target": None if math.isnan(infer) else infer <= TARGET_RATIO}


def _edge(row: dict) -> str:
    t, ic = row.get("ic_nonoverlap_t"), row.get("ic_nonoverlap")
    if t is None or ic is None:
        return (f"not measurable (IC {ic:+.4f}, too few non-overlapping periods for a t-statistic)"
                if ic is not None else "not measurable")
    if ic > 0 and t >= 2:
        return f"yes (IC {ic:+.4f}, t {t:+.2f} >= 2)"
    return f"no (IC {ic:+.4f}, t {t:+.2f})"


def _difference(interval: dict | None, what: str, same: str) -> str:
    if not interval or interval.get("low") is None:
        return f"{what}: not measurable"
    est, lo, hi = interval["estimate"], interval["low"], interval["high"]
    if est == lo == hi == 0:
        return f"{what}: MoE - baseline 0 in every resample: {same}"
    if lo > 0:
        word = "MoE better"
    elif hi < 0:
        word = "MoE worse"
    else:
        word = "not distinguishable"
    return f"{what}: MoE - baseline {est:+.4g}, 95% CI [{lo:+.4g}, {hi:+.4g}]: {word}"


def verdict(report: dict) -> list[str]:
    """The verdict lines, honest statistics only (module docstring)."""
    models, controls, cmp = report["models"], report["controls"], report["comparison"]
    lines = [f"prediction edge, {name}: {_edge(row)}" for name, row in models.items()]
    best = max(((n, c) for n, c in controls.items() if c.get("ic_nonoverlap") is not None),
               key=lambda nc: abs(nc[1]["ic_nonoverlap"]), default=None)
    if best:
        lines.append(f"largest control IC: {best[0]} {best[1]['ic_nonoverlap']:+.4f} "
                     f"(t {fmt(best[1]['ic_nonoverlap_t'], 't')}): a model's IC means something "
                     "only well beyond the controls'")
    lines.append(_difference(cmp["ic_difference"], "IC", "the two made the same predictions"))
    lines.append(_difference(cmp["sharpe_difference"], "daily Sharpe",
                             "the two had the same daily returns"))
    bh = controls["buy_and_hold"]
    for name, row in models.items():
        if row["sharpe_daily"] is not None and bh["sharpe_daily"] is not None:
            beats = "beats" if row["sharpe_daily"] > bh["sharpe_daily"] else "does not beat"
            lines.append(f"{name} {beats} buy-and-hold on daily Sharpe "
                         f"({row['sharpe_daily']:+.2f} vs {bh['sharpe_daily']:+.2f})")
    return lines


# --------------------------------------------------------------------------- report


def fmt(value: Any, kind: str = "f4") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return {"pct": f"{value:.2%}", "int": f"{int(value):d}", "x": f"{value:.2f}x",
            "f1": f"{value:.1f}", "f2": f"{value:+.2f}", "t": f"{value:+.2f}"}.get(kind, f"{value:+.4f}")


def _ci(interval: dict | None, kind: str = "f2") -> str:
    if not interval or interval.get("low") is None:
        return ""
    return f" [{fmt(interval['low'], kind)}, {fmt(interval['high'], kind)}]"


TABLE_HEADERS = ("row", "IC non-overlap (t)", "IC cross-sect. (t)", "dir. acc.",
                 "daily Sharpe [95% CI]", "PSR", "max DD", "profit", "trades")


def table_rows(report: dict) -> list[tuple[str, ...]]:
    """One row per model and control (:data:`TABLE_HEADERS`)."""
    out = []
    for group in ("models", "controls"):
        for name, r in report[group].items():
            label = f"{r.get('model', name)}" if group == "models" else f"control: {name}"
            out.append((
                label,
                f"{fmt(r['ic_nonoverlap'])} ({fmt(r['ic_nonoverlap_t'], 't')})"
                if r["ic_nonoverlap"] is not None else "n/a",
                f"{fmt(r['ic_cross_sectional'])} ({fmt(r['ic_cross_sectional_t'], 't')})"
                if r["ic_cross_sectional"] is not None else "n/a",
                fmt(r.get("directional_accuracy"), "pct"),
                f"{fmt(r['sharpe_daily'])}{_ci(r.get('sharpe_ci'))}"
                if r["sharpe_daily"] is not None else "n/a",
                fmt(r["psr"], "pct") if r["psr"] is not None else "n/a",
                fmt(r["max_drawdown"], "pct"), fmt(r["profit_total"], "pct"), fmt(r["trades"], "int")))
    return out


def print_report(report: dict) -> None:
    a = report["arguments"]
    title = (f"Is there an edge? {STRATEGY}, {' '.join(a['pairs'])}, {a['timerange']} "
             f"(label: {report['config']['label_period_candles']} candles)")
    rows = table_rows(report)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in (*rows, TABLE_HEADERS)) for i in range(len(TABLE_HEADERS))]
        print(title)
        for r in (TABLE_HEADERS, *rows):
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    else:
        table = Table(title=title)
        for i, h in enumerate(TABLE_HEADERS):
            table.add_column(h, justify="left" if i == 0 else "right")
        for r in rows:
            table.add_row(*r)
        Console(width=170).print(table)
    print(f"Entry filter: {report['entry_filter']['description']}")
    cmp = report["comparison"]
    if cmp.get("regime_agreement") is not None:
        print(f"  regimes of the two runs agree on {cmp['regime_agreement']:.1%} of the "
              f"{cmp['common_rows']} candles both predicted")
    print("Verdict:")
    for line in report["verdict"]:
        print(f"  {line}")
    print(f"Prediction rank correlation MoE vs baseline: {fmt(cmp['prediction_rank_correlation'])}")
    b, m = report["models"]["baseline"]["timing"], report["models"]["moe"]["timing"]
    print(f"Timing (MoE / baseline): training {fmt(m['train_seconds'], 'f1')} s / "
          f"{fmt(b['train_seconds'], 'f1')} s = {fmt(cmp['train_time_ratio'], 'x')}; inference "
          f"{fmt(m['inference_us_per_candle'], 'f1')} / {fmt(b['inference_us_per_candle'], 'f1')} "
          f"us per candle = {fmt(cmp['inference_time_ratio'], 'x')} (target <= {TARGET_RATIO}x); "
          f"failed trainings {m['failed_trainings']} / {b['failed_trainings']}")
    mixture = report["models"]["moe"].get("mixture") or {}
    if mixture.get("fits"):
        print(f"MoE fits: {mixture['fits']}, regime experts per fit "
              f"{mixture['own_experts_per_fit_mean']:.2f} of {mixture['regimes_per_fit_mean']:.2f} "
              f"regimes, {mixture['training_rows_per_fit_mean']:.0f} training rows per fit")
        if mixture["fits_all_regimes_fell_back"] == mixture["fits"]:
            print("NOTE: in every fit all regimes fell back to the global expert (too few rows per "
                  "regime for ai_regime.mixture.min_regime_samples): the MoE's prediction is "
                  "a single LightGBM, like the baseline's. Use longer --train-days.")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Is there an edge? RegimeGatedMoE vs LightGBMRegressor on "
                               "RegimeMoE, beside no-skill controls; prints a table, writes JSON.")
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="JSON result file")
    parser.add_argument("--entry-filter", choices=("regime", "none"), default="regime",
                        help="regime: both models behind the same detector's regime filter "
                             "(default); none: no regime filter for either")
    parser.add_argument("--altdata-cache", type=Path, default=REPO / "user_data/altdata",
                        help="alt-data cache dir (ai_suite.altdata.cache_dir; default "
                             "user_data/altdata)")
    parser.add_argument("--config", nargs="+", type=Path, default=[],
                        help="extra config overlays, applied after the shipped configs")
    parser.add_argument("--train-days", type=int, default=None,
                        help="override freqai.train_period_days (whole days)")
    parser.add_argument("--backtest-days", type=float, default=None,
                        help="override freqai.backtest_period_days (days, may be fractional)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and the noise "
                                                            "control (default 0)")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary user_data dir (logs, models, results)")
    args = parser.parse_args(argv)
    args.datadir = args.datadir.resolve()
    args.altdata_cache = args.altdata_cache.resolve()
    args.config = [c.resolve() for c in args.config]
    return args


def check_arguments(args: argparse.Namespace) -> tuple[pd.Timestamp, pd.Timestamp, dict, dict]:
    """Validate everything before the first backtest: (start, stop, merged config, candles).

    Raises:
        ArgumentProblem: the problem, naming the argument.
    """
    if args.train_days is not None and args.train_days < 1:
        raise ArgumentProblem(f"--train-days {args.train_days}: must be >= 1")
    if args.backtest_days is not None and args.backtest_days <= 0:
        raise ArgumentProblem(f"--backtest-days {args.backtest_days}: must be > 0")
    if args.n_boot < 10:
        raise ArgumentProblem(f"--n-boot {args.n_boot}: must be >= 10")
    for path in args.config:
        if not path.is_file():
            raise ArgumentProblem(f"--config {path}: no such file")
    if not args.altdata_cache.is_dir():
        raise ArgumentProblem(f"--altdata-cache {args.altdata_cache} does not exist. RegimeMoE "
                              "merges alternative-data features from it; fill it with `make data` "
                              "or `python -m plugins.altdata import-shared`")
    coins = [p.split("/")[0].lower() for p in args.pairs]
    if len(set(coins)) != len(coins):
        raise ArgumentProblem("--pairs must have distinct base currencies: FreqAI names its "
                              "per-pair model and prediction files by base currency only")
    start, stop = parse_timerange(args.timerange)
    _, merged = shipped_config(args.config)
    fa = merged["freqai"]
    train_days = args.train_days or fa["train_period_days"]
    from freqtrade.exchange import timeframe_to_seconds

    from plugins.core.warmup import freqai_startup_candles

    base = merged["timeframe"]
    timeframes = [base, *[t for t in fa["feature_parameters"].get("include_timeframes", [])
                          if t != base]]
    warmup = pd.Timedelta(seconds=timeframe_to_seconds(base) * freqai_startup_candles(fa, base))
    candles = validate_data_arguments(args.datadir, args.pairs, start, stop, timeframes,
                                      pd.Timedelta(days=train_days) + warmup,
                                      merged.get("dataformat_ohlcv", "feather"))
    return start, stop, merged, candles


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with exit_on_problem(PROG):
        start, stop, merged, candles = check_arguments(args)
    from plugins.core.config import load_section
    from plugins.regime.config import RegimeConfig
    from plugins.risk.config import RiskConfig

    rng = np.random.default_rng(args.seed)
    fa = merged["freqai"]
    corr = corr_pairs(fa["feature_parameters"].get("include_corr_pairlist", []), args.pairs)
    freqai_overlay: dict[str, Any] = {"feature_parameters": {"include_corr_pairlist": corr}}
    if args.train_days is not None:
        freqai_overlay["train_period_days"] = args.train_days
    if args.backtest_days is not None:
        freqai_overlay["backtest_period_days"] = args.backtest_days
    tmp = Path(tempfile.mkdtemp(prefix="moe-bench-"))
    userdir = tmp / "user_data"
    for sub in ("models", "backtest_results", "logs"):
        (userdir / sub).mkdir(parents=True)
    suite_overlay: dict[str, Any] = {"altdata": {"cache_dir": str(args.altdata_cache)}}
    if args.entry_filter == "none":
        suite_overlay["risk"] = {"gates": {"blocked_regimes": [], "min_confidence": 0.0}}
    bench_overlay = {"user_data_dir": str(userdir), "strategy": STRATEGY,
                     "exchange": {"pair_whitelist": args.pairs}, "freqai": freqai_overlay,
                     "ai_suite": suite_overlay}
    merged = deep_merge(merged, bench_overlay)
    regime = load_section(merged, "regime", RegimeConfig)
    fa = merged["freqai"]
    horizon = int(fa["feature_parameters"]["label_period_candles"])
    timeframe = merged["timeframe"]
    gates = load_section(merged, "risk", RiskConfig).gates
    if args.entry_filter == "regime":
        filter_text = (f"regime: both models' entries pass the same detector "
                       f"({regime.detector.kind}) - RegimeMoE blocks regimes "
                       f"{list(gates.blocked_regimes)}, the risk layer needs confidence >= "
                       f"{gates.min_confidence} (top regime probability, {regime.mixture.gate} "
                       "gate); the baseline gets these columns from "
                       "bench/freqai_models/TimedRegimeLightGBMRegressor.py")
    else:
        filter_text = "none: no regime blocked and no confidence needed, for both models"
    files, _ = shipped_config(args.config)
    report: dict[str, Any] = {
        "arguments": {"datadir": args.datadir, "pairs": args.pairs, "timerange": args.timerange,
                      "out": args.out.resolve(), "altdata_cache": args.altdata_cache,
                      "config": args.config, "train_days": args.train_days,
                      "backtest_days": args.backtest_days, "entry_filter": args.entry_filter,
                      "seed": args.seed, "n_boot": args.n_boot},
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {"files": [*files, "<offline overlay: replay exchange>", *args.config,
                             "<bench overlay>"],
                   "strategy": STRATEGY, "timeframe": timeframe,
                   "stake_currency": merged["stake_currency"],
                   "train_period_days": fa["train_period_days"],
                   "backtest_period_days": fa["backtest_period_days"],
                   "label_period_candles": horizon,
                   "include_timeframes": fa["feature_parameters"].get("include_timeframes"),
                   "include_corr_pairlist": corr,
                   "regime": {"detector": regime.detector.kind,
                              "n_regimes": regime.n_regimes(),
                              "gate": regime.mixture.gate,
                              "expert": regime.mixture.expert.kind,
                              "min_regime_samples": regime.mixture.min_regime_samples}},
        "entry_filter": {"mode": args.entry_filter, "description": filter_text,
                         "blocked_regimes": list(gates.blocked_regimes),
                         "min_confidence": gates.min_confidence},
        "metric_definitions": {**evaluation.metric_definitions(horizon),
                               "realized label": f"mean close of the next {horizon} candles / close - 1",
                               "ic_difference": "block-bootstrap 95% interval of IC(MoE) - IC(baseline) on "
                                                "the candles both predicted",
                               "sharpe_difference": "paired block-bootstrap 95% interval of the "
                                                    "difference of annualized daily Sharpe ratios"},
    }
    runs: dict[str, RunResult] = {}
    try:
        with replay_configs(args.datadir, userdir) as offline:
            (userdir / "bench.json").write_text(json.dumps(bench_overlay))
            configs = [arg for path in [*files, offline, *args.config, userdir / "bench.json"]
                       for arg in ("-c", str(path))]
            for key, (model, filtered, plain) in MODELS.items():
                timed = filtered if args.entry_filter == "regime" else plain
                runs[key] = run_backtest(key, model, timed, BENCH_MODELS, STRATEGY, configs,
                                         args.timerange, args.datadir, userdir)
        labels = realized_labels(candles, horizon)
        models, rows, returns = {}, {}, {}
        for key, run in runs.items():
            models[key], rows[key], returns[key] = evaluate_model(run, labels, args, start, stop,
                                                                  horizon, timeframe, rng)
    except BenchError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        print(f"(user_data kept for inspection: {userdir})", file=sys.stderr)
        return 1
    moe_used = rows["moe"][rows["moe"]["used"]]
    models["moe"]["regimes"] = regime_diagnostics(moe_used, horizon, timeframe)
    models["moe"]["mixture"] = mixture_fits_from_log(runs["moe"].log_text())
    fees = [m["fee_per_side"] for m in models.values() if not math.isnan(m["fee_per_side"])]
    balance = float(models["baseline"]["freqtrade"]["starting_balance"])
    report["models"] = models
    report["controls"] = evaluate_controls(candles, horizon, timeframe, start, stop, balance,
                                           fees[0] if fees else DEFAULT_FEE, rng, args.n_boot)
    report["comparison"] = compare(models, rows, returns, horizon, rng, args.n_boot)
    report["verdict"] = verdict(report)
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["user_data"] = str(userdir) if args.keep else None
    write_json(args.out, report)
    print_report(report)
    print(f"JSON: {args.out}")
    if args.keep:
        print(f"user_data kept: {userdir}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
