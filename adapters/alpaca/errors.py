"""Typed errors of the Alpaca adapter. Each docstring says what happens next.

Wire errors (alpaca-py's ``APIError``, ``requests`` exceptions, pydantic validation errors of
Alpaca's models) never leave ``adapters.alpaca.client`` / ``parsing`` untranslated: they become
one of these, raised ``from`` the original. Status mapping (Alpaca Trading API docs, "Errors"):
401 -> ``AlpacaAuthError``; 403 / 422 on an order -> ``AlpacaOrderRejected``; 403 elsewhere ->
``AlpacaAuthError``; other 4xx -> ``AlpacaRequestError``; 429 -> ``AlpacaRateLimitError``;
5xx -> ``AlpacaServerError``; no answer -> ``AlpacaConnectionError``.
"""

from __future__ import annotations

from plugins.core.errors import SuiteError


class AlpacaError(SuiteError):
    """Base class of every error of the Alpaca adapter.

    Attributes:
        status: the HTTP status behind it (None when there was no HTTP answer).
        code: Alpaca's error code from the body (``{"code": 40310000, "message": ...}``), if any.
    """

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class AlpacaConfigError(AlpacaError):
    """Settings or credentials are missing or contradictory (no APCA_API_KEY_ID, live trading
    without the explicit flag and confirmation). Raised before anything is sent; the CLI exits 2
    with the message, which names the fix."""


class AlpacaAuthError(AlpacaError):
    """Alpaca refused the credentials (401) or the account may not do this (403). Not retried;
    a session stops: fix the keys (paper keys for paper, live keys for live)."""


class AlpacaRequestError(AlpacaError):
    """Alpaca answered a 4xx other than 401/429 (e.g. 404 unknown order, 422 invalid field).
    Not retried: the same request would fail again. Callers decide (a cancel of an order that
    already filled is logged and ignored)."""


class AlpacaOrderRejected(AlpacaRequestError):
    """Alpaca refused an order at submission (403 "insufficient buying power", 403 pattern day
    trading protection, 422 "qty must be > 0", ...). The broker rejects the backtrader order and
    keeps Alpaca's message as its reason (``order.info.reject_reason``)."""


class AlpacaRateLimitError(AlpacaError):
    """429 still answered after every retry (``retry_attempts``, exponential backoff honouring
    ``Retry-After``). The call fails; a data feed retries at its next poll, an order is
    rejected locally with this reason (nothing was placed: a 429 is refused before processing)."""


class AlpacaServerError(AlpacaError):
    """5xx still answered after every retry. An order submission is first looked up by its
    ``client_order_id`` (it may have been placed before the error), so it is never doubled."""


class AlpacaConnectionError(AlpacaError):
    """No answer (connection refused, reset, timeout of ``request_timeout_s``) after every
    retry. Same handling as ``AlpacaServerError``."""


class AlpacaProtocolError(AlpacaError):
    """A REST answer or stream message is not in Alpaca's documented format (a missing field,
    a non-JSON body). The message is logged and skipped; for trade updates the broker re-reads
    its open orders over REST, so no fill is lost."""


class OrderMappingError(AlpacaError):
    """A backtrader order has no Alpaca equivalent (good-till-date validity, a trailing
    stop-limit, a fractional bracket). Raised before sending; the broker rejects the order
    locally with this message as its reason."""
