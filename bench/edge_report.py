"""Is there an edge? The shipped default against what a user would pick instead, same run.

    python bench/edge_report.py --datadir user_data/data/binance \\
        --pairs BTC/USDT ETH/USDT XRP/USDT --timerange 20240901-20241201 --out edge.json \\
        [--evidence user_data/sweeps/edge/evidence.json] [--config extra.json ...]
        [--altdata-cache user_data/altdata] [--fee 0.001] [--train-days N] [--backtest-days N]
        [--seed 0] [--n-boot 1000] [--keep]

Works on any data dir, pairs and time range; prints a table and writes the same as JSON
(``models.<name>``, ``controls.<name>``, ``moe``, ``verdict``).

**Four rows, all after costs** (``models.<name>``):

- ``default``: the shipped default (``config/base.json`` + ``config/backtest.json`` + any
  ``--config``: today RegimeMoE on RegimeGatedMoE), a FreqAI walk-forward backtest;
- ``baseline``: the stock LightGBM baseline, ``FreqaiBaseline`` on Freqtrade's
  ``LightGBMRegressor`` (same config, label and windows);
- ``trend_rule``: ``bench/strategies/TrendVolTarget.py``, long above the 50-day mean of daily
  closes sized to a 50 % annual volatility target, one slot per pair (FreqAI off);
- ``buy_and_hold``: equal weight, bought at the first open, sold at the last close
  (:func:`plugins.research.controls.buy_and_hold_balance`), ``--fee`` per side.

Every Freqtrade run is the real ``freqtrade backtesting`` against a replay exchange over
``--datadir``, with the modelled execution costs (``ai_suite.costs``, ``ExecutionCostMixin``)
and the exchange fee ``--fee`` (default 0.001 = 0.1 % per side) for all of them.

**Keys per row**: ``ic_nonoverlap`` / ``ic_nonoverlap_t`` (rank IC on non-overlapping labels
with its HAC t; the FreqAI models' out-of-sample predictions, the trend rule's score
``daily close / 50-day mean - 1``; null for buy-and-hold); ``sharpe_daily``, ``psr``, ``dsr``,
``max_drawdown``, ``profit_total`` from the **marked-to-market** equity (open positions valued
at every candle close, as buy-and-hold is, so a rule that holds for weeks cannot hide its
drawdown until the exit; Freqtrade's closed-trade figures are beside them under
``freqtrade`` and ``realized``); ``trades``; ``exposure_frac`` (share of the candles with at
least one position open); ``daily_returns`` ({day: fraction}, marked to market);
``n_trials`` (1 for the fixed rules; for ``default`` the trials of the search behind it, from
``--evidence``, else 1 with a note). ``dsr`` is the Deflated Sharpe Ratio (Bailey & López de
Prado 2014) for ``n_trials`` with the variance of the evidence's trial Sharpe ratios; with one
trial it equals the PSR.

**Controls, same candles**: the no-skill ``-close`` predictor, seeded noise, momentum and
mean-reversion one-liners (:mod:`plugins.research.controls`), IC only: an IC means something
only well beyond theirs.

**MoE diagnostics** (``moe``, when the default writes the RegimeGatedMoE columns): the share of
predictions each expert served (largest gate weight), training rows per regime and fallbacks to
the global expert per fit (from the model's log), and the rank correlation of the default's and
the baseline's predictions on the candles both predicted.

Exit status 0 when every backtest finished, whatever the figures; 1 when one failed (the tail
of its output is printed); 2 on a bad argument (one line naming it).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
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
    replay_configs,
    run_backtest,
    shipped_config,
    write_json,
)

from plugins.research import evaluation, stats  # noqa: E402
from plugins.research.controls import (  # noqa: E402
    CONTROL_PREDICTORS,
    buy_and_hold_balance,
    control_predictors,
    realized_label,
)

PROG = "edge_report"
BENCH_STRATEGIES = REPO / "bench" / "strategies"
TREND_STRATEGY = "TrendVolTarget"
BASELINE_STRATEGY, BASELINE_MODEL = "FreqaiBaseline", "LightGBMRegressor"
LABEL = "&-s_close"
DEFAULT_FEE = 0.001
#: The rule's look-back: 50 daily closes and 30 daily returns, plus the first partial day.
TREND_LOOKBACK = pd.Timedelta(days=52)
ROW_ORDER = ("default", "baseline", "trend_rule", "buy_and_hold")
PREDICTION_FILE = re.compile(r"^cb_(?P<coin>.+)_(?P<ts>\d+)_prediction\.feather$")
#: the model's gate weight of expert k (not FreqAI's ``_mean`` / ``_std`` statistics of it)
GATE_COLUMN = re.compile(r"^gate_weight_\d+$")
MIXTURE_FIT = re.compile(r"regime mixture fitted: (\d+) rows, .*?rows per regime (\{.*?\}), "
                         r"fallback to global (\[.*?\]|none)")


def _trend_module():
    """``bench/strategies/TrendVolTarget.py`` as a module (``daily_trend_columns``)."""
    spec = importlib.util.spec_from_file_location(TREND_STRATEGY,
                                                  BENCH_STRATEGIES / f"{TREND_STRATEGY}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- inputs


def load_predictions(models_dir: Path, pairs: list[str]) -> pd.DataFrame:
    """FreqAI's backtest predictions of one identifier: ``pair``, ``window`` (model
    timestamp), ``date`` (UTC), ``pred`` (the ``&-s_close`` prediction), ``do_predict`` and,
    where the model wrote them, ``gate_weight_<k>``. Empty frame when there are none."""
    folder = models_dir / "backtesting_predictions"
    by_coin = {p.split("/")[0].lower(): p for p in pairs}
    frames = []
    for path in sorted(folder.glob("*_prediction.feather")):
        match = PREDICTION_FILE.match(path.name)
        if not match or match["coin"] not in by_coin:
            continue
        raw = pd.read_feather(path)
        if LABEL not in raw.columns:
            continue
        frame = pd.DataFrame({"pair": by_coin[match["coin"]], "window": int(match["ts"]),
                              "date": pd.to_datetime(raw["date"], utc=True),
                              "pred": raw[LABEL].astype(float),
                              "do_predict": raw["do_predict"].astype(int)})
        for col in raw.columns:
            if GATE_COLUMN.match(col):
                frame[col] = raw[col].astype(float)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["pair", "window", "date", "pred", "do_predict"])
    return pd.concat(frames, ignore_index=True).drop_duplicates(["pair", "date"], keep="last")


def labels_frame(candles: dict[str, pd.DataFrame], horizon: int) -> pd.DataFrame:
    """``pair``, ``date``, ``close``, ``real`` (the FreqAI label on realized candles)."""
    return pd.concat([pd.DataFrame({"pair": pair, "date": c["date"], "close": c["close"],
                                    "real": realized_label(c["close"], horizon)})
                      for pair, c in candles.items()], ignore_index=True)


def used_rows(preds: pd.DataFrame, labels: pd.DataFrame, start: pd.Timestamp,
              stop: pd.Timestamp) -> pd.DataFrame:
    """Predictions inside ``[start, stop)`` with ``do_predict == 1`` joined to a known label."""
    rows = preds[(preds["date"] >= start) & (preds["date"] < stop) & (preds["do_predict"] == 1)]
    rows = rows.merge(labels[["pair", "date", "real"]], on=["pair", "date"], how="inner")
    return rows.dropna(subset=["pred", "real"])


def trend_scores(candles: dict[str, pd.DataFrame], timeframe: str, start: pd.Timestamp,
                 stop: pd.Timestamp, labels: pd.DataFrame) -> pd.DataFrame:
    """The trend rule's score ``daily close / 50-day mean - 1`` (what its entry thresholds at
    0) per candle of ``[start, stop)``, joined to the realized label: an IC row like a model's."""
    module = _trend_module()
    frames = []
    for pair, c in candles.items():
        cols = module.daily_trend_columns(c, timeframe, module.TrendVolTarget.trend_days,
                                          module.TrendVolTarget.vol_days)
        frames.append(pd.DataFrame({"pair": pair, "date": c["date"],
                                    "pred": cols["trend_daily_close"] / cols["trend_daily_mean"] - 1}))
    preds = pd.concat(frames, ignore_index=True)
    preds = preds[(preds["date"] >= start) & (preds["date"] < stop)]
    return preds.merge(labels[["pair", "date", "real"]], on=["pair", "date"]).dropna()


