"""Cost sensitivity: what execution costs do to a strategy, and the size at which its edge is gone.

    python bench/cost_sensitivity.py --datadir user_data/data/binance --pairs BTC/USDT ETH/USDT \\
        XRP/USDT --timerange 20240101-20240701 --out cost_sensitivity.json \\
        [--strategy RegimeMoE] [--strategy-path DIR] [--no-freqai] [--config extra.json ...] \\
        [--fixed-bps 0 5 10 25] [--stakes 100 1000 10000 100000 1000000 10000000] \\
        [--altdata-cache user_data/altdata] [--plot PREFIX] [--keep]

Works on any data dir, pairs and time range. Every run is Freqtrade's own backtest
(``Backtesting``, in this process, on the config ``freqtrade backtesting -c config/base.json -c
<offline> -c <--config ...>`` builds) of the same strategy and window; only ``ai_suite.costs``,
the stake and the wallet change. A FreqAI strategy trains once (the first run); the others reuse
its saved predictions (same identifier, same windows).

1. **Cost settings** at the config's own stake: ``fixed_bps`` 0 (no slippage: Freqtrade's
   default), each ``--fixed-bps``, and the model (``ai_suite.costs``: Abdi-Ranaldo half-spread
   + square-root impact + latency, ``plugins.execution``).
2. **Stake sweep** with the model: ``stake_amount`` = each ``--stakes`` value (quote currency),
   the wallet ``max(max_open_trades, 1 / ai_suite.risk.max_position_frac) x 1.05 x stake`` so
   neither the slots nor the risk guard's position cap shrink it. Per run: the mean stake
   actually traded, the modelled cost per fill (total and its impact part, bps;
   ``plugins.execution.report.fill_costs``) and the net return per unit of stake,
   ``sum(profit_abs) / sum(stake_amount)`` over the trades (fees and costs paid; batches and
   partial exits weighted by what they put at stake). The impact part's
   log-log slope against the stake is the square-root law's exponent (0.5 expected).
   **Capacity**: the stake at which that net return reaches 0 (log-interpolated
   between the two sweep points around the crossing); "none" when it is <= 0 at every stake,
   i.e. no edge to lose.
3. **No-skill control, same candles, same costs**: equal-weight buy-and-hold of the pairs over
   the window, bought at the first candle's open and sold at the last close with Freqtrade's
   fee and the same cost setting (at the run's stake per pair), beside every row.

Prints both tables, writes them as JSON (``--out``), and a plot (``--plot PREFIX``: ``.png``
with matplotlib, ``.html`` with plotly; default beside ``--out``). Exit status 0 when every run
finished, 1 when one failed, 2 on a bad argument.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import logging
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
from _args import (  # noqa: E402
    ArgumentProblem,
    check_dir,
    check_pairs,
    check_positive,
    exit_on_problem,
    parse_timerange,
)
from harness import REPO, jsonable  # noqa: E402

logger = logging.getLogger("bench.cost_sensitivity")

DEFAULT_FIXED = (0.0, 5.0, 10.0, 25.0)
DEFAULT_STAKES = (100.0, 1e3, 1e4, 1e5, 1e6, 1e7)


# --------------------------------------------------------------------------- one backtest


def run_backtest(files: list[Path], overlay: dict, datadir: Path, timerange: str,
                 workdir: Path) -> tuple[dict, pd.DataFrame]:
    """Freqtrade's backtest of the configs + ``overlay``; returns (its stats of the strategy,
    its trades with their orders)."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode
    from freqtrade.optimize.backtesting import Backtesting

    path = workdir / f"overlay-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(overlay))
    config = Configuration({"config": [str(f) for f in [*files, path]], "datadir": str(datadir),
                            "timerange": timerange, "export": "none", "backtest_cache": "none"},
                           RunMode.BACKTEST).get_config()
    backtesting = Backtesting(config)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Freqtrade's tables: ours follow
            backtesting.start()
    finally:
        Backtesting.cleanup()
        backtesting.exchange.close()
    name = backtesting.strategylist[0].get_strategy_name()
    return backtesting.results["strategy"][name], backtesting.all_bt_content[name]["results"]


