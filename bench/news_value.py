"""Is the news worth anything? IC of the point-in-time news features beside no-skill controls,
and the FreqAI strategy backtested with and without the news group - in the same run.

    python bench/news_value.py --datadir user_data/data/binance \
        --pairs BTC/USDT ETH/USDT XRP/USDT --timerange 20211101-20250208 \
        [--altdata-cache user_data/altdata] [--backtest-timerange 20241001-20250201 | --no-backtest]
        [--horizons 1 4 24] [--seed 7] [--out user_data/bench/news_value.json]

Prediction part (1h candles of every pair, only candles inside news coverage, ``news_covered``):
for each news feature (``plugins.altdata.news.features``, VADER scores) and each horizon ``h``
(candles), the IC against the forward return ``close[t+h] / close[t] - 1`` on non-overlapping
samples with its HAC t-statistic (``plugins.research.stats.information_coefficient``: every
``h``-th candle, all offsets averaged). Controls in the same run and rows: every sentiment
feature recomputed with the headline scores shuffled among the headlines (same times and counts,
tone destroyed), and a seeded standard-normal random feature. A feature is only interesting if
its |t| clearly exceeds its controls' (and 2).

Trading part (unless ``--no-backtest``): ``freqtrade backtesting`` of ``FreqaiAltData`` (LightGBM,
the shipped configs, offline on a replay exchange over ``--datadir``) with
``ai_suite.altdata.news.features`` false and true, on ``--backtest-timerange`` (it should lie inside
news coverage with a month of covered training data before it), beside an equal-weight
buy-and-hold with the same fee. Figures: Freqtrade's own (profit, drawdown, trades) and the
annualized daily Sharpe with its block-bootstrap interval (``plugins.research.evaluation``).

Exit status 0; 1 if a backtest fails; 2 for a bad argument (``bench/_args.py``: one line naming it).
"""

from __future__ import annotations

import argparse
import math
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
    check_dir,
    check_positive,
    exit_on_problem,
    parse_timerange,
    validate_data_arguments,
)
from harness import (  # noqa: E402
    REPO,
    BenchError,
    corr_pairs,
    deep_merge,
    replay_configs,
    run_backtest,
    shipped_config,
    write_json,
)

from plugins.altdata.news.config import NewsConfig  # noqa: E402
from plugins.altdata.news.features import COVERED, FEATURES, news_features  # noqa: E402
from plugins.altdata.news.schema import SCORE, TEXTBLOB  # noqa: E402
from plugins.altdata.news.scoring import VaderScorer, score_headlines  # noqa: E402
from plugins.altdata.news.store import NewsStore, ScoreCache  # noqa: E402
from plugins.research import evaluation  # noqa: E402
from plugins.research.controls import buy_and_hold_balance  # noqa: E402
from plugins.research.stats import information_coefficient  # noqa: E402

PROG = "news_value"
TIMEFRAME = "1h"
STRATEGY = "FreqaiAltData"
MODEL = "LightGBMRegressor"
SENTIMENT = [f for f in FEATURES if "sent" in f]
RANDOM = "control_random_normal"
DEFAULT_FEE = 0.001


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python bench/{PROG}.py", description=__doc__.split("\n")[0])
    add_data_arguments(parser, datadir=REPO / "user_data/data/binance",
                       pairs=["BTC/USDT", "ETH/USDT", "XRP/USDT"], timerange="20211101-20250208")
    parser.add_argument("--altdata-cache", type=Path, default=REPO / "user_data/altdata")
    parser.add_argument("--horizons", type=int, nargs="+", default=[1, 4, 24],
                        help="forward-return horizons in 1h candles (default 1 4 24)")
    parser.add_argument("--backtest-timerange", default="20241001-20250201")
    parser.add_argument("--no-backtest", action="store_true")
    parser.add_argument("--train-days", type=int, default=None, help="FreqAI train_period_days")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=REPO / "user_data/bench/news_value.json")
    return parser.parse_args(argv)


