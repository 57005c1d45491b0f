"""Benchmark: backtest wall time with all alternative-data providers merged vs. without.

Runs the real ``freqtrade backtesting`` twice on the same candles, in the same run, against a
replay exchange started here: the yardstick ``FreqaiBaseline`` (no alt data) and
``FreqaiAltData`` (same model, plus every feature provider and the calendar). Each run uses
its own fresh FreqAI identifier, so both train every window. Prints both wall times and the
ratio (target <= 1.15x).

    python bench/bench_altdata_overhead.py [--datadir DIR] [--altdata-cache DIR]
        [--pairs BTC/USDT ETH/USDT XRP/USDT] [--timerange 20240101-20240301]

Works on any data dir, pairs and time range; nothing is tuned to one window. A pair without
1h candles in the data dir, a reversed or malformed time range or a missing alt-data cache ends
it at once with one line naming the option (exit 2).
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
    exit_on_problem,
    parse_timerange,
    validate_data_arguments,
)
from harness import REPO, replay_configs, run_backtest  # noqa: E402

DEFAULT_CACHE = REPO / "user_data/altdata"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datadir", type=Path, default=REPO / "user_data/data/binance")
    parser.add_argument("--altdata-cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--pairs", nargs="+", default=["BTC/USDT", "ETH/USDT", "XRP/USDT"])
    parser.add_argument("--timerange", default="20240101-20240301")
    args = parser.parse_args()
    with exit_on_problem(parser.prog):
        start, stop = parse_timerange(args.timerange)
        args.altdata_cache = check_dir(args.altdata_cache, "--altdata-cache",
                                       "run `make data` (fills user_data/altdata)", DEFAULT_CACHE)
        validate_data_arguments(args.datadir, args.pairs, start, stop, ["1h"])

    with tempfile.TemporaryDirectory() as tmp:
        userdir = Path(tmp) / "user_data"
        for sub in ("models", "backtest_results", "logs"):
            (userdir / sub).mkdir(parents=True)
        with replay_configs(args.datadir, userdir) as offline:
            overlay = {"user_data_dir": str(userdir), "exchange": {"pair_whitelist": args.pairs},
                       "ai_suite": {"altdata": {"cache_dir": str(args.altdata_cache)}}}
            (userdir / "bench.json").write_text(json.dumps(overlay))
            configs = [arg for path in (REPO / "config/base.json", offline, userdir / "bench.json")
                       for arg in ("-c", str(path))]
            base, alt = (run_backtest(strategy, strategy, "LightGBMRegressor", None, strategy,
                                      configs, args.timerange, args.datadir, userdir).wall_seconds
                         for strategy in ("FreqaiBaseline", "FreqaiAltData"))
    print(f"backtest {args.timerange} {' '.join(args.pairs)}")
    print(f"  FreqaiBaseline (no alt data): {base:7.1f} s")
    print(f"  FreqaiAltData (all providers): {alt:7.1f} s")
    print(f"  ratio alt/base: {alt / base:.2f}x (target <= 1.15x)")


if __name__ == "__main__":
    main()
