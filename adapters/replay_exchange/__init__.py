"""A local HTTP server speaking Binance's public spot REST dialect over recorded candles.

It lets the real ccxt client and the real ``freqtrade`` CLI (backtesting, download-data,
``trade --dry-run``) run with no internet. Static mode serves candles at their recorded
times; replay mode shifts them by whole days so the real dry-run loop sees them "live".
Run it with ``python -m adapters.replay_exchange --help``.
"""

from adapters.replay_exchange.config import ReplayExchangeConfig
from adapters.replay_exchange.errors import (
    BinanceAPIError,
    NoCandleDataError,
    PortInUseError,
    ReplayExchangeError,
)
from adapters.replay_exchange.exchange import ReplayExchange
from adapters.replay_exchange.server import ReplayServer, serving

__all__ = [
    "BinanceAPIError",
    "NoCandleDataError",
    "PortInUseError",
    "ReplayExchange",
    "ReplayExchangeConfig",
    "ReplayExchangeError",
    "ReplayServer",
    "serving",
]