# --------------------------------------------------------------------------- marked to market


def marked_to_market(trades: pd.DataFrame, candles: dict[str, pd.DataFrame],
                     start: pd.Timestamp, stop: pd.Timestamp,
                     starting_balance: float) -> tuple[pd.Series, float]:
    """Equity of a backtest with open positions valued at every candle close, and its
    exposure.

    ``equity(t) = starting_balance + sum(profit_abs of trades closed by t) + sum over trades
    open at t of (amount x close_t x (1 - fee_close) - amount x open_rate x (1 + fee_open))``.
    A trade holds candles ``open_date <= date < close_date`` (it enters at the open of
    ``open_date`` and exits at the open of ``close_date``); each is marked at its close
    (``date + 1 candle``).

    Args:
        trades: Freqtrade's trade frame (``pair``, ``open_date``, ``close_date``, ``amount``,
            ``open_rate``, ``fee_open``, ``fee_close``, ``profit_abs``).
        candles: per pair ``date``/``close`` (the backtest's candles).

    Returns:
        (equity in stake currency indexed by UTC candle close time, starting at ``start`` with
        ``starting_balance``; ``exposure_frac``: share of the window's candle times with at
        least one trade open, 0-1).
    """
    grid = sorted({d for c in candles.values()
                   for d in c.loc[(c["date"] >= start) & (c["date"] < stop), "date"]})
    index = pd.DatetimeIndex(grid)
    if index.empty:
        return pd.Series([starting_balance], index=pd.DatetimeIndex([start])), 0.0
    step = pd.Series(index).diff().median() if len(index) > 1 else pd.Timedelta(hours=1)
    equity = np.full(len(index), float(starting_balance))
    held = np.zeros(len(index), dtype=bool)
    for _, t in trades.iterrows():
        opened = pd.Timestamp(t["open_date"]).tz_convert("UTC")
        closed = pd.Timestamp(t["close_date"]).tz_convert("UTC")
        equity[index >= closed] += float(t["profit_abs"])
        inside = (index >= opened) & (index < closed)
        if not inside.any():
            continue
        held |= inside
        c = candles[t["pair"]].set_index("date")["close"].reindex(index[inside]).ffill().bfill()
        cost = float(t["amount"]) * float(t["open_rate"]) * (1 + float(t["fee_open"] or 0))
        equity[inside] += (float(t["amount"]) * c.to_numpy(dtype=float)
                           * (1 - float(t["fee_close"] or 0)) - cost)
    curve = pd.Series(equity, index=index + step)
    head = pd.Series([float(starting_balance)], index=pd.DatetimeIndex([index[0]]))
    return pd.concat([head, curve]), float(held.mean())


