"""What compiled strategies import at run time: the series and the three-valued signal logic.

A compiled strategy (``compilers.freqtrade`` / ``compilers.backtrader``) spells its tree's rules
out as code, but computes every series and every truth value with the reference interpreter's
own pieces, so the signals are the interpreter's by construction (and by test):

- ``SeriesFrame``: the series of one tree on one candle frame - ``values(key)`` is exactly
  ``interpreter.evaluate(...).series[key]`` (the interpreter's ``inputs.SeriesContext``: TA-Lib through
  ``registry.compute_indicator``, higher timeframes through ``resample_causal``, alt data
  point-in-time through ``merge_point_in_time``, the calendar through ``EventCalendar``).
- ``Truth``: Kleene (three-valued) truth of a condition per candle, as ``(true, false)`` masks
  (neither = unknown: a NaN input). ``lt``/``le``/``gt``/``ge``/``eq``/``ne``,
  ``crosses_above``/``crosses_below``, ``label_eq``/``label_ne``/``label_in`` build one;
  ``&``, ``|``, ``~``, ``all_of``, ``any_of`` combine them like the interpreter's ``_truth``.
- ``close_ns``, ``start_ns``, ``expiry_mask``, ``blackout``: candle close times, activation,
  expiry and the FOMC/CPI blackout, as ``interpreter.evaluate`` computes them.
- ``load_compiled_tree``: the tree a generated file embeds, checked against its sha256.

Arrays are numpy, one element per candle (float64 values, bool masks); times are int64 UTC
nanoseconds. Errors: ``TreeEvaluationError`` naming the missing data and how to provide it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from plugins.altdata.calendar import EventCalendar
from plugins.strategy_tree.compilers.common import tree_series, tree_sha256
from plugins.strategy_tree.errors import TreeEvaluationError
from plugins.strategy_tree.inputs import SeriesContext, check_candles, utc_ns
from plugins.strategy_tree.interpreter import OPS, shift
from plugins.strategy_tree.schema import StrategyTree
from plugins.strategy_tree.units import timeframe_delta
from plugins.strategy_tree.validation import validate_tree

__all__ = ["SeriesFrame", "Truth", "all_of", "any_of", "blackout", "close_ns", "crosses_above",
           "crosses_below", "eq", "expiry_mask", "ge", "gt", "label_eq", "label_in", "label_ne",
           "le", "load_compiled_tree", "lt", "ne", "start_ns"]


def load_compiled_tree(data: dict, sha256: str) -> StrategyTree:
    """The tree a generated file embeds (its canonical document as a Python literal), validated.

    Raises:
        TreeValidationError: the embedded data is not a valid tree.
        TreeEvaluationError: its canonical form does not hash to ``sha256`` (the generated file
            was edited by hand; regenerate it from the tree).
    """
    tree = validate_tree(data)
    actual = tree_sha256(tree)
    if actual != sha256:
        raise TreeEvaluationError(f"the tree embedded in this compiled strategy hashes to "
                                  f"{actual[:12]}..., not {sha256[:12]}... as its header says: "
                                  "the file was edited by hand; recompile it from the tree "
                                  "(python -m plugins.strategy_tree compile, or make trees)")
    return tree


# ------------------------------------------------------------------------------------ series
class SeriesFrame:
    """The series of ``tree`` on one candle frame, computed by the interpreter's code.

    Args:
        tree: the validated tree.
        candles: ``date`` (UTC, strictly increasing, on the tree's timeframe) + ``open high low
            close volume`` (+ ``regime`` when the tree reads it); e.g. Freqtrade's dataframe.
        pair: the pair the candles are of; must be one of the tree's assets.
        altdata: the alternative-data frame (``inputs.altdata_frame``), when a series reads
            alt data.
        calendar: FOMC/CPI events, when a series or filter reads the calendar.
        informative: ``{"ETH/USDT": candles}`` of other assets a series names.

    Raises:
        TreeEvaluationError: bad candles or a pair the tree does not trade (message says which).
    """

    def __init__(self, tree: StrategyTree, candles: pd.DataFrame, *, pair: str,
                 altdata: pd.DataFrame | None = None, calendar: EventCalendar | None = None,
                 informative: dict[str, pd.DataFrame] | None = None) -> None:
        pair = pair.upper()
        if pair not in tree.assets:
            raise TreeEvaluationError(f"pair {pair} is not among the assets of tree {tree.name} "
                                      f"({', '.join(tree.assets)}); trade only those pairs "
                                      "(pair_whitelist) or add the pair to the tree")
        check_candles(candles, tree.timeframe)
        self.tree = tree
        self.pair = pair
        self._ctx = SeriesContext(tree, candles, altdata, pair, informative or {}, calendar)
        self._series = {item.key: item.series for item in tree_series(tree)}

    def values(self, key: str) -> np.ndarray:
        """Series ``key`` (canonical text, e.g. ``RSI(BTC, 1d)``) per candle: float64 (the regime:
        object), NaN where unknown - the interpreter's ``Signals.series[key]``.

        Raises:
            TreeEvaluationError: its data was not passed (names the series and the fix).
            KeyError: ``key`` is not a series of the tree.
        """
        return self._ctx.series(self._series[key])


def blackout(calendar: EventCalendar | None, dates: pd.Series, timeframe: str, path: str,
             minutes: float, events: tuple[str, ...]) -> np.ndarray:
    """``SeriesFrame.blackout`` on candles dated ``dates`` (open times) of ``timeframe``.

    Raises:
        TreeEvaluationError: ``calendar`` is None (names the filter and how to load it).
    """
    if calendar is None:
        raise TreeEvaluationError(f"{path} needs the FOMC/CPI calendar; load it with "
                                  "EventCalendar.from_dir(<altdata cache>/calendar) (python -m "
                                  "plugins.altdata import-shared fills the cache)")
    close = pd.Series(pd.to_datetime(close_ns(dates, timeframe), utc=True), index=dates.index)
    return calendar.in_blackout(close, minutes, minutes, events).to_numpy(dtype=bool)


def close_ns(dates: pd.Series, timeframe: str) -> np.ndarray:
    """Close time (int64 ns UTC) of each candle: its open ``date`` + ``timeframe``."""
    return utc_ns(dates) + np.int64(timeframe_delta(timeframe).total_seconds() * 10**9)


def start_ns(start: pd.Timestamp | str | None, dates: pd.Series) -> np.int64:
    """Activation time (int64 ns UTC): ``start``, default the first candle's open (as
    ``interpreter.evaluate``)."""
    when = start if start is not None else dates.iloc[0]
    return utc_ns(pd.Series([pd.Timestamp(when)]))[0]


def expiry_mask(candidate: np.ndarray, close: np.ndarray, start: np.int64,
                expiry: timedelta | None) -> np.ndarray:
    """The interpreter's ``expired``: with no ``candidate`` entry closing within ``expiry`` of
    ``start``, every candle closing after that deadline; else (or without expiry) none."""
    expired = np.zeros(len(candidate), dtype=bool)
    if expiry is None:
        return expired
    deadline = start + np.int64(expiry.total_seconds() * 10**9)
    if not (candidate & (close <= deadline)).any():
        expired = close > deadline
    return expired


# ------------------------------------------------------------------------------------- truth
class Truth(NamedTuple):
    """Kleene truth per candle: ``true`` / ``false`` masks (bool arrays); neither = unknown."""

    true: np.ndarray
    false: np.ndarray

    def __and__(self, other: Truth) -> Truth:  # type: ignore[override]
        return Truth(self.true & other.true, self.false | other.false)

    def __or__(self, other: Truth) -> Truth:  # type: ignore[override]
        return Truth(self.true | other.true, self.false & other.false)

    def __invert__(self) -> Truth:
        return Truth(self.false, self.true)

    def as_float(self) -> np.ndarray:
        """1.0 true, 0.0 false, NaN unknown (a plottable column)."""
        out = np.full(len(self.true), np.nan)
        out[self.true] = 1.0
        out[self.false] = 0.0
        return out


def all_of(*parts: Truth) -> Truth:
    """``ALL`` / ``AND``: false if any part is false, true if all are true."""
    return Truth(np.logical_and.reduce([p.true for p in parts]),
                 np.logical_or.reduce([p.false for p in parts]))


def any_of(*parts: Truth) -> Truth:
    """``ANY`` / ``OR``: true if any part is true, false if all are false."""
    return Truth(np.logical_or.reduce([p.true for p in parts]),
                 np.logical_and.reduce([p.false for p in parts]))


def _operands(a: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 arrays; a number is repeated to the other operand's length (the grammar
    guarantees at least one series)."""
    arrays = [None if np.isscalar(x) else np.asarray(x, dtype="float64") for x in (a, b)]
    n = len(next(x for x in arrays if x is not None))
    out = [x if x is not None else np.full(n, float(v)) for x, v in zip(arrays, (a, b), strict=True)]
    return out[0], out[1]


