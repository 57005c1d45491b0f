"""The reference interpreter: a tree + candles (+ alt data) -> per-candle signals and targets.

It is the specification compilers are tested against, so every rule is spelled out here. The
code is split by job: ``inputs`` (candles, causal resampling, alt data, the series at each
close), this module (the conditions in three-valued logic and the signals) and ``simulation``
(the position pass).

Time. A candle row is labelled with its open time ``date`` and acted on at its close
(``date + timeframe``), like Freqtrade. A value at candle ``t`` uses only data known at that
close: candles ``<= t``; higher-timeframe candles only once complete (``resample_causal``:
a ``1d`` candle of day D reaches the 1 h candle dated D 23:00, the one closing at D+1 00:00 -
what ``freqtrade.strategy.merge_informative_pair`` does); alt-data observations only once
published (``available_at`` <= close, ``plugins.altdata.merge.merge_point_in_time``); calendar
distances at the close.

Missing values. A test with a NaN input is *unknown*; logic is three-valued (Kleene): ``AND``
is false if any part is false, true if all are true, else unknown; ``OR`` dually; ``NOT``
keeps unknown. An unknown entry condition does not enter; an unknown ``no_entry_if`` blocks;
an unknown ``only_if`` blocks (missing data never opens a trade).

Signals (vectorized, ``Signals.frame`` columns, one row per candle, same index as candles):

- ``entry_signal`` (bool): the entry group is true;
- ``filter_block`` (bool): a filter blocks entries (calendar blackout, ``no_entry_if`` true or
  unknown, ``only_if`` false or unknown; with an ATR stop, also while its ATR is NaN);
- ``expired`` (bool): ``expiry`` passed (measured from ``start``, default the first candle's
  open) with no entry; after an entry within ``expiry`` the tree never expires;
- ``enter_long`` = ``entry_signal & ~filter_block & ~expired`` (and candle close > ``start``);
- ``exit_long`` (bool): the exit group is true (all False when the tree has no ``exit``).

Position (a sequential pass over the candles; one long position per pair; prices in quote):

1. While in a position opened at an earlier candle: the stop (``stop_price`` of the previous
   row) is hit when ``low <= stop``; the fill is ``min(open, stop)``; everything closes
   (action ``stop_loss`` or ``trailing_stop`` when the trailing level was the higher one).
2. Otherwise each pending take-profit stage with ``high >= avg_entry x (1 + level)`` fills at
   ``max(open, that price)`` and closes its fraction of the *peak* position (the filled
   exposure when the first stage fires; ``close_remaining`` closes the rest): action
   ``take_profit_<n>`` (1-based). A candle that hits both the stop and a take profit counts
   as the stop (conservative; the order inside a candle is unknown).
3. The trailing reference (highest high since the first entry, starting at that entry's
   close) is updated with this candle's high *after* 1-2.
4. ``exit_long`` closes everything at the close (action ``exit_signal``).
5. Scaling in, at the close, before any take profit fired: a further batch when ``interval``
   has passed since the previous batch (close to close) and - ``add_on: signal`` -
   ``enter_long`` is true, or - ``add_on: schedule`` - no filter blocks and not expired
   (action ``add``).
6. Flat (and no position closed on this candle): ``enter_long`` opens the first batch at the
   close (action ``enter``).

Per-candle position columns, after that candle's actions: ``batches`` (int64, filled batches;
0 when flat), ``target_exposure`` (float64, fraction of equity at entry prices, not marked to
market: ``size_per_batch x batches x (1 - closed fraction)``, capped at
``max_total_exposure``), ``avg_entry_price`` (size-weighted mean fill of the batches),
``stop_price`` (the stop in force during the *next* candle: the fixed stop from
``risk.stop_loss.reference`` - ``x (1 - value)`` or ``- value x ATR`` with the ATR of the
latest batch's candle - raised to the trailing level once active), ``take_profit_price`` (next
pending stage), ``action`` (``+``-joined actions of this candle, ``""`` for none). NaN when flat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from plugins.altdata.calendar import EventCalendar
from plugins.strategy_tree.errors import TreeEvaluationError
from plugins.strategy_tree.grammar import (
    And,
    Compare,
    Cross,
    InList,
    Node,
    Not,
    Number,
    Or,
    Series,
    String,
)
from plugins.strategy_tree.inputs import SeriesContext, check_candles, utc_ns
from plugins.strategy_tree.registry import LABEL
from plugins.strategy_tree.schema import (
    CalendarFilter,
    ConditionFilter,
    RequireFilter,
    StrategyTree,
)
from plugins.strategy_tree.simulation import simulate

logger = logging.getLogger(__name__)

SIGNAL_COLUMNS = ("entry_signal", "filter_block", "expired", "enter_long", "exit_long")


@dataclass(frozen=True)
class Signals:
    """What ``evaluate`` returns.

    Attributes:
        frame: candles' index; ``date`` plus ``SIGNAL_COLUMNS`` and ``POSITION_COLUMNS``
            (see the module docstring).
        conditions: candles' index; one nullable-boolean column per condition path
            (``entry.conditions[0]``, ``exit.conditions[1]``, ``filters[1].no_entry_if``:
            True / False / <NA> = unknown) and one bool column per filter (``filters[0]``:
            True = blocks entries).
        series: candles' index; one column per series the tree reads, named by its canonical
            text (``RSI(BTC, 1d)``), as the tree saw it at each candle (float64; the regime
            as object).
        pair: the pair evaluated.
    """

    frame: pd.DataFrame
    conditions: pd.DataFrame
    series: pd.DataFrame
    pair: str


# ------------------------------------------------------------------------------ conditions
def _truth(node: Node, ctx: SeriesContext) -> tuple[np.ndarray, np.ndarray]:
    """Kleene truth of ``node`` per candle: ``(true, false)`` masks; neither = unknown."""
    if isinstance(node, And | Or):
        parts = [_truth(item, ctx) for item in node.items]
        trues = np.logical_and.reduce([p[0] for p in parts])
        falses = np.logical_or.reduce([p[1] for p in parts])
        if isinstance(node, Or):
            trues = np.logical_or.reduce([p[0] for p in parts])
            falses = np.logical_and.reduce([p[1] for p in parts])
        return trues, falses
    if isinstance(node, Not):
        true, false = _truth(node.item, ctx)
        return false, true
    if isinstance(node, InList):
        values = ctx.series(node.left)
        known = pd.notna(values)
        hit = pd.Series(values).isin(node.values).to_numpy() & known
        return hit, known & ~hit
    if isinstance(node, Compare) and _is_label(node):
        series, string = (node.left, node.right) if isinstance(node.right, String) else (
            node.right, node.left)
        values = ctx.series(series)  # type: ignore[arg-type]
        known = pd.notna(values)
        equal = (values == string.value) & known  # type: ignore[union-attr]
        hit = equal if node.op == "==" else known & ~equal
        return hit, known & ~hit
    if isinstance(node, Compare):
        a, b = _operands(node.left, node.right, ctx)
        known = ~np.isnan(a) & ~np.isnan(b)
        with np.errstate(invalid="ignore"):
            result = OPS[node.op](a, b)
        return result & known, ~result & known
    if isinstance(node, Cross):
        a, b = _operands(node.left, node.right, ctx)
        a_prev, b_prev = shift(a), shift(b)
        known = ~(np.isnan(a) | np.isnan(b) | np.isnan(a_prev) | np.isnan(b_prev))
        with np.errstate(invalid="ignore"):
            if node.direction == "above":
                result = (a > b) & (a_prev <= b_prev)
            else:
                result = (a < b) & (a_prev >= b_prev)
        return result & known, ~result & known
    raise TreeEvaluationError(f"cannot evaluate {node.render()}")


OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
        "==": np.equal, "!=": np.not_equal}


def _is_label(node: Compare) -> bool:
    return any(isinstance(x, String) or (isinstance(x, Series) and x.spec.unit == LABEL)
               for x in (node.left, node.right))


def shift(values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    out[0] = np.nan
    out[1:] = values[:-1]
    return out


def _operands(left: Node, right: Node, ctx: SeriesContext) -> tuple[np.ndarray, np.ndarray]:
    unit = next(x.spec.unit for x in (left, right) if isinstance(x, Series))
    n = len(ctx.candles)

    def value(x: Node) -> np.ndarray:
        if isinstance(x, Series):
            return ctx.series(x).astype("float64")
        assert isinstance(x, Number)
        return np.full(n, x.resolved(unit))

    return value(left), value(right)


def _nullable(true: np.ndarray, false: np.ndarray, index: pd.Index) -> pd.Series:
    out = pd.Series(pd.array(true, dtype="boolean"), index=index)
    out[~true & ~false] = pd.NA
    return out


# -------------------------------------------------------------------------------- evaluate
def evaluate(tree: StrategyTree, candles: pd.DataFrame, altdata: pd.DataFrame | None = None, *,
             pair: str | None = None, informative: dict[str, pd.DataFrame] | None = None,
             calendar: EventCalendar | None = None, start: pd.Timestamp | None = None) -> Signals:
    """Evaluate ``tree`` on the candles of one pair (see the module docstring for the rules).

    Args:
        tree: a validated tree.
        candles: ``date`` (UTC open time, strictly increasing) + ``open high low close
            volume`` (float) of the tree's timeframe; an optional ``regime`` column (str).
        altdata: the alternative-data frame (``altdata_frame``); needed when a condition reads
            alt data.
        pair: the pair the candles are of (default: the tree's only asset).
        informative: candles of other assets a condition names (``{"ETH/USDT": frame}``), same
            timeframe as ``candles``.
        calendar: FOMC/CPI events; needed for ``no_entry_within`` filters and ``hours_*``.
        start: when the tree became active (expiry counts from it; no entries before it);
            default the first candle's open.

    Returns:
        ``Signals``.

    Raises:
        TreeEvaluationError: data the tree needs is missing or malformed (message says which).
    """
    if pair is None:
        if len(tree.assets) != 1:
            raise TreeEvaluationError(f"tree {tree.name} trades {', '.join(tree.assets)}; pass "
                                      "pair= to say which one the candles are of")
        pair = tree.assets[0]
    pair = pair.upper()
    if pair not in tree.assets:
        raise TreeEvaluationError(f"pair {pair} is not among the tree's assets "
                                  f"({', '.join(tree.assets)}); pass one of them")
    check_candles(candles, tree.timeframe)
    ctx = SeriesContext(tree, candles, altdata, pair, informative or {}, calendar)
    index = candles.index
    n = len(candles)

    conditions: dict[str, pd.Series] = {}
    for path, node in tree.conditions():
        conditions[path] = _nullable(*_truth(node, ctx), index)
    entry_true, _ = _truth(tree.entry.expression(), ctx)
    exit_true = (_truth(tree.exit.expression(), ctx)[0] if tree.exit is not None
                 else np.zeros(n, dtype=bool))

    block = np.zeros(n, dtype=bool)
    for i, f in enumerate(tree.filters):
        if isinstance(f, CalendarFilter):
            minutes = f.no_entry_within.total_seconds() / 60
            blocks = ctx.need_calendar(f"filters[{i}]").in_blackout(
                ctx.close, minutes, minutes, tuple(f.events)).to_numpy(dtype=bool)
        elif isinstance(f, ConditionFilter):
            blocks = ~_truth(f.no_entry_if, ctx)[1]
        else:
            assert isinstance(f, RequireFilter)
            blocks = ~_truth(f.only_if, ctx)[0]
        conditions[f"filters[{i}]"] = pd.Series(blocks, index=index)
        block |= blocks
    atr_stop = stop_atr(tree, ctx, "stop_loss")
    atr_trail = stop_atr(tree, ctx, "trailing")
    for atr in (atr_stop, atr_trail):
        if atr is not None:
            block |= np.isnan(atr)

    start_ns = utc_ns(pd.Series([start if start is not None else candles["date"].iloc[0]]))[0]
    active = ctx.close_ns > start_ns
    candidate = entry_true & ~block & active
    expired = np.zeros(n, dtype=bool)
    if tree.expiry is not None:
        deadline = start_ns + np.int64(tree.expiry.total_seconds() * 10**9)
        in_time = candidate & (ctx.close_ns <= deadline)
        if not in_time.any():
            expired = ctx.close_ns > deadline
    enter = candidate & ~expired

    frame = pd.DataFrame({"date": candles["date"]}, index=index)
    frame["entry_signal"] = entry_true
    frame["filter_block"] = block
    frame["expired"] = expired
    frame["enter_long"] = enter
    frame["exit_long"] = exit_true
    position = simulate(tree, candles, ctx.close_ns, enter, exit_true, block | expired | ~active,
                         atr_stop, atr_trail)
    for column, values in position.items():
        frame[column] = values
    series = pd.DataFrame({key: values for key, values in ctx.values.items()}, index=index)
    logger.debug("%s on %d %s candles of %s: %d entry signals, %d entries, %d actions", tree.name,
                 n, tree.timeframe, pair, int(entry_true.sum()), int(enter.sum()),
                 int((frame["action"] != "").sum()))
    return Signals(frame=frame, conditions=pd.DataFrame(conditions, index=index), series=series,
                   pair=pair)


def stop_atr(tree: StrategyTree, ctx: SeriesContext, which: str) -> np.ndarray | None:
    stop = getattr(tree.risk, which)
    if stop is None or stop.type != "atr":
        return None
    return ctx.series(Series("ATR", None, stop.atr_timeframe, None, (stop.atr_period,)))


