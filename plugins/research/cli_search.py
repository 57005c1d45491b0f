"""The search commands of ``python -m plugins.research``: ``sweep``, ``walkforward``, ``export``.

    python -m plugins.research sweep --space FILE --trials N --datadir DIR --pairs P [P ...]
        --timerange A-B [--workers N] [--address ray://HOST:PORT|auto] [--storage URL]
        [--study-name NAME] [--out DIR] [--data-mode auto|path|ship] [--exchange replay|config]
        [--cpus-per-trial C] [--trial-timeout S] [--heartbeat S] [--keep-models]
        (plugins/research/sweep.py)
    python -m plugins.research walkforward --strategy NAME --datadir DIR --pairs P [P ...]
        --timerange A-B --in-sample-days N --out-of-sample-days M [--optimizer hyperopt|sweep]
        ... (plugins/research/walkforward.py)
    python -m plugins.research export --from DIR [--out FILE] [--selected TRIAL_ID]
        (plugins/research/export.py)

Bad input prints one line naming the option and exits 2; an interrupted sweep exits 130.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from plugins.core.clock import SYSTEM_CLOCK

COMMANDS = ("sweep", "walkforward", "export")


def _add_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--datadir", type=Path, required=True,
                        help="Freqtrade data dir with the pairs' candles (e.g. user_data/data/binance)")
    parser.add_argument("--pairs", nargs="+", required=True, help="pairs, e.g. BTC/USDT ETH/USDT")
    parser.add_argument("--timerange", required=True, help="YYYYMMDD-YYYYMMDD, UTC days (end exclusive)")


def _add_ray(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=None,
                        help="trials at once (default: the CPUs / --cpus-per-trial)")
    parser.add_argument("--address", default=None,
                        help="an existing Ray cluster: auto, HOST:PORT or ray://HOST:10001 "
                             "(default: a local Ray started here)")
    parser.add_argument("--data-mode", choices=("auto", "path", "ship"), default="auto",
                        help="path: workers read --datadir in place (shared path); ship: the "
                             "pairs' candles and the alt-data cache go through Ray's object "
                             "store; auto: path locally, ship with --address")
    parser.add_argument("--exchange", choices=("replay", "config"), default="replay",
                        help="replay: each trial has its own local replay exchange (offline, "
                             "default); config: the configs' exchange (needs its network)")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0,
                        help="Ray CPUs reserved per trial (default 1)")


def add_parsers(sub) -> None:
    """Add ``sweep``, ``walkforward`` and ``export`` to the research CLI's subparsers."""
    sweep = sub.add_parser("sweep", help="optuna parameter sweep of FreqAI walk-forward "
                                         "backtests on Ray (resumable)")
    sweep.add_argument("--space", type=Path, required=True, help="search space YAML "
                                                                 "(config/sweeps/*.yaml)")
    sweep.add_argument("--trials", type=int, required=True,
                       help="trials to have finished in the study (a rerun adds the missing)")
    _add_data(sweep)
    _add_ray(sweep)
    sweep.add_argument("--storage", default=None, help="optuna RDB URL (default: sqlite in --out)")
    sweep.add_argument("--study-name", default=None,
                       help="optuna study name (default: the space file's name)")
    sweep.add_argument("--out", type=Path, default=None,
                       help="result folder (default user_data/sweeps/<study>)")
    sweep.add_argument("--trial-timeout", type=float, default=None,
                       help="seconds before a trial is stopped (default: the space's)")
    sweep.add_argument("--heartbeat", type=float, default=20.0,
                       help="seconds between trial heartbeats (stale after 3; default 20)")
    sweep.add_argument("--keep-models", action="store_true",
                       help="keep each trial's FreqAI model files (large)")

    wf = sub.add_parser("walkforward", help="walk-forward optimization: optimize in sample, "
                                            "apply out of sample, stitch")
    wf.add_argument("--strategy", default=None,
                    help="strategy class (hyperopt optimizer; default: the configs')")
    wf.add_argument("-c", "--config", action="append", type=Path, default=[],
                    help="Freqtrade configs (default config/base.json)")
    _add_data(wf)
    wf.add_argument("--in-sample-days", type=int, required=True,
                    help="length of each in-sample (optimization) window (days)")
    wf.add_argument("--out-of-sample-days", type=int, required=True,
                    help="length of each out-of-sample (test) window (days)")
    wf.add_argument("--step-days", type=int, default=None,
                    help="shift between windows in days (default: --out-of-sample-days)")
    wf.add_argument("--optimizer", choices=("hyperopt", "sweep"), default="hyperopt",
                    help="hyperopt: freqtrade hyperopt of the strategy's parameters; sweep: a "
                         "sweep of --space (FreqAI / ai_suite / strategy settings)")
    wf.add_argument("--epochs", type=int, default=50, help="hyperopt epochs per window")
    wf.add_argument("--spaces", nargs="+", default=["buy", "sell"], help="hyperopt spaces")
    wf.add_argument("--hyperopt-loss", default="SharpeHyperOptLossDaily",
                    help="Freqtrade hyperopt loss class")
    wf.add_argument("--min-trades", type=int, default=1, help="hyperopt --min-trades (count)")
    wf.add_argument("--freqaimodel", default=None, help="FreqAI model (default: the configs')")
    wf.add_argument("--space", type=Path, default=None, help="sweep optimizer: space YAML")
    wf.add_argument("--trials", type=int, default=20, help="sweep optimizer: trials per window")
    wf.add_argument("--top-k", type=int, default=3,
                    help="in-sample best candidates run out of sample per window (the "
                         "variants of the survival matrix; rank 1 is the walk-forward's)")
    wf.add_argument("--seed", type=int, default=42, help="random seed of hyperopt / the sampler")
    wf.add_argument("--timeout", type=float, default=3600,
                    help="time limit per freqtrade run (seconds)")
    _add_ray(wf)
    wf.add_argument("--out", type=Path, default=Path("user_data/walkforward"),
                    help="result folder (windows, stitched report)")

    export = sub.add_parser("export", help="sweep / walk-forward result -> evidence file")
    export.add_argument("--from", dest="source", type=Path, required=True,
                        help="a sweep's or walk-forward's --out folder")
    export.add_argument("--out", type=Path, default=None,
                        help="evidence file (default <from>/evidence.json)")
    export.add_argument("--selected", default=None,
                        help="the candidate trial id (default: the best trial)")


