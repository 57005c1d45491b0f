"""Reading Freqtrade's backtest result files, and checking that a run really produced one.

Freqtrade exits with status 0 on a configuration error (``freqtrade/main.py`` leaves
``return_code`` unset for ``ConfigurationError`` in 2026.9), so a wrapper cannot trust the
exit status alone: ``check_latest`` verifies that a new result file exists and has trades.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from freqtrade.data.btanalysis import get_latest_backtest_filename, load_backtest_stats

from plugins.core.cli import ArgumentParser
from plugins.core.errors import BacktestResultError


@dataclass(frozen=True)
class BacktestSummary:
    """Headline figures of one strategy in one result file.

    Attributes:
        file: the result file (``.zip``).
        strategy: strategy class name.
        total_trades: closed trades.
        profit_total_frac: total profit as a fraction of the starting balance (0.05 = 5 %).
        started_at_s: when the backtest run started (UTC epoch seconds, from the metadata).
    """

    file: Path
    strategy: str
    total_trades: int
    profit_total_frac: float
    started_at_s: int


def latest_summaries(results_dir: Path) -> list[BacktestSummary]:
    """Summaries of every strategy in the latest result of ``results_dir``.

    Raises:
        BacktestResultError: there is no result (no ``.last_result.json``) or it is unreadable.
    """
    try:
        file = results_dir / get_latest_backtest_filename(results_dir)
        stats = load_backtest_stats(file)
    except (ValueError, OSError) as err:
        raise BacktestResultError(f"No readable backtest result in {results_dir}: {err}") from err
    return [
        BacktestSummary(
            file=file,
            strategy=name,
            total_trades=int(result["total_trades"]),
            profit_total_frac=float(result["profit_total"]),
            started_at_s=int(stats["metadata"].get(name, {}).get("backtest_start_time", 0)),
        )
        for name, result in stats["strategy"].items()
    ]


def check_latest(results_dir: Path, not_before_s: int, min_trades: int = 1) -> list[BacktestSummary]:
    """The latest result's summaries, after checking it is new and traded.

    Args:
        results_dir: ``user_data/backtest_results``.
        not_before_s: UTC epoch seconds; the run must have started at or after this.
        min_trades: the least number of trades every strategy must have made.

    Raises:
        BacktestResultError: no result, a result older than ``not_before_s`` (the backtest
            failed before writing one), or too few trades.
    """
    summaries = latest_summaries(results_dir)
    for s in summaries:
        if s.started_at_s < not_before_s:
            raise BacktestResultError(
                f"The latest backtest result ({s.file.name}) predates this run: the backtest "
                "failed before writing results; see freqtrade's log above.")
        if s.total_trades < min_trades:
            raise BacktestResultError(
                f"{s.strategy} made {s.total_trades} trades in {s.file.name}; "
                f"expected at least {min_trades}.")
    return summaries


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m plugins.core.backtest_results",
                            description="Check that a backtest wrote a new result with trades.")
    parser.add_argument("--results-dir", type=Path, default=Path("user_data/backtest_results"),
                        help="Freqtrade's backtest result folder")
    parser.add_argument("--since", type=int, required=True,
                        help="only results written at or after this time (UTC epoch seconds)")
    parser.add_argument("--min-trades", type=int, default=1,
                        help="trades each strategy's result must hold (count)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m plugins.core.backtest_results --since EPOCH_S [--min-trades N]``."""
    args = _parser().parse_args(argv)
    try:
        for s in check_latest(args.results_dir, args.since, args.min_trades):
            print(f"Result {s.file}: {s.strategy} {s.total_trades} trades, "
                  f"total profit {s.profit_total_frac:.2%}")
    except BacktestResultError as err:
        print(f"backtest check: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
