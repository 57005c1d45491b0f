"""The store: one connection to Alpaca holding alpaca-py's four clients, in backtrader's roles.

``AlpacaStore`` holds ``TradingClient`` and ``StockHistoricalDataClient`` (through
``client.AlpacaRest``), ``TradingStream`` (``trade_updates``, JSON frames) and
``StockDataStream`` (bars, msgpack frames), and hands out the broker (``getbroker``) and data
feeds (``getdata``) that use them - the split of backtrader's IB store / broker / feed.

Paper by default. Live trading needs ``live=True`` *and* a confirmation: ``connect`` prints
what is about to happen (endpoint, state folder) and asks ``confirm`` (the CLI: type LIVE, or
``--yes-live``); without it ``AlpacaConfigError``. Paper and live never share a store, a
state folder or a log (``state``).

Streams run alpaca-py's own asyncio loops in daemon threads. alpaca-py reconnects a dropped
websocket itself (exponential backoff between ``stream_reconnect_min_s`` and ``_max_s``);
the subclasses here only add an ``on_connect`` hook so that, after a reconnect, the broker
re-reads its open orders over REST (fills during the gap are not lost) and data feeds backfill
the bars they missed. Callbacks run on the stream thread: they only enqueue.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout

from alpaca.data.enums import DataFeed
from alpaca.data.live import StockDataStream
from alpaca.trading.stream import TradingStream

from adapters.alpaca.client import AlpacaRest
from adapters.alpaca.config import AlpacaConfig, AlpacaCredentials, Mode
from adapters.alpaca.errors import AlpacaConfigError, AlpacaProtocolError
from adapters.alpaca.nyse import MarketCalendar
from adapters.alpaca.parsing import BarRecord, OrderUpdate, order_update, stream_bar

logger = logging.getLogger(__name__)
STOP_TIMEOUT_S = 5.0


class _TradeStream(TradingStream):
    """alpaca-py's ``TradingStream`` calling ``on_connect`` after each (re)connection."""

    def __init__(self, *args, on_connect: Callable[[], None], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._on_connect = on_connect

    async def _start_ws(self) -> None:  # alpaca-py 0.44: called on every (re)connect
        await super()._start_ws()
        self._on_connect()


class _BarStream(StockDataStream):
    """alpaca-py's ``StockDataStream`` calling ``on_connect`` after each (re)connection."""

    def __init__(self, *args, on_connect: Callable[[], None], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._on_connect = on_connect

    async def _start_ws(self) -> None:
        await super()._start_ws()
        self._on_connect()


class StreamRunner:
    """Runs one alpaca-py stream in a daemon thread and stops it promptly.

    alpaca-py checks its stop flag only between receives (up to 5 s apart), so ``stop`` also
    closes the socket from the stream's own loop, which ends the receive at once.
    """

    def __init__(self, stream, name: str) -> None:
        self.stream = stream
        self.name = name
        self.thread: threading.Thread | None = None
        self.connections = 0

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self.stream.run, name=self.name, daemon=True)
            self.thread.start()

    def stop(self) -> None:
        if self.thread is None:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while getattr(self.stream, "_loop", None) is None and time.monotonic() < deadline:
            time.sleep(0.01)  # the loop exists once run() got going
        loop = self.stream._loop
        if loop is not None and loop.is_running():
            for coro in (self.stream.stop_ws(), self.stream.close()):
                try:
                    asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=STOP_TIMEOUT_S)
                except (FutureTimeout, RuntimeError) as err:  # loop already finished
                    logger.debug("%s: stop step failed (%s)", self.name, err)
        self.thread.join(timeout=STOP_TIMEOUT_S)
        if self.thread.is_alive():
            logger.warning("%s did not stop within %.0f s (daemon thread left)", self.name, STOP_TIMEOUT_S)
        self.thread = None


