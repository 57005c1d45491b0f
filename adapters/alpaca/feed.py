"""The data feed: historical bars (Alpaca REST with pagination and adjustment, or files), then
optionally live bars from the market-data stream through a queue.

``AlpacaData`` is a backtrader ``DataBase``. A bar is delivered only once it has closed; daily
bars are stamped with their session close, intraday bars with their start, naive UTC (``bars``
module docstring; a compiled strategy tree floors stamps to its timeframe, so both land on the
candle's date). ``bar_end`` turns a stamp into the bar's close: the time breakers, blackouts
and PDT sessions are judged at.

Live (``live=True``): history (``start`` .. now) is delivered first with status ``DELAYED``;
orders are not sent on those bars (``is_backfilling``; the Alpaca broker rejects them). Then
status ``LIVE``: minute bars from the stream are queued by the stream thread and aggregated on
backtrader's thread into bars of the feed's timeframe (``bars.BarAggregator``). After a
reconnect of the stream the missed minute bars are fetched over REST and aggregated the same
way (nothing is lost or doubled). ``_load`` returns None while waiting (backtrader keeps
running the broker for notifications), False at the end (``max_bars`` live bars, or
``finish()``).

Resampling: backtrader's ``cerebro.resampledata(feed, timeframe=..., compression=...)`` works
on this feed; ``runner`` uses it for timeframes Alpaca does not serve (``bars.feed_plan``).
"""

from __future__ import annotations

import logging
import queue
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import backtrader as bt
import pandas as pd

from adapters.alpaca.bars import NEW_YORK, BarAggregator, BarSource, BarTimeframe, FeedBar, records_frame
from adapters.alpaca.client import AlpacaRest
from adapters.alpaca.errors import AlpacaError
from adapters.alpaca.nyse import MarketCalendar
from adapters.alpaca.parsing import BarRecord

logger = logging.getLogger(__name__)
MINUTE = BarTimeframe(1, "Min")


class RestBarSource:
    """Historical bars from ``GET /v2/stocks/bars`` (every page), adjusted as configured.

    Args:
        rest: the REST client.
        calendar: for bar close times.
        adjustment: ``raw`` | ``split`` | ``dividend`` | ``all`` (None: the config's).
    """

    def __init__(self, rest: AlpacaRest, calendar: MarketCalendar, adjustment: str | None = None) -> None:
        self.rest = rest
        self.calendar = calendar
        self.adjustment = adjustment

    def bars(self, symbol: str, timeframe: BarTimeframe, start: datetime,
             end: datetime | None) -> pd.DataFrame:
        records = self.rest.bars([symbol], timeframe.alpaca(), start, end,
                                 adjustment=self.adjustment).get(symbol, [])
        return records_frame(records, timeframe, self.calendar)


