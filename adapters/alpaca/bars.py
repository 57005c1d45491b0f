"""Bars: timeframes, where historical bars come from (Alpaca REST or files), and the live
aggregation of stream minute bars into bars of the strategy's timeframe.

Time convention (the whole adapter): a bar is *labelled* by its start, as Alpaca does
(``t``; a daily bar starts at 00:00 New York time of its session, 04:00/05:00 UTC), and is
*acted on at its close* (``end``): the session close from the NYSE calendar for daily bars
(16:00 ET, 13:00 ET on early closes), ``start + timeframe`` capped at the session close for
intraday bars (bars outside regular hours keep their nominal end). The feed delivers a bar only
once it has closed; it stamps daily bars with their session close (backtrader's convention for
daily data) and intraday bars with their start (the candle convention the strategy-tree
runtime floors stamps to), both naive UTC; ``AlpacaData.bar_end`` gives the close of either.

Frames returned by the sources: ``start``, ``end`` (datetime64[ns, UTC]), ``open``, ``high``,
``low``, ``close``, ``volume`` (float64; USD and shares), ``trade_count``, ``vwap`` (float64,
NaN where unknown), sorted by ``start``, one row per bar.

Corporate actions: Alpaca adjusts historical bars for splits and/or dividends on request
(``adjustment``: raw | split | dividend | all). A backtest on adjusted bars sees no price jump
at a split or ex-dividend date; position sizes stay consistent because fills use the same
adjusted prices. Live positions are adjusted by Alpaca itself (a split changes ``qty`` and
``avg_entry_price``); reconciliation sees that as a change of broker quantity. The shipped
Alpaca-style files are already adjusted (``../shared/data/MANIFEST.md`` section 5).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import backtrader as bt
import numpy as np
import pandas as pd
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from adapters.alpaca.nyse import MarketCalendar
from adapters.alpaca.parsing import BarRecord
from plugins.core.errors import DataNotFoundError

logger = logging.getLogger(__name__)

NEW_YORK = "America/New_York"
COLUMNS = ("start", "end", "open", "high", "low", "close", "volume", "trade_count", "vwap")
_UNITS = {"m": ("Min", timedelta(minutes=1)), "h": ("Hour", timedelta(hours=1)),
          "d": ("Day", timedelta(days=1)), "w": ("Week", timedelta(weeks=1))}
#: Timeframes Alpaca serves natively (``/v2/stocks/bars``) that this adapter reads as such;
#: others are built from one of these with ``cerebro.resampledata`` (see ``feed_plan``).
_NATIVE_MAX = {"Min": 59, "Hour": 23, "Day": 1}
_SUFFIX = {unit: suffix for suffix, (unit, _) in _UNITS.items()}


@dataclass(frozen=True)
class BarTimeframe:
    """A bar length: ``amount`` x ``unit`` (``Min``, ``Hour``, ``Day``, ``Week``)."""

    amount: int
    unit: str

    @classmethod
    def parse(cls, text: str) -> BarTimeframe:
        """``"1m"``, ``"15m"``, ``"1h"``, ``"4h"``, ``"1d"``/``"1D"``, ``"1w"`` -> timeframe.

        Raises:
            ValueError: not ``<number><m|h|d|w>``.
        """
        raw = text.strip()
        unit = raw[-1:].lower()
        if unit not in _UNITS or not raw[:-1].isdigit() or int(raw[:-1]) < 1:
            raise ValueError(f"timeframe {text!r} is not <number><m|h|d|w>, e.g. 1m, 1h, 1d")
        return cls(int(raw[:-1]), _UNITS[unit][0])

    @property
    def label(self) -> str:
        """Canonical text (``1d``), as the strategy-tree schema writes it."""
        return f"{self.amount}{_SUFFIX[self.unit]}"

    @property
    def delta(self) -> timedelta:
        """Nominal length (a day is 24 h; sessions are shorter, see ``bar_ends``)."""
        return self.amount * next(d for u, d in _UNITS.values() if u == self.unit)

    @property
    def intraday(self) -> bool:
        return self.unit in ("Min", "Hour")

    def alpaca(self) -> TimeFrame:
        """The alpaca-py ``TimeFrame`` (``1Day``, ``15Min``...)."""
        return TimeFrame(self.amount, TimeFrameUnit(self.unit))

    def backtrader(self) -> tuple[int, int]:
        """(``bt.TimeFrame`` constant, compression) for a feed or ``resampledata``."""
        if self.unit == "Min":
            return bt.TimeFrame.Minutes, self.amount
        if self.unit == "Hour":
            return bt.TimeFrame.Minutes, 60 * self.amount
        if self.unit == "Day":
            return bt.TimeFrame.Days, self.amount
        return bt.TimeFrame.Weeks, self.amount


def feed_plan(timeframe: BarTimeframe) -> tuple[BarTimeframe, BarTimeframe | None]:
    """(timeframe to fetch, timeframe to resample to or None). Alpaca's native minute, hour
    and 1-day bars are fetched as such; multi-day and weekly bars are resampled from daily
    bars by ``cerebro.resampledata`` (sessions, not calendar days, make them up)."""
    if timeframe.amount <= _NATIVE_MAX.get(timeframe.unit, 0):
        return timeframe, None
    return BarTimeframe(1, "Day"), timeframe


def bar_ends(starts: pd.Series, timeframe: BarTimeframe, calendar: MarketCalendar) -> pd.Series:
    """When each bar closes (datetime64[ns, UTC]), from its start (see the module docstring).

    Raises:
        DataNotFoundError: a daily bar's date is not a session (wrong calendar or bad data).
    """
    starts = pd.to_datetime(starts, utc=True)
    if timeframe.unit == "Day":
        days = starts.dt.tz_convert(NEW_YORK).dt.tz_localize(None).dt.normalize()
        ends = calendar.session_closes(days)
        if ends.isna().any():
            bad = days[ends.isna()].dt.date.tolist()[:5]
            raise DataNotFoundError(f"daily bars on days that are not {calendar.code} sessions: "
                                    f"{bad}; check the data or the exchange_calendar setting")
        return ends.astype("datetime64[ns, UTC]")
    nominal = starts + pd.Timedelta(timeframe.delta)
    days = starts.dt.tz_convert(NEW_YORK).dt.tz_localize(None).dt.normalize()
    closes = calendar.session_closes(days)
    inside = closes.notna() & (starts < closes) & (closes < nominal)  # a bar reaching the close
    capped = np.where(inside, closes, nominal)
    return pd.Series(pd.to_datetime(capped, utc=True), index=starts.index)


def records_frame(records: list[BarRecord], timeframe: BarTimeframe,
                  calendar: MarketCalendar) -> pd.DataFrame:
    """``BarRecord``s -> a bar frame (``COLUMNS``), sorted, duplicates (same start) dropped."""
    frame = pd.DataFrame([{"start": r.start, "open": r.open, "high": r.high, "low": r.low,
                           "close": r.close, "volume": r.volume,
                           "trade_count": np.nan if r.trade_count is None else r.trade_count,
                           "vwap": np.nan if r.vwap is None else r.vwap} for r in records],
                         columns=[c for c in COLUMNS if c != "end"])
    return _finish(frame, timeframe, calendar)


def _finish(frame: pd.DataFrame, timeframe: BarTimeframe, calendar: MarketCalendar) -> pd.DataFrame:
    frame = frame.copy()
    frame["start"] = pd.to_datetime(frame["start"], utc=True).astype("datetime64[ns, UTC]")
    frame = frame.sort_values("start", kind="stable").drop_duplicates("start", keep="last")
    for column in ("open", "high", "low", "close", "volume", "trade_count", "vwap"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["end"] = bar_ends(frame["start"], timeframe, calendar) if len(frame) else frame["start"]
    return frame[list(COLUMNS)].reset_index(drop=True)


class BarSource(Protocol):
    """Where historical bars come from. Empty frame = no bars in the range; missing data
    sources raise ``DataNotFoundError``; infrastructure failures raise ``AlpacaError``."""

    def bars(self, symbol: str, timeframe: BarTimeframe, start: datetime,
             end: datetime | None) -> pd.DataFrame: ...


class FileBarSource:
    """Daily bars from files, Alpaca's export layout first.

    ``<folder>/<SYMBOL>_1Day.csv.gz`` (or ``.csv``): ``Date,symbol,Open,High,Low,Close,Volume,
    Trades,VWAP`` with ``Date`` the bar start in UTC (``2021-02-18 05:00:00+00:00``), as in
    ``../shared/data/equities/alpaca_style_daily_2021_2026``. Also read: the Yahoo layout
    ``<folder>/<SYMBOL>.csv.gz`` (``Date,Close,High,Low,Open,Volume``, ``Date`` = session date).
    Bars are as exported (the shipped files are split/dividend adjusted); ``adjustment`` does
    not apply to files.

    Args:
        folder: the folder holding the files.
        calendar: the trading calendar (bar close times; rows on non-sessions are dropped
            with a warning).
    """

    def __init__(self, folder: Path, calendar: MarketCalendar) -> None:
        self.folder = Path(folder)
        self.calendar = calendar

    def path_for(self, symbol: str) -> Path:
        """The file of ``symbol``.

        Raises:
            DataNotFoundError: no file for it (the message lists what the folder holds).
        """
        for name in (f"{symbol}_1Day.csv.gz", f"{symbol}_1Day.csv", f"{symbol}.csv.gz", f"{symbol}.csv"):
            if (self.folder / name).is_file():
                return self.folder / name
        held = sorted(p.name for p in self.folder.glob("*.csv*")) if self.folder.is_dir() else []
        raise DataNotFoundError(f"No daily bar file for {symbol} in {self.folder} (expected "
                                f"{symbol}_1Day.csv.gz; found: {', '.join(held) or 'nothing'})")

    def bars(self, symbol: str, timeframe: BarTimeframe, start: datetime,
             end: datetime | None) -> pd.DataFrame:
        """Bars of ``symbol`` with ``start <= bar start < end`` (see ``BarSource``).

        Raises:
            DataNotFoundError: no file, or a timeframe other than 1 day.
        """
        if timeframe != BarTimeframe(1, "Day"):
            raise DataNotFoundError(f"{self.folder} holds daily bars only; use timeframe 1d (other "
                                    "timeframes are resampled from it) or the Alpaca REST source")
        raw = pd.read_csv(self.path_for(symbol))
        columns = {c.lower(): c for c in raw.columns}
        if "date" not in columns:
            raise DataNotFoundError(f"{self.path_for(symbol)} has no Date column")
        dates = pd.to_datetime(raw[columns["date"]], utc=False)
        if getattr(dates.dt, "tz", None) is None:  # Yahoo layout: session dates
            starts = dates.dt.normalize().dt.tz_localize(NEW_YORK).dt.tz_convert("UTC")
        else:
            starts = dates.dt.tz_convert("UTC")
        frame = pd.DataFrame({
            "start": starts,
            **{k: raw[columns[k]] for k in ("open", "high", "low", "close", "volume")},
            "trade_count": raw[columns["trades"]] if "trades" in columns else np.nan,
            "vwap": raw[columns["vwap"]] if "vwap" in columns else np.nan})
        days = frame["start"].dt.tz_convert(NEW_YORK).dt.tz_localize(None).dt.normalize()
        bad = self.calendar.non_sessions(days)
        if bad:
            logger.warning("%s: dropping %d rows on non-sessions (%s...)", symbol, len(bad), bad[:3])
            frame = frame[~days.dt.date.isin(bad)]
        frame = frame[frame["start"] >= pd.Timestamp(start)]
        if end is not None:
            frame = frame[frame["start"] < pd.Timestamp(end)]
        return _finish(frame, timeframe, self.calendar)


def interpreter_candles(frame: pd.DataFrame, timeframe: BarTimeframe) -> pd.DataFrame:
    """A bar frame in the strategy-tree interpreter's candle format: ``date`` (UTC, on the
    timeframe's boundaries: a daily bar is dated 00:00 UTC of its session), ``open high low
    close volume``. Used to compare a backtrader run with the interpreter on the same bars."""
    if timeframe.unit == "Day":
        dates = frame["start"].dt.tz_convert(NEW_YORK).dt.tz_localize(None).dt.normalize()
        dates = dates.dt.tz_localize("UTC")
    else:
        dates = frame["start"]
    out = frame[["open", "high", "low", "close", "volume"]].copy()
    out.insert(0, "date", dates.astype("datetime64[ns, UTC]"))
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class FeedBar:
    """A completed bar as the feed delivers it: ``end`` (UTC) is when it closed."""

    start: datetime
    end: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


class BarAggregator:
    """Stream minute bars -> completed bars of ``timeframe``.

    Intraday buckets are aligned on the epoch in UTC (as Alpaca's own bars) and end at
    ``min(bucket start + timeframe, session close)``; daily buckets are sessions and end at the
    session close. A bucket is emitted when a minute bar reaching its end arrives, when a bar
    of a later bucket arrives, or by ``flush_due`` once its end has passed (a quiet symbol).
    Minute bars older than the last emitted bucket are ignored (a replay after reconnect).
    """

    def __init__(self, timeframe: BarTimeframe, calendar: MarketCalendar) -> None:
        if not (timeframe.intraday or timeframe == BarTimeframe(1, "Day")):
            raise ValueError(f"live bars aggregate up to 1d, not {timeframe.label}; resample")
        self.timeframe = timeframe
        self.calendar = calendar
        self._bucket: tuple[datetime, datetime] | None = None  # (start, end)
        self._ohlcv: list[float] = []
        self._last_end: datetime | None = None

    def _bucket_of(self, start: datetime) -> tuple[datetime, datetime]:
        if self.timeframe.unit == "Day":
            day = pd.Timestamp(start).tz_convert(NEW_YORK).date()
            open_ny = pd.Timestamp(day).tz_localize(NEW_YORK).tz_convert("UTC").to_pydatetime()
            return open_ny, self.calendar.session_close(day)
        step = self.timeframe.delta
        epoch = pd.Timestamp(0, tz="UTC").to_pydatetime()
        bucket_start = epoch + ((start - epoch) // step) * step
        nominal_end = bucket_start + step
        day = pd.Timestamp(start).tz_convert(NEW_YORK).date()
        if self.calendar.is_session(day):
            close = self.calendar.session_close(day)
            if bucket_start < close < nominal_end:
                return bucket_start, close
        return bucket_start, nominal_end

    def _emit(self) -> FeedBar:
        assert self._bucket is not None
        o, h, low, c, v = self._ohlcv
        bar = FeedBar(self._bucket[0], self._bucket[1], o, h, low, c, v)
        self._last_end = self._bucket[1]
        self._bucket, self._ohlcv = None, []
        return bar

    def add(self, bar: BarRecord) -> list[FeedBar]:
        """Take one minute bar; returns the bars it completes (0, 1 or 2)."""
        if self._last_end is not None and bar.start < self._last_end:
            return []
        out: list[FeedBar] = []
        bucket = self._bucket_of(bar.start)
        if self._bucket is not None and bucket[0] != self._bucket[0]:
            out.append(self._emit())
        if self._bucket is None:
            self._bucket = bucket
            self._ohlcv = [bar.open, bar.high, bar.low, bar.close, bar.volume]
        else:
            o, h, low, _, v = self._ohlcv
            self._ohlcv = [o, max(h, bar.high), min(low, bar.low), bar.close, v + bar.volume]
        if bar.start + timedelta(minutes=1) >= self._bucket[1]:
            out.append(self._emit())
        return out

    def flush_due(self, now: datetime, grace: timedelta = timedelta(seconds=5)) -> list[FeedBar]:
        """Emit the open bucket when ``now`` is past its end + ``grace``."""
        if self._bucket is not None and now >= self._bucket[1] + grace:
            return [self._emit()]
        return []