def run_figures(stats: dict, trades: pd.DataFrame, candles: dict[str, pd.DataFrame], costs: Any,
                timeframe: str) -> dict[str, Any]:
    """Trades, profit and modelled cost figures of one run."""
    from plugins.execution.report import fill_costs

    out = {"trades": int(stats["total_trades"]), "profit_total": float(stats["profit_total"]),
           "return_per_stake": (float(trades["profit_abs"].sum() / trades["stake_amount"].sum())
                                if len(trades) else math.nan),
           "mean_stake": float(trades["stake_amount"].mean()) if len(trades) else math.nan,
           "cost_bps": math.nan, "impact_bps": math.nan, "fee": math.nan}
    if len(trades):
        out["fee"] = float(trades["fee_open"].iloc[0])
        fills = fill_costs(trades, candles.__getitem__, costs, timeframe)
        out["cost_bps"] = float(fills["cost_bps"].mean())
        out["impact_bps"] = float(fills["impact_bps"].mean())
    return out


# --------------------------------------------------------------------------- control


def buy_and_hold(candles: dict[str, pd.DataFrame], start: pd.Timestamp, end: pd.Timestamp,
                 costs: Any, stake: float, fee: float, timeframe: str) -> float:
    """Net return (fraction) of an equal-weight buy-and-hold over ``[start, end)``: each pair
    bought with ``stake`` at the first open at or after ``start``, sold at the last close
    before ``end``, paying ``fee`` per side (Freqtrade's profit formula) and ``costs`` on both
    fills (the inputs of the last candle closed before each)."""
    from plugins.execution.costs import (
        cost_inputs,
        fill_price,
        half_tick_frac,
        inputs_at,
        order_cost,
    )
    from plugins.execution.report import price_tick

    returns = []
    for frame in candles.values():
        window = frame[(frame["date"] >= start) & (frame["date"] < end)]
        if window.empty:
            continue
        inputs = pd.concat([frame[["date"]], cost_inputs(frame, costs, timeframe)], axis=1)
        tick = price_tick(window)
        first, last = window.iloc[0], window.iloc[-1]
        bought_at = first["date"].to_pydatetime()
        sold_at = (last["date"] + (window["date"].diff().median())).to_pydatetime()
        entry_found, exit_found = inputs_at(inputs, bought_at, timeframe), inputs_at(
            inputs, sold_at, timeframe)
        entry = fill_price(first["open"], "buy", order_cost(
            costs, entry_found[1] if entry_found else None, stake,
            half_tick_frac(tick, first["open"])).total_frac)
        amount = stake / first["open"]
        exit_ = fill_price(last["close"], "sell", order_cost(
            costs, exit_found[1] if exit_found else None, amount * last["close"],
            half_tick_frac(tick, last["close"])).total_frac)
        paid = amount * entry * (1 + fee)
        returns.append((amount * exit_ * (1 - fee) - paid) / paid)
    return float(np.mean(returns)) if returns else math.nan


# --------------------------------------------------------------------------- analysis


def sqrt_exponent(stakes: list[float], impacts: list[float]) -> float | None:
    """Least-squares slope of ``log(impact)`` on ``log(stake)`` (0.5 = square-root law); None
    with fewer than two usable points."""
    points = [(math.log(s), math.log(i)) for s, i in zip(stakes, impacts, strict=True)
              if s > 0 and i > 0 and math.isfinite(s) and math.isfinite(i)]
    if len(points) < 2:
        return None
    x, y = np.array(points).T
    return float(np.polyfit(x, y, 1)[0])


