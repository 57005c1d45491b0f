"""The replay exchange as the real ccxt Binance client sees it (static mode, real candles)."""

from __future__ import annotations

import ccxt
import pandas as pd
import pytest

from adapters.replay_exchange import ReplayServer


@pytest.fixture
def binance(replay_server: ReplayServer) -> ccxt.binance:
    url = replay_server.api_url
    return ccxt.binance({
        "urls": {"api": {"public": url, "private": url, "sapi": url}},
        "options": {"fetchMarkets": {"types": ["spot"]}},
    })


def recorded(datadir, pair: str, timeframe: str) -> pd.DataFrame:
    return pd.read_feather(datadir / f"{pair.replace('/', '_')}-{timeframe}.feather")


def test_load_markets_when_data_dir_has_pairs_then_each_is_a_spot_market_with_real_filters(binance):
    markets = binance.load_markets()

    assert {"BTC/USDT", "ETH/USDT", "XRP/USDT", "ADA/USDT"} <= set(markets)
    btc = markets["BTC/USDT"]
    assert btc["spot"] and btc["active"]
    assert btc["precision"]["price"] == 0.01
    assert btc["precision"]["amount"] == 0.00001
    assert btc["limits"]["cost"]["min"] == 5.0


def test_fetch_ohlcv_when_since_given_then_returns_recorded_candles_from_since(binance, candle_datadir):
    since = pd.Timestamp("2024-01-01", tz="UTC")

    candles = binance.fetch_ohlcv("BTC/USDT", "1h", since=int(since.timestamp() * 1000), limit=5)

    frame = recorded(candle_datadir, "BTC/USDT", "1h")
    expected = frame[frame["date"] >= since].head(5)
    assert [c[0] for c in candles] == [int(d.timestamp() * 1000) for d in expected["date"]]
    assert [c[1:] for c in candles] == expected[["open", "high", "low", "close", "volume"]].values.tolist()


def test_fetch_ohlcv_when_no_since_then_returns_most_recent_candles(binance, candle_datadir):
    candles = binance.fetch_ohlcv("ETH/USDT", "4h", limit=3)

    frame = recorded(candle_datadir, "ETH/USDT", "4h")
    assert [c[0] for c in candles] == [int(d.timestamp() * 1000) for d in frame["date"].tail(3)]


def test_klines_when_end_time_given_then_candles_open_at_or_before_it(binance):
    end = int(pd.Timestamp("2024-03-01 05:00", tz="UTC").timestamp() * 1000)

    rows = binance.public_get_klines({"symbol": "XRPUSDT", "interval": "1h", "endTime": end,
                                      "limit": 4})

    assert [r[0] for r in rows] == [end - 3 * 3_600_000 + i * 3_600_000 for i in range(4)]
    assert all(r[6] == r[0] + 3_600_000 - 1 for r in rows)


def test_fetch_ticker_then_last_price_is_last_recorded_close(binance, candle_datadir):
    ticker = binance.fetch_ticker("BTC/USDT")

    finest = recorded(candle_datadir, "BTC/USDT", "5m")
    assert ticker["last"] == finest["close"].iloc[-1]
    assert ticker["bid"] < ticker["last"] < ticker["ask"]
    assert ticker["baseVolume"] > 0


def test_fetch_order_book_then_levels_are_sorted_around_last_close(binance):
    book = binance.fetch_order_book("ETH/USDT", limit=20)

    bids = [p for p, _ in book["bids"]]
    asks = [p for p, _ in book["asks"]]
    assert len(bids) == len(asks) == 20
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] < asks[0]
    assert all(q > 0 for _, q in book["bids"] + book["asks"])


def test_fetch_time_then_server_time_is_wall_clock(binance):
    assert abs(binance.fetch_time() - binance.milliseconds()) < 60_000


def test_unknown_symbol_then_binance_invalid_symbol_error(binance):
    with pytest.raises(ccxt.BadSymbol, match="-1121"):
        binance.public_get_klines({"symbol": "DOGEUSDT", "interval": "1h"})


def test_interval_without_data_then_bad_request_naming_available_intervals(binance):
    with pytest.raises(ccxt.BadRequest, match=r"-1120.*available: 5m, 30m, 1h, 4h, 1d"):
        binance.fetch_ohlcv("BTC/USDT", "15m")


def test_interval_not_binance_then_bad_interval(binance):
    with pytest.raises(ccxt.BadRequest, match="-1120"):
        binance.public_get_klines({"symbol": "BTCUSDT", "interval": "7h"})


@pytest.mark.parametrize(("params", "code"), [
    ({"interval": "1h"}, "-1102"),                                   # symbol missing
    ({"symbol": "BTCUSDT"}, "-1102"),                                # interval missing
    ({"symbol": "BTCUSDT", "interval": "1h", "limit": "abc"}, "-1100"),
    ({"symbol": "BTCUSDT", "interval": "1h", "limit": "0"}, "-1130"),
    ({"symbol": "BTCUSDT", "interval": "1h", "limit": "1001"}, "-1130"),
    ({"symbol": "BTCUSDT", "interval": "1h", "startTime": "-5"}, "-1100"),
])
def test_klines_bad_parameters_then_binance_error_codes(binance, params, code):
    with pytest.raises(ccxt.BadRequest, match=code):
        binance.public_get_klines(params)


def test_unknown_endpoint_then_404_in_binance_error_format(replay_server):
    import requests

    response = requests.get(f"{replay_server.api_url}/account", timeout=5)

    assert response.status_code == 404
    assert response.json()["code"] == -1000


def test_fetch_tickers_for_several_symbols_then_one_ticker_each(binance):
    tickers = binance.fetch_tickers(["BTC/USDT", "XRP/USDT"])

    assert set(tickers) == {"BTC/USDT", "XRP/USDT"}
    assert all(t["last"] > 0 for t in tickers.values())


def test_klines_when_start_time_after_end_time_then_binance_error_1023_http_400(replay_server, binance):
    import requests

    params = {"symbol": "BTCUSDT", "interval": "1h", "startTime": "1710000000000",
              "endTime": "1700000000000"}

    response = requests.get(f"{replay_server.api_url}/klines", params=params, timeout=5)

    assert response.status_code == 400
    assert response.json() == {"code": -1023, "msg": "Start time is greater than end time."}
    with pytest.raises(ccxt.ExchangeError, match="-1023"):  # ccxt maps -1023 for spot generically
        binance.public_get_klines(params)
