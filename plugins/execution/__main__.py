"""CLI of the execution-cost model.

    python -m plugins.execution summary -c CONFIG [-c CONFIG ...] [--results-dir DIR]
                                        [--datadir DIR]
        Whether ai_suite.costs is on (from the configs the backtest ran with) and what the model
        charged in the latest backtest result: fills, cost per fill (bps), total (quote).

Bad input prints one line naming the problem and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from plugins.core.cli import ArgumentParser


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m plugins.execution",
                            description="The execution-cost model (ai_suite.costs).")
    sub = parser.add_subparsers(dest="command", required=True)
    summary = sub.add_parser("summary", help="modelled costs of the latest backtest")
    summary.add_argument("-c", "--config", action="append", type=Path, default=[],
                         help="a Freqtrade config file the backtest ran with (repeatable, "
                              "later files override)")
    summary.add_argument("--results-dir", type=Path, default=Path("user_data/backtest_results"),
                         help="Freqtrade's backtest result folder (the latest result is read)")
    summary.add_argument("--datadir", type=Path, default=Path("user_data/data/binance"),
                         help="candles of the backtested pairs (for the cost per fill)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)

    from freqtrade.configuration.load_config import load_from_files
    from freqtrade.exceptions import OperationalException

    from plugins.core.config import SuiteConfigError, load_section
    from plugins.execution.config import CostConfig
    from plugins.execution.report import summarize

    try:
        raw = load_from_files([str(p) for p in args.config]) if args.config else {}
        costs = load_section(raw, "costs", CostConfig)
    except (OperationalException, SuiteConfigError) as err:
        print(f"python -m plugins.execution summary: {err}", file=sys.stderr)
        return 2
    print(f"Execution costs {'ON' if costs.enabled else 'OFF'} (ai_suite.costs): "
          f"{costs.describe()}; market orders; fees are Freqtrade's.")
    if not costs.enabled:
        return 0
    try:
        summaries = summarize(args.results_dir, args.datadir, costs, raw.get("timeframe", "1h"),
                              raw.get("dataformat_ohlcv", "feather"))
    except ValueError as err:
        print(f"python -m plugins.execution summary: {err}", file=sys.stderr)
        return 2
    for s in summaries:
        print(f"  {s.line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
