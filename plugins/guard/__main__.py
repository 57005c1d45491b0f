"""CLI of the Freqtrade risk guard.

    python -m plugins.guard reset-killswitch --db-url URL [--journal PATH] [--yes]
        Lift the drawdown kill switch (asks to type RESET unless --yes). All or nothing: the
        lock change and the journal's reset row commit together; a --db-url naming a SQLite
        file that does not exist (or is not Freqtrade's) is refused, never created
        (``plugins.guard.killswitch``).

The decision journal and the deployment stages have their own CLI: ``python -m plugins.risk``.
Exit status 0 on success; 1 with a message (no traceback) when the journal or the database is
missing or unusable, or the reset was not confirmed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from plugins.core.cli import ArgumentParser
from plugins.core.clock import SYSTEM_CLOCK, Clock
from plugins.core.errors import SuiteError
from plugins.guard.killswitch import check_db_url, reset_kill_switch
from plugins.risk.journal import JournalError, journal_path


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m plugins.guard",
                            description="The risk guard's human acts (Freqtrade bots).")
    sub = parser.add_subparsers(dest="command", required=True)
    reset = sub.add_parser("reset-killswitch", help="lift the drawdown kill switch (a human act)")
    reset.add_argument("--db-url", required=True, help="the bot's db_url, e.g. "
                       "sqlite:///tradesv3.dryrun.sqlite")
    reset.add_argument("--journal", type=Path, default=None,
                       help="the bot's journal (default: <db name>.journal.sqlite beside the db)")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def reset(args: argparse.Namespace, clock: Clock) -> int:
    """``reset-killswitch``: check the database, confirm, lift; returns the exit status.

    Raises:
        ResetError, JournalError: the database or the journal is unusable (nothing changed).
    """
    check_db_url(args.db_url)  # before asking: a mistyped path fails at once
    journal = args.journal or journal_path({"runmode": "dry_run", "db_url": args.db_url,
                                            "user_data_dir": "user_data"})
    if not args.yes:
        try:
            answer = input(f"Lift the kill switch of {args.db_url}? New entries resume. "
                           "Type RESET: ")
        except EOFError:  # no terminal (a script without --yes)
            answer = ""
        if answer.strip() != "RESET":
            print("Not reset.")
            return 1
    lifted = reset_kill_switch(args.db_url, journal, clock.now(),
                               by=os.environ.get("USER", "cli"))
    print(f"Kill switch reset: {lifted} lock(s) lifted; equity peak re-based (journal {journal}).")
    return 0


def main(argv: list[str] | None = None, clock: Clock = SYSTEM_CLOCK) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return reset(args, clock)
    except (JournalError, SuiteError) as err:
        print(f"guard: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