def deflated(returns: pd.Series, n_trials: int, trial_sharpes: list[float]) -> float | None:
    """DSR of ``returns`` (:func:`plugins.research.stats.deflated_sharpe_from_returns`) for
    ``n_trials`` trials with the trials' per-period Sharpe ratios; the PSR (DSR of one trial)
    when ``n_trials`` is 1 or fewer than 2 trial ratios are known."""
    try:
        if n_trials > 1 and len([s for s in trial_sharpes if math.isfinite(s)]) >= 2:
            value = stats.deflated_sharpe_from_returns(returns, n_trials, trial_sharpes).dsr
        else:
            sr, n, skew, kurt = stats.return_moments(returns)
            value = stats.deflated_sharpe(sr, n, skew, kurt, 1, 0.0).dsr
    except stats.StatsInputError:
        return None
    return value if math.isfinite(value) else None


def search_trials(evidence_path: Path | None) -> tuple[int, list[float], str]:
    """(n_trials, the trials' per-period Sharpe ratios, a note) of the search behind the
    default, from an evidence file (``plugins.research.evidence``); (1, [], note) without one.

    Raises:
        ArgumentProblem: the file does not load (the message names it).
    """
    if evidence_path is None:
        return 1, [], ("no --evidence: n_trials 1 (the default's DSR then ignores the search "
                       "that chose it; pass the sweep's evidence.json)")
    from plugins.research.evidence import EvidenceError, load_evidence

    try:
        evidence = load_evidence(evidence_path)
    except EvidenceError as err:
        raise ArgumentProblem(f"--evidence {evidence_path}: {err}") from None
    sharpes = [stats.sharpe_ratio(t.daily_returns) for t in evidence.trials if t.daily_returns]
    return (evidence.n_trials, [s for s in sharpes if math.isfinite(s)],
            f"n_trials {evidence.n_trials} from {evidence_path} ({evidence.source})")


# --------------------------------------------------------------------------- rows


