"""Errors of the replay exchange.

``BinanceAPIError`` is what a route raises; the app turns it into Binance's documented error
body ``{"code": <int>, "msg": <str>}`` with the HTTP status, so that ccxt maps it to the same
exception class it would raise against the real exchange (``-1121`` -> ``ccxt.BadSymbol``,
``-11xx`` -> ``ccxt.BadRequest``). Source: Binance Spot API docs, "Error Codes"
(https://developers.binance.com/docs/binance-spot-api-docs/errors).
"""

from __future__ import annotations


class ReplayExchangeError(Exception):
    """Base class: a problem of the replay exchange itself (setup, data), not of a request."""


class NoCandleDataError(ReplayExchangeError):
    """The data dir holds no usable candle files. The CLI exits non-zero with this message."""


class CandleFileError(NoCandleDataError):
    """A candle file cannot be read (truncated, not in the data format) or holds bad candles
    (times not increasing, a non-finite or non-positive price, a negative volume). Raised when
    the server starts, which then does not start; the message names the file and the fix."""


class ReplayStartError(ReplayExchangeError):
    """``replay_start`` lies outside the recorded candles. The CLI exits 2 (a bad option) with
    the data's span."""


class PortInUseError(ReplayExchangeError):
    """The TCP port is taken. The CLI exits non-zero; pick another port with ``--port``."""


class BinanceAPIError(Exception):
    """A request error in Binance's format. Raised by routes, answered as JSON by the app.

    Args:
        code: Binance error code (negative int, e.g. -1121).
        msg: Human-readable message; starts with Binance's own text for that code.
        status: HTTP status (400 for request errors, 404 for unknown endpoints).
    """

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    @classmethod
    def bad_symbol(cls, symbol: str, known: list[str]) -> BinanceAPIError:
        """-1121 INVALID_SYMBOL for a symbol with no candle files in the data dir."""
        return cls(-1121, f"Invalid symbol. '{symbol}' is not in the replay data "
                          f"(serving: {', '.join(known) or 'none'}).")

    @classmethod
    def bad_interval(cls, interval: str, available: list[str]) -> BinanceAPIError:
        """-1120 BAD_INTERVAL for an interval that is not Binance's or has no candle file."""
        return cls(-1120, f"Invalid interval. '{interval}' is not served for this symbol "
                          f"(available: {', '.join(available)}).")

    @classmethod
    def mandatory(cls, name: str) -> BinanceAPIError:
        """-1102 MANDATORY_PARAM_EMPTY_OR_MALFORMED."""
        return cls(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, "
                          "or malformed.")

    @classmethod
    def illegal_chars(cls, name: str, legal: str) -> BinanceAPIError:
        """-1100 ILLEGAL_CHARS for a parameter that does not parse."""
        return cls(-1100, f"Illegal characters found in parameter '{name}'; "
                          f"legal range is '{legal}'.")

    @classmethod
    def start_after_end(cls) -> BinanceAPIError:
        """-1023 START_TIME_GREATER_THAN_END_TIME (klines with ``startTime > endTime``)."""
        return cls(-1023, "Start time is greater than end time.")

    @classmethod
    def invalid_value(cls, name: str, detail: str) -> BinanceAPIError:
        """-1130 INVALID_PARAMETER for a parameter outside its allowed range."""
        return cls(-1130, f"Data sent for parameter '{name}' is not valid. {detail}")