def dispatch(args: argparse.Namespace) -> int:
    """Run one of :data:`COMMANDS`. Bad input raises the module's error (exit 2 upstream)."""
    if args.command == "sweep":
        from plugins.research.sweep import SweepOptions, run_sweep

        return run_sweep(SweepOptions(
            space_file=args.space, trials=args.trials, datadir=args.datadir, pairs=args.pairs,
            timerange=args.timerange, out=args.out, workers=args.workers, address=args.address,
            storage=args.storage, study_name=args.study_name, data_mode=args.data_mode,
            exchange=args.exchange, cpus_per_trial=args.cpus_per_trial,
            trial_timeout_s=args.trial_timeout, heartbeat_s=args.heartbeat,
            keep_models=args.keep_models), SYSTEM_CLOCK)
    if args.command == "walkforward":
        from plugins.research.walkforward import options_from_args, run_walkforward

        return run_walkforward(options_from_args(args), SYSTEM_CLOCK)
    from plugins.research.export import export_folder, write_evidence

    evidence = export_folder(args.source, args.selected)
    path = write_evidence(evidence, args.out or args.source / "evidence.json")
    print(f"evidence: {path} ({evidence['n_trials']} trials; promote with python -m "
          f"plugins.research promote --evidence {path} --strategy {evidence.get('strategy')})")
    return 0


def errors() -> tuple[type[Exception], ...]:
    """The bad-input errors of these commands (printed as one line, exit 2)."""
    from plugins.research.export import ExportError
    from plugins.research.space import SpaceError
    from plugins.research.sweep import SweepError

    out: list[type[Exception]] = [ExportError, SpaceError, SweepError]
    try:
        from plugins.research.walkforward import WalkForwardError

        out.append(WalkForwardError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(out)