def model_row(run: RunResult, strategy: str, candles: dict[str, pd.DataFrame],
              start: pd.Timestamp, stop: pd.Timestamp, rng: np.random.Generator, n_boot: int,
              ic_frame: pd.DataFrame | None, horizon: int, timeframe: str, n_trials: int,
              trial_sharpes: list[float]) -> tuple[dict[str, Any], pd.Series]:
    """One Freqtrade run's row (module docstring) and its marked-to-market daily returns."""
    from freqtrade.data.btanalysis import load_backtest_data, load_backtest_stats

    ft = load_backtest_stats(run.results_dir)["strategy"][strategy]
    trades = load_backtest_data(run.results_dir, strategy=strategy)
    balance = float(ft["starting_balance"])
    realized, _ = evaluation.trading_row_from_trades(trades, start.to_pydatetime(),
                                                     stop.to_pydatetime(), balance)
    equity, exposure = marked_to_market(trades, candles, start, stop, balance)
    trading, returns = evaluation.trading_row_from_balance(equity, int(len(trades)), rng, n_boot)
    prediction = (evaluation.prediction_row(ic_frame, horizon, timeframe, rng, n_boot)
                  if ic_frame is not None and len(ic_frame) >= 3 else None)
    row = evaluation.report_row(prediction, trading, exposure_frac=exposure, n_trials=n_trials,
                                dsr=deflated(returns, n_trials, trial_sharpes))
    row["realized"] = {k: realized.get(k) for k in ("sharpe_daily", "psr", "max_drawdown",
                                                    "profit_total")}
    row["freqtrade"] = {key: ft.get(key) for key in (
        "profit_total", "max_drawdown_account", "total_trades", "profit_factor", "sharpe",
        "starting_balance")}
    row["fee_per_side"] = (float(trades["fee_open"].median())
                           if len(trades) and "fee_open" in trades else None)
    row["backtest_wall_seconds"] = run.wall_seconds
    row["daily_returns"] = _daily(returns)
    return row, returns


def _daily(returns: pd.Series) -> dict[str, float]:
    """Daily returns as ``{"YYYY-MM-DD": fraction}`` (the JSON's ``daily_returns``: a later
    DSR for another trial count can be computed from them)."""
    return {f"{day:%Y-%m-%d}": float(r) for day, r in returns.items()}


def buy_and_hold_row(candles: dict[str, pd.DataFrame], start: pd.Timestamp, stop: pd.Timestamp,
                     balance: float, fee: float, rng: np.random.Generator,
                     n_boot: int) -> dict[str, Any]:
    """``models.buy_and_hold`` (equal weight, ``fee`` per side; no IC: it predicts nothing)."""
    equity = buy_and_hold_balance(candles, start, stop, balance, fee)
    trading, returns = evaluation.trading_row_from_balance(equity, len(candles), rng, n_boot)
    return evaluation.report_row(None, trading, exposure_frac=1.0, n_trials=1,
                                 dsr=deflated(returns, 1, []), daily_returns=_daily(returns),
                                 description=f"equal-weight buy at the first open, sell at the "
                                             f"last close, fee {fee:.4%} per side")


def control_rows(candles: dict[str, pd.DataFrame], horizon: int, timeframe: str,
                 start: pd.Timestamp, stop: pd.Timestamp, rng: np.random.Generator,
                 n_boot: int) -> dict[str, dict[str, Any]]:
    """``controls.<name>``: IC of each no-skill / naive predictor on every candle of
    ``[start, stop)`` with a known label."""
    out: dict[str, list[pd.DataFrame]] = {name: [] for name in CONTROL_PREDICTORS}
    for pair, c in candles.items():
        real = realized_label(c["close"], horizon)
        inside = (c["date"] >= start) & (c["date"] < stop)
        for name, pred in control_predictors(c["close"], horizon, rng).items():
            out[name].append(pd.DataFrame({"pair": pair, "date": c["date"], "pred": pred,
                                           "real": real})[inside])
    return {name: evaluation.report_row(
                evaluation.prediction_row(pd.concat(frames, ignore_index=True).dropna(),
                                          horizon, timeframe, rng, n_boot),
                description=CONTROL_PREDICTORS[name])
            for name, frames in out.items()}


def mixture_fits(text: str) -> dict[str, Any]:
    """Per regime over the MoE's ``regime mixture fitted`` log lines (``plugins.regime.mixture``):
    mean training rows per fit and the share of fits where it fell back to the global expert."""
    rows: dict[str, list[int]] = {}
    fell: dict[str, int] = {}
    fits = 0
    for _total, per_regime, fallback in MIXTURE_FIT.findall(text):
        try:
            counts = ast.literal_eval(per_regime)
            back = [] if fallback == "none" else ast.literal_eval(fallback)
        except (ValueError, SyntaxError):
            continue
        fits += 1
        for name, n in counts.items():
            rows.setdefault(str(name), []).append(int(n))
            fell[str(name)] = fell.get(str(name), 0) + (name in back)
    return {"fits": fits,
            "per_regime": {name: {"fits_present": len(v), "rows_mean": float(np.mean(v)),
                                  "fallback_share": fell[name] / len(v)}
                           for name, v in sorted(rows.items())}}