def check_arguments(args) -> tuple[pd.Timestamp, pd.Timestamp, dict[str, pd.DataFrame]]:
    """Windows, pairs, data; raises ``ArgumentProblem`` naming the option."""
    start, stop = parse_timerange(args.timerange)
    for h in args.horizons:
        check_positive(h, "--horizons", integer=True)
    check_dir(args.altdata_cache, "--altdata-cache", "run `make data` or `python -m plugins.altdata "
              "import-shared`", REPO / "user_data/altdata")
    if not (Path(args.altdata_cache) / "news").is_dir():
        raise ArgumentProblem(f"--altdata-cache {args.altdata_cache} holds no news/ folder; run "
                              "`python -m plugins.altdata import-shared`")
    if not args.no_backtest:
        parse_timerange(args.backtest_timerange, "--backtest-timerange")
    candles = validate_data_arguments(args.datadir, args.pairs, start, stop, [TIMEFRAME],
                                      lookback=pd.Timedelta(days=31))
    return start, stop, candles


def scored_headlines(cache_dir: Path, config: NewsConfig, now: pd.Timestamp) -> pd.DataFrame:
    """Every stored headline with its VADER score (scored and cached if missing)."""
    store, scores = NewsStore(cache_dir / "news"), ScoreCache(cache_dir / "news")
    headlines = store.read_all(config.providers)
    scorer = VaderScorer()
    return headlines.assign(**{SCORE: score_headlines(headlines, scorer, scores, scorer.version,
                                                      now).to_numpy()})


def feature_panel(candles: dict[str, pd.DataFrame], headlines: pd.DataFrame, config: NewsConfig,
                  start: pd.Timestamp, stop: pd.Timestamp, horizons: list[int],
                  rng: np.random.Generator) -> pd.DataFrame:
    """One row per (pair, covered candle in the window): the features, the shuffled-score
    controls, the random control and the forward returns ``fwd_<h>``."""
    shuffled = headlines.assign(**{SCORE: rng.permutation(headlines[SCORE].to_numpy())})
    parts = []
    for pair, frame in candles.items():
        feats = news_features(frame, headlines, timeframe=TIMEFRAME, pair=pair, config=config)
        ctrl = news_features(frame, shuffled, timeframe=TIMEFRAME, pair=pair, config=config)
        part = pd.DataFrame({"pair": pair, "date": frame["date"]})
        for column in FEATURES:
            part[column] = feats[column]
        for column in SENTIMENT:
            part[f"control_shuffled_{column}"] = ctrl[column]
        part[RANDOM] = rng.standard_normal(len(frame))
        close = frame["close"].astype("float64")
        for h in horizons:
            part[f"fwd_{h}"] = close.shift(-h) / close - 1
        part[COVERED] = feats[COVERED]
        inside = (frame["date"] >= start) & (frame["date"] < stop) & (feats[COVERED] == 1)
        parts.append(part[inside.to_numpy()])
    return pd.concat(parts, ignore_index=True)


def ic_table(panel: pd.DataFrame, horizons: list[int]) -> dict[str, dict[str, Any]]:
    """``{predictor: {h: {ic, t_stat, n_obs, ...}}}`` for the features and the controls."""
    predictors = [*FEATURES, *[f"control_shuffled_{c}" for c in SENTIMENT], RANDOM]
    table: dict[str, dict[str, Any]] = {}
    for name in predictors:
        table[name] = {}
        for h in horizons:
            frame = panel[["pair", "date", name, f"fwd_{h}"]].rename(
                columns={name: "pred", f"fwd_{h}": "real"})
            table[name][str(h)] = information_coefficient(frame, h, TIMEFRAME).to_dict()
    return table


def coverage(panel: pd.DataFrame, pairs: list[str]) -> dict[str, Any]:
    """Covered candles per pair and the covered spans (first/last covered candle per block)."""
    one = panel[panel["pair"] == pairs[0]].sort_values("date")
    gaps = one["date"].diff() > pd.Timedelta(hours=1)
    blocks = [(str(g["date"].iloc[0]), str(g["date"].iloc[-1]), len(g))
              for _, g in one.groupby(gaps.cumsum()) if len(g) >= 24]
    return {"candles_per_pair": {p: int((panel["pair"] == p).sum()) for p in pairs},
            "spans": blocks}


