"""CLI: read the risk layer's decision journal.

    python -m plugins.risk journal --file PATH [--since ISO] [--until ISO] [--pair P]
                                   [--reason R] [--kind K] [--limit N]
        One aligned line per decision, oldest first (``--limit N``: the newest N).
    python -m plugins.risk summary --file PATH [--kind K]
        Decision counts by kind / decision / reason, largest first.
    python -m plugins.risk stage show|promote|demote [--user-data-dir DIR] [-c CONFIG ...]
                                 [--strategy NAME] [--to STAGE] [--reason TEXT]
        Deployment stages (``plugins.risk.stages``): show records and history; request a
        promotion (refused unless the rules allow, thresholds from ai_suite.stages in the
        configs); demote. A running bot applies it at its next loop.

The kill switch's reset changes Freqtrade's locks, so it lives with the Freqtrade guard:
``python -m plugins.guard reset-killswitch`` (``reset-killswitch`` here says so, exit 2).

Times without a UTC offset are read as UTC. Exit status 0 on success; 1 with a message (no
traceback) when the journal or a config is missing or unusable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from plugins.core.cli import ArgumentParser
from plugins.core.clock import SYSTEM_CLOCK, Clock
from plugins.core.config import SuiteConfigError
from plugins.core.errors import SuiteError
from plugins.risk.journal import KINDS, DecisionJournal, JournalError, JournalRow, open_existing
from plugins.risk.stages import STORE_NAME, Stage, StageError, StageStore, demote, promote


def _utc(text: str) -> datetime:
    """argparse type: an ISO-8601 time; one without an offset is UTC."""
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from err
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _count(text: str) -> int:
    """argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a whole number >= 1: {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m plugins.risk",
                            description="Decision journal, deployment stages.")
    sub = parser.add_subparsers(dest="command", required=True)
    journal = sub.add_parser("journal", help="list decisions, oldest first")
    journal.add_argument("--file", type=Path, required=True, help="the journal's SQLite file")
    journal.add_argument("--since", type=_utc, default=None,
                         help="from this ISO time (UTC without an offset), inclusive")
    journal.add_argument("--until", type=_utc, default=None,
                         help="up to this ISO time (UTC without an offset), exclusive")
    journal.add_argument("--pair", default=None, help="only this pair, e.g. BTC/USDT")
    journal.add_argument("--reason", default=None, help="only this reason, e.g. daily_loss")
    journal.add_argument("--kind", choices=sorted(KINDS), default=None, help="only this kind")
    journal.add_argument("--limit", type=_count, default=None, help="only the newest N decisions")
    journal.set_defaults(handler=_journal)
    summary = sub.add_parser("summary", help="decision counts by kind / decision / reason")
    summary.add_argument("--file", type=Path, required=True, help="the journal's SQLite file")
    summary.add_argument("--kind", choices=sorted(KINDS), default=None, help="only this kind")
    summary.set_defaults(handler=_summary)
    moved = sub.add_parser("reset-killswitch", help="moved: python -m plugins.guard "
                           "reset-killswitch")
    moved.set_defaults(handler=_moved)
    stage = sub.add_parser("stage", help="deployment stages: show, promote, demote")
    stage.add_argument("action", choices=("show", "promote", "demote"),
                       help="show the stages, promote one step, or demote")
    stage.add_argument("--user-data-dir", type=Path, default=Path("user_data"),
                       help="user data dir holding ai_suite/stages.json")
    stage.add_argument("-c", "--config", action="append", default=[], type=Path,
                       help="Freqtrade config file(s) with ai_suite.stages (thresholds)")
    stage.add_argument("--strategy", default=None, help="strategy class name")
    stage.add_argument("--to", choices=[s.value for s in Stage], default=None,
                       help="demote: the earlier stage")
    stage.add_argument("--reason", default="manual", help="demote: why (recorded)")
    stage.set_defaults(handler=_stage)
    return parser


def _configs(paths: list[Path]) -> dict:
    """The Freqtrade configs given with ``-c``, merged as Freqtrade merges them.

    Raises:
        SuiteConfigError: a file is missing or is not a JSON object (the message names it).
    """
    from freqtrade.configuration.load_config import load_from_files
    from freqtrade.exceptions import OperationalException

    for path in paths:
        if not path.is_file():
            raise SuiteConfigError(f"-c {path}: no such config file; pass the bot's Freqtrade "
                                   "config(s) holding ai_suite.stages")
    try:
        config = load_from_files([str(p) for p in paths]) if paths else {}
    except (OperationalException, ValueError, AttributeError, TypeError) as err:
        # AttributeError / TypeError: Freqtrade merging a file that is JSON but not an object
        first = str(err).splitlines()[0]
        raise SuiteConfigError(f"-c {' '.join(map(str, paths))}: not a valid Freqtrade config "
                               f"({first}); fix the JSON or pass another file") from None
    if not isinstance(config, dict):
        raise SuiteConfigError(f"-c {' '.join(map(str, paths))}: not a JSON object of Freqtrade "
                               "settings; pass the bot's config file(s)")
    return config


