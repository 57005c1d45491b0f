"""Seed 000's metrics table printed after ``freqtrade backtesting`` of a suite strategy.

Freqtrade has no strategy callback after a backtest (``bot_cleanup`` runs only in dry-run/live)
and writes its result file after every strategy of the run has finished. So, without patching
Freqtrade, the guard registers at ``bot_start`` in backtesting a process exit handler
(``atexit``, once per process) that, when Freqtrade is done, reads the result file this process
wrote (:mod:`plugins.research.metrics_table`) and prints the table of every guarded strategy in
it, after Freqtrade's own report. A run that wrote no result (``--export none``, a failed run,
lookahead analysis) prints one line saying so; an error there is logged, never raised (the
backtest itself has succeeded).

Rerun it on any stored result: ``python -m plugins.research metrics --backtest FILE``.
"""

from __future__ import annotations

import atexit
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_pending: dict[str, Any] = {}
#: A result this process wrote started after the strategy module (and so this one) was loaded;
#: Freqtrade stamps ``backtest_start_time`` before it calls ``bot_start`` again per strategy.
_LOADED_S = int(time.time())


def results_dir(config: Mapping[str, Any]) -> Path:
    """Where Freqtrade writes results: ``exportdirectory``, else ``<user_data>/backtest_results``."""
    export = config.get("exportdirectory")
    if export:
        return Path(export)
    return Path(config.get("user_data_dir") or "user_data") / "backtest_results"


def register(config: Mapping[str, Any], strategy: str,
             at_exit: Callable[[Callable[[], None]], Any] = atexit.register,
             out: Callable[[str], None] = print) -> None:
    """Ask for ``strategy``'s metrics table when this backtest process exits (idempotent: one
    exit handler per process, every registered strategy). Nothing with ``export`` ``none``
    (Freqtrade's CLI defaults to ``trades``; a backtest run in-process by a test or a tool
    without export writes no result to read)."""
    if config.get("export", "none") == "none":
        logger.info("Seed 000 metrics table: no result is exported (export none); skipped")
        return
    if not _pending:
        _pending["since_s"] = _LOADED_S
        _pending["dir"] = results_dir(config)
        _pending["strategies"] = set()
        # where the buy-and-hold candles are (the stored config holds no resolved datadir)
        _pending["config"] = {k: config[k] for k in ("datadir", "dataformat_ohlcv",
                                                    "trading_mode", "user_data_dir", "exchange")
                              if k in config}
        at_exit(lambda: print_tables(out))
    _pending["strategies"].add(strategy)


def print_tables(out: Callable[[str], None] = print) -> None:
    """Print the tables of the registered strategies from the result this process wrote."""
    from plugins.research.metrics_table import tables_of_result

    if not _pending:
        return
    folder, since, names = _pending["dir"], _pending["since_s"], set(_pending["strategies"])
    config = _pending["config"]
    _pending.clear()
    try:
        from freqtrade.data.btanalysis import get_latest_backtest_filename, load_backtest_metadata

        file = folder / get_latest_backtest_filename(folder)
        meta = load_backtest_metadata(file)
    except (ValueError, OSError) as err:
        out(f"Seed 000 metrics: no backtest result in {folder} ({err}); run with --export trades")
        return
    fresh = sorted(n for n in names if int(meta.get(n, {}).get("backtest_start_time", 0)) >= since)
    if not fresh:
        out(f"Seed 000 metrics: this run wrote no result for {', '.join(sorted(names))} "
            f"(latest is {file.name}); nothing to tabulate")
        return
    for name in fresh:
        try:
            for table in tables_of_result(file, name, config):
                out("\n" + table.table)
        except Exception:  # noqa: BLE001 - the backtest succeeded; the table is extra
            logger.exception("Seed 000 metrics table of %s failed (python -m plugins.research "
                             "metrics --backtest %s)", name, file)