def window_diagnostics(models_dir: Path) -> dict[str, Any]:
    """Means over the default's windows of the figures ``RegimeGatedMoE`` records per fit and
    per predicted window (:func:`plugins.regime.diagnostics.collect`): training rows, own
    experts, fallback rate, share of fits where every regime fell back, rank correlation with
    the global expert, global-fallback share and serve share per regime. ``{"windows": 0}``
    when the model recorded none (another model)."""
    from plugins.regime.diagnostics import collect

    frame = collect(models_dir)
    if frame.empty:
        return {"windows": 0}

    def mean(col: str) -> float | None:
        if col not in frame:
            return None
        values = pd.to_numeric(frame[col], errors="coerce").dropna()
        return float(values.mean()) if len(values) else None

    shares = pd.DataFrame([s for s in frame.get("serve_share", pd.Series(dtype=object))
                           if isinstance(s, dict)])
    return {"windows": int(len(frame)), "training_rows_mean": mean("training_rows"),
            "regimes_mean": mean("regimes"), "own_experts_mean": mean("own_experts"),
            "fallback_rate_mean": mean("fallback_rate"),
            "all_fell_back_share": float(frame["all_fell_back"].astype(bool).mean()),
            "corr_with_global_mean": mean("corr_with_global"),
            "global_fallback_share_mean": mean("global_fallback_share"),
            "serve_share_mean": {str(k): float(v) for k, v in shares.mean().items()}
            if not shares.empty else {}}


def moe_diagnostics(default_rows: pd.DataFrame, baseline_rows: pd.DataFrame,
                    log_text: str, models_dir: Path | None = None) -> dict[str, Any]:
    """``moe``: expert serve shares, rows per regime and fallbacks, the model's own per-window
    figures (:func:`window_diagnostics`), and the rank correlation of the default's and the
    baseline's predictions on the candles both predicted."""
    gates = sorted(c for c in default_rows.columns if GATE_COLUMN.match(c))
    out: dict[str, Any] = {"gate_columns": len(gates)}
    if models_dir is not None:
        out["windows"] = window_diagnostics(models_dir)
    if gates:
        served = default_rows[gates].to_numpy(dtype=float)
        ok = np.isfinite(served).all(axis=1)
        top = served[ok].argmax(axis=1)
        out["expert_serve_share"] = {g.removeprefix("gate_weight_"): float((top == k).mean())
                                     for k, g in enumerate(gates)} if ok.any() else {}
        out["expert_mean_gate_weight"] = {g.removeprefix("gate_weight_"): float(served[ok, k].mean())
                                          for k, g in enumerate(gates)} if ok.any() else {}
    out["mixture"] = mixture_fits(log_text)
    common = default_rows[["pair", "date", "pred"]].merge(
        baseline_rows[["pair", "date", "pred"]], on=["pair", "date"], suffixes=("_default", "_base"))
    out["common_rows"] = int(len(common))
    out["prediction_rank_correlation_vs_baseline"] = (
        float(common["pred_default"].corr(common["pred_base"], method="spearman"))
        if len(common) > 2 else None)
    return out


# --------------------------------------------------------------------------- report