def run_backtests(args, stop_bt: str) -> dict[str, Any]:
    """FreqaiAltData without and with the news group on ``--backtest-timerange``."""
    from freqtrade.data.btanalysis import load_backtest_data, load_backtest_stats

    files, merged = shipped_config([REPO / "config/altdata.json"])
    tmp = Path(tempfile.mkdtemp(prefix="news-bench-"))
    userdir = tmp / "user_data"
    for sub in ("models", "backtest_results", "logs"):
        (userdir / sub).mkdir(parents=True)
    fa = merged["freqai"]
    corr = corr_pairs(fa["feature_parameters"].get("include_corr_pairlist", []), args.pairs)
    freqai = {"feature_parameters": {"include_corr_pairlist": corr}}
    if args.train_days:
        freqai["train_period_days"] = args.train_days
    start, stop = parse_timerange(args.backtest_timerange, "--backtest-timerange")
    rng = np.random.default_rng(args.seed)
    out: dict[str, Any] = {"strategy": STRATEGY, "model": MODEL, "timerange": args.backtest_timerange,
                           "train_period_days": freqai.get("train_period_days", fa["train_period_days"]),
                           "runs": {}}
    try:
        with replay_configs(args.datadir, userdir) as offline:
            configs = [a for path in [*files, REPO / "config/altdata.json", offline]
                       for a in ("-c", str(path))]
            for key, on in (("without_news", False), ("with_news", True)):
                overlay = deep_merge({"user_data_dir": str(userdir), "strategy": STRATEGY,
                                      "exchange": {"pair_whitelist": args.pairs}, "freqai": freqai},
                                     {"ai_suite": {"altdata": {"cache_dir": str(args.altdata_cache),
                                                               "news": {"features": on}}}})
                run = run_backtest(key, MODEL, MODEL, REPO / "freqai_models", STRATEGY, configs,
                                   args.backtest_timerange, args.datadir, userdir, overlay)
                stats = load_backtest_stats(run.results_dir)["strategy"][STRATEGY]
                trades = load_backtest_data(run.results_dir, strategy=STRATEGY)
                trading, _ = evaluation.trading_row_from_trades(
                    trades, start.to_pydatetime(), stop.to_pydatetime(),
                    float(stats["starting_balance"]), rng, args.n_boot)
                trading["freqtrade"] = {k: stats.get(k) for k in (
                    "profit_total", "max_drawdown_account", "total_trades", "profit_factor",
                    "sharpe", "starting_balance")}
                trading["wall_seconds"] = run.wall_seconds
                out["runs"][key] = trading
    except BenchError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        print(f"(user_data kept for inspection: {userdir})", file=sys.stderr)
        raise
    candles = {p: validate_data_arguments(args.datadir, [p], start, stop, [TIMEFRAME])[p]
               for p in args.pairs}
    balance = float(out["runs"]["without_news"]["freqtrade"]["starting_balance"])
    bh, _ = evaluation.trading_row_from_balance(
        buy_and_hold_balance(candles, start, stop, balance, DEFAULT_FEE), len(candles), rng,
        args.n_boot)
    out["runs"]["control_buy_and_hold"] = bh
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def fmt(cell: dict[str, Any]) -> str:
    ic, t = cell.get("ic"), cell.get("t_stat")
    if ic is None or not math.isfinite(ic):
        return "      n/a       "
    return f"{ic:+.4f} ({t:+5.2f})" if t is not None and math.isfinite(t) else f"{ic:+.4f} (  n/a)"


def print_report(report: dict[str, Any]) -> None:
    horizons = report["arguments"]["horizons"]
    print(f"\nNews features vs forward returns, {', '.join(report['arguments']['pairs'])}, "
          f"{report['arguments']['timerange']}, covered 1h candles only "
          f"({sum(report['coverage']['candles_per_pair'].values())} pair-candles).")
    print("Rank IC on non-overlapping samples (HAC t-statistic in brackets):\n")
    print(f"{'predictor':<40}" + "".join(f"{f'{h}h ahead':>18}" for h in horizons) + "   n(1st)")
    for name, cells in report["ic"].items():
        if name == RANDOM:
            print("-" * (40 + 18 * len(horizons) + 8))
        n = cells[str(horizons[0])].get("n_obs", 0)
        print(f"{name:<40}" + "".join(f"{fmt(cells[str(h)]):>18}" for h in horizons) + f"{n:>9.0f}")
    cross = report.get("vader_vs_textblob")
    if cross is not None:
        print(f"\nCross-check: VADER (title) vs the shipped TextBlob polarity (summary text), "
              f"Pearson r = {cross:+.3f} over the 2021-22 headlines.")
    bt = report.get("backtest")
    if bt:
        print(f"\n{STRATEGY} ({MODEL}) backtest {bt['timerange']}, with and without the news group:")
        print(f"{'run':<22}{'profit':>10}{'max DD':>10}{'trades':>8}{'Sharpe (daily, ann.)':>34}")
        for key, row in bt["runs"].items():
            ci = row.get("sharpe_ci") or {}
            interval = (f"[{ci.get('low', math.nan):+.2f}, {ci.get('high', math.nan):+.2f}]"
                        if ci else "")
            sharpe = row.get("sharpe_daily")
            print(f"{key:<22}{row['profit_total']:>+10.2%}{row['max_drawdown']:>10.2%}"
                  f"{row['trades'] if row['trades'] is not None else 0:>8}"
                  f"{(sharpe if sharpe is not None else math.nan):>+14.2f} {interval:>19}")
    print("\n" + report["verdict"])


