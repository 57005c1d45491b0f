"""The data feed: paged historical bars at session closes, resampling, live bars through the
stream with backfill after a dropped connection, and the live aggregation rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import backtrader as bt
import pandas as pd
import pytest

from adapters.alpaca.bars import BarAggregator, BarTimeframe, FileBarSource, bar_ends
from adapters.alpaca.feed import AlpacaData, RestBarSource
from adapters.alpaca.nyse import MarketCalendar
from adapters.alpaca.parsing import BarRecord
from adapters.alpaca.runner import DEFAULT_DATA_DIR
from plugins.core.errors import DataNotFoundError
from tests.adapters.alpaca.conftest import session

CAL = MarketCalendar()


class Recorder(bt.Strategy):
    params = (("seen", None),)

    def next(self) -> None:
        self.p.seen.append((self.data.datetime.datetime(0), self.data.close[0]))


def _run(feed, resample: tuple[int, int] | None = None) -> list:
    seen: list = []
    cerebro = bt.Cerebro(stdstats=False)
    if resample:
        cerebro.resampledata(feed, timeframe=resample[0], compression=resample[1])
    else:
        cerebro.adddata(feed)
    cerebro.addstrategy(Recorder, seen=seen)
    cerebro.run(runonce=False)
    return seen


def test_rest_feed_when_daily_bars_span_pages_then_each_bar_stamped_at_its_session_close(fake, alpaca_config):
    # Arrange: Alpaca daily bars around Thanksgiving 2021 (early close on the 26th), 50 per page
    from adapters.alpaca.client import AlpacaRest
    from tests.adapters.alpaca.conftest import CREDENTIALS

    days = pd.bdate_range("2021-09-01", "2021-12-31")
    days = [d for d in days if CAL.is_session(d.date())]
    edt_end = pd.Timestamp("2021-11-07")  # 00:00 New York is 04:00 UTC in EDT, 05:00 in EST
    fake.daily_bars["SPY"] = [{"t": f"{d.date()}T{'04' if d < edt_end else '05'}:00:00Z",
                               "o": 1.0 + i, "h": 2.0 + i, "l": 0.5 + i, "c": 1.5 + i, "v": 10.0,
                               "n": 1, "vw": 1.2} for i, d in enumerate(days)]
    source = RestBarSource(AlpacaRest(alpaca_config, CREDENTIALS), CAL)
    feed = AlpacaData(dataname="SPY", bar_timeframe="1d", start=datetime(2021, 9, 1, tzinfo=UTC),
                      source=source, market_calendar=CAL)
    # Act
    seen = _run(feed)
    # Assert
    assert len(seen) == len(days) > 50
    stamps = dict((t.date(), t.time().hour) for t, _ in seen)
    assert stamps[datetime(2021, 11, 26).date()] == 18  # 13:00 New York, early close
    assert stamps[datetime(2021, 11, 24).date()] == 21  # 16:00 EST
    assert stamps[datetime(2021, 10, 1).date()] == 20  # 16:00 EDT
    assert sum(1 for m, p, _ in fake.requests if p == "/v2/stocks/bars") == -(-len(days) // 50)


def test_file_feed_when_resampled_to_weeks_then_one_bar_per_week_with_the_weeks_last_close():
    # Arrange: the real Alpaca-style SPY file, 2024
    source = FileBarSource(DEFAULT_DATA_DIR, CAL)
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    daily = source.bars("SPY", BarTimeframe(1, "Day"), start, end)
    feed = AlpacaData(dataname="SPY", bar_timeframe="1d", start=start, end=end, source=source,
                      market_calendar=CAL)
    # Act
    weekly = _run(feed, BarTimeframe(1, "Week").backtrader())
    # Assert
    weeks = daily["start"].dt.tz_convert("America/New_York").dt.tz_localize(None).dt.to_period("W")
    expected = daily.groupby(weeks)["close"].last()
    assert [c for _, c in weekly] == pytest.approx(expected.tolist())


def test_file_source_when_symbol_missing_then_error_lists_the_folder():
    with pytest.raises(DataNotFoundError, match="SPY_1Day.csv.gz"):
        FileBarSource(DEFAULT_DATA_DIR, CAL).bars("ZZZZ", BarTimeframe(1, "Day"),
                                                  datetime(2024, 1, 1, tzinfo=UTC), None)


def test_file_source_when_yahoo_layout_then_same_sessions_as_alpaca_layout():
    # Arrange
    alpaca = FileBarSource(DEFAULT_DATA_DIR, CAL)
    yahoo = FileBarSource(DEFAULT_DATA_DIR.parent / "yfinance_daily_2020_2026", CAL)
    start, end = datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 7, 1, tzinfo=UTC)
    # Act
    a = alpaca.bars("QQQ", BarTimeframe(1, "Day"), start, end)
    y = yahoo.bars("QQQ", BarTimeframe(1, "Day"), start, end)
    # Assert
    assert a["end"].tolist() == y["end"].tolist()


def test_live_feed_when_data_stream_drops_then_missed_bar_backfilled_and_none_doubled(fake, suite):
    # Arrange: the stream drops after live bar 2; bar 3 is only served over REST
    config = suite.alpaca.model_copy(update={"stream_reconnect_min_s": 0.2, "stream_reconnect_max_s": 0.4})
    suite = suite.model_copy(update={"alpaca": config})
    seen: list = []

    def drop(i: int) -> None:
        if i == 2:
            fake.streams.drop_data_clients()

    # Act
    session(fake, suite, {}, bars=6, between=drop, push=lambda i: i != 3, seen=seen)
    # Assert
    assert fake.streams.data_connects >= 2
    times = [t for _, t, _ in seen]
    assert len(times) == 6 and times == sorted(set(times))
    assert [t - times[0] for t in times] == [timedelta(minutes=i) for i in range(6)]


def _minute(start: datetime, price: float) -> BarRecord:
    return BarRecord("SPY", start, price, price + 1, price - 1, price, 100.0)


def test_aggregator_when_five_minute_bars_then_ohlcv_of_each_bucket():
    # Arrange
    agg = BarAggregator(BarTimeframe(5, "Min"), CAL)
    t0 = datetime(2024, 3, 6, 15, 0, tzinfo=UTC)
    # Act
    out = [bar for i in range(10) for bar in agg.add(_minute(t0 + timedelta(minutes=i), 100.0 + i))]
    # Assert
    assert [(b.start, b.end) for b in out] == [(t0, t0 + timedelta(minutes=5)),
                                             (t0 + timedelta(minutes=5), t0 + timedelta(minutes=10))]
    assert (out[0].open, out[0].high, out[0].low, out[0].close, out[0].volume) == (100, 105, 99, 104, 500)


def test_aggregator_when_daily_on_an_early_close_then_bar_ends_at_13_new_york():
    # Arrange: 2021-11-26 closes at 18:00 UTC
    agg = BarAggregator(BarTimeframe(1, "Day"), CAL)
    # Act
    early = agg.add(_minute(datetime(2021, 11, 26, 14, 30, tzinfo=UTC), 100.0))
    last = agg.add(_minute(datetime(2021, 11, 26, 17, 59, tzinfo=UTC), 101.0))
    # Assert
    assert early == []
    assert len(last) == 1 and last[0].end == datetime(2021, 11, 26, 18, 0, tzinfo=UTC)
    assert agg.add(_minute(datetime(2021, 11, 26, 17, 58, tzinfo=UTC), 99.0)) == []  # replayed


def test_aggregator_when_symbol_goes_quiet_then_flushed_after_the_bucket_end():
    agg = BarAggregator(BarTimeframe(1, "Hour"), CAL)
    t0 = datetime(2024, 3, 6, 15, 0, tzinfo=UTC)
    agg.add(_minute(t0, 100.0))
    assert agg.flush_due(t0 + timedelta(minutes=59)) == []
    assert [b.end for b in agg.flush_due(t0 + timedelta(hours=1, seconds=5))] == [t0 + timedelta(hours=1)]


def test_bar_ends_when_intraday_then_capped_at_the_close_only_inside_regular_hours():
    starts = pd.Series(pd.to_datetime(["2024-03-06 20:30", "2024-03-06 22:00"], utc=True))
    ends = bar_ends(starts, BarTimeframe(1, "Hour"), CAL)
    assert ends.tolist() == [pd.Timestamp("2024-03-06 21:00", tz="UTC"),
                             pd.Timestamp("2024-03-06 23:00", tz="UTC")]
