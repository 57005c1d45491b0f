"""Running the replay exchange: socket binding, uvicorn in a thread, a context manager."""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from adapters.replay_exchange.app import create_app
from adapters.replay_exchange.config import ReplayExchangeConfig
from adapters.replay_exchange.errors import PortInUseError, ReplayExchangeError
from adapters.replay_exchange.exchange import ReplayExchange

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket bound to ``host:port`` (port 0: a free one).

    Raises:
        PortInUseError: the port is taken; the message names it and the fix.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"Port {port} on {host} is already in use. Stop the process holding it "
                f"(`ss -ltnp 'sport = :{port}'` shows it) or choose another with --port."
            ) from err
        raise
    return sock


class ReplayServer:
    """The replay exchange's HTTP server on a bound socket, run by uvicorn.

    Args:
        config: server settings; ``config.port`` 0 picks a free port (see ``port``).
        exchange: the exchange to serve (built from ``config`` if omitted).

    Raises:
        PortInUseError: the port is taken.
        NoCandleDataError: the data dir holds no candle files.
    """

    def __init__(self, config: ReplayExchangeConfig, exchange: ReplayExchange | None = None):
        self.exchange = exchange or ReplayExchange(config)
        self._sock = bind_socket(config.host, config.port)
        self.host = config.host
        self.port: int = self._sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(
            create_app(self.exchange), log_level="warning", access_log=False, lifespan="off",
            timeout_graceful_shutdown=5))
        self._thread: threading.Thread | None = None

    @property
    def api_url(self) -> str:
        """Base URL of the REST API, e.g. ``http://127.0.0.1:18765/api/v3``."""
        return f"http://{self.host}:{self.port}/api/v3"

    def serve_forever(self) -> None:
        """Serve in the calling thread until SIGINT/SIGTERM (uvicorn handles both)."""
        self._server.run(sockets=[self._sock])

    def start(self) -> None:
        """Serve in a background thread; returns once the server accepts connections.

        Raises:
            ReplayExchangeError: the server did not start within ``START_TIMEOUT_S``.
        """
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="replay-exchange", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                raise ReplayExchangeError("Replay exchange thread exited during start-up.")
            if time.monotonic() > deadline:
                raise ReplayExchangeError(
                    f"Replay exchange did not start within {START_TIMEOUT_S:.0f} s.")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()


@contextmanager
def serving(config: ReplayExchangeConfig) -> Iterator[ReplayServer]:
    """Run a replay exchange in a background thread for the duration of a ``with`` block."""
    server = ReplayServer(config)
    server.start()
    logger.info("Replay exchange serving %s", server.api_url)
    try:
        yield server
    finally:
        server.stop()
