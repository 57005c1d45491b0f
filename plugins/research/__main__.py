"""CLI of the research tooling.

    python -m plugins.research promote --evidence FILE --strategy NAME [-c CONFIG ...]
                                       [--user-data-dir DIR] [--report OUT.json]
        Evaluate the promotion gates (plugins/research/gates.py) on an evidence file
        (plugins/research/evidence.py); admit the strategy to the shadow stage of the stage
        store (<user_data>/ai_suite/stages.json) only if every gate passes. Thresholds:
        ai_suite.research in the -c configs (defaults otherwise). Prints the verdict first,
        then every gate with its value and threshold. Exit 0 admitted, 1 refused.
    python -m plugins.research survival --evidence FILE [-c CONFIG ...] [--out DIR]
        Survival rates per window, tiers, the seed's thresholds and Kaplan-Meier curves of
        windows until first failure per family (PNG + HTML under --out).
    python -m plugins.research lookahead [freqtrade lookahead-analysis options]
                                         [--model-outputs REGEX]
        Strict look-ahead analysis (plugins/research/lookahead.py): Freqtrade's own command
        with FreqAI's unpredicted last candle handled; verdict first. Exit 0 no bias,
        1 bias detected, 2 inconclusive.
    python -m plugins.research haircut --db URL --datadir DIR [--backtest RESULT]
                                       [--strategy NAME] [--shift-days N] [--min-trades N]
                                       [--evidence FILE] [--report OUT.json]
        Realized slippage of a dry-run/live database's fills vs their signal candle's close
        (bps: mean, median, p95 by pair and order type) and live vs backtest profit over the
        same period (plugins/research/haircut.py); --evidence writes the measured haircut into
        an evidence file, where promote uses it instead of the configured one.
    python -m plugins.research metrics --backtest FILE|DIR [--strategy NAME]
        Seed 000's metrics table with red flags (plugins/research/metrics_table.py: profit
        factor, max drawdown, Sharpe, avg R:R, trade count, recovery) of a Freqtrade result,
        beside buy-and-hold of the same pairs over the same window. Printed by itself after
        `freqtrade backtesting` of a suite strategy. Exit 0.
    python -m plugins.research sweep | walkforward | export ...
        Parameter sweeps on Ray, walk-forward optimization and their evidence files
        (plugins/research/cli_search.py).

Bad input (missing or invalid file, config or arguments) prints one line naming the problem and
exits 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from plugins.core.cli import ArgumentParser

logger = logging.getLogger("plugins.research")


class CliError(Exception):
    """Bad input: printed as one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m plugins.research",
                            description="Research tooling: promotion gates, survival "
                                        "analysis, strict look-ahead analysis, sweeps, "
                                        "walk-forward optimization.")
    sub = parser.add_subparsers(dest="command", required=True)
    promote = sub.add_parser("promote", help="admit a strategy to shadow if the gates pass")
    promote.add_argument("--evidence", type=Path, required=True, help="evidence JSON file")
    promote.add_argument("--strategy", required=True, help="strategy class name")
    promote.add_argument("-c", "--config", action="append", type=Path, default=[],
                         help="Freqtrade config file(s) with ai_suite.research (thresholds)")
    promote.add_argument("--user-data-dir", type=Path, default=None,
                         help="user data dir of the stage store (default: the configs' "
                              "user_data_dir, else user_data)")
    promote.add_argument("--report", type=Path, default=None, help="also write the gate report "
                                                                   "as JSON here")
    survival = sub.add_parser("survival", help="survival analysis of an evidence file's windows")
    survival.add_argument("--evidence", type=Path, required=True, help="evidence JSON file")
    survival.add_argument("-c", "--config", action="append", type=Path, default=[],
                          help="Freqtrade config file(s) with ai_suite.research (thresholds)")
    survival.add_argument("--out", type=Path, default=Path("user_data/research"),
                          help="folder for kaplan_meier.png / .html (default user_data/research)")
    haircut = sub.add_parser("haircut", help="measured slippage and live/backtest haircut")
    haircut.add_argument("--db", required=True, help="the bot's db_url, e.g. "
                                                     "sqlite:///user_data/tradesv3.dryrun.sqlite")
    haircut.add_argument("--datadir", type=Path, default=Path("user_data/data/binance"),
                         help="candles of the traded pairs (default user_data/data/binance)")
    haircut.add_argument("--backtest", type=Path, default=None,
                         help="Freqtrade backtest result (file or backtest_results dir) of the "
                              "same strategy covering the live period")
    haircut.add_argument("--strategy", default=None, help="strategy in a multi-strategy result")
    haircut.add_argument("--shift-days", type=int, default=0,
                         help="replay shift of a replay-mode dry-run in days (make dryrun logs "
                              "it), 0 for live data")
    haircut.add_argument("--min-trades", type=int, default=None,
                         help="closed trades needed for a haircut (default 20, seed 001)")
    haircut.add_argument("--evidence", type=Path, default=None,
                         help="write the measured haircut into this evidence file")
    haircut.add_argument("--report", type=Path, default=None, help="also write JSON here")
    lookahead = sub.add_parser("lookahead", add_help=False, allow_abbrev=False,
                               help="strict freqtrade lookahead-analysis (verdict first)")
    lookahead.add_argument("--model-outputs", default=None,
                           help="regex of model-output columns not compared on the cut run's "
                                "unpredicted last candle (default: FreqAI's and RegimeGatedMoE's)")
    lookahead.add_argument("-h", "--help", action="store_true",
                           help="show freqtrade lookahead-analysis's options and these")
    from plugins.research import cli_search

    metrics = sub.add_parser("metrics", help="seed 000's metrics table of a backtest result")
    metrics.add_argument("--backtest", type=Path, default=Path("user_data/backtest_results"),
                         help="result .zip, or a backtest_results folder for its latest result "
                              "(default user_data/backtest_results)")
    metrics.add_argument("--strategy", default=None,
                         help="only this strategy of the result (default: all)")
    cli_search.add_parsers(sub)
    return parser


