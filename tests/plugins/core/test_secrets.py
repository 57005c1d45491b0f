"""One redaction place (``plugins.core.secrets``): registered secrets and secret-named URL
parameters never reach a log line (any level, any logger, tracebacks included) or a suite
exception's message."""

from __future__ import annotations

import logging
import traceback
import uuid

import pytest
from pydantic import BaseModel

from plugins.core.config import load_section
from plugins.core.errors import SuiteError
from plugins.core.secrets import MASK, redact, register_secret, safe_cause


def fresh_secret(label: str) -> str:
    """A secret no other test registers (the registry lives as long as the process)."""
    return f"{label}-{uuid.uuid4().hex}"


def formatted(exc: BaseException) -> str:
    """Everything a traceback would print for ``exc``, its chain included."""
    return "".join(traceback.format_exception(exc))


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR,
                                   logging.CRITICAL])
@pytest.mark.parametrize("logger_name", ["plugins.altdata.live", "urllib3.connectionpool",
                                         "anthropic._base_client", "freqtrade.rpc.telegram"])
def test_log_when_registered_secret_in_message_or_args_then_masked_at_every_level_and_logger(
        caplog, level, logger_name):
    secret = fresh_secret("log")
    register_secret(secret)
    caplog.set_level(logging.DEBUG)

    logging.getLogger(logger_name).log(level, "calling %s with %s", f"https://x/?k={secret}", secret)
    logging.getLogger(logger_name).log(level, f"inline {secret}")

    assert secret not in caplog.text
    assert caplog.text.count(MASK) >= 3


def test_log_when_exception_text_holds_secret_then_traceback_masked(caplog):
    secret = fresh_secret("exc")
    register_secret(secret)
    caplog.set_level(logging.DEBUG)

    try:
        raise ValueError(f"upstream said: bad key {secret}")
    except ValueError:
        logging.getLogger("some.library").exception("request failed")

    assert "upstream said: bad key" in caplog.text
    assert secret not in caplog.text


def test_log_when_api_key_in_url_query_then_value_masked_even_if_never_registered(caplog):
    caplog.set_level(logging.DEBUG)

    logging.getLogger("urllib3.connectionpool").debug(
        '%s "GET /v4/timeseries?assets=btc&api_key=%s&page_size=10 HTTP/1.1" 200 None',
        "https://community-api.coinmetrics.io:443", "unregistered-key-0001")

    assert "unregistered-key-0001" not in caplog.text
    assert "api_key=***&page_size=10" in caplog.text


@pytest.mark.parametrize("frame", [
    "TEXT '{\"action\": \"authenticate\", \"data\": {\"key_id\": \"PKAB...SECRETTAIL\"}}' [108 bytes]",
    "BINARY 83 a6 61 63 74 69 6f 6e a4 61 75 74 68 a3 6b 65 79 ... [70 bytes]",
])
def test_log_when_websockets_logs_a_frame_then_payload_not_logged_only_its_size(caplog, frame):
    register_secret(fresh_secret("ws"))  # any registration installs the record redaction
    caplog.set_level(logging.DEBUG)

    logging.getLogger("websockets.client").debug("> %s", frame)

    assert "SECRETTAIL" not in caplog.text and "83 a6" not in caplog.text
    assert "payload not logged" in caplog.text and "bytes]" in caplog.text


@pytest.mark.parametrize(("text", "expected"), [
    ("GET /x?api_key=abc123&b=1", "GET /x?api_key=***&b=1"),
    ("see https://h/p?token=t0k3n#frag", "see https://h/p?token=***#frag"),
    ("Authorization: Bearer eyJabc.def-ghi", "Authorization: Bearer ***"),
    ("next_page_token=keepme", "next_page_token=keepme"),  # a page cursor, not a secret
    ("no secrets here", "no secrets here"),
])
def test_redact_when_secret_named_param_or_bearer_then_value_masked(text, expected):
    assert redact(text) == expected


def test_redact_when_secret_is_url_encoded_in_text_then_masked():
    secret = fresh_secret("enc") + "+/="
    register_secret(secret)

    assert secret not in redact(f"raw {secret}") and "%2B%2F%3D" not in redact(
        f"url ?x={secret.replace('+', '%2B').replace('/', '%2F').replace('=', '%3D')}")


def test_raise_when_suite_error_message_holds_secret_then_message_repr_and_traceback_masked():
    secret = fresh_secret("err")
    register_secret(secret)

    with pytest.raises(SuiteError) as raised:
        raise SuiteError(f"source refused key {secret}")

    assert str(raised.value) == f"source refused key {MASK}"
    assert secret not in repr(raised.value) and secret not in formatted(raised.value)


def test_raise_when_cause_holds_secret_then_safe_cause_drops_it_from_the_traceback():
    secret = fresh_secret("cause")
    register_secret(secret)

    with pytest.raises(SuiteError) as raised:
        try:
            raise ConnectionError(f"https://api/?x={secret} unreachable")
        except ConnectionError as err:
            raise SuiteError("source unreachable") from safe_cause(err)

    assert secret not in formatted(raised.value)


def test_raise_when_cause_is_clean_then_safe_cause_keeps_the_chain():
    with pytest.raises(SuiteError) as raised:
        try:
            raise ConnectionError("connection refused")
        except ConnectionError as err:
            raise SuiteError("source unreachable") from safe_cause(err)

    assert isinstance(raised.value.__cause__, ConnectionError)


class AnySection(BaseModel):
    """A section model with no fields (what it validates does not matter here)."""


def test_load_section_when_telegram_api_server_and_exchange_secrets_then_masked_everywhere(
        caplog):
    token, password, jwt, ws = (fresh_secret(n) for n in ("tg", "pw", "jwt", "ws"))
    exchange_secret = fresh_secret("ex")
    config = {"telegram": {"enabled": True, "token": token, "chat_id": "42"},
              "api_server": {"enabled": True, "username": "me", "password": password,
                             "jwt_secret_key": jwt, "ws_token": [ws]},
              "exchange": {"name": "binance", "key": "", "secret": exchange_secret}}
    caplog.set_level(logging.DEBUG)

    load_section(config, "risk", AnySection)  # loading any section registers them
    logging.getLogger("freqtrade.rpc.telegram").info(
        "posting to https://api.telegram.org/bot%s/sendMessage", token)
    logging.getLogger("plugins.rpc").debug("api auth %s %s %s %s", password, jwt, ws, exchange_secret)
    error = SuiteError(f"login {password} failed with {jwt}")

    for secret in (token, password, jwt, ws, exchange_secret):
        assert secret not in caplog.text and secret not in formatted(error)
    assert "me" in config["api_server"]["username"]  # the config itself is left as it was


def test_register_when_value_empty_or_too_short_then_ignored_so_lines_stay_readable(caplog):
    caplog.set_level(logging.DEBUG)

    for value in (None, "", "   ", "short", 12345):
        register_secret(value)
    logging.getLogger("plugins.test").info("a short word stays")

    assert "a short word stays" in caplog.text
