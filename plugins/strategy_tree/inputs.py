"""The interpreter's inputs: candles checked, higher timeframes resampled causally, alternative
data read from the cache and merged point-in-time, and every series a tree reads computed at each
candle's close (:class:`SeriesContext`).

Time: a candle row is labelled with its open time ``date`` and known at its close
(``date + timeframe``). A value at candle ``t`` uses only data known at that close: candles
``<= t``; higher-timeframe candles only once complete (:func:`resample_causal`); alt-data
observations only once published (``available_at`` <= close,
``plugins.altdata.merge.merge_point_in_time``); calendar distances at the close. The rules
themselves are the interpreter's (``interpreter``); the generated strategies compute their
series through the same :class:`SeriesContext` (``compilers.runtime``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from plugins.altdata.calendar import EventCalendar
from plugins.altdata.contract import AVAILABLE_AT, OBSERVED_AT
from plugins.altdata.merge import merge_point_in_time
from plugins.strategy_tree.errors import TreeEvaluationError
from plugins.strategy_tree.grammar import Series
from plugins.strategy_tree.registry import OHLCV, compute_indicator
from plugins.strategy_tree.schema import StrategyTree
from plugins.strategy_tree.units import timeframe_delta

#: Weeks start on Monday; 1970-01-01 was a Thursday (ns).
WEEK_OFFSET = np.int64(4 * 86_400 * 10**9)


def utc_ns(values: pd.Series) -> np.ndarray:
    """UTC times as int64 nanoseconds since the epoch."""
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
    ns = utc_ns(dates)
    if len(ns) > 1 and not (np.diff(ns) > 0).all():
        raise TreeEvaluationError(f"{what}: date must be strictly increasing (sorted, no "
                                  "duplicates); sort and de-duplicate the candles")
    step = np.int64(timeframe_delta(timeframe) // timedelta(microseconds=1)) * 1000
    offset = WEEK_OFFSET if timeframe == "1w" else 0
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
    ns = utc_ns(candles["date"])
    step = np.int64(timeframe_delta(timeframe).total_seconds() * 10**9)
    offset = WEEK_OFFSET if timeframe == "1w" else np.int64(0)
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


class SeriesContext:
    """Everything one evaluation reads, and the series computed so far (by canonical text):
    :meth:`series` is the value of a series at each candle's close, as the tree sees it."""

    def __init__(self, tree: StrategyTree, candles: pd.DataFrame, altdata: pd.DataFrame | None,
                 pair: str, informative: dict[str, pd.DataFrame], calendar: EventCalendar | None):
        self.tree = tree
        self.candles = candles
        self.altdata = altdata
        self.pair = pair
        self.informative = informative
        self.calendar = calendar
        self.timeframe = tree.timeframe
        self.close_ns = utc_ns(candles["date"]) + np.int64(
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
            return frame, utc_ns(frame["date"]) + np.int64(
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
    micros = -(-utc_ns(rows[AVAILABLE_AT]) // 1000)
    avail = pd.Series(micros.astype("float64"), index=index)
    known = avail.rolling(pd.Timedelta(window), closed="right").max().to_numpy().astype("int64")
    frame = pd.DataFrame({column: out.to_numpy()}, index=index)
    frame[AVAILABLE_AT] = pd.to_datetime(known * 1000, utc=True)
    return frame
