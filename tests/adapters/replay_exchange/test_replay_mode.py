"""Replay mode: recorded candles shifted by whole days so that they end "now"."""

from __future__ import annotations

from datetime import UTC, datetime

import ccxt
import pandas as pd
import pytest

from adapters.replay_exchange import ReplayExchange, ReplayExchangeConfig, ReplayServer
from adapters.replay_exchange.clock import DAY_MS, ReplayClock

HOUR_MS = 3_600_000
# Fixed "wall clock": 2026-11-21 10:20 UTC.
WALL_MS = int(pd.Timestamp("2026-11-21 10:20", tz="UTC").timestamp() * 1000)
REPLAY_START = datetime(2024, 3, 1, tzinfo=UTC)


class SteppingClock:
    """A wall clock that tests move forward by hand."""

    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def wall() -> SteppingClock:
    return SteppingClock(WALL_MS)


@pytest.fixture
def replay(candle_datadir, wall) -> ReplayExchange:
    config = ReplayExchangeConfig(datadir=candle_datadir, replay=True, replay_start=REPLAY_START)
    return ReplayExchange(config, clock=ReplayClock.for_replay(REPLAY_START, now_ms=wall))


def test_for_replay_then_offset_is_whole_days_and_data_now_is_on_replay_start_day(wall):
    clock = ReplayClock.for_replay(REPLAY_START, now_ms=wall)

    assert clock.offset_ms % DAY_MS == 0
    data_now = pd.Timestamp(clock.data_now_ms(), unit="ms", tz="UTC")
    assert data_now == pd.Timestamp("2024-03-01 10:20", tz="UTC")


def test_klines_when_replaying_then_last_row_is_forming_candle_without_its_future(replay, candle_datadir):
    rows = replay.klines("BTCUSDT", "1h", limit=3)

    frame = pd.read_feather(candle_datadir / "BTC_USDT-1h.feather").set_index("date")
    served_open = [pd.Timestamp(r[0] - replay.clock.offset_ms, unit="ms", tz="UTC") for r in rows]
    assert served_open == [pd.Timestamp(f"2024-03-01 {h:02d}:00", tz="UTC") for h in (8, 9, 10)]
    closed = rows[1]
    assert float(closed[4]) == frame.loc[served_open[1], "close"]
    forming = rows[2]
    recorded_open = frame.loc[served_open[2], "open"]
    assert [float(x) for x in forming[1:5]] == [recorded_open] * 4
    assert float(forming[5]) == 0.0


def test_klines_when_wall_time_advances_then_next_candle_becomes_visible(replay, wall):
    before = replay.klines("ETHUSDT", "1h", limit=1000)
    wall.now += HOUR_MS

    after = replay.klines("ETHUSDT", "1h", limit=1000)

    assert after[-1][0] == before[-1][0] + HOUR_MS
    assert after[-2][4] != before[-1][4] or after[-2][2] != before[-1][2]  # now closed, complete


def test_klines_when_start_time_in_future_then_empty(replay):
    future = replay.clock.now_ms() + 2 * HOUR_MS

    assert replay.klines("BTCUSDT", "1h", start_ms=future) == []


def test_ticker_when_replaying_then_prices_are_from_candles_before_now(replay, candle_datadir):
    ticker = replay.ticker_24hr("BTCUSDT")

    hourly = pd.read_feather(candle_datadir / "BTC_USDT-1h.feather").set_index("date")
    # 5m data starts in 2025; on 2024-03-01 the finest recorded timeframe is 1h.
    assert float(ticker["lastPrice"]) == hourly.loc[pd.Timestamp("2024-03-01 09:00", tz="UTC"),
                                                      "close"]
    assert ticker["closeTime"] == WALL_MS


def test_served_through_http_then_ccxt_sees_shifted_candles(candle_datadir, wall):
    config = ReplayExchangeConfig(datadir=candle_datadir, port=0, replay=True,
                                  replay_start=REPLAY_START)
    exchange = ReplayExchange(config, clock=ReplayClock.for_replay(REPLAY_START, now_ms=wall))
    server = ReplayServer(config, exchange=exchange)
    server.start()
    try:
        url = server.api_url
        client = ccxt.binance({"urls": {"api": {"public": url, "private": url, "sapi": url}},
                               "options": {"fetchMarkets": {"types": ["spot"]}}})
        candles = client.fetch_ohlcv("XRP/USDT", "4h", limit=2)
    finally:
        server.stop()

    # Wall 10:20 -> forming 4h candle opened at 08:00 wall time; the one before at 04:00.
    assert [c[0] for c in candles] == [WALL_MS // DAY_MS * DAY_MS + h * HOUR_MS for h in (4, 8)]


def test_default_replay_start_then_last_closed_candle_ends_now(candle_datadir):
    config = ReplayExchangeConfig(datadir=candle_datadir, replay=True)

    exchange = ReplayExchange(config)

    end = exchange.store.common_end_ms()
    assert exchange.clock.to_data(exchange.clock.now_ms()) // DAY_MS == end // DAY_MS
