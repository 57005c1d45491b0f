"""Recorded candles, loaded with Freqtrade's own data handlers and sliced by time.

The store discovers ``<BASE>_<QUOTE>-<timeframe>.<ext>`` files at start-up (names only) and
loads a series on first use; ``load_all`` loads (and checks) every file at once, which the
exchange does when it starts, so a truncated or corrupt file stops the start with its name
instead of failing requests later. Times are int64 milliseconds since the epoch (UTC), the
unit of Binance's REST API, and refer to the candle's *open* time as recorded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from freqtrade.data.history.datahandlers.idatahandler import get_datahandlerclass
from freqtrade.enums import CandleType, TradingMode
from freqtrade.exchange import timeframe_to_msecs

from adapters.replay_exchange.errors import BinanceAPIError, CandleFileError, NoCandleDataError

logger = logging.getLogger(__name__)
#: Freqtrade's data handlers log an unreadable file with a traceback and return no rows; the
#: store raises its own one-line ``CandleFileError`` instead, so that logger is quiet meanwhile.
_FT_DATA_LOGGER = "freqtrade.data.history"


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


@dataclass(frozen=True)
class SymbolInfo:
    """One spot market: Freqtrade pair ``BTC/USDT`` <-> Binance symbol ``BTCUSDT``."""

    pair: str
    base: str
    quote: str

    @property
    def symbol(self) -> str:
        """Binance symbol: base and quote concatenated."""
        return f"{self.base}{self.quote}"


@dataclass(frozen=True)
class CandleSeries:
    """One pair's candles at one timeframe.

    Attributes:
        open_ms: int64 array (n,), candle open times in ms UTC, strictly increasing.
        ohlcv: float64 array (n, 5): open, high, low, close, volume (volume in base asset).
        timeframe_ms: candle length in ms.
    """

    open_ms: np.ndarray
    ohlcv: np.ndarray
    timeframe_ms: int

    def __len__(self) -> int:
        return len(self.open_ms)

    @property
    def first_open_ms(self) -> int:
        """Open time of the first recorded candle (ms UTC)."""
        return int(self.open_ms[0])

    @property
    def last_close_ms(self) -> int:
        """Close time of the last recorded candle (ms UTC): its open time + timeframe."""
        return int(self.open_ms[-1]) + self.timeframe_ms

    def index_range(self, start_ms: int, end_ms: int) -> tuple[int, int]:
        """Index bounds ``[lo, hi)`` of candles whose open time lies in ``[start_ms, end_ms]``."""
        lo = int(np.searchsorted(self.open_ms, start_ms, side="left"))
        hi = int(np.searchsorted(self.open_ms, end_ms, side="right"))
        return lo, hi


class CandleStore:
    """Spot candle files of one data dir, keyed by Binance symbol and interval.

    Args:
        datadir: Folder with Freqtrade candle files (``user_data/data/binance``).
        data_format: Freqtrade data format (``feather``, ``parquet``, ``json``, ``jsongz``).

    Raises:
        NoCandleDataError: the folder does not exist or holds no spot candle files; the
            message says where data is expected and how to get it.
    """

    def __init__(self, datadir: Path, data_format: str = "feather") -> None:
        datadir = Path(datadir)
        if not datadir.is_dir():
            raise NoCandleDataError(
                f"Candle data dir {datadir} does not exist. Fill it with `make data` "
                "(copies ../shared/data or downloads with `freqtrade download-data`)."
            )
        handler_cls = get_datahandlerclass(data_format)
        self._handler = handler_cls(datadir)
        available = handler_cls.ohlcv_get_available_data(datadir, TradingMode.SPOT)
        self._files: dict[str, dict[str, str]] = {}
        self._symbols: dict[str, SymbolInfo] = {}
        for pair, timeframe, candle_type in available:
            if candle_type != CandleType.SPOT or "/" not in pair or ":" in pair:
                continue
            base, quote = pair.split("/")
            info = SymbolInfo(pair=pair, base=base, quote=quote)
            self._symbols[info.symbol] = info
            self._files.setdefault(info.symbol, {})[timeframe] = pair
        if not self._symbols:
            raise NoCandleDataError(
                f"No spot candle files ({data_format}) in {datadir}. Expected files like "
                f"BTC_USDT-1h.{handler_cls._get_file_extension()}; run `make data`."
            )
        self._datadir = datadir
        self._cache: dict[tuple[str, str], CandleSeries] = {}
        self._lock = threading.Lock()
        logger.info("Replay data: %d symbols in %s", len(self._symbols), datadir)

    @property
    def symbols(self) -> list[SymbolInfo]:
        """All served markets, sorted by symbol."""
        return [self._symbols[s] for s in sorted(self._symbols)]

    def info(self, symbol: str) -> SymbolInfo:
        """Market of ``symbol``. Raises ``BinanceAPIError`` -1121 if it is not served."""
        try:
            return self._symbols[symbol]
        except KeyError:
            raise BinanceAPIError.bad_symbol(symbol, sorted(self._symbols)) from None

    def intervals(self, symbol: str) -> list[str]:
        """Timeframes with a candle file for ``symbol``, shortest first."""
        return sorted(self._files[self.info(symbol).symbol], key=timeframe_to_msecs)

    def series(self, symbol: str, interval: str) -> CandleSeries:
        """Candles of ``symbol`` at ``interval``, loaded once.

        Raises:
            BinanceAPIError: -1121 for an unknown symbol, -1120 for an interval without data.
        """
        info = self.info(symbol)
        if interval not in self._files[symbol]:
            raise BinanceAPIError.bad_interval(interval, self.intervals(symbol))
        key = (symbol, interval)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._load(info.pair, interval)
            return self._cache[key]

    def finest_covering(self, symbol: str, at_ms: int) -> CandleSeries:
        """The shortest-timeframe series of ``symbol`` whose recorded span contains ``at_ms``.

        Used for tickers and the order book, so they follow the finest prices known at that
        time. Falls back to the shortest series when none covers ``at_ms``.
        """
        intervals = self.intervals(symbol)
        for interval in intervals:
            series = self.series(symbol, interval)
            if series.first_open_ms <= at_ms <= series.last_close_ms:
                return series
        return self.series(symbol, intervals[0])

    def load_all(self) -> None:
        """Load and check every candle file now (the exchange's start-up check).

        Raises:
            CandleFileError: a file cannot be read or holds bad candles (the first found, by
                symbol and timeframe); its message names the file and the fix.
        """
        for info in self.symbols:
            for interval in self.intervals(info.symbol):
                self.series(info.symbol, interval)

    def span_ms(self) -> tuple[int, int]:
        """(earliest open, latest close) over every served series, ms UTC: the time range some
        recorded candle covers. Loads all series."""
        series = [self.series(i.symbol, tf) for i in self.symbols for tf in self.intervals(i.symbol)]
        return min(s.first_open_ms for s in series), max(s.last_close_ms for s in series)

    def common_end_ms(self) -> int:
        """Earliest last-close time over every served series (ms UTC).

        Up to this time every symbol has candles at every timeframe; the default replay anchor.
        Loads all series.
        """
        return min(
            self.series(info.symbol, interval).last_close_ms
            for info in self.symbols
            for interval in self.intervals(info.symbol)
        )

    def _load(self, pair: str, timeframe: str) -> CandleSeries:
        """One file's candles, checked (``_check``).

        Raises:
            CandleFileError: unreadable (truncated, another format) or bad candles.
        """
        path = self._handler._pair_data_filename(self._datadir, pair, timeframe, CandleType.SPOT)
        fix = (f"re-download it (freqtrade download-data --pairs {pair} --timeframes {timeframe} "
               f"--datadir {self._datadir}), run `make data`, or remove it")
        try:
            with _quiet(_FT_DATA_LOGGER):
                frame = self._handler.ohlcv_load(
                    pair, timeframe, CandleType.SPOT, fill_missing=False, warn_no_data=False
                )
        except Exception as err:  # noqa: BLE001 - any reader failure is the file's problem
            raise CandleFileError(f"Candle file {path} cannot be read ({type(err).__name__}: "
                                  f"{str(err)[:200]}); {fix}.") from err
        if frame.empty:
            state = "is empty" if path.is_file() and path.stat().st_size == 0 else "cannot be read"
            raise CandleFileError(f"Candle file {path} {state} (truncated, or not "
                                  f"{type(self._handler).__name__} data?); {fix}.")
        problem = _check(frame)
        if problem:
            raise CandleFileError(f"Candle file {path}: {problem}; {fix}.")
        open_ms = frame["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
        ohlcv = frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64)
        logger.debug("Loaded %d candles for %s %s", len(open_ms), pair, timeframe)
        return CandleSeries(open_ms=open_ms, ohlcv=ohlcv, timeframe_ms=timeframe_to_msecs(timeframe))


def _check(frame: pd.DataFrame) -> str | None:
    """What is wrong with a loaded OHLCV frame (``date``, ``open`` ... ``volume``), or None:
    dates strictly increasing, prices finite and > 0, volume finite and >= 0."""
    dates = frame["date"]
    if dates.isna().any():
        return f"a candle date is missing (row {int(dates.isna().to_numpy().argmax())})"
    steps = dates.diff().iloc[1:]
    if (steps <= pd.Timedelta(0)).any():
        bad = dates.iloc[1:][(steps <= pd.Timedelta(0)).to_numpy()].iloc[0]
        return f"candle times are not strictly increasing (at {bad})"
    for column, low, rule in (("open", 0.0, "> 0"), ("high", 0.0, "> 0"), ("low", 0.0, "> 0"),
                              ("close", 0.0, "> 0"), ("volume", None, ">= 0")):
        values = frame[column].to_numpy(dtype=np.float64)
        finite = np.isfinite(values)
        if not finite.all():
            at = dates.iloc[int((~finite).argmax())]
            return f"{column} is not finite (NaN or inf) at {at}"
        bad = values <= low if low is not None else values < 0
        if bad.any():
            at = dates.iloc[int(bad.argmax())]
            return f"{column} is {values[bad.argmax()]!r} at {at} (must be {rule})"
    return None