class AlpacaData(bt.feed.DataBase):
    """Bars of one US equity (module docstring).

    Params (``AlpacaData(dataname="SPY", ...)``):
        dataname: the symbol.
        bar_timeframe: timeframe of the delivered bars (``1m`` .. ``1d``, see ``bars``).
        start / end: tz-aware UTC bounds of the history (bar starts; ``end`` None = up to now).
        live: continue with live bars from the stream after the history.
        max_bars: stop after this many live bars (0 = never).
        qcheck: seconds to wait for a live bar before letting backtrader loop (notifications).

    Keyword arguments: ``source`` (a ``bars.BarSource``), ``market_calendar``
    (``MarketCalendar``; backtrader's own ``calendar`` param is a different thing), ``store``
    (``AlpacaStore``, needed for live), ``clock`` (UTC now; default wall time).
    """

    params = (
        ("bar_timeframe", "1d"),
        ("start", None),
        ("end", None),
        ("live", False),
        ("max_bars", 0),
        ("qcheck", 0.5),
    )

    def __init__(self, source: BarSource, market_calendar: MarketCalendar, store=None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.source = source
        self.market_calendar = market_calendar
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))
        self.symbol = str(self.p.dataname)
        self.bar_tf = BarTimeframe.parse(self.p.bar_timeframe)
        self._timeframe, self._compression = self.bar_tf.backtrader()
        if self.p.live and store is None:
            raise ValueError("a live AlpacaData needs the store (AlpacaStore.getdata)")

    def islive(self) -> bool:
        return bool(self.p.live)

    def start(self) -> None:
        super().start()
        self._rows: deque[FeedBar] = deque()
        self._minutes: queue.Queue = queue.Queue()
        self._live_count = 0
        self._finished = False
        self._backfill_needed = False
        self.backfilling = bool(self.p.live)
        start = self.p.start or datetime(1990, 1, 1, tzinfo=UTC)
        frame = self.source.bars(self.symbol, self.bar_tf, start, self.p.end)
        for row in frame.itertuples(index=False):
            self._rows.append(FeedBar(row.start.to_pydatetime(), row.end.to_pydatetime(), row.open,
                                      row.high, row.low, row.close, row.volume))
        logger.info("%s: %d %s bars of history", self.symbol, len(self._rows), self.bar_tf.label)
        if not self.p.live:
            return
        self._aggregator = BarAggregator(self.bar_tf, self.market_calendar)
        self._last_minute = self._rows[-1].end - timedelta(minutes=1) if self._rows else start
        if self._rows:
            self._aggregator._last_end = self._rows[-1].end
        self.put_notification(self.DELAYED)
        self.store.subscribe_bars(self.symbol, self._minutes.put, self._reconnected)

    def stop(self) -> None:
        super().stop()
        if self.p.live and self.store is not None:
            self.store.stop_bars()

    def finish(self) -> None:
        """End a live feed (thread-safe): ``_load`` returns False next."""
        self._minutes.put(None)

    def haslivedata(self) -> bool:
        return bool(self._rows) or not self._minutes.empty()

    def is_backfilling(self) -> bool:
        """True while a live feed is still delivering history (no orders on those bars)."""
        return bool(self.p.live) and self.backfilling

    # --- stream thread -----------------------------------------------------------------------
    def _reconnected(self) -> None:
        self._backfill_needed = True

    # --- backtrader thread -------------------------------------------------------------------
    def _backfill(self) -> None:
        """Fetch the minute bars missed while the stream was away (REST), oldest first."""
        self._backfill_needed = False
        since = self._last_minute + timedelta(minutes=1)
        try:
            frame = self.source.bars(self.symbol, MINUTE, since, None)
        except AlpacaError as err:
            logger.warning("%s: backfill after reconnect failed (%s); retrying at the next bar",
                           self.symbol, err)
            self._backfill_needed = True
            return
        for row in frame.itertuples(index=False):
            self._take_minute(BarRecord(self.symbol, row.start.to_pydatetime(), row.open, row.high,
                                        row.low, row.close, row.volume))
        logger.info("%s: backfilled %d minute bars after reconnect", self.symbol, len(frame))

    def _take_minute(self, bar: BarRecord) -> None:
        if bar.start <= self._last_minute:
            return  # seen already (replayed after a reconnect)
        self._last_minute = bar.start
        self._rows.extend(self._aggregator.add(bar))

    def _load(self):
        if self._finished:
            return False
        if self.p.live and not self._rows:
            if self.backfilling:
                self.backfilling = False
                self.put_notification(self.LIVE)
            if self._backfill_needed:
                self._backfill()
            self._drain(self._qcheck)
            self._rows.extend(self._aggregator.flush_due(self.clock()))
            if self._finished and not self._rows:
                return False
        if not self._rows:
            return None if self.p.live else False
        bar = self._rows.popleft()
        self._fill(bar)
        if self.p.live and not self.backfilling:
            self._live_count += 1
            if self.p.max_bars and self._live_count >= self.p.max_bars:
                self._finished = True
        return True

    def _drain(self, wait_s: float) -> None:
        """Move queued minute bars into the aggregator, waiting up to ``wait_s`` for one."""
        try:
            item = self._minutes.get(timeout=wait_s) if wait_s > 0 else self._minutes.get_nowait()
        except queue.Empty:
            return
        while True:
            if item is None:
                self._finished = True
                return
            self._take_minute(item)
            try:
                item = self._minutes.get_nowait()
            except queue.Empty:
                return

    def bar_end(self, stamp: datetime) -> datetime:
        """The close (tz-aware UTC) of this feed's bar stamped ``stamp`` (naive UTC)."""
        stamp = stamp.replace(tzinfo=UTC)
        if not self.bar_tf.intraday:
            return stamp
        end = stamp + self.bar_tf.delta
        day = stamp.astimezone(ZoneInfo(NEW_YORK)).date()
        if self.market_calendar.is_session(day):
            close = self.market_calendar.session_close(day)
            if stamp < close < end:
                return close
        return end

    def _fill(self, bar: FeedBar) -> None:
        stamp = bar.start if self.bar_tf.intraday else bar.end
        self.lines.datetime[0] = bt.date2num(stamp.astimezone(UTC).replace(tzinfo=None))
        self.lines.open[0] = bar.open
        self.lines.high[0] = bar.high
        self.lines.low[0] = bar.low
        self.lines.close[0] = bar.close
        self.lines.volume[0] = bar.volume
        self.lines.openinterest[0] = 0.0