def fmt(value: Any, kind: str = "f4") -> str:
    """A figure for the table; ``n/a`` for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return {"pct": f"{value:.2%}", "int": f"{int(value):d}", "f2": f"{value:+.2f}",
            "t": f"{value:+.2f}", "p": f"{value:.3f}",
            "f1": f"{value:.1f}"}.get(kind, f"{value:+.4f}")


TABLE_HEADERS = ("row", "IC non-overlap (t)", "daily Sharpe", "PSR", "DSR (n_trials)", "max DD",
                 "profit", "trades", "exposure")


def table_rows(report: dict) -> list[tuple[str, ...]]:
    """One row per model, then one per control (:data:`TABLE_HEADERS`)."""
    out = []
    for group in ("models", "controls"):
        for name, r in report[group].items():
            label = name if group == "models" else f"control: {name}"
            ic = (f"{fmt(r['ic_nonoverlap'])} ({fmt(r['ic_nonoverlap_t'], 't')})"
                  if r.get("ic_nonoverlap") is not None else "n/a")
            dsr = (f"{fmt(r.get('dsr'), 'p')} ({r['n_trials']})" if r.get("n_trials") else "n/a")
            out.append((label, ic, fmt(r.get("sharpe_daily"), "f2"), fmt(r.get("psr"), "p"), dsr,
                        fmt(r.get("max_drawdown"), "pct"), fmt(r.get("profit_total"), "pct"),
                        fmt(r.get("trades"), "int"), fmt(r.get("exposure_frac"), "pct")))
    return out


def verdict(report: dict) -> list[str]:
    """Issue 20's targets for the default, each met or not (figures, not assertions)."""
    models = report["models"]
    d = models["default"]
    lines = []

    def check(ok: bool | None, text: str) -> None:
        lines.append(f"[{'met' if ok else 'not met'}] {text}")

    t = d.get("ic_nonoverlap_t")
    check(t is not None and d["ic_nonoverlap"] > 0 and t >= 2,
          f"default IC t >= 2: IC {fmt(d.get('ic_nonoverlap'))}, t {fmt(t, 't')}")
    sh, dd = d.get("sharpe_daily"), d.get("max_drawdown")
    check(sh is not None and sh >= 1.0 and dd is not None and dd <= 0.15,
          f"default daily Sharpe >= 1.0 with max drawdown <= 15 %: {fmt(sh, 'f2')}, "
          f"{fmt(dd, 'pct')}")
    check(d.get("dsr") is not None and d["dsr"] >= 0.95,
          f"default DSR >= 0.95 for {d.get('n_trials')} trials: {fmt(d.get('dsr'), 'p')}")
    for other in ("baseline", "buy_and_hold", "trend_rule"):
        o = models[other]
        ok = (sh is not None and o.get("sharpe_daily") is not None and sh > o["sharpe_daily"]
              and dd is not None and o.get("max_drawdown") is not None and dd < o["max_drawdown"])
        check(ok, f"default beats {other} on Sharpe at lower drawdown: {fmt(sh, 'f2')} vs "
                  f"{fmt(o.get('sharpe_daily'), 'f2')}, drawdown {fmt(dd, 'pct')} vs "
                  f"{fmt(o.get('max_drawdown'), 'pct')}")
    return lines


def print_report(report: dict) -> None:
    """The table, the verdict and the MoE diagnostics on stdout."""
    a = report["arguments"]
    title = (f"Is there an edge? {' '.join(a['pairs'])}, {a['timerange']}, after fees "
             f"{a['fee']:.2%} per side and the modelled slippage")
    rows = table_rows(report)
    widths = [max(len(r[i]) for r in (*rows, TABLE_HEADERS)) for i in range(len(TABLE_HEADERS))]
    print(title)
    for r in (TABLE_HEADERS, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(f"Search behind the default: {report['n_trials_note']}")
    print("Targets (issue 20), for the default:")
    for line in report["verdict"]:
        print(f"  {line}")
    moe = report.get("moe") or {}
    if moe.get("expert_serve_share"):
        share = ", ".join(f"{k} {v:.0%}" for k, v in moe["expert_serve_share"].items())
        print(f"MoE: expert serving each prediction (largest gate weight): {share}")
    for name, r in (moe.get("mixture") or {}).get("per_regime", {}).items():
        print(f"MoE: regime {name}: {r['rows_mean']:.0f} training rows per fit, fell back to the "
              f"global expert in {r['fallback_share']:.0%} of {r['fits_present']} fits")
    win = moe.get("windows") or {}
    if win.get("windows"):
        print(f"MoE per window ({win['windows']} fits): {fmt(win['training_rows_mean'], 'f1')} "
              f"training rows, {fmt(win['own_experts_mean'], 'f1')} own experts of "
              f"{fmt(win['regimes_mean'], 'f1')} regimes, every regime fell back in "
              f"{fmt(win['all_fell_back_share'], 'pct')} of fits; rank correlation with the "
              f"global expert {fmt(win['corr_with_global_mean'])}, global-fallback share "
              f"{fmt(win['global_fallback_share_mean'], 'pct')}")
    if moe.get("prediction_rank_correlation_vs_baseline") is not None:
        print(f"MoE vs baseline prediction rank correlation: "
              f"{moe['prediction_rank_correlation_vs_baseline']:+.4f} on {moe['common_rows']} candles")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Is there an edge? The shipped default, the stock LightGBM "
                               "baseline, buy-and-hold and the trend rule after costs, beside "
                               "no-skill controls; prints a table, writes JSON.")
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="JSON result file")
    parser.add_argument("--evidence", type=Path, default=None,
                        help="evidence.json of the search behind the default (its n_trials and "
                             "trial Sharpe ratios deflate the default's Sharpe)")
    parser.add_argument("--altdata-cache", type=Path, default=REPO / "user_data/altdata",
                        help="alt-data cache dir (ai_suite.altdata.cache_dir; default "
                             "user_data/altdata)")
    parser.add_argument("--config", nargs="+", type=Path, default=[],
                        help="extra config overlays after the shipped configs (all runs)")
    parser.add_argument("--fee", type=float, default=DEFAULT_FEE,
                        help="exchange fee per side, a fraction (default 0.001 = 0.1 %%)")
    parser.add_argument("--train-days", type=int, default=None,
                        help="override freqai.train_period_days (whole days)")
    parser.add_argument("--backtest-days", type=float, default=None,
                        help="override freqai.backtest_period_days (days)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and the noise "
                                                            "control (default 0)")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary user_data dir")
    args = parser.parse_args(argv)
    args.datadir = args.datadir.resolve()
    args.altdata_cache = args.altdata_cache.resolve()
    args.config = [c.resolve() for c in args.config]
    return args