def verdict(report: dict[str, Any]) -> str:
    """One honest line: does any feature beat its controls?"""
    horizons = [str(h) for h in report["arguments"]["horizons"]]
    controls = [c for c in report["ic"] if c.startswith("control")]
    noise = max(abs(report["ic"][c][h]["t_stat"] or 0) for c in controls for h in horizons
                if report["ic"][c][h]["t_stat"] is not None and math.isfinite(report["ic"][c][h]["t_stat"]))
    strong = sorted(((f, h, report["ic"][f][h]["t_stat"]) for f in FEATURES for h in horizons
                     if report["ic"][f][h]["t_stat"] is not None
                     and math.isfinite(report["ic"][f][h]["t_stat"])
                     and abs(report["ic"][f][h]["t_stat"]) > max(2.0, noise)),
                    key=lambda x: -abs(x[2]))
    n_tests = len(FEATURES) * len(horizons)
    if not strong:
        return (f"VERDICT: no news feature beats |t| > max(2, largest control |t| = {noise:.2f}) at any "
                f"horizon ({n_tests} tests): no measurable edge; keep the news group off.")
    listed = ", ".join(f"{f}@{h}h t={t:+.2f}" for f, h, t in strong[:5])
    return (f"VERDICT: {len(strong)} of {n_tests} feature/horizon tests beat max(2, control |t| "
            f"{noise:.2f}): {listed}. Before trusting them: {n_tests} tests were run (expect "
            f"~{0.05 * n_tests:.1f} at |t|>2 by chance) - check the backtest rows.")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with exit_on_problem(PROG):
        start, stop, candles = check_arguments(args)
    args.altdata_cache = Path(args.altdata_cache).resolve()
    rng = np.random.default_rng(args.seed)
    config = NewsConfig()
    headlines = scored_headlines(args.altdata_cache, config, pd.Timestamp(datetime.now(UTC)))
    panel = feature_panel(candles, headlines, config, start, stop, args.horizons, rng)
    if panel.empty:
        print(f"{PROG}: no covered candle in {args.timerange} (news coverage: "
              f"{headlines['published_at'].min()} .. {headlines['published_at'].max()})",
              file=sys.stderr)
        return 2
    tb = headlines[headlines[TEXTBLOB].notna() & headlines[SCORE].notna()]
    report: dict[str, Any] = {
        "arguments": {"datadir": args.datadir, "pairs": args.pairs, "timerange": args.timerange,
                      "horizons": args.horizons, "seed": args.seed,
                      "altdata_cache": args.altdata_cache, "news_config": config.model_dump()},
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scorer": VaderScorer().version,
        "headlines": int(len(headlines)),
        "coverage": coverage(panel, args.pairs),
        "ic": ic_table(panel, args.horizons),
        "vader_vs_textblob": float(np.corrcoef(tb[SCORE], tb[TEXTBLOB])[0, 1]) if len(tb) > 2 else None,
        "definitions": {
            "ic": "Spearman rank IC of the feature at candle t (known at its close) vs close[t+h] / "
                  "close[t] - 1, pooled over pairs, every h-th candle (all offsets averaged), "
                  "HAC (Driscoll-Kraay) t-statistic (plugins.research.stats)",
            "control_shuffled_*": "the same feature with the headline scores permuted among the "
                                  "headlines (seeded): same timing and counts, no tone",
            RANDOM: "standard-normal noise per candle (seeded)"},
    }
    if not args.no_backtest:
        try:
            report["backtest"] = run_backtests(args, args.backtest_timerange)
        except BenchError:
            return 1
    report["verdict"] = verdict(report)
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_json(args.out, report)
    print_report(report)
    print(f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
