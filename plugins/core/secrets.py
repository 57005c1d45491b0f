"""Secrets never appear in an exception message or a log line: one registry, one redaction.

Every edge that holds a secret registers it here (``register_secret``): the alt-data providers
their API keys, the LLM client the Anthropic key, the Alpaca credentials both halves of the key
pair, and ``plugins.core.config.load_section`` the secrets of the Freqtrade config
(``CONFIG_SECRET_PATHS``: Telegram token, API-server password / JWT secret / websocket token,
exchange keys). Then:

- ``redact(text)`` replaces every registered value (also URL-encoded) with ``***`` and the value
  of every secret-named query/form parameter (``SECRET_PARAMS``: ``api_key=...``, ``token=...``)
  and of ``Bearer`` credentials, registered or not;
- ``SuiteError`` (``plugins.core.errors``) passes its message through ``redact``, so no suite
  exception carries a secret; an edge that translates a wire exception raises ``from
  safe_cause(err)``, which drops a cause whose text holds a secret from the traceback;
- ``install_log_redaction()`` (called by ``register_secret``) wraps the ``logging`` record
  factory, so every log record of every logger (ours, urllib3's retry lines with the URL,
  the SDKs', Freqtrade's) has its message and formatted traceback redacted when created, at
  every level, before any handler or filter sees it. ``RedactingFilter`` does the same as a
  handler filter, for handlers that build records without the factory.
- the ``websockets`` library logs every frame at DEBUG, truncated in the middle (and binary
  frames in hex), so a credential in an authentication frame (Alpaca's streams send the key
  pair) could show partly or encoded, past any value match: the payload of those frame lines
  is replaced by its size.

Values shorter than ``MIN_SECRET_CHARS`` are not registered (masking them would blank common
substrings of every line; no key, token or JWT secret is that short); the parameter-name
patterns still mask them in URLs.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_CHARS = 8
#: Query / form parameter names whose values are secrets wherever ``name=value`` appears
#: (Coin Metrics, FRED and Glassnode take ``api_key``, CryptoPanic ``auth_token``; generic names
#: for the rest).
SECRET_PARAMS = ("api_key", "apikey", "api-key", "auth_token", "access_token", "token", "secret",
                 "secret_key", "password", "passphrase", "jwt_secret_key", "ws_token", "client_secret")
#: Freqtrade config entries that hold secrets (dotted paths; a list value registers each item).
CONFIG_SECRET_PATHS = (
    "telegram.token", "api_server.password", "api_server.jwt_secret_key", "api_server.ws_token",
    "exchange.key", "exchange.secret", "exchange.password", "exchange.uid",
    "exchange.private_key", "discord.webhook_url",
)

_NAMES = "|".join(re.escape(p) for p in SECRET_PARAMS)
_PARAM = re.compile(r"(?i)(?<![\w-])((?:" + _NAMES + r")=)[^&\s'\"#,;)}\]]+")
_BEARER = re.compile(r"(?i)(\bBearer\s+)[\w.~+/=-]+")
#: A frame line of the ``websockets`` loggers: "> TEXT '{...}' [108 bytes]", "< BINARY 83 a6 ...".
_WS_FRAME = re.compile(r"^([<>] (?:TEXT|BINARY|CONT))\b.*?(\[\d+ bytes\])?$", re.S)

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None
_installed = False


def register_secret(value: Any) -> None:
    """Add ``value`` (a key, token or password) to the values ``redact`` masks, and make sure
    log records are redacted (``install_log_redaction``). ``None``, non-strings and values
    shorter than ``MIN_SECRET_CHARS`` are ignored. Thread-safe, idempotent."""
    if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_CHARS:
        install_log_redaction()
        return
    global _pattern
    variants = {value, value.strip(), quote(value, safe=""), quote_plus(value)}
    with _lock:
        if not variants <= _values:
            _values.update(v for v in variants if len(v) >= MIN_SECRET_CHARS)
            ordered = sorted(_values, key=len, reverse=True)  # longest first: no partial masks
            _pattern = re.compile("|".join(map(re.escape, ordered)))
    install_log_redaction()


def register_config_secrets(config: Mapping[str, Any]) -> None:
    """Register the values at ``CONFIG_SECRET_PATHS`` of a Freqtrade config (absent ones are
    skipped; a list, e.g. several ``ws_token``, registers each item)."""
    for path in CONFIG_SECRET_PATHS:
        node: Any = config
        for part in path.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        for value in node if isinstance(node, list | tuple) else (node,):
            register_secret(value)


def redact(text: str) -> str:
    """``text`` with every registered secret, every ``<secret param>=value`` and every
    ``Bearer <token>`` replaced by ``***``. Non-strings are returned unchanged."""
    if not isinstance(text, str):
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _PARAM.sub(lambda m: m.group(1) + MASK, text)
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)


def contains_secret(text: str) -> bool:
    """True when ``redact`` would change ``text``."""
    return redact(text) != text


def safe_cause(err: BaseException) -> BaseException | None:
    """``err`` as the cause to chain (``raise Ours(...) from safe_cause(err)``), or ``None``
    (no cause, context suppressed) when its formatted chain would show a secret."""
    text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    return None if contains_secret(text) else err


def _scrub(record: logging.LogRecord) -> None:
    """Redact ``record``'s message and traceback in place (formatting them now if needed)."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad %-format is logging's own error to report
        return
    frame = _WS_FRAME.match(message) if record.name.startswith("websockets") else None
    if frame is not None:
        size = f" {frame.group(2)}" if frame.group(2) else ""
        record.msg, record.args = f"{frame.group(1)} [payload not logged]{size}", ()
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        formatted = logging.Formatter().formatException(record.exc_info)
        if contains_secret(formatted):
            record.exc_text = redact(formatted)  # Formatter.format uses exc_text when set
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """A handler filter that redacts each record (see ``redact``); always lets it through."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        return True


def install_log_redaction() -> None:
    """Wrap the ``logging`` record factory so every record is redacted when created
    (idempotent; keeps any factory installed before)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