def _compare(a: object, op: str, b: object) -> Truth:
    x, y = _operands(a, b)
    known = ~np.isnan(x) & ~np.isnan(y)
    with np.errstate(invalid="ignore"):
        result = OPS[op](x, y)
    return Truth(result & known, ~result & known)


def lt(a: object, b: object) -> Truth:
    """``a < b``; unknown where either is NaN."""
    return _compare(a, "<", b)


def le(a: object, b: object) -> Truth:
    """``a <= b``; unknown where either is NaN."""
    return _compare(a, "<=", b)


def gt(a: object, b: object) -> Truth:
    """``a > b``; unknown where either is NaN."""
    return _compare(a, ">", b)


def ge(a: object, b: object) -> Truth:
    """``a >= b``; unknown where either is NaN."""
    return _compare(a, ">=", b)


def eq(a: object, b: object) -> Truth:
    """``a == b`` (exact float equality); unknown where either is NaN."""
    return _compare(a, "==", b)


def ne(a: object, b: object) -> Truth:
    """``a != b``; unknown where either is NaN."""
    return _compare(a, "!=", b)


def _cross(a: object, b: object, above: bool) -> Truth:
    x, y = _operands(a, b)
    x_prev, y_prev = shift(x), shift(y)
    known = ~(np.isnan(x) | np.isnan(y) | np.isnan(x_prev) | np.isnan(y_prev))
    with np.errstate(invalid="ignore"):
        result = (x > y) & (x_prev <= y_prev) if above else (x < y) & (x_prev >= y_prev)
    return Truth(result & known, ~result & known)


def crosses_above(a: object, b: object) -> Truth:
    """``a > b`` now and ``a <= b`` one candle earlier; unknown where any of the four is NaN."""
    return _cross(a, b, True)


def crosses_below(a: object, b: object) -> Truth:
    """``a < b`` now and ``a >= b`` one candle earlier; unknown where any of the four is NaN."""
    return _cross(a, b, False)


def _labels(values: object) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(values, dtype=object)
    return array, np.asarray(pd.notna(array), dtype=bool)


def label_eq(values: object, name: str) -> Truth:
    """``regime == "name"``; unknown where the regime is missing."""
    array, known = _labels(values)
    hit = (array == name) & known
    return Truth(hit, known & ~hit)


def label_ne(values: object, name: str) -> Truth:
    """``regime != "name"``; unknown where the regime is missing."""
    return ~label_eq(values, name)


def label_in(values: object, names: Iterable[str]) -> Truth:
    """``regime in [...]``; unknown where the regime is missing."""
    array, known = _labels(values)
    hit = pd.Series(array).isin(list(names)).to_numpy() & known
    return Truth(hit, known & ~hit)
