"""Benchmark: backtest wall time of a compiled strategy tree vs a hand-written equivalent.

Runs the real ``freqtrade backtesting`` on the same candles, in the same run, against a
replay exchange started here: ``CryptoRegimeTrendV1`` (compiled from
``strategies/trees/crypto_regime_trend_v1.yaml`` into ``strategies/compiled/`` by ``make
trees``) and ``TrendHandwritten`` (the same rules written by hand,
``bench/strategies/TrendHandwritten.py``). Both load the same startup candles; each is run
``--repeat`` times and its fastest run counts. Prints both wall times, their trade counts and
the ratio (target <= 1.2x).

    python bench/compiled_vs_handwritten.py [--datadir DIR] [--altdata-cache DIR]
        [--pairs BTC/USDT ETH/USDT] [--timerange 20240101-20240401] [--repeat 2]

The compiled strategy trades only its tree's assets (BTC/USDT, ETH/USDT); the data dir needs
their 1h candles (and 4h / 1d for the hand-written one), the alt-data cache Fear & Greed,
Coin Metrics and the calendar (``make data`` fills both). A pair without 1h candles there, a
reversed or malformed time range or a missing alt-data cache ends it at once with one line
naming the option (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
from _args import (  # noqa: E402
    check_dir,
    check_positive,
    exit_on_problem,
    parse_timerange,
    validate_data_arguments,
)
from harness import REPO, replay_configs, run_backtest  # noqa: E402

DEFAULT_CACHE = REPO / "user_data/altdata"
COMPILED = ("CryptoRegimeTrendV1", REPO / "strategies" / "compiled")
HANDWRITTEN = ("TrendHandwritten", REPO / "bench" / "strategies")
#: The risk layer's breakers and gates off: both strategies take every trade their rules make.
QUIET = {"max_daily_loss_frac": 0.5, "max_weekly_loss_frac": 0.5, "max_drawdown_frac": 0.5,
         "max_consecutive_losses": 1000, "cooldown_after_win_min": 0,
         "cooldown_after_loss_min": 0, "blackout_before_min": 0, "blackout_after_min": 0,
         "gates": {"enabled": False}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datadir", type=Path, default=REPO / "user_data/data/binance")
    parser.add_argument("--altdata-cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--pairs", nargs="+", default=["BTC/USDT", "ETH/USDT"])
    parser.add_argument("--timerange", default="20240101-20240401")
    parser.add_argument("--repeat", type=int, default=2, help="runs per strategy; the fastest counts")
    args = parser.parse_args()
    with exit_on_problem(parser.prog):
        start, stop = parse_timerange(args.timerange)
        check_positive(args.repeat, "--repeat", integer=True)
        args.altdata_cache = check_dir(args.altdata_cache, "--altdata-cache",
                                       "run `make data` (fills user_data/altdata)", DEFAULT_CACHE)
        validate_data_arguments(args.datadir, args.pairs, start, stop, ["1h"])

    timings: dict[str, list[float]] = {}
    trades: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        userdir = Path(tmp) / "user_data"
        for sub in ("models", "backtest_results", "logs"):
            (userdir / sub).mkdir(parents=True)
        with replay_configs(args.datadir, userdir) as offline:
            overlay = {"user_data_dir": str(userdir), "freqai": {"enabled": False},
                       "exchange": {"pair_whitelist": args.pairs},
                       "ai_suite": {"altdata": {"cache_dir": str(args.altdata_cache)},
                                    "risk": QUIET}}
            (userdir / "bench.json").write_text(json.dumps(overlay))
            configs = [arg for path in (REPO / "config/base.json", offline, userdir / "bench.json")
                       for arg in ("-c", str(path))]
            for i in range(max(1, args.repeat)):  # interleaved, so drift hits both alike
                for strategy, path in (COMPILED, HANDWRITTEN):
                    run = run_backtest(f"{strategy}-{i}", strategy, None, None, strategy, configs,
                                       args.timerange, args.datadir, userdir, strategy_path=path)
                    timings.setdefault(strategy, []).append(run.wall_seconds)
                    trades[strategy] = run.trade_count()
    compiled, handwritten = min(timings[COMPILED[0]]), min(timings[HANDWRITTEN[0]])
    print(f"backtest {args.timerange} {' '.join(args.pairs)} (fastest of {args.repeat})")
    print(f"  {COMPILED[0]} (compiled tree):  {compiled:7.1f} s, {trades[COMPILED[0]]} trades")
    print(f"  {HANDWRITTEN[0]} (hand-written): {handwritten:7.1f} s, {trades[HANDWRITTEN[0]]} trades")
    print(f"  ratio compiled/hand-written: {compiled / handwritten:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
