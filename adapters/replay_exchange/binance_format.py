"""Binance spot REST response shapes, built from recorded candles.

Each function returns the JSON-ready structure of one endpoint as documented in the Binance
Spot API docs (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/
market-data-endpoints and .../general-endpoints). Numbers that Binance sends as strings are
strings here too. What the recorded candles cannot tell (trade counts, taker volume, the order
book) is synthesized as documented per function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from adapters.replay_exchange.candles import CandleSeries, SymbolInfo

#: Intervals Binance accepts for klines (``interval`` parameter).
BINANCE_INTERVALS = (
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h",
    "1d", "3d", "1w", "1M",
)


@dataclass(frozen=True)
class SymbolFilters:
    """PRICE_FILTER / LOT_SIZE / NOTIONAL values of one symbol (prices in quote, qty in base)."""

    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal = Decimal("5")
    max_notional: Decimal = Decimal("9000000")


#: Real values from Binance's exchangeInfo for the pairs this project ships data for.
KNOWN_FILTERS: dict[str, SymbolFilters] = {
    "BTCUSDT": SymbolFilters(Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"),
                             Decimal("9000")),
    "ETHUSDT": SymbolFilters(Decimal("0.01"), Decimal("0.0001"), Decimal("0.0001"),
                             Decimal("9000")),
    "XRPUSDT": SymbolFilters(Decimal("0.0001"), Decimal("0.1"), Decimal("0.1"),
                             Decimal("9222449")),
    "ADAUSDT": SymbolFilters(Decimal("0.0001"), Decimal("0.1"), Decimal("0.1"),
                             Decimal("9000000")),
}


def derive_filters(symbol: str, reference_price: float) -> SymbolFilters:
    """Filters for ``symbol``: the real ones if known, else derived from its price level.

    Derived rule (documented approximation of Binance's listings): tick size has about five
    significant digits below the price, capped at 0.01; the lot step is the power of ten that
    makes one step worth 0.1-1 quote units.

    Args:
        symbol: Binance symbol, e.g. ``SOLUSDT``.
        reference_price: a typical recent close, in quote currency (> 0).
    """
    if symbol in KNOWN_FILTERS:
        return KNOWN_FILTERS[symbol]
    price = max(reference_price, 1e-8)
    tick_exp = min(math.floor(math.log10(price)) - 5, -2)
    step_exp = math.ceil(math.log10(0.1 / price))
    step = Decimal(1).scaleb(step_exp)
    return SymbolFilters(
        tick_size=Decimal(1).scaleb(max(tick_exp, -8)),
        step_size=step,
        min_qty=step,
        max_qty=Decimal("9000000"),
    )


def format_number(value: float) -> str:
    """A float in Binance's fixed 8-decimal string form, e.g. ``"115342.56000000"``."""
    return f"{float(value):.8f}"


def _dec(value: Decimal | float) -> str:
    """Binance's 8-decimal string form of a number."""
    return f"{Decimal(str(value)):.8f}"


def symbol_info(info: SymbolInfo, filters: SymbolFilters) -> dict:
    """One element of ``exchangeInfo.symbols`` (GET /api/v3/exchangeInfo)."""
    return {
        "symbol": info.symbol,
        "status": "TRADING",
        "baseAsset": info.base,
        "baseAssetPrecision": 8,
        "quoteAsset": info.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
                       "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": _dec(filters.tick_size),
             "maxPrice": _dec(1_000_000), "tickSize": _dec(filters.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": _dec(filters.min_qty),
             "maxQty": _dec(filters.max_qty), "stepSize": _dec(filters.step_size)},
            {"filterType": "MARKET_LOT_SIZE", "minQty": _dec(0), "maxQty": _dec(filters.max_qty),
             "stepSize": _dec(0)},
            {"filterType": "NOTIONAL", "minNotional": _dec(filters.min_notional),
             "applyMinToMarket": True, "maxNotional": _dec(filters.max_notional),
             "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(symbols: list[dict], server_time_ms: int) -> dict:
    """Body of GET /api/v3/exchangeInfo with the given ``symbol_info`` elements."""
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
             "limit": 61000},
        ],
        "exchangeFilters": [],
        "symbols": symbols,
    }


def kline_rows(series: CandleSeries, lo: int, hi: int, offset_ms: int,
               forming_open_ms: int | None) -> list[list]:
    """Rows of GET /api/v3/klines for candles ``series[lo:hi]``, timestamps shifted by offset.

    Row layout (Binance): [open time, open, high, low, close, volume, close time,
    quote asset volume, number of trades, taker buy base volume, taker buy quote volume,
    "0"]. Times in ms UTC, close time = open + timeframe - 1 ms. The recorded files hold only
    OHLCV, so quote volume is approximated as volume x close and trade counts / taker volumes
    are 0.

    Args:
        forming_open_ms: recorded open time of the candle that is still forming at "now", if
            it is in the slice: it is served like Binance's live last candle, but built only
            from what is known at its open (open = high = low = close = recorded open,
            volume 0), so its future is not leaked.
    """
    rows = []
    tf = series.timeframe_ms
    for i in range(lo, hi):
        open_ms = int(series.open_ms[i])
        ohlcv = series.ohlcv[i]
        if forming_open_ms is not None and open_ms == forming_open_ms:
            ohlcv = [ohlcv[0]] * 4 + [0.0]
        open_, high, low, close, volume = (format_number(x) for x in ohlcv)
        served = open_ms + offset_ms
        rows.append([served, open_, high, low, close, volume, served + tf - 1,
                     format_number(ohlcv[4] * ohlcv[3]), 0, format_number(0), format_number(0), "0"])
    return rows


