"""Argument checks shared by the benchmarks (``bench/*.py``).

A bad command-line value ends a benchmark before anything runs, with one line on stderr naming
the option, the value and the fix, and exit status 2 (a usage error, as ``argparse`` itself
exits) - never a traceback from deep inside a backtest:

- :class:`ArgumentProblem`: raised by every check; :func:`exit_on_problem` (a context manager
  around the checks) prints ``<prog>: error: <message>`` and exits 2;
- :func:`add_data_arguments`: ``--datadir``, ``--pairs``, ``--timerange`` as the data-driven
  benches take them (defaults optional);
- :func:`parse_timerange` (``YYYYMMDD-YYYYMMDD``, start before end) and :func:`check_window`
  (two times, start before end) -> UTC ``pandas.Timestamp`` bounds, end exclusive;
  :func:`parse_time` (one ISO time), :func:`check_positive` (counts, durations);
- :func:`check_pairs` (``BASE/QUOTE``, no repeats), :func:`check_dir` (a folder that must
  exist: a data dir, an alt-data cache - saying whether it was the default and how to fill it);
- :func:`validate_data_arguments`: every pair has candles of every timeframe covering the
  window (and a look-back before it); returns the candles of the first timeframe per pair.

A benchmark script (``bench`` is not a package) imports this module by its folder::

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _args import ArgumentProblem, exit_on_problem, ...
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

#: A spot pair as Freqtrade writes it (futures ``BASE/QUOTE:SETTLE`` too).
PAIR = re.compile(r"^[A-Z0-9]+/[A-Z0-9]+(:[A-Z0-9]+)?$")
CLOSED_TIMERANGE = re.compile(r"^(\d{8})-(\d{8})$")
NO_LOOKBACK = pd.Timedelta(0)


class ArgumentProblem(ValueError):
    """A bad command-line value; the message names the option, the value and the fix (exit 2)."""


@contextlib.contextmanager
def exit_on_problem(prog: str) -> Iterator[None]:
    """Turn :class:`ArgumentProblem` raised inside the block into one line on stderr
    (``<prog>: error: <message>``) and ``SystemExit(2)``."""
    try:
        yield
    except ArgumentProblem as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def add_data_arguments(parser: argparse.ArgumentParser, *, datadir: Path | None = None,
                       pairs: Sequence[str] | None = None, timerange: str | None = None) -> None:
    """``--datadir``, ``--pairs`` and ``--timerange``; each required unless given a default."""
    parser.add_argument("--datadir", type=Path, default=datadir, required=datadir is None,
                        help="Freqtrade data dir with <PAIR>-<timeframe>.feather files"
                             + (f" (default {datadir})" if datadir else ""))
    parser.add_argument("--pairs", nargs="+", default=list(pairs) if pairs else None,
                        required=pairs is None, help="pairs, e.g. BTC/USDT ETH/USDT")
    parser.add_argument("--timerange", default=timerange, required=timerange is None,
                        help="YYYYMMDD-YYYYMMDD, start inclusive, end exclusive (Freqtrade format)"
                             + (f" (default {timerange})" if timerange else ""))


def parse_timerange(text: str, option: str = "--timerange") -> tuple[pd.Timestamp, pd.Timestamp]:
    """``YYYYMMDD-YYYYMMDD`` (Freqtrade's format, both ends given) -> (start, stop) UTC,
    stop exclusive.

    Raises:
        ArgumentProblem: not that format, an open end, or start not before stop.
    """
    from freqtrade.configuration import TimeRange
    from freqtrade.exceptions import ConfigurationError, OperationalException

    closed = CLOSED_TIMERANGE.match(text)
    if closed and closed[1] >= closed[2]:
        raise ArgumentProblem(f"{option} {text}: start {closed[1]} is not before end {closed[2]}; "
                              f"write it earlier-later, e.g. {closed[2]}-{closed[1]}"
                              if closed[1] > closed[2] else
                              f"{option} {text}: start and end are the same day; give a range "
                              "of at least one day")
    try:
        timerange = TimeRange.parse_timerange(text)
    except (ConfigurationError, OperationalException, ValueError) as err:
        raise ArgumentProblem(f"{option} {text!r} is not YYYYMMDD-YYYYMMDD ({err})") from None
    if timerange.startdt is None or timerange.stopdt is None:
        raise ArgumentProblem(f"{option} {text!r} needs both a start and an end "
                              "(YYYYMMDD-YYYYMMDD)")
    return check_window(pd.Timestamp(timerange.startdt), pd.Timestamp(timerange.stopdt),
                        f"{option} start", f"{option} end")


def parse_time(value: datetime | str | pd.Timestamp, option: str) -> pd.Timestamp:
    """``value`` as a UTC timestamp (naive = UTC).

    Raises:
        ArgumentProblem: not a date/time (the message names ``option``).
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ArgumentProblem(f"{option} {value!r} is not a date/time; write ISO, e.g. "
                              "2024-03-01 or 2024-03-01T12:00") from None
    if ts is pd.NaT:
        raise ArgumentProblem(f"{option} is empty; write ISO, e.g. 2024-03-01")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def check_window(start: datetime | str | pd.Timestamp, end: datetime | str | pd.Timestamp,
                 start_option: str = "--start", end_option: str = "--end"
                 ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(start, end) as UTC timestamps (naive = UTC); ``end`` exclusive.

    Raises:
        ArgumentProblem: a value is not a date/time, or start is not before end.
    """
    first, last = parse_time(start, start_option), parse_time(end, end_option)
    if first >= last:
        raise ArgumentProblem(f"{start_option} {first:%Y-%m-%d %H:%M} is not before {end_option} "
                              f"{last:%Y-%m-%d %H:%M}; swap them or widen the window")
    return first, last


def check_pairs(pairs: Sequence[str], option: str = "--pairs") -> list[str]:
    """``pairs`` when each is ``BASE/QUOTE`` (upper case) and none repeats.

    Raises:
        ArgumentProblem: a malformed or repeated pair.
    """
    for pair in pairs:
        if not PAIR.match(pair):
            raise ArgumentProblem(f"{option} {pair!r} is not BASE/QUOTE in capitals (e.g. BTC/USDT)")
    if len(set(pairs)) != len(pairs):
        raise ArgumentProblem(f"{option} lists a pair twice: {' '.join(pairs)}")
    return list(pairs)


def check_dir(path: Path, option: str, fix: str, default: Path | None = None) -> Path:
    """``path`` resolved, when it is a folder.

    Args:
        fix: how to get it (e.g. "run `make data`").
        default: the option's default; the message says when the default is what is missing.

    Raises:
        ArgumentProblem: it is not a folder.
    """
    if not Path(path).is_dir():
        which = (f"the default {option} {path}" if default is not None
                 and Path(path) == Path(default) else f"{option} {path}")
        raise ArgumentProblem(f"{which} is not a directory; {fix}, or pass {option} DIR")
    return Path(path).resolve()


def check_positive(value: float, option: str, integer: bool = False) -> float:
    """``value`` when finite and > 0 (a whole number with ``integer``).

    Raises:
        ArgumentProblem: otherwise.
    """
    if not (math.isfinite(value) and value > 0) or (integer and value != int(value)):
        kind = "a whole number" if integer else "a number"
        raise ArgumentProblem(f"{option} {value:g} must be {kind} above 0")
    return value


def available_pairs(datadir: Path, timeframe: str, data_format: str = "feather") -> list[str]:
    """Spot pairs with a ``timeframe`` candle file in ``datadir`` (sorted)."""
    from freqtrade.data.history.datahandlers.idatahandler import get_datahandlerclass
    from freqtrade.enums import CandleType, TradingMode

    found = get_datahandlerclass(data_format).ohlcv_get_available_data(datadir, TradingMode.SPOT)
    return sorted({p for p, tf, kind in found if tf == timeframe and kind == CandleType.SPOT})


def load_candles(datadir: Path, pair: str, timeframe: str, data_format: str = "feather") -> pd.DataFrame:
    """Freqtrade's candles of ``pair`` (``date``, ``open`` ... ``volume``; gaps filled as
    Freqtrade fills them); empty if none."""
    from freqtrade.data.history import load_pair_history

    quiet = logging.getLogger("freqtrade")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its "No history for ..." warning: the problem says it better
    try:
        return load_pair_history(pair, timeframe, datadir, fill_up_missing=True,
                                 data_format=data_format)
    finally:
        quiet.setLevel(level)


def validate_data_arguments(datadir: Path, pairs: Sequence[str], start: pd.Timestamp,
                            stop: pd.Timestamp, timeframes: Sequence[str],
                            lookback: pd.Timedelta = NO_LOOKBACK,
                            data_format: str = "feather") -> dict[str, pd.DataFrame]:
    """Check that every pair has candles of every timeframe covering ``[start - lookback,
    stop)`` and return the candles of the first timeframe per pair.

    Raises:
        ArgumentProblem: the data dir is missing, a pair is malformed or repeated, its file is
            missing (the message lists the pairs that have one), or its candles start after
            ``start - lookback`` / end more than a day before ``stop``.
    """
    if not Path(datadir).is_dir():
        raise ArgumentProblem(f"--datadir {datadir} is not a directory; run `make data` or "
                              "pass --datadir DIR")
    check_pairs(pairs)
    out: dict[str, pd.DataFrame] = {}
    need_from = start - lookback
    for pair in pairs:
        for timeframe in timeframes:
            candles = load_candles(datadir, pair, timeframe, data_format)
            if candles.empty:
                have = available_pairs(datadir, timeframe, data_format)
                raise ArgumentProblem(
                    f"--pairs {pair}: no {timeframe} candles in {datadir} (expected "
                    f"{pair.replace('/', '_')}-{timeframe}.{data_format}; pairs there: "
                    f"{' '.join(have) or 'none'}); download it or drop the pair")
            first, last = candles["date"].iloc[0], candles["date"].iloc[-1]
            if first > need_from:
                raise ArgumentProblem(
                    f"--pairs {pair}: {timeframe} candles in {datadir} start {first:%Y-%m-%d %H:%M}, "
                    f"the run needs them from {need_from:%Y-%m-%d %H:%M}; start the time range "
                    "later or add older candles")
            if last < stop - pd.Timedelta(days=1):
                raise ArgumentProblem(
                    f"--pairs {pair}: {timeframe} candles in {datadir} end {last:%Y-%m-%d %H:%M}, "
                    f"before the end of the time range {stop:%Y-%m-%d}; end it earlier or add "
                    "candles")
            out.setdefault(pair, candles)
    return out