class AlpacaStore:
    """alpaca-py's clients and streams for one mode (module docstring).

    Args:
        config: ``ai_suite.alpaca``.
        credentials: the key pair (``AlpacaCredentials.from_env``).
        live: live endpoints; use ``connect`` (which asks for confirmation) rather than this.
        rest: a ready ``AlpacaRest`` (tests inject one with a recording ``sleep``).
    """

    def __init__(self, config: AlpacaConfig, credentials: AlpacaCredentials, *, live: bool = False,
                 rest: AlpacaRest | None = None) -> None:
        self.config = config
        self.credentials = credentials
        self.mode: Mode = "live" if live else "paper"
        self.rest = rest or AlpacaRest(config, credentials, live=live)
        self.calendar = MarketCalendar(config.exchange_calendar)
        self._trades: StreamRunner | None = None
        self._bars: StreamRunner | None = None
        self._bar_callbacks: dict[str, tuple[Callable[[BarRecord], None], Callable[[], None]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, config: AlpacaConfig, *, live: bool = False,
                confirm: Callable[[str], bool] | None = None,
                credentials: AlpacaCredentials | None = None) -> AlpacaStore:
        """A store for paper (default) or, with ``live=True`` and ``confirm(banner)`` returning
        True, for live trading.

        Raises:
            AlpacaConfigError: credentials missing, or live without confirmation.
        """
        credentials = credentials or AlpacaCredentials.from_env()
        if live:
            banner = (f"LIVE TRADING: orders go to {config.trading_url or 'https://api.alpaca.markets'} "
                      f"with real money (key {credentials!r}); state and logs in "
                      f"{config.mode_dir('live')}.")
            print(banner, file=sys.stderr)
            if confirm is None or not confirm(banner):
                raise AlpacaConfigError("Live trading not confirmed; nothing was sent. Run paper "
                                        "trading (the default) or confirm live trading explicitly.")
            logger.warning("Live trading confirmed: %s", banner)
        return cls(config, credentials, live=live)

    # --- roles -----------------------------------------------------------------------------
    def getbroker(self, **kwargs):
        """An ``AlpacaBroker`` on this store (keyword arguments: see ``broker.AlpacaBroker``)."""
        from adapters.alpaca.broker import AlpacaBroker

        return AlpacaBroker(store=self, **kwargs)

    def getdata(self, **kwargs):
        """An ``AlpacaData`` feed on this store (keyword arguments: see ``feed.AlpacaData``)."""
        from adapters.alpaca.feed import AlpacaData, RestBarSource

        kwargs.setdefault("source", RestBarSource(self.rest, self.calendar))
        return AlpacaData(store=self, market_calendar=self.calendar, **kwargs)

    # --- trade updates ---------------------------------------------------------------------
    def start_trade_updates(self, on_update: Callable[[OrderUpdate], None],
                            on_connect: Callable[[], None]) -> None:
        """Stream ``trade_updates`` to ``on_update`` (parsed; malformed messages are logged
        and reported as a reconnect-like ``on_connect`` so the broker re-reads its orders)."""
        async def handler(raw: dict) -> None:
            try:
                update = order_update(raw)
            except AlpacaProtocolError as err:
                logger.error("Skipping a trade update: %s", err)
                on_connect()
                return
            on_update(update)

        def connected() -> None:
            self._trades.connections += 1
            logger.info("trade_updates stream connected (connection %d)", self._trades.connections)
            on_connect()

        cfg = self.config
        stream = _TradeStream(self.credentials.key_id, self.credentials.secret_key,
                              paper=self.mode == "paper", raw_data=True,
                              url_override=cfg.trading_stream_url, on_connect=connected)
        stream._reconnect_min_backoff = cfg.stream_reconnect_min_s  # alpaca-py 0.44 attributes
        stream._reconnect_max_backoff = cfg.stream_reconnect_max_s
        stream.subscribe_trade_updates(handler)
        self._trades = StreamRunner(stream, f"alpaca-trade-updates-{self.mode}")
        self._trades.start()

    def stop_trade_updates(self) -> None:
        if self._trades is not None:
            self._trades.stop()
            self._trades = None

    @property
    def trade_stream_connections(self) -> int:
        """How many times the trade stream has connected (1 + reconnects)."""
        return self._trades.connections if self._trades is not None else 0

    # --- bars ------------------------------------------------------------------------------
    def subscribe_bars(self, symbol: str, on_bar: Callable[[BarRecord], None],
                       on_connect: Callable[[], None]) -> None:
        """Stream minute bars of ``symbol`` to ``on_bar``; ``on_connect`` after each reconnect."""
        with self._lock:
            self._bar_callbacks[symbol] = (on_bar, on_connect)
            if self._bars is None:
                cfg = self.config
                stream = _BarStream(self.credentials.key_id, self.credentials.secret_key,
                                    raw_data=True, feed=DataFeed(cfg.feed),
                                    url_override=cfg.data_stream_url, on_connect=self._bars_connected)
                stream._reconnect_min_backoff = cfg.stream_reconnect_min_s
                stream._reconnect_max_backoff = cfg.stream_reconnect_max_s
                self._bars = StreamRunner(stream, f"alpaca-bars-{self.mode}")
            self._bars.stream.subscribe_bars(self._on_bar, symbol)
            self._bars.start()

    def _bars_connected(self) -> None:
        self._bars.connections += 1
        logger.info("market-data stream connected (connection %d)", self._bars.connections)
        for _, on_connect in list(self._bar_callbacks.values()):
            on_connect()

    async def _on_bar(self, raw: dict) -> None:
        try:
            bar = stream_bar(raw)
        except AlpacaProtocolError as err:
            logger.error("Skipping a bar message: %s", err)
            return
        callbacks = self._bar_callbacks.get(bar.symbol)
        if callbacks is not None:
            callbacks[0](bar)

    def stop_bars(self) -> None:
        with self._lock:
            if self._bars is not None:
                self._bars.stop()
                self._bars = None
            self._bar_callbacks.clear()

    def stop(self) -> None:
        """Stop both streams (idempotent)."""
        self.stop_trade_updates()
        self.stop_bars()
