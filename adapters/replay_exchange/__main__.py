"""CLI: ``python -m adapters.replay_exchange --datadir DIR --port N [--replay] [-- CMD ...]``.

Without a command, serves until Ctrl-C / SIGTERM. With a command after ``--``, starts the
server, runs the command with ``REPLAY_EXCHANGE_URL`` set, stops the server, and exits with
the command's exit status (how ``make demo`` runs ``freqtrade backtesting``).

Exit status (besides the command's own): 1 the data dir or a candle file is unusable, or the
port is taken; 2 a bad option (``--replay-start`` outside the data, ``--log-level``, ``--``
with no command); 127 the command was not found. Each with one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from freqtrade.misc import deep_merge_dicts
from pydantic import ValidationError

from adapters.replay_exchange.config import ReplayExchangeConfig
from adapters.replay_exchange.errors import ReplayExchangeError, ReplayStartError
from adapters.replay_exchange.server import ReplayServer
from plugins.core.cli import ArgumentParser
from plugins.core.config import SuiteConfigError, load_section
from plugins.execution.config import CostConfig

logger = logging.getLogger("adapters.replay_exchange")


_DEFAULTS = ReplayExchangeConfig.model_fields
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: Exit status when the command after ``--`` cannot be started (the shell's convention).
COMMAND_NOT_FOUND = 127


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m adapters.replay_exchange",
        description="Local Binance-spot-dialect REST server over recorded candles.")
    parser.add_argument("--datadir", required=True,
                        help="folder with Freqtrade candle files, e.g. user_data/data/binance")
    parser.add_argument("--data-format", default=_DEFAULTS["data_format"].default,
                        help="Freqtrade data format of the files (default: %(default)s)")
    parser.add_argument("--host", default=_DEFAULTS["host"].default,
                        help="address to listen on")
    parser.add_argument("--port", type=int, default=_DEFAULTS["port"].default,
                        help="default %(default)s (what config/offline.json expects); 0 picks a free port")
    parser.add_argument("--replay", action="store_true",
                        help="shift candles by whole days so the data ends 'now'")
    parser.add_argument("--replay-start", type=datetime.fromisoformat, default=None,
                        metavar="ISO_TIME",
                        help="replay mode: historical UTC time mapped onto now "
                             "(default: end of the data), e.g. 2024-06-01T00:00")
    parser.add_argument("--spread-bps", type=float, default=_DEFAULTS["spread_bps"].default,
                        help="synthesized book: bid/ask spread in basis points (default %(default)s)")
    parser.add_argument("--costs-from", nargs="+", default=None, metavar="CONFIG",
                        help="Freqtrade config files (merged in order, like freqtrade's -c): the "
                             "order book follows their ai_suite.costs execution-cost model on "
                             "their timeframe's candles (default: a plain book, --spread-bps)")
    parser.add_argument("--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS,
                        help="logging level of the server")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="optional: -- CMD ARGS... to run while the server is up")
    return parser


def costs_settings(files: list[str] | None) -> dict:
    """``costs`` and ``cost_timeframe`` of :class:`ReplayExchangeConfig` from Freqtrade config
    files (``ai_suite.costs`` validated as the strategy validates it; timeframe default 1h).

    Raises:
        SuiteConfigError: ``ai_suite`` is invalid (the message names the field).
        OSError / ValueError: a file is missing or not JSON.
    """
    if not files:
        return {}
    merged: dict = {}
    for name in files:
        merged = deep_merge_dicts(json.loads(Path(name).read_text()), merged)
    return {"costs": load_section(merged, "costs", CostConfig),
            "cost_timeframe": merged.get("timeframe", "1h")}


def _run_command(server: ReplayServer, command: list[str]) -> int:
    server.start()
    logger.info("Replay exchange serving %s; running: %s", server.api_url, " ".join(command))
    env = dict(os.environ, REPLAY_EXCHANGE_URL=server.api_url)
    try:
        child = subprocess.Popen(command, env=env)
    except OSError as err:  # not found, not executable
        server.stop()
        print(f"replay exchange: command {command[0]!r} not found or not executable "
              f"({err.strerror}); give its full path or install it", file=sys.stderr)
        return COMMAND_NOT_FOUND
    previous = signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                # Ctrl-C reached the child too (same process group); wait for its clean exit.
                logger.info("Interrupted; waiting for the command to exit")
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.command[:1] == ["--"] and not command:
        parser.error("no command after --: give the command to run while the server is up, e.g. "
                     "-- freqtrade backtesting --config config/offline.json, or leave out -- "
                     "to just serve")
    try:
        config = ReplayExchangeConfig(
            datadir=args.datadir, data_format=args.data_format, host=args.host, port=args.port,
            replay=args.replay or args.replay_start is not None,
            replay_start=args.replay_start, spread_bps=args.spread_bps,
            **costs_settings(args.costs_from))
        server = ReplayServer(config)
    except ValidationError as err:
        print(f"replay exchange: invalid option: {err}", file=sys.stderr)
        return 2
    except ReplayStartError as err:
        print(f"replay exchange: {err}", file=sys.stderr)
        return 2
    except (ReplayExchangeError, SuiteConfigError, OSError, ValueError) as err:
        print(f"replay exchange: {err}", file=sys.stderr)
        return 1
    if command:
        return _run_command(server, command)
    logger.info("Replay exchange serving %s (Ctrl-C to stop)", server.api_url)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