def window_stats(series: CandleSeries, start_ms: int, end_ms: int) -> dict[str, float] | None:
    """OHLCV summary of closed candles whose open time lies in ``[start_ms, end_ms)``.

    If the window holds no closed candle (a recording gap), the last candle closed by
    ``end_ms`` stands in; ``None`` only if no candle closed by ``end_ms``. Keys: open, high,
    low, close, volume, quote_volume (volume x close summed), prev_close (close before the
    window, or the window's open).
    """
    lo = int(np.searchsorted(series.open_ms, start_ms, side="left"))
    hi = int(np.searchsorted(series.open_ms, end_ms - series.timeframe_ms, side="right"))
    if hi <= lo:
        if hi == 0:
            return None
        lo = hi - 1
    window = series.ohlcv[lo:hi]
    return {
        "open": float(window[0, 0]),
        "high": float(window[:, 1].max()),
        "low": float(window[:, 2].min()),
        "close": float(window[-1, 3]),
        "volume": float(window[:, 4].sum()),
        "quote_volume": float((window[:, 4] * window[:, 3]).sum()),
        "prev_close": float(series.ohlcv[lo - 1, 3]) if lo > 0 else float(window[0, 0]),
    }


def round_to_step(value: float, step: Decimal, up: bool = False) -> Decimal:
    """Round ``value`` down (or up) to a multiple of ``step``."""
    units = Decimal(str(value)) / step
    units = units.to_integral_value(rounding="ROUND_CEILING" if up else "ROUND_FLOOR")
    return (units * step).quantize(step)


@dataclass(frozen=True)
class BookSide:
    """Best price and one level's quantity of a synthesized book."""

    best_bid: Decimal
    best_ask: Decimal
    level_step: Decimal
    level_qty: Decimal


def synth_book(last_price: float, volume_24h: float, filters: SymbolFilters, spread_bps: float,
               level_step_bps: float) -> BookSide:
    """A synthesized order book around ``last_price`` (the recorded data holds no book).

    Best bid/ask sit ``spread_bps / 2`` below/above the last close (at least one tick apart);
    levels are ``level_step_bps`` apart (at least one tick); every level holds one minute of
    the last 24h's average traded volume (at least the minimum quantity).
    """
    half = last_price * spread_bps / 20_000
    best_bid = round_to_step(last_price - half, filters.tick_size)
    best_ask = round_to_step(last_price + half, filters.tick_size, up=True)
    if best_ask <= best_bid:
        best_ask = best_bid + filters.tick_size
    step = max(round_to_step(last_price * level_step_bps / 10_000, filters.tick_size),
               filters.tick_size)
    qty = max(round_to_step(volume_24h / 1440, filters.step_size), filters.min_qty)
    return BookSide(best_bid=best_bid, best_ask=best_ask, level_step=step, level_qty=qty)


def depth(book: BookSide, limit: int, last_update_id: int) -> dict:
    """Body of GET /api/v3/depth: ``limit`` levels per side, prices/quantities as strings."""
    bids = [[str(book.best_bid - i * book.level_step), str(book.level_qty)]
            for i in range(limit) if book.best_bid - i * book.level_step > 0]
    asks = [[str(book.best_ask + i * book.level_step), str(book.level_qty)]
            for i in range(limit)]
    return {"lastUpdateId": last_update_id, "bids": bids, "asks": asks}


def as_decimal(value: float) -> Decimal:
    """A float as the Decimal of its 8-decimal Binance form."""
    return Decimal(format_number(value))


def depth_levels(bids: list, asks: list, last_update_id: int) -> dict:
    """Body of GET /api/v3/depth from explicit levels (objects with ``price`` in quote and
    ``quantity`` in base units, best first), numbers as 8-decimal strings."""
    return {"lastUpdateId": last_update_id,
            "bids": [[format_number(b.price), format_number(b.quantity)] for b in bids],
            "asks": [[format_number(a.price), format_number(a.quantity)] for a in asks]}


def ticker_24hr(symbol: str, stats: dict[str, float], book: BookSide, open_time_ms: int,
                close_time_ms: int) -> dict:
    """Body (FULL) of GET /api/v3/ticker/24hr for one symbol.

    ``stats`` comes from ``window_stats`` over the 24 h before "now"; percent change is in
    percent, as Binance sends it. Trade ids and count are 0 (not recorded).
    """
    change = stats["close"] - stats["open"]
    pct = 100.0 * change / stats["open"] if stats["open"] else 0.0
    vwap = stats["quote_volume"] / stats["volume"] if stats["volume"] else stats["close"]
    return {
        "symbol": symbol,
        "priceChange": format_number(change),
        "priceChangePercent": f"{pct:.3f}",
        "weightedAvgPrice": format_number(vwap),
        "prevClosePrice": format_number(stats["prev_close"]),
        "lastPrice": format_number(stats["close"]),
        "lastQty": "0",
        "bidPrice": str(book.best_bid),
        "bidQty": str(book.level_qty),
        "askPrice": str(book.best_ask),
        "askQty": str(book.level_qty),
        "openPrice": format_number(stats["open"]),
        "highPrice": format_number(stats["high"]),
        "lowPrice": format_number(stats["low"]),
        "volume": format_number(stats["volume"]),
        "quoteVolume": format_number(stats["quote_volume"]),
        "openTime": open_time_ms,
        "closeTime": close_time_ms,
        "firstId": 0,
        "lastId": 0,
        "count": 0,
    }