def capacity(stakes: list[float], returns: list[float]) -> tuple[float | None, str]:
    """The stake where the net return per unit of stake reaches 0 (log-interpolated), and why.

    Returns:
        (stake, text); stake None when the profit is <= 0 at the smallest stake (no edge) or
        stays > 0 at every stake (capacity above the sweep).
    """
    rows = sorted((s, p) for s, p in zip(stakes, returns, strict=True)
                  if math.isfinite(p))
    if not rows:
        return None, "no trades"
    if rows[0][1] <= 0:
        return None, f"no edge: net return <= 0 already at {rows[0][0]:,.0f} per trade"
    for (s0, p0), (s1, p1) in zip(rows, rows[1:], strict=False):
        if p1 <= 0:
            w = p0 / (p0 - p1)
            stake = math.exp(math.log(s0) + w * (math.log(s1) - math.log(s0)))
            return stake, f"edge gone at ~{stake:,.0f} per trade"
    return None, f"edge still positive at {rows[-1][0]:,.0f}: capacity above the sweep"


# --------------------------------------------------------------------------- the bench


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every run and the analysis; the report as a dict."""
    from freqtrade.data.history import load_pair_history
    from freqtrade.misc import deep_merge_dicts

    from adapters.replay_exchange import ReplayExchangeConfig, serving
    from adapters.replay_exchange.overlay import offline_overlay
    from plugins.core.config import load_section
    from plugins.execution.config import CostConfig
    from plugins.risk.config import RiskConfig

    workdir = Path(tempfile.mkdtemp(prefix="cost-sensitivity-"))
    userdir = args.userdir or workdir / "user_data"
    for sub in ("models", "backtest_results", "logs", "data"):
        (userdir / sub).mkdir(parents=True, exist_ok=True)
    merged: dict = {}
    for path in [REPO / "config/base.json", *args.config]:
        merged = deep_merge_dicts(json.loads(path.read_text()), merged)
    cost_model = load_section(merged, "costs", CostConfig)
    risk = load_section(merged, "risk", RiskConfig)
    timeframe = merged.get("timeframe", "1h")
    base = {"user_data_dir": str(userdir), "exchange": {"pair_whitelist": args.pairs},
            "ai_suite": {"altdata": {"cache_dir": str(args.altdata_cache)}}}
    if args.strategy:
        base["strategy"] = args.strategy
    if args.strategy_path:
        base["strategy_path"] = str(args.strategy_path.resolve())
    if args.no_freqai:
        base["freqai"] = {"enabled": False}
    elif merged.get("freqai", {}).get("enabled"):
        configured = merged["freqai"].get("feature_parameters", {}).get("include_corr_pairlist", [])
        base["freqai"] = {"feature_parameters": {"include_corr_pairlist": [
            p for p in configured if p in args.pairs] or args.pairs[:1]}}
    candles = {pair: load_pair_history(pair, timeframe, args.datadir, data_format="feather")
               for pair in args.pairs}
    start, end = (pd.Timestamp(t, tz="UTC") for t in args.timerange.split("-"))
    report: dict[str, Any] = {"arguments": {k: str(v) if isinstance(v, Path) else v
                                            for k, v in vars(args).items()},
                              "model": cost_model.describe(), "workdir": str(workdir)}
    with serving(ReplayExchangeConfig(datadir=args.datadir, port=0)) as server:
        offline = workdir / "offline.json"
        offline.write_text(json.dumps(offline_overlay(server.api_url)))
        files = [REPO / "config/base.json", offline, *args.config]

        def one(label: str, costs: dict, extra: dict, stake: float) -> dict[str, Any]:
            overlay = deep_merge_dicts({"ai_suite": {"costs": costs}, **extra},
                                       copy.deepcopy(base))
            began = time.monotonic()
            stats, trades = run_backtest(files, overlay, args.datadir, args.timerange, workdir)
            cost_config = load_section(deep_merge_dicts(overlay, copy.deepcopy(merged)), "costs",
                                       CostConfig)
            row = {"run": label, **run_figures(stats, trades, candles, cost_config, timeframe)}
            fee = row["fee"] if math.isfinite(row["fee"]) else 0.001
            row["control_buy_and_hold"] = buy_and_hold(candles, start, end, cost_config, stake,
                                                       fee, timeframe)
            row["wall_s"] = time.monotonic() - began
            logger.info("%s: %s", label, row)
            return row

        base_stake = _config_stake(merged)
        settings = [one("model", {}, {}, base_stake)]  # first: trains FreqAI once
        for bps in args.fixed_bps:
            settings.append(one(f"fixed {bps:g} bps", {"fixed_bps": bps}, {}, base_stake))
        settings = [settings[0], *sorted(settings[1:], key=lambda r: float(r["run"].split()[1]))]
        slots = max(int(merged.get("max_open_trades", 1)), 1)
        wallet_factor = max(slots, 1 / risk.max_position_frac) * 1.05
        sweep = [one(f"stake {stake:,.0f}", {}, {"stake_amount": stake,
                                                "dry_run_wallet": stake * wallet_factor}, stake)
                 for stake in args.stakes]
    report["settings"] = settings
    report["sweep"] = sweep
    for row, stake in zip(sweep, args.stakes, strict=True):
        row["target_stake"] = stake
    report["sqrt_exponent"] = sqrt_exponent([r["mean_stake"] for r in sweep],
                                            [r["impact_bps"] for r in sweep])
    stake, text = capacity([r["mean_stake"] for r in sweep], [r["return_per_stake"] for r in sweep])
    report["capacity_stake"], report["capacity"] = stake, text
    return report


def _config_stake(config: dict) -> float:
    """The stake per trade the config gives (``unlimited``: wallet x ratio / slots)."""
    stake = config.get("stake_amount", "unlimited")
    if stake != "unlimited":
        return float(stake)
    wallet = float(config.get("dry_run_wallet", 1000))
    return wallet * float(config.get("tradable_balance_ratio", 0.99)) / max(
        int(config.get("max_open_trades", 1)), 1)


# --------------------------------------------------------------------------- output


def _f(value: Any, fmt: str) -> str:
    return "-" if value is None or (isinstance(value, float) and not math.isfinite(value)) \
        else format(value, fmt)


def table(report: dict) -> list[str]:
    """Both tables, the exponent and the capacity, as text."""
    head = (f"{'run':<18}{'trades':>7}{'mean stake':>13}{'cost/fill bps':>14}{'impact bps':>11}"
            f"{'return/stake':>13}{'profit total':>13}{'b&h return':>11}")
    lines = [f"model: {report['model']}", "", "cost settings (the config's stake)", head]
    for section in ("settings", "sweep"):
        if section == "sweep":
            lines += ["", "stake sweep (the model)", head]
        for r in report[section]:
            lines.append(f"{r['run']:<18}{r['trades']:>7}{_f(r['mean_stake'], ',.0f'):>13}"
                         f"{_f(r['cost_bps'], '.2f'):>14}{_f(r['impact_bps'], '.3f'):>11}"
                         f"{_f(r['return_per_stake'], '+.3%'):>13}{_f(r['profit_total'], '+.2%'):>13}"
                         f"{_f(r['control_buy_and_hold'], '+.2%'):>11}")
    lines += ["", "return/stake: sum of net profits / sum of stakes over the trades (fees and "
                  "costs paid); profit total: of the starting wallet; b&h return: the no-skill "
                  "control, equal-weight buy-and-hold of the pairs over the window, fully "
                  "invested, same fee and costs",
              f"impact vs stake, log-log slope: {_f(report['sqrt_exponent'], '.3f')} "
              "(square-root law: 0.5)", f"capacity: {report['capacity']}"]
    return lines


def plot(report: dict, prefix: Path) -> list[Path]:
    """PNG (matplotlib) and HTML (plotly): cost per fill and net return per stake vs stake
    (log x), with the capacity point and the buy-and-hold control."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    sweep = [r for r in report["sweep"] if math.isfinite(r["mean_stake"])]
    stakes = [r["mean_stake"] for r in sweep]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.loglog(stakes, [r["cost_bps"] for r in sweep], "o-", label="cost per fill")
    left.loglog(stakes, [r["impact_bps"] for r in sweep], "s--", label="impact part")
    if sweep and sweep[0]["impact_bps"] > 0:
        ref = [sweep[0]["impact_bps"] * math.sqrt(s / stakes[0]) for s in stakes]
        left.loglog(stakes, ref, ":", color="grey", label="sqrt(stake)")
    left.set(xlabel="mean stake per trade", ylabel="bps", title="modelled cost")
    left.legend()
    right.semilogx(stakes, [100 * r["return_per_stake"] for r in sweep], "o-", label="strategy")
    right.semilogx(stakes, [100 * r["control_buy_and_hold"] for r in sweep], "x--",
                   label="buy & hold: one trade over the window, same costs")
    right.axhline(0, color="black", linewidth=0.8)
    if report["capacity_stake"]:
        right.axvline(report["capacity_stake"], color="red", linestyle=":", label="capacity")
    right.set(xlabel="mean stake per trade", ylabel="%", title="net return per unit of stake")
    right.legend()
    fig.tight_layout()
    png = prefix.with_suffix(".png")
    fig.savefig(png, dpi=110)
    plt.close(fig)
    interactive = make_subplots(rows=1, cols=2, subplot_titles=("modelled cost (bps)",
                                                                "net return per unit of stake (%)"))
    interactive.add_trace(go.Scatter(x=stakes, y=[r["cost_bps"] for r in sweep],
                                     name="cost per fill"), 1, 1)
    interactive.add_trace(go.Scatter(x=stakes, y=[r["impact_bps"] for r in sweep],
                                     name="impact part"), 1, 1)
    interactive.add_trace(go.Scatter(x=stakes, y=[100 * r["return_per_stake"] for r in sweep],
                                     name="strategy"), 1, 2)
    interactive.add_trace(go.Scatter(x=stakes, y=[100 * r["control_buy_and_hold"] for r in sweep],
                                     name="buy & hold: one trade over the window"), 1, 2)
    interactive.update_xaxes(type="log", title_text="mean stake per trade")
    interactive.update_yaxes(type="log", row=1, col=1)
    html = prefix.with_suffix(".html")
    interactive.write_html(html, include_plotlyjs="cdn")
    return [png, html]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datadir", type=Path, required=True)
    parser.add_argument("--pairs", nargs="+", required=True)
    parser.add_argument("--timerange", required=True, help="YYYYMMDD-YYYYMMDD")
    parser.add_argument("--out", type=Path, required=True, help="JSON report")
    parser.add_argument("--strategy", default=None, help="default: the config's (RegimeMoE)")
    parser.add_argument("--strategy-path", type=Path, default=None)
    parser.add_argument("--no-freqai", action="store_true")
    parser.add_argument("--config", nargs="+", type=Path, default=[],
                        help="extra config overlays after config/base.json")
    parser.add_argument("--fixed-bps", nargs="+", type=float, default=list(DEFAULT_FIXED))
    parser.add_argument("--stakes", nargs="+", type=float, default=list(DEFAULT_STAKES))
    parser.add_argument("--altdata-cache", type=Path, default=REPO / "user_data/altdata")
    parser.add_argument("--userdir", type=Path, default=None,
                        help="user data dir whose FreqAI models (under the configured "
                             "identifier) are reused and kept (default: a fresh temp dir)")
    parser.add_argument("--plot", type=Path, default=None,
                        help="plot prefix (default: --out without its suffix)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args(argv)
    with exit_on_problem(parser.prog):
        args.datadir = check_dir(args.datadir, "--datadir", "run `make data`")
        args.altdata_cache = args.altdata_cache.resolve()
        parse_timerange(args.timerange)
        check_pairs(args.pairs)
        if any(b < 0 for b in args.fixed_bps):
            raise ArgumentProblem("--fixed-bps: basis points must be >= 0")
        for stake in args.stakes:
            check_positive(stake, "--stakes")
        for path in args.config:
            if not path.is_file():
                raise ArgumentProblem(f"--config {path}: no such file")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logger.setLevel(logging.INFO)
    try:
        report = run(args)
    except Exception:  # noqa: BLE001 - reported with its traceback, exit status 1
        logger.exception("Cost sensitivity run failed")
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(jsonable(report), indent=2))
    print("\n".join(table(report)))
    for path in plot(report, args.plot or args.out.with_suffix("")):
        print(f"written: {path}")
    if not args.keep:
        shutil.rmtree(report["workdir"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