def _config(files: list[Path]) -> dict:
    from freqtrade.configuration.load_config import load_from_files
    from freqtrade.exceptions import OperationalException

    for path in files:
        if not path.is_file():
            raise CliError(f"-c {path}: no such config file")
    try:
        return load_from_files([str(p) for p in files]) if files else {}
    except OperationalException as err:
        raise CliError(f"config: {err}") from err


def _research_config(raw: dict):
    from plugins.core.config import load_section
    from plugins.research.config import ResearchConfig

    return load_section(raw, "research", ResearchConfig)


def _promote(args: argparse.Namespace) -> int:
    from plugins.research.evidence import load_evidence
    from plugins.research.gates import gate_report
    from plugins.research.promotion import admit_to_shadow
    from plugins.risk.stages import STORE_NAME, StageStore

    raw = _config(args.config)
    config = _research_config(raw)
    evidence = load_evidence(args.evidence)
    if evidence.strategy and evidence.strategy != args.strategy:
        raise CliError(f"--evidence {args.evidence} is about strategy {evidence.strategy!r}, not "
                       f"{args.strategy!r}")
    report = gate_report(evidence, config, strategy=args.strategy)
    for line in report.lines():
        print(line)
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report.to_dict(), indent=2))
    if not report.admitted:
        print(f"{args.strategy} not admitted; the stage store is unchanged.")
        return 1
    user_data = args.user_data_dir or Path(raw.get("user_data_dir") or "user_data")
    store = StageStore(user_data / STORE_NAME)
    admission = admit_to_shadow(store, report, datetime.now(UTC), os.environ.get("USER", "cli"))
    print(f"{admission.note} ({store.path}). Later stages: python -m plugins.risk stage promote.")
    return 0


