"""Backtest/dry-run parity: the same candles through ``freqtrade backtesting`` and through the
dry-run loop, and the share of identical entry signals.

    python bench/dryrun_parity.py --datadir user_data/data/binance --pairs BTC/USDT ETH/USDT \\
        --start 2024-03-01 --end 2024-03-15 --out parity.json \\
        [--strategy RegimeMoE] [--altdata-cache user_data/altdata] [--config extra.json ...]

Works on any data dir, pairs, strategy and window. Prints a table and writes the same as JSON.

**Dry-run side.** A replay exchange over ``--datadir`` runs in this process in static mode, and
``adapters.replay_exchange.stepped.run_stepped_dryrun`` drives Freqtrade's own dry-run loop
(``FreqtradeBot.process()``) once per candle, the clock set to each candle's open. The candle
the bot acts on at step ``t`` is the one that opened at ``t - timeframe``: its row of the
analysed dataframe is recorded.

**Backtest side.** Freqtrade's ``Backtesting`` class, in this process, runs the path of the
``freqtrade backtesting`` command (``backtest_one_strategy``) over ``--start .. --end`` on
the same data dir; the analysed dataframes it trades on (signals on their own candle, before
Freqtrade's one-candle shift) are recorded.

**Same configuration.** Both read ``config/base.json``, the offline overlay (ccxt aimed at the
replay exchange), each ``--config`` in order and a parity overlay: own ``user_data`` dir and
database, ``--pairs`` (and the FreqAI corr pairs among them), the alt-data cache with live
refreshes aimed at a closed local port. For a FreqAI strategy the overlay also makes both
sides train **once, at ``--start``, on the same ``train_period_days``**: the backtest gets
``backtest_period_days`` = the window, the dry-run ``live_retrain_hours`` = the window + 1 h
and ``expiration_hours`` = 0. Left to themselves the two retrain on different schedules (fixed
windows vs. FreqAI's thread when ``live_retrain_hours`` have elapsed, on whatever candles it
has then), which is a difference of design, not of code path; it is stated in the report.

**Metrics.** Per (pair, candle) in the window:

- ``entry_signal_identical_share`` = candles where both sides signal ``enter_long`` /
  candles where either does (1.0 when neither signals at all). Target >= 0.95.
- ``candle_agreement`` = share of candles whose ``enter_long`` is the same on both sides.
- Every differing candle is listed with the inputs that differ there (numeric columns present
  on both sides, relative difference > ``--tolerance``), largest first: the explanation.
- Trades: entries (pair, open time) in both runs / in either. Informative only: the dry-run
  checks ROI and stop-loss once per step at the candle's open price, the backtest against the
  candle's high and low, so exits - and with them free slots for later entries - can differ.
- Training (FreqAI): per pair, the two sides' saved training frames compared bit for bit
  (rows, dates, every feature); a model-output difference names what differed in training.
- Fills (``ai_suite.costs``): the replay exchange serves the execution-cost model's book, so
  both sides' market fills should be the model's price. Backtest: every order Freqtrade
  proposed at a candle's open (entries, signal exits, partial exits; not stops and ROI exits,
  whose level is Freqtrade's) equals ``open x (1 +/- cost)`` at the pair's tick. Dry-run: every
  market fill (Freqtrade's own walk of the book) is within the book's interpolation excess
  (``plugins.execution.book``) plus half a tick of the model's price around the book's mid.

Exit status 0 when both sides ran, whatever the figures; 1 when one failed; 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))  # bench/ is not a package
from _args import check_dir, exit_on_problem, validate_data_arguments  # noqa: E402
from harness import jsonable  # noqa: E402

logger = logging.getLogger("bench.dryrun_parity")

TARGET_SHARE = 0.95
DEFAULT_CACHE = REPO / "user_data/altdata"
SIGNAL = "enter_long"
#: columns never used to explain a difference (bookkeeping, not inputs)
NOT_INPUTS = {"pair", "step", "date", "enter_long", "exit_long", "enter_short", "exit_short",
              "enter_tag", "exit_tag"}
DIFFS_SHOWN = 5


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class SignalComparison:
    """Entry signals of both sides on the candles both saw.

    Attributes:
        candles: (pair, candle) rows compared.
        dry_entries, backtest_entries, both_entries: candles with ``enter_long == 1``.
        identical_share: ``both / (dry + backtest - both)``; 1.0 when there is no signal.
        candle_agreement: share of candles whose ``enter_long`` agrees.
        differences: one row per differing candle: ``pair``, ``date`` (UTC), ``dry``,
            ``backtest`` (0/1), ``inputs``: a list of ``{"column", "dry", "backtest",
            "rel_diff"}`` (:func:`differing_inputs`), and ``cause`` (:func:`difference_cause`).
    """

    candles: int
    dry_entries: int
    backtest_entries: int
    both_entries: int
    identical_share: float
    candle_agreement: float
    differences: list[dict[str, Any]]


def _flag(series: pd.Series) -> pd.Series:
    return (pd.to_numeric(series, errors="coerce").fillna(0) == 1).astype(int)


def differing_inputs(dry: pd.Series, backtest: pd.Series, tolerance: float) -> list[dict]:
    """Numeric columns of one candle that differ between the two sides, largest first.

    Relative difference = ``|a - b| / max(|a|, |b|, 1e-12)``; NaN on one side only counts
    as 1.0, NaN on both as equal. Columns in :data:`NOT_INPUTS` are left out.
    """
    out = []
    for column in dry.index.intersection(backtest.index):
        if column in NOT_INPUTS:
            continue
        a, b = pd.to_numeric(pd.Series([dry[column], backtest[column]]), errors="coerce")
        if pd.isna(a) and pd.isna(b):
            continue
        if pd.isna(a) or pd.isna(b):
            rel = 1.0
        else:
            rel = abs(a - b) / max(abs(a), abs(b), 1e-12)
        if rel > tolerance:
            out.append({"column": column, "dry": None if pd.isna(a) else float(a),
                        "backtest": None if pd.isna(b) else float(b), "rel_diff": float(rel)})
    # FreqAI's live statistics (<output>_mean/_std) last: they explain nothing by themselves
    return sorted(out, key=lambda d: (d["column"].endswith(("_mean", "_std")), -d["rel_diff"]))


def difference_cause(inputs: list[dict]) -> str:
    """A one-line cause from the differing inputs of one candle (:func:`differing_inputs`):
    features first (FreqAI ``%``-columns), then model outputs (``&``-targets, ``do_predict``,
    regime columns) with identical features - a model trained on different rows or values -
    then anything else."""
    columns = [i["column"] for i in inputs]
    features = [c for c in columns if c.startswith("%")]
    if features:
        return f"features differ: {', '.join(features[:DIFFS_SHOWN])}"
    outputs = [c for c in columns if c.startswith(("&", "do_predict", "expert_pred_", "regime",
                                                   "gate_weight_", "confidence"))
               and not c.endswith(("_mean", "_std"))]
    if outputs:
        return ("model output differs with identical features (the two models were trained "
                f"on different data): {', '.join(outputs[:DIFFS_SHOWN])}")
    return f"inputs differ: {', '.join(columns[:DIFFS_SHOWN])}" if columns else "no input differs"


def compare_training(models_dir: Path, pairs: list[str], top: int = DIFFS_SHOWN) -> dict[str, dict]:
    """Per pair, FreqAI's saved training frames of the two sides compared bit for bit.

    Reads ``<models_dir>/parity-<side>/sub-train-<COIN>_<ts>/cb_<coin>_<ts>_trained_df.pkl``
    (the scaled ``train_features`` FreqAI saves with each model: the dry-run always, the
    backtest with ``freqai.save_backtest_models``) and ``..._trained_dates_df.pkl``, latest
    training per side.

    Returns:
        ``{pair: {"rows": [dry, backtest], "same_dates": bool, "identical": bool,
        "differing_columns": [{"column", "max_rel_diff"}, ...]}}`` (largest first, at most
        ``top``; relative difference as in :func:`differing_inputs`), or ``{pair: {"missing":
        side}}`` when a side saved no training frame.
    """
    out: dict[str, dict] = {}
    for pair in pairs:
        coin = pair.split("/")[0]
        dry = _latest_training(models_dir / "parity-dryrun", coin)
        bt = _latest_training(models_dir / "parity-backtest", coin)
        if dry is None or bt is None:
            out[pair] = {"missing": "dryrun" if dry is None else "backtest"}
            continue
        (dry, dry_dates), (bt, bt_dates) = dry, bt
        same_dates = dry_dates is not None and bt_dates is not None and \
            np.array_equal(np.asarray(dry_dates), np.asarray(bt_dates))
        if dry.shape == bt.shape and list(dry.columns) == list(bt.columns):
            a, b = dry.to_numpy(dtype="float64"), bt.to_numpy(dtype="float64")
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)
            rel = np.where(np.isnan(a) & np.isnan(b), 0.0, np.nan_to_num(rel, nan=1.0))
            worst = pd.Series(rel.max(axis=0), index=dry.columns)
            differing = [{"column": c, "max_rel_diff": float(v)}
                         for c, v in worst[worst > 0].sort_values(ascending=False).head(top).items()]
            identical = same_dates and not differing
        else:
            identical = False
            differing = [{"column": c, "max_rel_diff": 1.0}
                         for c in sorted(set(dry.columns) ^ set(bt.columns))[:top]]
        out[pair] = {"rows": [len(dry), len(bt)], "same_dates": bool(same_dates),
                     "identical": bool(identical), "differing_columns": differing}
    return out


def _latest_training(side_dir: Path, coin: str) -> tuple[pd.DataFrame, Any] | None:
    """(training features, training dates or None) of ``coin``'s latest saved model in
    ``side_dir``, or None when it saved none."""
    found = sorted(side_dir.glob(f"sub-train-{coin}_*/cb_{coin.lower()}_*_trained_df.pkl"))
    if not found:
        return None
    dates = found[-1].with_name(found[-1].name.replace("_trained_df", "_trained_dates_df"))
    return pd.read_pickle(found[-1]), pd.read_pickle(dates) if dates.exists() else None


def _worst_columns(training: dict) -> str:
    return ", ".join(f"{d['column']} {d['max_rel_diff']:.1e}" for d in training["differing_columns"])


def training_cause(training: dict | None) -> str:
    """What :func:`compare_training` says about one pair, as a clause for a model-output
    difference."""
    if not training or "missing" in training:
        return ""
    if training["identical"]:
        return "; training frames bit-identical (the fit itself differs)"
    if training["rows"][0] != training["rows"][1] or not training["same_dates"]:
        return (f"; training rows differ ({training['rows'][0]} dry-run vs "
                f"{training['rows'][1]} backtest, or other dates)")
    return f"; training features differ (max relative): {_worst_columns(training)}"


def compare_signals(dry: pd.DataFrame, backtest: pd.DataFrame,
                    tolerance: float = 1e-6) -> SignalComparison:
    """Compare ``enter_long`` per (pair, candle) on the candles present on both sides.

    Args:
        dry: the stepped dry-run's last analysed candles (``pair``, ``date``, columns).
        backtest: the backtest's analysed candles (``pair``, ``date``, columns).
        tolerance: relative difference above which an input column counts as different.

    Raises:
        ValueError: the two sides share no (pair, candle).
    """
    keys = ["pair", "date"]
    merged = dry.merge(backtest, on=keys, how="inner", suffixes=("", "__bt"))
    if merged.empty:
        raise ValueError("dry-run and backtest share no (pair, candle); check the window and "
                         "the pairs.")
    d, b = _flag(merged[SIGNAL]), _flag(merged[f"{SIGNAL}__bt"])
    both = int(((d == 1) & (b == 1)).sum())
    either = int(((d == 1) | (b == 1)).sum())
    differences = []
    bt_columns = [c for c in backtest.columns if c not in keys]
    for i in np.flatnonzero((d != b).to_numpy()):
        row = merged.iloc[i]
        dry_values = pd.Series({c: row[c] for c in bt_columns if c in dry.columns})
        bt_values = pd.Series({c: row[f"{c}__bt"] if f"{c}__bt" in merged.columns else row[c]
                               for c in bt_columns})
        inputs = differing_inputs(dry_values, bt_values, tolerance)
        differences.append({
            "pair": row["pair"], "date": row["date"], "dry": int(d.iloc[i]),
            "backtest": int(b.iloc[i]), "inputs": inputs, "cause": difference_cause(inputs)})
    return SignalComparison(
        candles=len(merged), dry_entries=int(d.sum()), backtest_entries=int(b.sum()),
        both_entries=both, identical_share=both / either if either else 1.0,
        candle_agreement=float((d == b).mean()), differences=differences)


def _entries(trades: pd.DataFrame) -> set[tuple[str, pd.Timestamp]]:
    return set(zip(trades["pair"], pd.to_datetime(trades["open_date"], utc=True), strict=True))


def why_no_entry(pair: str, at: pd.Timestamp, trades: pd.DataFrame, journal: list[Any],
                 max_open_trades: int) -> str:
    """Why a run did not open ``pair`` at ``at`` (UTC): a trade of the pair still open, all
    ``max_open_trades`` slots taken, and the run's risk-journal denials within one candle of
    ``at`` (``journal``: :class:`plugins.risk.journal.JournalRow` of that window)."""
    opened = pd.to_datetime(trades["open_date"], utc=True)
    closed = pd.to_datetime(trades["close_date"], utc=True)
    open_now = trades[(opened < at) & (closed.isna() | (closed > at))]
    reasons = []
    if pair in set(open_now["pair"]):
        row = open_now[open_now["pair"] == pair].iloc[0]
        reasons.append(f"{pair} trade opened {pd.Timestamp(row['open_date']).isoformat()} still "
                       "open")
    elif len(open_now) >= max_open_trades:
        reasons.append(f"all {max_open_trades} slots taken ({', '.join(open_now['pair'])})")
    for row in journal:
        if row.decision != "pass" and row.pair in (pair, None):
            reasons.append(f"{row.kind} {row.decision} {row.reason}"
                           + (f" ({row.detail})" if row.detail else ""))
    return "; ".join(dict.fromkeys(reasons)) or "no open trade, free slot, no journaled denial"


def compare_trades(dry: pd.DataFrame, backtest: pd.DataFrame, journals: dict[str, Any],
                   timeframe_s: int, max_open_trades: int) -> dict[str, Any]:
    """Trade entries (pair, open time) of both runs: counts, the share in both, and for each
    entry made by one run only, why the other did not (:func:`why_no_entry`).

    Args:
        journals: ``{"dry": DecisionJournal, "backtest": DecisionJournal}``.
        timeframe_s: candle length (s): journal rows within one candle of the entry count.
    """
    a, b = _entries(dry), _entries(backtest)
    either = a | b
    tf = pd.Timedelta(seconds=timeframe_s)

    def explain(only: set, other: str, other_trades: pd.DataFrame) -> list[dict[str, str]]:
        out = []
        for pair, at in sorted(only):
            rows = journals[other].query(since=(at - tf).to_pydatetime(),
                                         until=(at + tf).to_pydatetime())
            out.append({"pair": pair, "open_date": at.isoformat(),
                        f"why_not_in_{other}": why_no_entry(pair, at, other_trades, rows,
                                                            max_open_trades)})
        return out

    return {"dry_trades": len(a), "backtest_trades": len(b), "both": len(a & b),
            "identical_share": len(a & b) / len(either) if either else 1.0,
            "dry_only": explain(a - b, "backtest", backtest),
            "backtest_only": explain(b - a, "dry", dry)}


# --------------------------------------------------------------------------- fills

#: Exit reasons whose price is a level Freqtrade computed (not a candle's open).
LEVEL_EXITS = {"stop_loss", "trailing_stop_loss", "stoploss_on_exchange", "liquidation", "roi"}


def backtest_orders(trades: pd.DataFrame) -> pd.DataFrame:
    """The filled orders of a backtest's trades (the ``orders`` lists of Freqtrade's result):
    ``pair``, ``side`` (buy/sell), ``amount`` (base), ``price`` (quote), ``filled_at`` (UTC),
    ``tag`` (entry tag or exit reason)."""
    rows = [{"pair": t["pair"], "side": o["ft_order_side"], "amount": float(o["amount"]),
             "price": float(o["safe_price"]), "tag": o.get("ft_order_tag"),
             "filled_at": pd.Timestamp(o["order_filled_timestamp"], unit="ms", tz="UTC")}
            for _, t in trades.iterrows() for o in t["orders"] if o.get("order_filled_timestamp")]
    return pd.DataFrame(rows, columns=["pair", "side", "amount", "price", "filled_at", "tag"])


def compare_fills(bt_trades: pd.DataFrame, dry_orders: pd.DataFrame, exchange: Any, datadir: Path,
                  costs: Any, timeframe: str) -> dict[str, Any]:
    """Both sides' fills against the cost model (module docstring, "Fills").

    Returns:
        ``{"costs": text, "backtest": summary, "dryrun": summary}``, each summary with
        ``orders`` (compared), ``skipped`` (level exits / no estimate), ``max_abs_error_bps``,
        ``within_tolerance`` (bool) and ``worst`` (the order with the largest error).
    """
    from ccxt import TICK_SIZE
    from freqtrade.data.history import load_pair_history
    from freqtrade.exchange import price_to_precision

    from plugins.execution.book import max_interpolation_excess
    from plugins.execution.costs import (
        CostModelError,
        cost_inputs,
        fill_price,
        half_tick_frac,
        inputs_at,
        order_cost,
    )

    ticks = exchange.cost_book.ticks
    bt = backtest_orders(bt_trades) if not bt_trades.empty else backtest_orders(pd.DataFrame())
    bt_rows, bt_skipped = [], 0
    frames: dict[str, pd.DataFrame] = {}
    for row in bt.itertuples():
        if row.tag in LEVEL_EXITS:
            bt_skipped += 1
            continue
        if row.pair not in frames:
            candles = load_pair_history(row.pair, timeframe, datadir, data_format="feather")
            frames[row.pair] = pd.concat([candles, cost_inputs(candles, costs, timeframe)], axis=1)
        frame, tick = frames[row.pair], ticks[row.pair.replace("/", "")]
        reference = float(frame.loc[frame["date"] == row.filled_at, "open"].iloc[0])
        found = inputs_at(frame, row.filled_at.to_pydatetime(), timeframe)
        cost = order_cost(costs, found[1] if found else None, row.amount * reference,
                          half_tick_frac(tick, reference))
        want = price_to_precision(fill_price(reference, row.side, cost.total_frac), tick, TICK_SIZE)
        bt_rows.append({"pair": row.pair, "side": row.side, "filled_at": row.filled_at,
                        "price": row.price, "model": want, "cost_bps": cost.total_bps,
                        "error_bps": (row.price / want - 1) * 1e4, "tolerance_bps": 0.0})
    dry_rows, dry_skipped = [], 0
    excess = max_interpolation_excess()
    for row in dry_orders.itertuples():
        symbol = row.pair.replace("/", "")
        at_ms = int(row.filled_at.timestamp() * 1000)
        try:
            want = exchange.model_fill_price(symbol, row.side, row.amount, at_ms)
            mid = exchange.mid_price(symbol, at_ms)
            impact = order_cost(costs, exchange.cost_book.inputs(symbol, at_ms),
                                row.amount * mid).impact_frac
        except CostModelError:
            dry_skipped += 1
            continue
        tolerance = (excess * impact + half_tick_frac(ticks[symbol], mid)) * 1e4 + 1e-9
        dry_rows.append({"pair": row.pair, "side": row.side, "filled_at": row.filled_at,
                         "price": row.price, "model": want,
                         "cost_bps": abs(want / mid - 1) * 1e4,
                         "error_bps": (row.price / want - 1) * 1e4, "tolerance_bps": tolerance})

    def summary(rows: list[dict], skipped: int) -> dict[str, Any]:
        if not rows:
            return {"orders": 0, "skipped": skipped, "max_abs_error_bps": None,
                    "within_tolerance": True, "mean_cost_bps": None, "worst": None}
        table = pd.DataFrame(rows)
        worst = table.loc[table["error_bps"].abs().idxmax()].to_dict()
        return {"orders": len(table), "skipped": skipped,
                "max_abs_error_bps": float(table["error_bps"].abs().max()),
                "within_tolerance": bool((table["error_bps"].abs()
                                          <= table["tolerance_bps"] + 1e-9).all()),
                "mean_cost_bps": float(table["cost_bps"].mean()), "worst": worst}

    return {"costs": costs.describe(), "backtest": summary(bt_rows, bt_skipped),
            "dryrun": summary(dry_rows, dry_skipped)}


# --------------------------------------------------------------------------- the two sides


def parity_overlay(args: argparse.Namespace, base: dict, userdir: Path) -> dict:
    """The overlay both sides share (see the module docstring)."""
    from plugins.altdata.config import AltDataConfig
    from plugins.altdata.registry import build_providers

    window_h = (args.end - args.start).total_seconds() / 3600
    names = [p.name for p in build_providers(AltDataConfig())]
    overlay: dict[str, Any] = {
        "user_data_dir": str(userdir), "strategy": args.strategy,
        "db_url": f"sqlite:///{userdir / 'parity-dryrun.sqlite'}",
        # ccxt's rate limiter waits for the wall clock to advance, which the frozen clock of
        # the stepped run never does; the replay exchange on 127.0.0.1 has no rate limit.
        "exchange": {"pair_whitelist": args.pairs,
                     "ccxt_config": {"enableRateLimit": False},
                     "ccxt_async_config": {"enableRateLimit": False}},
        "ai_suite": {"altdata": {"cache_dir": str(args.altdata_cache), "replay_shift_days": 0,
                                 "providers": {n: {"base_url": "http://127.0.0.1:9"}
                                               for n in names}}},
    }
    freqai = base.get("freqai", {})
    if args.no_freqai:
        overlay["freqai"] = {"enabled": False}
    elif freqai.get("enabled"):
        configured = freqai.get("feature_parameters", {}).get("include_corr_pairlist", [])
        corr = [p for p in configured if p in args.pairs] or args.pairs[:1]
        overlay["freqai"] = {
            "feature_parameters": {"include_corr_pairlist": corr},
            "backtest_period_days": math.ceil(window_h / 24) + 1,
            # the backtest's training frames, to compare with the dry-run's (compare_training)
            "save_backtest_models": True,
            "live_retrain_hours": window_h + 1, "expiration_hours": 0}
    return overlay


def freqtrade_config(files: list[Path], runmode: Any, datadir: Path,
                     extra: dict | None = None) -> dict:
    """A Freqtrade config as the CLI builds it (``-c`` files in order, ``--datadir``)."""
    from freqtrade.configuration import Configuration

    args = {"config": [str(f) for f in files], "datadir": str(datadir), **(extra or {})}
    return Configuration(args, runmode).get_config()


def run_backtest(config: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``freqtrade backtesting``'s path in this process; returns (analysed candles with
    unshifted signals inside the timerange, trades)."""
    from freqtrade.optimize.backtesting import Backtesting
    from freqtrade.persistence.usedb_context import enable_database_use

    backtesting = Backtesting(config)
    data, timerange = backtesting.load_bt_data()
    strategy = backtesting.strategylist[0]
    analysed: dict[str, dict[str, pd.DataFrame]] = {}
    advise_all = strategy.advise_all_indicators

    def keep(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        out = advise_all(frames)
        analysed["frames"] = out  # backtest() writes the advised, trimmed frames back into it
        return out

    strategy.advise_all_indicators = keep
    try:
        backtesting.backtest_one_strategy(strategy, data, timerange)
    finally:
        # Backtesting switched Freqtrade's trades and locks to memory for the process;
        # a later dry-run in this process needs its database back (as `freqtrade` does).
        enable_database_use()
    trades = backtesting.all_bt_content[strategy.get_strategy_name()]["results"]
    frames = [frame.assign(pair=pair) for pair, frame in analysed["frames"].items()]
    return pd.concat(frames, ignore_index=True), trades


def run_both(args: argparse.Namespace) -> dict[str, Any]:
    """Both sides and the comparison; the report as a dict."""
    from freqtrade.enums import RunMode
    from freqtrade.exchange import timeframe_to_seconds
    from freqtrade.misc import deep_merge_dicts

    from adapters.replay_exchange import ReplayExchangeConfig, serving
    from adapters.replay_exchange.overlay import offline_overlay
    from adapters.replay_exchange.stepped import run_stepped_dryrun
    from plugins.core.config import load_section
    from plugins.execution.config import CostConfig

    tmp = Path(tempfile.mkdtemp(prefix="parity-"))
    userdir = tmp / "user_data"
    for sub in ("models", "backtest_results", "logs", "data"):
        (userdir / sub).mkdir(parents=True)
    base = [REPO / "config/base.json"]
    merged: dict = {}
    for path in [*base, *args.config]:
        merged = deep_merge_dicts(json.loads(path.read_text()), merged)
    report: dict[str, Any] = {"arguments": {k: str(v) if isinstance(v, Path | datetime) else v
                                            for k, v in vars(args).items()},
                              "workdir": str(tmp)}
    # a copy: the dry-run's live refresh must not write into the user's cache
    args.altdata_cache = Path(shutil.copytree(args.altdata_cache, tmp / "altdata"))
    overlay = parity_overlay(args, merged, userdir)
    costs = load_section(merged, "costs", CostConfig)
    timeframe = merged.get("timeframe", "1h")
    with serving(ReplayExchangeConfig(datadir=args.datadir, port=0, costs=costs,
                                      cost_timeframe=timeframe)) as server:
        offline = tmp / "offline.json"
        offline.write_text(json.dumps(offline_overlay(server.api_url)))
        files = [*base, offline, *args.config]
        sides = {}
        for side, runmode, datadir in (("backtest", RunMode.BACKTEST, args.datadir),
                                       ("dryrun", RunMode.DRY_RUN, userdir / "data")):
            side_overlay = copy.deepcopy(overlay)
            if "freqai" in side_overlay:
                side_overlay["freqai"]["identifier"] = f"parity-{side}"
            path = tmp / f"parity-{side}.json"
            path.write_text(json.dumps(side_overlay))
            extra = {"timerange": f"{int(args.start.timestamp())}-{int(args.end.timestamp())}",
                     "export": "none"} if side == "backtest" else {"dry_run": True}
            if args.strategy_path:
                extra["strategy_path"] = str(args.strategy_path.resolve())
            sides[side] = freqtrade_config([*files, path], runmode, datadir, extra)
        # The dry-run first, then the backtest: both in this process, one after the other.
        run = run_stepped_dryrun(sides["dryrun"], args.start, args.end)
        began = time.monotonic()
        bt_candles, bt_trades = run_backtest(sides["backtest"])
        report["backtest_wall_s"] = time.monotonic() - began
        if costs.enabled:
            report["fills"] = compare_fills(bt_trades, run.orders, server.exchange, args.datadir,
                                            costs, timeframe)
    report["dryrun_wall_s"] = run.wall_s
    report["dryrun_training_wait_s"] = run.training_wait_s
    report["steps"] = run.steps
    window = (bt_candles["date"] >= pd.Timestamp(args.start)) & (
        bt_candles["date"] < pd.Timestamp(args.end))
    dry = run.analyzed[run.analyzed["date"] >= pd.Timestamp(args.start)]
    signals = compare_signals(dry, bt_candles[window], args.tolerance)
    report["signals"] = signals.__dict__
    report["target_share"] = TARGET_SHARE
    report["meets_target"] = signals.identical_share >= TARGET_SHARE
    from plugins.risk.journal import DecisionJournal, journal_path

    with DecisionJournal(journal_path(sides["dryrun"])) as dry_journal, \
            DecisionJournal(journal_path(sides["backtest"])) as bt_journal:
        report["trades"] = compare_trades(
            run.trades, bt_trades, {"dry": dry_journal, "backtest": bt_journal},
            timeframe_to_seconds(sides["dryrun"]["timeframe"]),
            int(sides["dryrun"]["max_open_trades"]))
    if "freqai" in overlay and not args.no_freqai:
        report["training"] = compare_training(userdir / "models", args.pairs)
        for diff in report["signals"]["differences"]:
            if diff["cause"].startswith("model output differs"):
                diff["cause"] += training_cause(report["training"].get(diff["pair"]))
    report["freqai_schedule"] = (
        "one training per side at --start on the same train_period_days (backtest_period_days "
        "and live_retrain_hours cover the window, expiration_hours 0)"
        if overlay.get("freqai", {}).get("enabled", True) and "freqai" in overlay
        else "no FreqAI")
    return report


# --------------------------------------------------------------------------- CLI


def print_report(report: dict) -> None:
    """The figures as a short table, then every differing candle."""
    s, t = report["signals"], report["trades"]
    lines = [
        f"candles compared (pair x candle)   {s['candles']}",
        f"entry signals dry-run / backtest   {s['dry_entries']} / {s['backtest_entries']}",
        f"entry signals identical            {s['both_entries']}",
        f"identical entry-signal share       {s['identical_share']:.4f}  (target >= "
        f"{report['target_share']:.2f}: {'met' if report['meets_target'] else 'NOT met'})",
        f"per-candle agreement               {s['candle_agreement']:.4f}",
        f"trades dry-run / backtest / both   {t['dry_trades']} / {t['backtest_trades']} / "
        f"{t['both']}  (share {t['identical_share']:.4f})",
        f"wall: backtest {report['backtest_wall_s']:.1f} s, dry-run {report['dryrun_wall_s']:.1f} s "
        f"({report['steps']} steps, {report['dryrun_training_wait_s']:.1f} s FreqAI training)",
        f"FreqAI schedule: {report['freqai_schedule']}",
    ]
    fills = report.get("fills")
    if fills:
        lines.append(f"execution costs: {fills['costs']}")
        for side in ("backtest", "dryrun"):
            f = fills[side]
            error = "-" if f["max_abs_error_bps"] is None else f"{f['max_abs_error_bps']:.4f} bps"
            cost = "-" if f["mean_cost_bps"] is None else f"{f['mean_cost_bps']:.3f} bps"
            lines.append(f"fills {side:8s} vs model: {f['orders']} orders ({f['skipped']} skipped), "
                         f"mean cost {cost}, max |error| {error}, within tolerance: "
                         f"{f['within_tolerance']}")
    for pair, training in report.get("training", {}).items():
        if "missing" in training:
            lines.append(f"training {pair}: no saved training frame on the {training['missing']} side")
        else:
            lines.append(f"training {pair}: rows {training['rows'][0]} / {training['rows'][1]}, "
                         + ("bit-identical features" if training["identical"]
                            else f"features differ: {_worst_columns(training) or 'dates differ'}"))
    print("\n".join(lines))
    for side, key in (("dry-run only", "dry_only"), ("backtest only", "backtest_only")):
        for trade in t[key]:
            why = next(v for k, v in trade.items() if k.startswith("why_not_in_"))
            print(f"  trade {side}: {trade['pair']} {trade['open_date']} - other side: {why}")
    for diff in s["differences"]:
        inputs = ", ".join(f"{i['column']} {i['dry']:.6g} vs {i['backtest']:.6g}"
                           if i["dry"] is not None and i["backtest"] is not None
                           else f"{i['column']} {i['dry']} vs {i['backtest']}"
                           for i in diff["inputs"][:3])
        print(f"  {diff['pair']} {diff['date']}: dry {diff['dry']} backtest {diff['backtest']}"
              f" - {diff['cause']}" + (f" ({inputs})" if inputs else ""))


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datadir", type=Path, required=True,
                        help="Freqtrade data dir with <PAIR>-<tf>.feather (user_data/data/binance)")
    parser.add_argument("--pairs", nargs="+", required=True, help="pairs, e.g. BTC/USDT ETH/USDT")
    parser.add_argument("--start", type=_utc, required=True,
                        help="first candle of the window, ISO UTC on the timeframe grid")
    parser.add_argument("--end", type=_utc, required=True,
                        help="end of the window (exclusive), ISO UTC on the timeframe grid")
    parser.add_argument("--strategy", default="RegimeMoE")
    parser.add_argument("--strategy-path", type=Path, default=None,
                        help="folder of the strategy if not strategies/ (e.g. strategies/compiled)")
    parser.add_argument("--out", type=Path, required=True, help="JSON report file")
    parser.add_argument("--altdata-cache", type=Path, default=DEFAULT_CACHE,
                        help="alt-data cache dir (default user_data/altdata)")
    parser.add_argument("--config", nargs="+", type=Path, default=[],
                        help="extra config overlays, after config/base.json")
    parser.add_argument("--no-freqai", action="store_true",
                        help="turn FreqAI off (for a strategy that does not use it, e.g. a "
                             "compiled strategy tree)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work dir (user_data of both sides, logs, models)")
    parser.add_argument("--tolerance", type=float, default=1e-6,
                        help="relative difference above which an input counts as different")
    args = parser.parse_args(argv)
    args.datadir = args.datadir.resolve()
    args.altdata_cache = args.altdata_cache.resolve()
    if not args.datadir.is_dir():
        parser.error(f"--datadir {args.datadir} is not a directory")
    if args.end <= args.start + timedelta(hours=1):
        parser.error("--end must be at least two candles after --start")
    for path in args.config:
        if not path.is_file():
            parser.error(f"--config {path}: no such file")
    from freqtrade.misc import deep_merge_dicts

    merged: dict = {}
    for path in [REPO / "config/base.json", *args.config]:
        merged = deep_merge_dicts(json.loads(path.read_text()), merged)
    with exit_on_problem(parser.prog):
        check_dir(args.altdata_cache, "--altdata-cache", "run `make data` (fills user_data/altdata)",
                  DEFAULT_CACHE.resolve())
        validate_data_arguments(args.datadir, args.pairs, pd.Timestamp(args.start),
                                pd.Timestamp(args.end), [merged.get("timeframe", "1h")])
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        report = run_both(args)
    except Exception:  # noqa: BLE001 - reported with its traceback, exit status 1
        logger.exception("Parity run failed")
        return 1
    args.out.write_text(json.dumps(jsonable(report), indent=2))
    print_report(jsonable(report))
    if not args.keep:
        shutil.rmtree(report["workdir"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