def _stage(args: argparse.Namespace, clock: Clock) -> int:
    from plugins.core.config import load_section
    from plugins.risk.config import StageConfig

    store = StageStore(args.user_data_dir / STORE_NAME)
    now, by = clock.now(), os.environ.get("USER", "cli")
    if args.action == "show":
        names = [args.strategy] if args.strategy else store.strategies()
        if not names:
            print(f"No stage records in {store.path}.")
        for name in names:
            record = store.load(name, Stage.SHADOW, now) if name in store.strategies() else None
            if record is None:
                raise StageError(f"No stage record for {name!r} in {store.path}")
            counts = ", ".join(f"{k.value} {len(v)}" for k, v in record.ledger.items()) or "none"
            print(f"{name}: {record.stage.value} (closed trades filed: {counts})")
            for change in record.history:
                print(f"  {change.ts.isoformat(timespec='seconds')}  {change.from_stage or '-'} -> "
                      f"{change.to_stage.value}  {change.reason} (by {change.by})")
        return 0
    if not args.strategy:
        raise StageError(f"stage {args.action} needs --strategy NAME")
    if args.action == "promote":
        cfg = load_section(_configs(args.config), "stages", StageConfig)
        change = promote(store, args.strategy, cfg.promotion_min_trades, cfg.promotion_tolerance,
                         now, by)
    else:
        if args.to is None:
            raise StageError("stage demote needs --to shadow|canary")
        change = demote(store, args.strategy, Stage(args.to), now, by, args.reason)
    print(f"{args.strategy}: {change.from_stage} -> {change.to_stage.value} ({change.reason}). "
          "A running bot applies it at its next loop.")
    return 0


def _moved(args: argparse.Namespace, clock: Clock) -> int:
    print("risk: reset-killswitch changes Freqtrade's locks and moved to the Freqtrade guard: "
          f"python -m plugins.guard reset-killswitch {' '.join(args.arguments)}".rstrip(),
          file=sys.stderr)
    return 2


def _table(header: Sequence[str], rows: list[Sequence[str]], right: frozenset[int]) -> str:
    """Columns padded to their widest cell; ``right`` holds the right-aligned column indexes."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                  for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in (header, *rows))


def _cells(row: JournalRow) -> tuple[str, ...]:
    stake = "-" if row.stake is None else f"{row.stake:.2f}"
    return (row.ts.isoformat(timespec="seconds"), row.kind, row.decision, row.reason,
            row.pair or "-", stake, row.detail)


def _open(path: Path) -> DecisionJournal:
    """The journal at ``path``; never creates one (``journal.open_existing``)."""
    return open_existing(path)


def _journal(args: argparse.Namespace, clock: Clock) -> int:
    with _open(args.file) as journal:
        rows = journal.query(since=args.since, until=args.until, pair=args.pair,
                             reason=args.reason, kind=args.kind, limit=args.limit)
    if not rows:
        print("No decisions match.")
        return 0
    header = ("ts", "kind", "decision", "reason", "pair", "stake", "detail")
    print(_table(header, [_cells(r) for r in rows], right=frozenset({5})))
    return 0


def _summary(args: argparse.Namespace, clock: Clock) -> int:
    with _open(args.file) as journal:
        counts = journal.summary(kind=args.kind)
    if not counts:
        print("No decisions recorded.")
        return 0
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    rows = [(str(n), kind, decision, reason) for (kind, decision, reason), n in ranked]
    print(_table(("count", "kind", "decision", "reason"), rows, right=frozenset({0})))
    print(f"{sum(counts.values())} decisions")
    return 0


def main(argv: list[str] | None = None, clock: Clock = SYSTEM_CLOCK) -> int:
    """Entry point; returns the exit status."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "reset-killswitch":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "reset-killswitch":
        given = list(sys.argv[1:] if argv is None else argv)
        args.arguments = given[given.index("reset-killswitch") + 1:]
    try:
        return args.handler(args, clock)
    except (JournalError, StageError, SuiteError) as err:
        print(f"risk: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `... journal | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
