"""The replay exchange's market-data logic, independent of HTTP.

``ReplayExchange`` answers Binance spot market-data requests from a ``CandleStore`` on the
time axis of a ``ReplayClock``: only candles that have opened by "now" are visible, and the
one still forming at "now" is served without its future (see ``binance_format.kline_rows``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import cached_property

from adapters.replay_exchange import binance_format as fmt
from adapters.replay_exchange.candles import CandleStore
from adapters.replay_exchange.clock import ReplayClock
from adapters.replay_exchange.config import ReplayExchangeConfig
from adapters.replay_exchange.costs import ModelBook
from adapters.replay_exchange.errors import BinanceAPIError, ReplayStartError
from plugins.execution.costs import CostModelError

logger = logging.getLogger(__name__)

KLINES_DEFAULT_LIMIT = 500
KLINES_MAX_LIMIT = 1000
DEPTH_DEFAULT_LIMIT = 100
DEPTH_MAX_LIMIT = 5000
DAY_MS = 86_400_000


def _check_replay_start(start: datetime, store: CandleStore, datadir: object) -> None:
    """``start`` must lie in the span of the recorded candles (``CandleStore.span_ms``).

    Raises:
        ReplayStartError: it does not; the message gives the span.
    """
    first_ms, last_ms = store.span_ms()
    start_ms = int(start.timestamp() * 1000)
    if not first_ms <= start_ms <= last_ms:
        def fmt_ms(ms: int) -> str:
            return f"{datetime.fromtimestamp(ms / 1000, tz=UTC):%Y-%m-%d %H:%M}"
        raise ReplayStartError(
            f"--replay-start {start:%Y-%m-%dT%H:%M} is outside the candle data in {datadir} "
            f"({fmt_ms(first_ms)} to {fmt_ms(last_ms)} UTC); choose a time inside it, or "
            "leave it out to replay from the end of the data")


class ReplayExchange:
    """Binance spot market data served from recorded candles.

    Args:
        config: validated server settings.
        store: the candles (built from ``config.datadir`` if omitted).
        clock: wall/data time mapping (built from ``config`` if omitted: offset 0 in static
            mode, a whole-day shift onto ``replay_start`` - default the end of the data -
            in replay mode).

    Every candle file is loaded and checked here (``CandleStore.load_all``), so a bad file
    stops the start instead of failing requests later.

    Raises:
        NoCandleDataError: the data dir holds no candle files.
        CandleFileError: a candle file is unreadable or holds bad candles (names the file).
        ReplayStartError: ``config.replay_start`` lies outside every recorded series.
    """

    def __init__(self, config: ReplayExchangeConfig, store: CandleStore | None = None,
                 clock: ReplayClock | None = None) -> None:
        self.config = config
        self.store = store or CandleStore(config.datadir, config.data_format)
        self.store.load_all()
        if config.replay and config.replay_start is not None:
            _check_replay_start(config.replay_start, self.store, config.datadir)
        if clock is None:
            clock = ReplayClock()
            if config.replay:
                start = config.replay_start
                if start is None:
                    start = datetime.fromtimestamp(self.store.common_end_ms() / 1000,
                                                   tz=UTC)
                clock = ReplayClock.for_replay(start)
        self.clock = clock
        self.cost_book: ModelBook | None = None
        if config.costs is not None and config.costs.enabled:
            ticks = {s: float(f.tick_size) for s, f in self._filters.items()}
            self.cost_book = ModelBook(self.store, config.costs, config.cost_timeframe, ticks)
            logger.info("Order book from the execution-cost model (%s candles): %s",
                        config.cost_timeframe, config.costs.describe())
        if config.replay:
            logger.info("Replay mode: recorded candles shifted by %d days",
                        clock.offset_ms // DAY_MS)

    @cached_property
    def _filters(self) -> dict[str, fmt.SymbolFilters]:
        filters = {}
        for info in self.store.symbols:
            series = self.store.series(info.symbol, self.store.intervals(info.symbol)[-1])
            filters[info.symbol] = fmt.derive_filters(info.symbol, float(series.ohlcv[-1, 3]))
        return filters

    def server_time_ms(self) -> int:
        """Wall time in ms UTC (GET /api/v3/time)."""
        return self.clock.now_ms()

    def exchange_info(self, symbols: list[str] | None = None) -> dict:
        """Body of GET /api/v3/exchangeInfo, for all served symbols or the ones asked for."""
        wanted = symbols or [info.symbol for info in self.store.symbols]
        infos = [self.store.info(s) for s in wanted]
        return fmt.exchange_info([fmt.symbol_info(i, self._filters[i.symbol]) for i in infos],
                                 self.server_time_ms())

    def klines(self, symbol: str, interval: str, start_ms: int | None = None,
               end_ms: int | None = None, limit: int = KLINES_DEFAULT_LIMIT) -> list[list]:
        """Rows of GET /api/v3/klines (times are served, i.e. shifted, ms UTC).

        Binance semantics: with ``start_ms`` the first ``limit`` candles opening at or after
        it (and at or before ``end_ms`` if given); with only ``end_ms`` the last ``limit``
        candles opening at or before it; with neither the most recent ``limit``.

        Raises:
            BinanceAPIError: unknown symbol (-1121), interval (-1120), bad limit (-1130),
                ``start_ms > end_ms`` (-1023).
        """
        if start_ms is not None and end_ms is not None and start_ms > end_ms:
            raise BinanceAPIError.start_after_end()
        if interval not in fmt.BINANCE_INTERVALS:
            raise BinanceAPIError(-1120, "Invalid interval.")
        if not 1 <= limit <= KLINES_MAX_LIMIT:
            raise BinanceAPIError.invalid_value("limit", f"Use 1 to {KLINES_MAX_LIMIT}.")
        series = self.store.series(symbol, interval)
        now = self.clock.data_now_ms()
        visible_end = now if end_ms is None else min(now, self.clock.to_data(end_ms))
        if start_ms is not None:
            lo, hi = series.index_range(self.clock.to_data(start_ms), visible_end)
            hi = min(hi, lo + limit)
        else:
            _, hi = series.index_range(series.first_open_ms, visible_end)
            lo = max(hi - limit, 0)
        forming = None
        if hi > lo:
            last_open = int(series.open_ms[hi - 1])
            if last_open + series.timeframe_ms > now:
                forming = last_open
        return fmt.kline_rows(series, lo, hi, self.clock.offset_ms, forming)

    def _book_and_stats(self, symbol: str,
                        now: int | None = None) -> tuple[fmt.BookSide, dict[str, float], int]:
        now = self.clock.data_now_ms() if now is None else now
        series = self.store.finest_covering(symbol, now)
        # Outside the recorded span, quote the nearest recorded 24 h.
        at = min(max(now, series.first_open_ms + series.timeframe_ms), series.last_close_ms)
        stats = fmt.window_stats(series, at - DAY_MS, at)
        if stats is None:  # unreachable: `at` is at least one candle after the first open
            raise BinanceAPIError(-1000, f"No recorded price for {symbol}.", status=500)
        book = fmt.synth_book(stats["close"], stats["volume"], self._filters[symbol],
                              self.config.spread_bps, self.config.depth_level_step_bps)
        model = self._model_levels(symbol, stats["close"], now, 1)
        if model is not None:
            (bid, *_), (ask, *_) = model
            book = fmt.BookSide(best_bid=fmt.as_decimal(bid.price),
                                best_ask=fmt.as_decimal(ask.price), level_step=book.level_step,
                                level_qty=fmt.as_decimal(min(bid.quantity, ask.quantity)))
        return book, stats, now

    def _model_levels(self, symbol: str, mid: float, now: int, limit: int):
        """(bids, asks) of the cost model at data time ``now``, or None (no model, no estimate)."""
        if self.cost_book is None:
            return None
        return self.cost_book.levels(symbol, mid, now, limit)

    def mid_price(self, symbol: str, at_ms: int | None = None) -> float:
        """The last close the book is built around (quote currency) at data time ``at_ms``
        (default: the clock's "now")."""
        self.store.info(symbol)
        return self._book_and_stats(symbol, at_ms)[1]["close"]

    def model_fill_price(self, symbol: str, side: str, amount: float, at_ms: int) -> float:
        """The cost model's average price of a market order of ``amount`` (base units) at
        data time ``at_ms``, around :meth:`mid_price` (what a walk of the served book gives at a
        level boundary; see ``adapters.replay_exchange.costs``).

        Raises:
            CostModelError: no cost model configured, or no estimate at ``at_ms``.
        """
        if self.cost_book is None:
            raise CostModelError("the replay exchange runs without a cost model (costs=None)")
        return self.cost_book.model_price(symbol, side, amount, self.mid_price(symbol, at_ms),
                                          at_ms)

    def ticker_24hr(self, symbol: str) -> dict:
        """Body of GET /api/v3/ticker/24hr for one symbol, over the 24 h before "now"."""
        self.store.info(symbol)
        book, stats, now = self._book_and_stats(symbol)
        served_now = self.clock.to_served(now)
        return fmt.ticker_24hr(symbol, stats, book, served_now - DAY_MS, served_now)

    def book_ticker(self, symbol: str) -> dict:
        """Body of GET /api/v3/ticker/bookTicker for one symbol (synthesized best bid/ask)."""
        self.store.info(symbol)
        book, _, _ = self._book_and_stats(symbol)
        return {"symbol": symbol, "bidPrice": str(book.best_bid), "bidQty": str(book.level_qty),
                "askPrice": str(book.best_ask), "askQty": str(book.level_qty)}

    def ticker_price(self, symbol: str) -> dict:
        """Body of GET /api/v3/ticker/price for one symbol (last close)."""
        self.store.info(symbol)
        _, stats, _ = self._book_and_stats(symbol)
        return {"symbol": symbol, "price": fmt.format_number(stats["close"])}

    def depth(self, symbol: str, limit: int = DEPTH_DEFAULT_LIMIT) -> dict:
        """Body of GET /api/v3/depth: the cost model's book with ``costs`` configured
        (``adapters.replay_exchange.costs``), else a synthesized one
        (``binance_format.synth_book``)."""
        if not 1 <= limit <= DEPTH_MAX_LIMIT:
            raise BinanceAPIError.invalid_value("limit", f"Use 1 to {DEPTH_MAX_LIMIT}.")
        self.store.info(symbol)
        book, stats, now = self._book_and_stats(symbol)
        model = self._model_levels(symbol, stats["close"], now, limit)
        if model is not None:
            return fmt.depth_levels(*model, last_update_id=self.clock.to_served(now))
        return fmt.depth(book, limit, last_update_id=self.clock.to_served(now))
