"""The reference interpreter: a tree + candles (+ alt data) -> per-candle signals and targets.

It is the specification compilers are tested against, so every rule is spelled out here.

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
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from plugins.altdata.calendar import EventCalendar
from plugins.altdata.contract import AVAILABLE_AT, OBSERVED_AT
from plugins.altdata.merge import merge_point_in_time
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
from plugins.strategy_tree.registry import LABEL, OHLCV, compute_indicator
from plugins.strategy_tree.schema import (
    CalendarFilter,
    ConditionFilter,
    RequireFilter,
    StrategyTree,
    TakeProfit,
)
from plugins.strategy_tree.units import timeframe_delta

logger = logging.getLogger(__name__)

SIGNAL_COLUMNS = ("entry_signal", "filter_block", "expired", "enter_long", "exit_long")
POSITION_COLUMNS = ("batches", "target_exposure", "avg_entry_price", "stop_price",
                    "take_profit_price", "action")
_WEEK_OFFSET = np.int64(4 * 86_400 * 10**9)  # 1970-01-01 was a Thursday; weeks start Monday


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


# ---------------------------------------------------------------------------------- inputs
def _utc_ns(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]").to_numpy(
        dtype="datetime64[ns]").view("int64")


def check_candles(candles: pd.DataFrame, timeframe: str, what: str = "candles") -> None:
    """Check a candle frame: ``date`` UTC, strictly increasing, on ``timeframe`` boundaries,
    ``open high low close volume`` present.

    Raises:
        TreeEvaluationError: naming the problem and the fix.
    """
    missing = [c for c in ("date", *OHLCV) if c not in candles.columns]
    if missing:
        raise TreeEvaluationError(f"{what} lack column(s) {', '.join(missing)}; pass a Freqtrade "
                                  "candle frame (date, open, high, low, close, volume)")
    dates = candles["date"]
    if not isinstance(dates.dtype, pd.DatetimeTZDtype):
        raise TreeEvaluationError(f"{what}: date must be tz-aware UTC (got {dates.dtype}); "
                                  "use pd.to_datetime(..., utc=True)")
    if len(candles) == 0:
        raise TreeEvaluationError(f"{what} are empty; pass at least one candle")
    ns = _utc_ns(dates)
    if len(ns) > 1 and not (np.diff(ns) > 0).all():
        raise TreeEvaluationError(f"{what}: date must be strictly increasing (sorted, no "
                                  "duplicates); sort and de-duplicate the candles")
    step = np.int64(timeframe_delta(timeframe) // timedelta(microseconds=1)) * 1000
    offset = _WEEK_OFFSET if timeframe == "1w" else 0
    if ((ns - offset) % step != 0).any() or (len(ns) > 1 and np.diff(ns).min() < step):
        raise TreeEvaluationError(f"{what} are not {timeframe} candles (the tree's timeframe); "
                                  f"pass {timeframe} candles or change the tree's timeframe")


def resample_causal(candles: pd.DataFrame, timeframe: str, base_timeframe: str) -> pd.DataFrame:
    """``candles`` (of ``base_timeframe``) aggregated to complete ``timeframe`` candles.

    Buckets start on UTC boundaries of ``timeframe`` counted from the epoch (weeks on Monday,
    as Binance). A leading bucket the data starts inside of and a trailing one not yet closed
    at the last candle's close are dropped. Gaps inside a bucket are aggregated over the
    candles present.

    Returns:
        ``date`` (bucket open, UTC), ``open`` (first), ``high`` (max), ``low`` (min), ``close``
        (last), ``volume`` (sum), and ``close_time`` (int64 ns: date + timeframe).
    """
    ns = _utc_ns(candles["date"])
    step = np.int64(timeframe_delta(timeframe).total_seconds() * 10**9)
    offset = _WEEK_OFFSET if timeframe == "1w" else np.int64(0)
    bucket = (ns - offset) // step * step + offset
    frame = pd.DataFrame({c: candles[c].to_numpy(dtype="float64") for c in OHLCV})
    frame["bucket"] = bucket
    out = frame.groupby("bucket", sort=True).agg(open=("open", "first"), high=("high", "max"),
                                                 low=("low", "min"), close=("close", "last"),
                                                 volume=("volume", "sum"))
    starts = out.index.to_numpy(dtype="int64")
    keep = np.ones(len(out), dtype=bool)
    if len(out) and ns[0] > starts[0]:
        keep[0] = False
    base_step = np.int64(timeframe_delta(base_timeframe).total_seconds() * 10**9)
    if len(out) and ns[-1] + base_step < starts[-1] + step:
        keep[-1] = False
    out = out[keep]
    result = out.reset_index(drop=True)
    result.insert(0, "date", pd.to_datetime(out.index.to_numpy(dtype="int64"), utc=True))
    result["close_time"] = out.index.to_numpy(dtype="int64") + step
    return result


def _align(close_time: np.ndarray, values: np.ndarray, target_close: np.ndarray) -> np.ndarray:
    """``values`` (labelled by their ``close_time``) as known at each ``target_close``: the
    latest one with close_time <= target close (NaN before the first)."""
    idx = np.searchsorted(close_time, target_close, side="right") - 1
    out = np.full(len(target_close), np.nan)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


def altdata_frame(cache_dir: Path | str, providers: list[str] | None = None) -> pd.DataFrame:
    """The alternative-data frame the interpreter reads, from an ``AltDataCache`` folder.

    Args:
        cache_dir: the alt-data cache (``user_data/altdata``; tests: the ``altdata_cache``
            fixture).
        providers: provider names to include (default: every default-config provider cached).

    Returns:
        Rows of every provider stacked: index ``observed_at`` (UTC; repeats across providers),
        value columns ``<provider>_<column>`` (float64, NaN in other providers' rows; e.g.
        ``coinmetrics_netflow_btc``, ``fear_greed_fng_value``, ``fred_dgs10_value``,
        ``dxy_dxy``) and ``available_at`` (UTC). Add other series (e.g. ``btc_dominance``) as
        further rows with their own ``available_at``.
    """
    from plugins.altdata.cache import AltDataCache
    from plugins.altdata.config import AltDataConfig
    from plugins.altdata.registry import build_providers

    config = AltDataConfig(cache_dir=Path(cache_dir))
    cache = AltDataCache(config.cache_dir)
    parts = []
    for provider in build_providers(config):
        if providers is not None and provider.name not in providers:
            continue
        frame = cache.read(provider)
        if frame is None:
            continue
        renamed = frame.rename(columns={c: f"{provider.name}_{c}" for c in frame.columns
                                        if c != AVAILABLE_AT})
        parts.append(renamed)
    if not parts:
        raise TreeEvaluationError(f"No alt-data cached in {cache_dir}; run `python -m "
                                  "plugins.altdata import-shared` or `download`")
    out = pd.concat(parts, axis=0)
    out.index.name = OBSERVED_AT
    return out


# --------------------------------------------------------------------------------- context
class _Context:
    """Everything one evaluation reads, and the series computed so far (by canonical text)."""

    def __init__(self, tree: StrategyTree, candles: pd.DataFrame, altdata: pd.DataFrame | None,
                 pair: str, informative: dict[str, pd.DataFrame], calendar: EventCalendar | None):
        self.tree = tree
        self.candles = candles
        self.altdata = altdata
        self.pair = pair
        self.informative = informative
        self.calendar = calendar
        self.timeframe = tree.timeframe
        self.close_ns = _utc_ns(candles["date"]) + np.int64(
            timeframe_delta(tree.timeframe).total_seconds() * 10**9)
        self.close = pd.Series(pd.to_datetime(self.close_ns, utc=True), index=candles.index)
        self.values: dict[str, np.ndarray] = {}
        self._resampled: dict[tuple[str, str], pd.DataFrame] = {}

    # -- market data
    def source(self, asset: str | None, needed_by: str) -> tuple[str, pd.DataFrame]:
        base = self.pair.split("/")[0]
        if asset is None or asset in (self.pair, base):
            return self.pair, self.candles
        for key, frame in self.informative.items():
            if key.upper() == asset or key.upper().split("/")[0] == asset.split("/")[0]:
                check_candles(frame, self.timeframe, f"informative candles {key}")
                return key.upper(), frame
        example = asset if "/" in asset else f"{asset}/USDT"
        raise TreeEvaluationError(f"{needed_by} reads {asset} candles but the tree is evaluated "
                                  f"on {self.pair}; pass informative={{'{example}': candles}} "
                                  f"({self.timeframe} candles of {asset})")

    def bars(self, asset: str | None, timeframe: str | None, needed_by: str) -> tuple[
            pd.DataFrame, np.ndarray | None]:
        """Candles of ``asset`` on ``timeframe`` and their close times (None = the evaluated
        candles themselves, row for row)."""
        key, frame = self.source(asset, needed_by)
        tf = timeframe or self.timeframe
        if tf == self.timeframe:
            if frame is self.candles:
                return frame, None
            return frame, _utc_ns(frame["date"]) + np.int64(
                timeframe_delta(tf).total_seconds() * 10**9)
        if (key, tf) not in self._resampled:
            self._resampled[(key, tf)] = resample_causal(frame, tf, self.timeframe)
        bars = self._resampled[(key, tf)]
        return bars, bars["close_time"].to_numpy(dtype="int64")

    def market(self, series: Series, values_of) -> np.ndarray:
        bars, close_time = self.bars(series.asset, series.timeframe, series.render())
        values = values_of(bars)
        if close_time is None:
            return values
        return _align(close_time, values, self.close_ns)

    # -- series
    def series(self, s: Series) -> np.ndarray:
        key = s.render()
        if key not in self.values:
            self.values[key] = self._compute(s)
        return self.values[key]

    def _compute(self, s: Series) -> np.ndarray:
        spec = s.spec
        if spec.kind == "ohlcv":
            return self.market(s, lambda bars: bars[spec.column].to_numpy(dtype="float64"))
        if spec.kind == "indicator":
            return self.market(s, lambda bars: compute_indicator(spec, bars, s.params))
        if spec.kind == "altdata":
            return self._altdata(s)
        if spec.kind == "calendar":
            calendar = self.need_calendar(s.render())
            fn = (calendar.minutes_to_next_event if spec.direction == "to"
                  else calendar.minutes_since_last_event)
            return (fn(self.close, spec.events) / 60).to_numpy(dtype="float64")
        if spec.kind == "regime":
            if "regime" not in self.candles.columns:
                raise TreeEvaluationError(f"{s.render()} needs a 'regime' column in the candles "
                                          "(the regime name per candle, causal, e.g. from "
                                          "plugins.regime); add it before evaluating")
            return self.candles["regime"].to_numpy(dtype=object)
        raise TreeEvaluationError(f"series kind {spec.kind!r} of {s.render()} is not supported")

    def need_calendar(self, needed_by: str) -> EventCalendar:
        if self.calendar is None:
            raise TreeEvaluationError(f"{needed_by} needs the FOMC/CPI calendar; pass calendar="
                                      "EventCalendar.from_dir(<altdata cache>/calendar)")
        return self.calendar

    def _altdata(self, s: Series) -> np.ndarray:
        spec = s.spec
        column = spec.column or ""
        if self.altdata is None or column not in self.altdata.columns:
            raise TreeEvaluationError(
                f"{s.render()} needs alt-data column {column!r}"
                + (f" ({spec.notes})" if spec.notes else "")
                + "; pass altdata=altdata_frame(<altdata cache dir>) (columns "
                  "<provider>_<column> and available_at)")
        if AVAILABLE_AT not in self.altdata.columns:
            raise TreeEvaluationError("the alt-data frame has no available_at column; build it "
                                      "with altdata_frame() or add each row's publication time")
        rows = self.altdata.loc[self.altdata[column].notna(), [column, AVAILABLE_AT]]
        rows = rows.sort_index(kind="stable")
        if not rows.index.is_unique:
            raise TreeEvaluationError(f"alt-data column {column!r} has duplicated observed_at "
                                      "times; keep one row per observation")
        if s.window is not None and len(rows):
            rows = _window(rows, column, s.window, spec.period, spec.agg)
        merged = merge_point_in_time(self.candles[["date"]], rows, timeframe=self.timeframe,
                                     prefix="v", max_staleness=pd.Timedelta(spec.max_staleness),
                                     columns=[column])
        return merged[f"v_{column}"].to_numpy(dtype="float64")


def _window(rows: pd.DataFrame, column: str, window: timedelta, period: timedelta,
            agg: str) -> pd.DataFrame:
    """Aggregate each observation with those in the ``window`` ending at it (observed_at in
    ``(t - window, t]``). ``sum`` needs every one of the ``window / period`` observations
    (NaN otherwise); ``mean`` averages those present. The aggregate is known when its latest
    part is (``available_at`` = the window's max)."""
    index = pd.DatetimeIndex(rows.index)
    values = pd.Series(rows[column].to_numpy(dtype="float64"), index=index)
    roll = values.rolling(pd.Timedelta(window), closed="right")
    if agg == "sum":
        need = round(window / period)
        out = roll.sum().where(roll.count() >= need)
    else:
        out = roll.mean()
    # microseconds (rounded up) are exact in float64; nanoseconds are not
    micros = -(-_utc_ns(rows[AVAILABLE_AT]) // 1000)
    avail = pd.Series(micros.astype("float64"), index=index)
    known = avail.rolling(pd.Timedelta(window), closed="right").max().to_numpy().astype("int64")
    frame = pd.DataFrame({column: out.to_numpy()}, index=index)
    frame[AVAILABLE_AT] = pd.to_datetime(known * 1000, utc=True)
    return frame


# ------------------------------------------------------------------------------ conditions
def _truth(node: Node, ctx: _Context) -> tuple[np.ndarray, np.ndarray]:
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
            result = _OPS[node.op](a, b)
        return result & known, ~result & known
    if isinstance(node, Cross):
        a, b = _operands(node.left, node.right, ctx)
        a_prev, b_prev = _shift(a), _shift(b)
        known = ~(np.isnan(a) | np.isnan(b) | np.isnan(a_prev) | np.isnan(b_prev))
        with np.errstate(invalid="ignore"):
            if node.direction == "above":
                result = (a > b) & (a_prev <= b_prev)
            else:
                result = (a < b) & (a_prev >= b_prev)
        return result & known, ~result & known
    raise TreeEvaluationError(f"cannot evaluate {node.render()}")


_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
        "==": np.equal, "!=": np.not_equal}


def _is_label(node: Compare) -> bool:
    return any(isinstance(x, String) or (isinstance(x, Series) and x.spec.unit == LABEL)
               for x in (node.left, node.right))


def _shift(values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    out[0] = np.nan
    out[1:] = values[:-1]
    return out


def _operands(left: Node, right: Node, ctx: _Context) -> tuple[np.ndarray, np.ndarray]:
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
    ctx = _Context(tree, candles, altdata, pair, informative or {}, calendar)
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
    atr_stop = _stop_atr(tree, ctx, "stop_loss")
    atr_trail = _stop_atr(tree, ctx, "trailing")
    for atr in (atr_stop, atr_trail):
        if atr is not None:
            block |= np.isnan(atr)

    start_ns = _utc_ns(pd.Series([start if start is not None else candles["date"].iloc[0]]))[0]
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
    position = _simulate(tree, candles, ctx.close_ns, enter, exit_true, block | expired | ~active,
                         atr_stop, atr_trail)
    for column, values in position.items():
        frame[column] = values
    series = pd.DataFrame({key: values for key, values in ctx.values.items()}, index=index)
    logger.debug("%s on %d %s candles of %s: %d entry signals, %d entries, %d actions", tree.name,
                 n, tree.timeframe, pair, int(entry_true.sum()), int(enter.sum()),
                 int((frame["action"] != "").sum()))
    return Signals(frame=frame, conditions=pd.DataFrame(conditions, index=index), series=series,
                   pair=pair)


def _stop_atr(tree: StrategyTree, ctx: _Context, which: str) -> np.ndarray | None:
    stop = getattr(tree.risk, which)
    if stop is None or stop.type != "atr":
        return None
    return ctx.series(Series("ATR", None, stop.atr_timeframe, None, (stop.atr_period,)))


# ---------------------------------------------------------------------------- position
@dataclass
class _Book:
    """Open-position state of the sequential pass."""

    fills: list[tuple[float, float]]  # (price, size)
    last_add_ns: int
    atr: float
    trail_atr: float
    highest: float
    closed: float = 0.0  # fraction of the peak closed by take profits
    tp_next: int = 0

    @property
    def size(self) -> float:
        return sum(size for _, size in self.fills)

    @property
    def avg(self) -> float:
        return sum(p * s for p, s in self.fills) / self.size


def _simulate(tree: StrategyTree, candles: pd.DataFrame, close_ns: np.ndarray, enter: np.ndarray,
              exit_signal: np.ndarray, no_schedule: np.ndarray, atr: np.ndarray | None,
              trail_atr: np.ndarray | None) -> dict[str, np.ndarray]:
    o, h, low, c = (candles[k].to_numpy(dtype="float64") for k in ("open", "high", "low", "close"))
    pos = tree.position
    stop_cfg, trail_cfg = tree.risk.stop_loss, tree.risk.trailing
    stages: tuple[TakeProfit, ...] = tree.take_profit
    interval_ns = int(pos.interval.total_seconds() * 10**9) if pos.interval is not None else 0
    n = len(c)
    batches = np.zeros(n, dtype="int64")
    exposure = np.zeros(n)
    avg_price = np.full(n, np.nan)
    stop_price = np.full(n, np.nan)
    tp_price = np.full(n, np.nan)
    actions = np.full(n, "", dtype=object)
    book: _Book | None = None

    def levels(b: _Book) -> tuple[float, float, bool, float]:
        """(fixed stop, trailing stop, trailing is the binding one, next take-profit price)."""
        ref = {"average_entry_price": b.avg, "first_entry_price": b.fills[0][0],
               "last_entry_price": b.fills[-1][0]}[stop_cfg.reference]
        fixed = (ref * (1 - stop_cfg.value) if stop_cfg.type == "percentage"
                 else ref - stop_cfg.value * b.atr)
        trail = -np.inf
        if trail_cfg is not None and b.highest >= b.avg * (1 + trail_cfg.activate_at):
            trail = (b.highest * (1 - trail_cfg.value) if trail_cfg.type == "percentage"
                     else b.highest - trail_cfg.value * b.trail_atr)
        tp = b.avg * (1 + stages[b.tp_next].level) if b.tp_next < len(stages) else np.nan
        return fixed, trail, trail > fixed, tp

    for t in range(n):
        done: list[str] = []
        if book is not None:
            fixed, trail, trailing, _ = levels(book)
            stop = max(fixed, trail)
            if low[t] <= stop:
                done.append("trailing_stop" if trailing else "stop_loss")
                book = None
            else:
                while book.tp_next < len(stages):
                    target = book.avg * (1 + stages[book.tp_next].level)
                    if h[t] < target:
                        break
                    fraction = stages[book.tp_next].action
                    book.closed = 1.0 if fraction is None else min(1.0, book.closed + fraction)
                    book.tp_next += 1
                    done.append(f"take_profit_{book.tp_next}")
                    if book.closed >= 1 - 1e-12:
                        book = None
                        break
                if book is not None:
                    book.highest = max(book.highest, h[t])
            if book is not None and exit_signal[t]:
                done.append("exit_signal")
                book = None
            if book is not None and book.tp_next == 0 and len(book.fills) < pos.batches and (
                    close_ns[t] - book.last_add_ns >= interval_ns) and (
                    enter[t] if pos.add_on == "signal" else not no_schedule[t]):
                book.fills.append((c[t], pos.size_per_batch))
                book.last_add_ns = int(close_ns[t])
                book.atr = atr[t] if atr is not None else np.nan
                book.trail_atr = trail_atr[t] if trail_atr is not None else np.nan
                done.append("add")
        elif enter[t]:
            book = _Book(fills=[(c[t], pos.size_per_batch)], last_add_ns=int(close_ns[t]),
                         atr=atr[t] if atr is not None else np.nan,
                         trail_atr=trail_atr[t] if trail_atr is not None else np.nan,
                         highest=c[t])
            done.append("enter")
        if book is not None:
            fixed, trail, _, tp = levels(book)
            batches[t] = len(book.fills)
            exposure[t] = min(book.size * (1 - book.closed), pos.max_total_exposure)
            avg_price[t] = book.avg
            stop_price[t] = max(fixed, trail)
            tp_price[t] = tp
        actions[t] = "+".join(done)
    return {"batches": batches, "target_exposure": exposure, "avg_entry_price": avg_price,
            "stop_price": stop_price, "take_profit_price": tp_price, "action": actions}
