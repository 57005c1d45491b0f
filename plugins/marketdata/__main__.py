"""CLI: ``python -m plugins.marketdata sync [--bundle DIR] [--datadir DIR] [-c CONFIG ...]``.

Copies real candles from a bundle (default ``$SUITE_DATA_DIR``, else ``../shared/data`` when
it exists) into Freqtrade's data dir; with no bundle, downloads them with
``freqtrade download-data``. Then checks that every pair/timeframe the configs need is there.
Exit status 0 on success, 1 with a message naming what is missing and how to get it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from plugins.core.cli import ArgumentParser
from plugins.core.errors import DataNotFoundError
from plugins.marketdata.requirements import candle_needs, load_config, missing_candles
from plugins.marketdata.sync import download_candles, sync_candles

DEFAULT_BUNDLE = Path("../shared/data")


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m plugins.marketdata",
                            description="Fill Freqtrade's data dir with the candles the configs need.")
    sub = parser.add_subparsers(dest="command", required=True)
    sync = sub.add_parser("sync", help="fill the data dir from a bundle or by download")
    sync.add_argument("--bundle", type=Path, default=None,
                      help="data bundle (default: $SUITE_DATA_DIR, else ../shared/data when it "
                           "exists; SUITE_DATA_DIR=none: no bundle, download)")
    sync.add_argument("--datadir", type=Path, default=Path("user_data/data/binance"),
                      help="Freqtrade's data dir for the candles")
    sync.add_argument("-c", "--config", type=Path, action="append", default=None,
                      help="Freqtrade config(s) whose pairs/timeframes must be present "
                           "(default: config/base.json)")
    sync.add_argument("--download-timerange", default="20230101-",
                      help="freqtrade download-data --timerange (YYYYMMDD-[YYYYMMDD], UTC) when "
                           "no bundle exists")
    return parser


def _bundle(arg: Path | None) -> Path | None:
    if arg is not None:
        return arg
    env = os.environ.get("SUITE_DATA_DIR")
    if env:
        return None if env.strip().lower() == "none" else Path(env)  # none: no bundle, download
    return DEFAULT_BUNDLE if DEFAULT_BUNDLE.is_dir() else None


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    configs = args.config or [Path("config/base.json")]
    try:
        needs = candle_needs(load_config(configs))
        bundle = _bundle(args.bundle)
        if bundle is not None:
            report = sync_candles(bundle, args.datadir)
            print(f"Candles in {args.datadir}: {len(report.copied)} copied, "
                  f"{len(report.unchanged)} up to date (from {bundle}).")
        else:
            print("No data bundle (SUITE_DATA_DIR unset or none, ../shared/data absent): "
                  "downloading from the exchange.")
            download_candles(configs, needs, args.download_timerange, args.datadir)
        missing = missing_candles(args.datadir, needs)
        if missing:
            raise DataNotFoundError(
                f"{args.datadir} lacks candles for: "
                + ", ".join(f"{n.pair} {n.timeframe}" for n in missing)
                + ". Add them to the bundle, or download them: freqtrade download-data "
                  "-c config/base.json --pairs PAIR --timeframes TF.")
    except DataNotFoundError as err:
        print(f"make data: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