def _survival(args: argparse.Namespace) -> int:
    from plugins.research.evidence import families, load_evidence, window_matrix
    from plugins.research.survival import kaplan_meier, plot_kaplan_meier, survival_analysis

    config = _research_config(_config(args.config))
    evidence = load_evidence(args.evidence)
    matrix = window_matrix(evidence)
    if matrix.empty:
        raise CliError(f"--evidence {args.evidence} has no windows matrix ('windows')")
    report = survival_analysis(matrix, config.survival_threshold, config.tiers,
                               evidence.windows.metric)
    print(f"{len(matrix)} variants x {matrix.shape[1]} windows; survive = "
          f"{evidence.windows.metric} > {config.survival_threshold:g}")
    print(f"survival rate (mean over windows): {report.survival_rate:.1%} "
          f"(seed threshold >= {config.min_survival_rate:.0%})")
    for window, rate in report.window_rates.items():
        print(f"  {window}: {rate:.1%}")
    print(f"tiers: {report.tier_counts}; S+A {report.sa_variants} (>= {config.min_sa_variants}); "
          f"profitable {report.profitable_share:.1%} (>= {config.min_profitable_share:.0%})")
    fitters = kaplan_meier(report.survived, families(evidence))
    for name, fitter in fitters.items():
        median = fitter.median_survival_time_
        print(f"  family {name}: median windows until first failure {median:g}")
    for path in plot_kaplan_meier(fitters, args.out / "kaplan_meier.png",
                                  args.out / "kaplan_meier.html"):
        print(f"written: {path}")
    return 0


def _haircut(args: argparse.Namespace) -> int:
    from plugins.research.haircut import DEFAULT_MIN_TRADES, haircut_report, write_evidence_haircut

    backtest = None
    if args.backtest is not None:
        from freqtrade.data.btanalysis import load_backtest_data

        if not args.backtest.exists():
            raise CliError(f"--backtest {args.backtest}: no such file or folder")
        try:
            backtest = load_backtest_data(args.backtest, args.strategy)
        except ValueError as err:
            raise CliError(f"--backtest {args.backtest}: {err}") from err
    if not args.datadir.is_dir():
        raise CliError(f"--datadir {args.datadir}: no such folder (make data fills "
                       "user_data/data/binance)")
    report = haircut_report(args.db, args.datadir, backtest, args.shift_days,
                            args.min_trades if args.min_trades is not None else DEFAULT_MIN_TRADES)
    print("\n".join(report.lines()))
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report.to_dict(), indent=2, default=str))
    if args.evidence is not None:
        print(write_evidence_haircut(args.evidence, report, args.db))
    return 0


def _metrics(args: argparse.Namespace) -> int:
    from plugins.research.metrics_table import tables_of_result

    if not args.backtest.exists():
        raise CliError(f"--backtest {args.backtest}: no such file or folder (run freqtrade "
                       "backtesting with --export trades first)")
    try:
        tables = tables_of_result(args.backtest, args.strategy)
    except (ValueError, OSError) as err:
        raise CliError(f"--backtest {args.backtest}: {err}") from err
    print("\n\n".join(t.table for t in tables))
    return 0


def _lookahead(args: argparse.Namespace, rest: list[str]) -> int:
    from plugins.research import lookahead

    if args.help:
        print(lookahead.__doc__)
        print("Freqtrade's options follow (python -m freqtrade lookahead-analysis --help).")
        rest = ["--help"]
    lines, status = lookahead.run(rest, args.model_outputs or lookahead.MODEL_OUTPUTS)
    print("\n".join(lines), flush=True)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    from plugins.core.config import SuiteConfigError
    from plugins.research.evidence import EvidenceError
    from plugins.research.haircut import HaircutError
    from plugins.risk.stages import StageError

    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command != "lookahead" and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    from plugins.research import cli_search

    search_errors = cli_search.errors() if args.command in cli_search.COMMANDS else ()
    try:
        if args.command in cli_search.COMMANDS:
            return cli_search.dispatch(args)
        if args.command == "promote":
            return _promote(args)
        if args.command == "survival":
            return _survival(args)
        if args.command == "haircut":
            return _haircut(args)
        if args.command == "metrics":
            return _metrics(args)
        return _lookahead(args, rest)
    except (CliError, EvidenceError, SuiteConfigError, StageError, HaircutError,
            *search_errors) as err:
        print(f"python -m plugins.research {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
