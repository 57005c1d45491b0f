"""CLI of the Alpaca adapter.

    python -m adapters.alpaca backtest (--tree TREE | --strategy MODULE:CLASS) --symbols SPY QQQ
        --start 2021-03-01 --end 2026-02-14 [--data DIR] [--timeframe 1d] [--cash 100000]
        [--fill close|open] [--commission-frac 0] [--no-risk] [-c CONFIG ...]
        Backtest on real bars (default: ../shared/data/equities/alpaca_style_daily_2021_2026)
        and print the metrics table with red flags; the decision journal goes to
        <state_dir>/backtest/journal.sqlite.
    python -m adapters.alpaca paper (--tree TREE | --strategy MODULE:CLASS) --symbols SPY QQQ
        [--timeframe 1m] [--history-days 3] [--max-bars N] [--duration-s S] [-c CONFIG ...]
        [--live [--yes-live]]
        Trade on Alpaca's paper API (keys from APCA_API_KEY_ID / APCA_API_SECRET_KEY). With
        --live: live trading after a printed warning and typing LIVE (or --yes-live).
    python -m adapters.alpaca reconcile [--mode paper|live] [--accept-broker] [-c CONFIG ...]
        Print broker positions vs. attribution per strategy (and the unattributed bucket);
        exit 1 on a mismatch. --accept-broker cuts attribution in mismatched symbols to the
        broker's holdings (journaled). Open orders are listed by no session here, so orphans are
        judged by running sessions only.
    python -m adapters.alpaca reset-killswitch [--mode paper|live|backtest] [--yes] [-c CONFIG ...]
        Lift the drawdown kill switch of that mode (asks to type RESET unless --yes).

Configs are Freqtrade JSON files (default ``config/base.json config/alpaca.json``); only their
``ai_suite`` section is read (``alpaca``, ``risk``, ``altdata``). Times without an offset are UTC.
Exit status: 0 ok, 1 runtime error (data, connection, Alpaca), 2 usage or config error.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import math
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.alpaca.config import AlpacaRunConfig
from adapters.alpaca.errors import AlpacaConfigError, AlpacaError
from plugins.core.cli import ArgumentParser
from plugins.core.config import SuiteConfigError
from plugins.core.errors import DataNotFoundError, SuiteError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIGS = [REPO_ROOT / "config" / "base.json", REPO_ROOT / "config" / "alpaca.json"]


def _utc(text: str) -> datetime:
    """argparse type: ISO date or time; without an offset, UTC."""
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 date/time: {text!r}") from err
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _strategy_args(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--tree", type=Path, help="strategy tree YAML/JSON (compiled for backtrader)")
    which.add_argument("--strategy", help="hand-written backtrader strategy, module:Class")
    parser.add_argument("--symbols", nargs="+", required=True, metavar="SYMBOL",
                        help="equity symbols, e.g. SPY QQQ")
    parser.add_argument("--timeframe", default=None, help="bar timeframe, e.g. 1d, 1h, 1m (default: "
                                                          "the tree's, else 1d for backtests and 1m "
                                                          "for paper)")
    _config_arg(parser)


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", type=Path, action="append", default=None,
                        help="Freqtrade JSON config(s) with an ai_suite section, repeatable "
                             "(default: config/base.json config/alpaca.json)")


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m adapters.alpaca",
                            description="Equities through Alpaca: backtest, paper/live trading, "
                                        "reconciliation, kill-switch reset.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    backtest = sub.add_parser("backtest", help="backtest on real equity bars, print the metrics table")
    _strategy_args(backtest)
    backtest.add_argument("--start", type=_utc, required=True,
                          help="first bar, ISO date/time (UTC without an offset), inclusive")
    backtest.add_argument("--end", type=_utc, default=None,
                          help="end, ISO date/time (UTC without an offset), exclusive "
                               "(default: the data's end)")
    backtest.add_argument("--data", type=Path, default=None,
                          help="folder of <SYMBOL>_1Day.csv.gz files (default: "
                               "../shared/data/equities/alpaca_style_daily_2021_2026)")
    backtest.add_argument("--cash", type=float, default=100_000.0,
                          help="starting cash (USD)")
    backtest.add_argument("--fill", choices=("close", "open"), default="close",
                          help="fill at the signal bar's close or the next bar's open")
    backtest.add_argument("--commission-frac", type=float, default=0.0,
                          help="commission per fill as a fraction of its value (0.001 = 10 bps)")
    backtest.add_argument("--no-risk", action="store_true", help="run without the risk guard")
    paper = sub.add_parser("paper", help="trade on Alpaca's paper API")
    _strategy_args(paper)
    paper.add_argument("--history-days", type=float, default=3.0,
                       help="history loaded before the first live bar (days)")
    paper.add_argument("--max-bars", type=int, default=0,
                       help="stop after N live bars per symbol (0: no limit)")
    paper.add_argument("--duration-s", type=float, default=None,
                       help="stop after this long (seconds; default: until Ctrl-C)")
    paper.add_argument("--live", action="store_true", help="LIVE trading with real money")
    paper.add_argument("--yes-live", action="store_true", help="confirm --live without the prompt")
    rec = sub.add_parser("reconcile", help="broker positions vs. attribution")
    rec.add_argument("--mode", choices=("paper", "live"), default="paper",
                     help="which Alpaca account")
    rec.add_argument("--accept-broker", action="store_true",
                     help="cut attribution in mismatched symbols to the broker's holdings (journaled)")
    _config_arg(rec)
    reset = sub.add_parser("reset-killswitch", help="lift the drawdown kill switch")
    reset.add_argument("--mode", choices=("paper", "live", "backtest"), default="paper",
                       help="whose kill switch")
    reset.add_argument("--yes", action="store_true", help="do not ask to type RESET")
    _config_arg(reset)
    return parser


def _suite(args: argparse.Namespace) -> AlpacaRunConfig:
    from adapters.alpaca.runner import load_config_files

    paths = args.config or [p for p in DEFAULT_CONFIGS if p.is_file()]
    return AlpacaRunConfig.load(load_config_files(paths))


def _strategy(args: argparse.Namespace):
    from adapters.alpaca.runner import data_names, strategy_from_spec, strategy_from_tree

    if args.tree is not None:
        cls, tree = strategy_from_tree(args.tree)
        return cls, data_names(args.symbols, tree), tree.timeframe, tree.name
    cls = strategy_from_spec(args.strategy)
    return cls, data_names(args.symbols, None), None, cls.__name__


def _show(ts: datetime) -> str:
    """A CLI time as the user most likely wrote it (a date when it is midnight UTC)."""
    return f"{ts:%Y-%m-%d}" if ts.time() == datetime.min.time() else ts.isoformat()


def _check_backtest_args(args: argparse.Namespace) -> None:
    """The backtest's period and money, named by their options.

    Raises:
        ValueError: ``--start`` not before ``--end``, ``--cash`` not a positive amount,
            ``--commission-frac`` outside [0, 1) (the CLI exits 2 with the message).
    """
    if args.end is not None and args.start >= args.end:
        raise ValueError(f"--start {_show(args.start)} is not before --end {_show(args.end)} "
                         "(--end is exclusive); give a start before the end")
    if not (math.isfinite(args.cash) and args.cash > 0):
        raise ValueError(f"--cash {args.cash:g} is not a positive amount of USD; give e.g. "
                         "--cash 100000")
    if not 0 <= args.commission_frac < 1:
        raise ValueError(f"--commission-frac {args.commission_frac:g} is not a fraction in [0, 1) "
                         "of each fill's value; give e.g. 0.0005 (Alpaca charges 0)")


def _backtest(args: argparse.Namespace) -> int:
    from adapters.alpaca.runner import DEFAULT_DATA_DIR, run_backtest

    _check_backtest_args(args)
    suite = _suite(args)
    cls, names, tree_tf, _ = _strategy(args)
    result = run_backtest(cls, [s.upper() for s in args.symbols], start=args.start, end=args.end,
                          suite=suite, data_dir=args.data or DEFAULT_DATA_DIR,
                          timeframe=args.timeframe or tree_tf or "1d", cash=args.cash, fill=args.fill,
                          commission_frac=args.commission_frac, risk=not args.no_risk,
                          names={s.upper(): n for s, n in names.items()})
    print(result.table)
    if result.rejected:
        reasons: dict[str, int] = {}
        for _, reason in result.rejected:
            reasons[reason.split(":")[0]] = reasons.get(reason.split(":")[0], 0) + 1
        print("Orders rejected: " + ", ".join(f"{k} x{v}" for k, v in sorted(reasons.items())))
    if result.journal is not None:
        print(f"Decision journal: {result.journal} (python -m plugins.risk summary --file {result.journal})")
    return 0


def _confirm_live(args: argparse.Namespace):
    def confirm(_banner: str) -> bool:
        if args.yes_live:
            return True
        if not sys.stdin.isatty():
            return False
        return input("Type LIVE to trade with real money: ").strip() == "LIVE"
    return confirm


def _paper(args: argparse.Namespace) -> int:
    from adapters.alpaca.runner import run_paper
    from adapters.alpaca.store import AlpacaStore

    suite = _suite(args)
    cls, names, tree_tf, name = _strategy(args)
    store = AlpacaStore.connect(suite.alpaca, live=args.live, confirm=_confirm_live(args))
    result = run_paper(cls, [s.upper() for s in args.symbols], store=store, suite=suite,
                       strategy_id=name, timeframe=args.timeframe or tree_tf or "1m",
                       history=timedelta(days=args.history_days), max_bars=args.max_bars,
                       duration_s=args.duration_s, names={s.upper(): n for s, n in names.items()})
    print(result.table)
    if result.reconciliation is not None:
        print("\n".join(result.reconciliation.lines()))
    print(f"{len(result.orders or [])} order events; journal {result.journal}")
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from adapters.alpaca.client import AlpacaRest
    from adapters.alpaca.config import AlpacaCredentials
    from adapters.alpaca.reconcile import AttributionLedger, reconcile
    from adapters.alpaca.state import StatePaths

    suite = _suite(args)
    if args.mode == "live" and suite.alpaca.trading_url is None:
        print("reconcile --mode live reads the live account: this is read-only", file=sys.stderr)
    rest = AlpacaRest(suite.alpaca, AlpacaCredentials.from_env(), live=args.mode == "live")
    paths = StatePaths.for_mode(suite.alpaca, args.mode)
    ledger = AttributionLedger(paths.ledger)
    broker = {p.symbol: p.qty for p in rest.positions()}
    cids = [o.client_order_id for o in rest.open_orders()]
    report = reconcile(broker, ledger, now=datetime.now(UTC), open_order_ids=cids,
                       known_order_ids=cids, prefix=suite.alpaca.client_order_prefix)
    print("\n".join(report.lines()))
    if args.accept_broker and report.mismatches:
        from plugins.risk.journal import DecisionJournal, JournalRow

        changes = ledger.accept_broker(broker, [m.symbol for m in report.mismatches if m.symbol != "-"])
        with DecisionJournal(paths.journal) as journal:
            journal.record(JournalRow(ts=datetime.now(UTC), kind="reset", decision="clear",
                                      reason="reconciliation_accept_broker",
                                      detail=f"by cli:{getpass.getuser()}: " + "; ".join(changes)))
        print("Attribution cut to the broker's holdings: " + "; ".join(changes))
    return 0 if report.ok or args.accept_broker else 1


def _reset(args: argparse.Namespace) -> int:
    from adapters.alpaca.risk import reset_kill_switch
    from adapters.alpaca.state import StatePaths
    from plugins.risk.journal import DecisionJournal

    suite = _suite(args)
    path = (suite.alpaca.state_dir / "backtest" / "journal.sqlite" if args.mode == "backtest"
            else StatePaths.for_mode(suite.alpaca, args.mode).journal)
    if not path.is_file():
        print(f"No journal at {path}", file=sys.stderr)
        return 1
    prompt = f"Lift the kill switch of {args.mode} ({path})? Type RESET: "
    if not args.yes and input(prompt).strip() != "RESET":
        print("Not reset.")
        return 1
    with DecisionJournal(path) as journal:
        lifted = reset_kill_switch(journal, datetime.now(UTC), f"cli:{getpass.getuser()}")
    print("Kill switch lifted." if lifted else "No kill-switch lock was set; equity peak re-based.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers = {"backtest": _backtest, "paper": _paper, "reconcile": _reconcile,
                "reset-killswitch": _reset}
    from plugins.strategy_tree.errors import TreeValidationError

    try:
        return handlers[args.command](args)
    except (AlpacaConfigError, SuiteConfigError, TreeValidationError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (AlpacaError, DataNotFoundError, SuiteError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