def check_arguments(args: argparse.Namespace) -> tuple[pd.Timestamp, pd.Timestamp, dict,
                                                        dict[str, pd.DataFrame]]:
    """Validate everything before the first backtest: (start, stop, merged config, candles of
    the base timeframe per pair).

    Raises:
        ArgumentProblem: the problem, naming the argument.
    """
    if not 0 <= args.fee < 0.1:
        raise ArgumentProblem(f"--fee {args.fee}: a fraction per side in [0, 0.1), e.g. 0.001 "
                              "for 0.1 %")
    if args.train_days is not None and args.train_days < 1:
        raise ArgumentProblem(f"--train-days {args.train_days}: must be >= 1")
    if args.backtest_days is not None and args.backtest_days <= 0:
        raise ArgumentProblem(f"--backtest-days {args.backtest_days}: must be > 0")
    if args.n_boot < 10:
        raise ArgumentProblem(f"--n-boot {args.n_boot}: must be >= 10")
    for path in args.config:
        if not path.is_file():
            raise ArgumentProblem(f"--config {path}: no such file")
    if args.evidence is not None and not args.evidence.is_file():
        raise ArgumentProblem(f"--evidence {args.evidence}: no such file (a sweep writes "
                              "<out>/evidence.json)")
    if not args.altdata_cache.is_dir():
        raise ArgumentProblem(f"--altdata-cache {args.altdata_cache} does not exist. The default "
                              "strategy merges alternative-data features from it; fill it with "
                              "`make data` or `python -m plugins.altdata import-shared`")
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
    lookback = max(pd.Timedelta(days=train_days) + warmup, TREND_LOOKBACK)
    candles = validate_data_arguments(args.datadir, args.pairs, start, stop, timeframes, lookback,
                                      merged.get("dataformat_ohlcv", "feather"))
    return start, stop, merged, candles


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with exit_on_problem(PROG):
        start, stop, merged, candles = check_arguments(args)
        n_trials, trial_sharpes, trials_note = search_trials(args.evidence)
    rng = np.random.default_rng(args.seed)
    fa = merged["freqai"]
    corr = corr_pairs(fa["feature_parameters"].get("include_corr_pairlist", []), args.pairs)
    freqai_overlay: dict[str, Any] = {"feature_parameters": {"include_corr_pairlist": corr}}
    if args.train_days is not None:
        freqai_overlay["train_period_days"] = args.train_days
    if args.backtest_days is not None:
        freqai_overlay["backtest_period_days"] = args.backtest_days
    tmp = Path(tempfile.mkdtemp(prefix="edge-report-"))
    userdir = tmp / "user_data"
    for sub in ("models", "backtest_results", "logs"):
        (userdir / sub).mkdir(parents=True)
    bench_overlay = {"user_data_dir": str(userdir), "fee": args.fee,
                     "exchange": {"pair_whitelist": args.pairs}, "freqai": freqai_overlay,
                     "ai_suite": {"altdata": {"cache_dir": str(args.altdata_cache)}}}
    merged = deep_merge(merged, bench_overlay)
    default_strategy, default_model = merged["strategy"], merged.get("freqaimodel")
    horizon = int(merged["freqai"]["feature_parameters"]["label_period_candles"])
    timeframe = merged["timeframe"]
    files, _ = shipped_config(args.config)
    # (key, strategy, freqaimodel, strategy_path, overlay)
    plan = [("default", default_strategy, default_model, None, {}),
            ("baseline", BASELINE_STRATEGY, BASELINE_MODEL, None, {}),
            ("trend_rule", TREND_STRATEGY, None, BENCH_STRATEGIES,
             {"freqai": {"enabled": False}, "max_open_trades": len(args.pairs)})]
    report: dict[str, Any] = {
        "arguments": {"datadir": args.datadir, "pairs": args.pairs, "timerange": args.timerange,
                      "out": args.out.resolve(), "evidence": args.evidence, "fee": args.fee,
                      "config": args.config, "altdata_cache": args.altdata_cache,
                      "train_days": args.train_days, "backtest_days": args.backtest_days,
                      "seed": args.seed, "n_boot": args.n_boot},
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {"files": [*files, "<offline overlay: replay exchange>", *args.config,
                             "<bench overlay>"],
                   "default": {"strategy": default_strategy, "freqaimodel": default_model},
                   "baseline": {"strategy": BASELINE_STRATEGY, "freqaimodel": BASELINE_MODEL},
                   "trend_rule": {"strategy": TREND_STRATEGY,
                                  "path": "bench/strategies/TrendVolTarget.py"},
                   "timeframe": timeframe, "label_period_candles": horizon,
                   "train_period_days": merged["freqai"]["train_period_days"],
                   "backtest_period_days": merged["freqai"]["backtest_period_days"],
                   "include_corr_pairlist": corr},
        "metric_definitions": {
            **evaluation.metric_definitions(horizon),
            "sharpe_daily": "annualized (x sqrt 365) Sharpe of daily returns of the marked-to-"
                            "market equity (open positions valued at each candle close), net "
                            "of fees and modelled slippage; realized.* is the closed-trade one",
            "max_drawdown": "max drawdown of the marked-to-market equity (fraction of the peak; "
                            "freqtrade.data.metrics.calculate_max_drawdown_from_balance)",
            "dsr": "Deflated Sharpe Ratio (Bailey & Lopez de Prado 2014) for n_trials, trial "
                   "Sharpe variance from --evidence; = PSR when n_trials is 1",
            "exposure_frac": "share of the window's candles with at least one position open",
            "n_trials": "trials of the search behind the row (1: a fixed rule)",
            "realized label": f"mean close of the next {horizon} candles / close - 1"},
        "n_trials_note": trials_note,
    }
    runs: dict[str, tuple[RunResult, str]] = {}
    try:
        with replay_configs(args.datadir, userdir) as offline:
            (userdir / "bench.json").write_text(json.dumps(bench_overlay))
            configs = [arg for path in [*files, offline, *args.config, userdir / "bench.json"]
                       for arg in ("-c", str(path))]
            for key, strategy, model, path, overlay in plan:
                runs[key] = (run_backtest(key, model or strategy, model, None, strategy, configs,
                                          args.timerange, args.datadir, userdir, overlay=overlay,
                                          strategy_path=path), strategy)
        labels = labels_frame(candles, horizon)
        rows = {key: used_rows(load_predictions(runs[key][0].models_dir, args.pairs), labels,
                               start, stop) for key in ("default", "baseline")}
        rows["trend_rule"] = trend_scores(candles, timeframe, start, stop, labels)
        models: dict[str, dict] = {}
        for key in ("default", "baseline", "trend_rule"):
            run, strategy = runs[key]
            n, sharpes = (n_trials, trial_sharpes) if key == "default" else (1, [])
            models[key], _ = model_row(run, strategy, candles, start, stop, rng, args.n_boot,
                                       rows[key], horizon, timeframe, n, sharpes)
    except BenchError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        print(f"(user_data kept for inspection: {userdir})", file=sys.stderr)
        return 1
    balance = float(models["default"]["freqtrade"]["starting_balance"])
    models["buy_and_hold"] = buy_and_hold_row(candles, start, stop, balance, args.fee, rng,
                                              args.n_boot)
    report["models"] = {key: models[key] for key in ROW_ORDER}
    report["controls"] = control_rows(candles, horizon, timeframe, start, stop, rng, args.n_boot)
    report["moe"] = moe_diagnostics(rows["default"], rows["baseline"],
                                    runs["default"][0].log_text(), runs["default"][0].models_dir)
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
