"""The Anthropic API key never appears in an exception or a log line (DEBUG included): the real
SDK against a local server on the success path and on every error path - rejected key (the body
echoes it), persistent 5xx after the SDK's retries, unreachable server."""

from __future__ import annotations

import json
import logging
import traceback
import uuid

import pytest

from plugins.llm.client import AnthropicLlm, LlmRequest
from plugins.llm.config import LlmConfig
from plugins.llm.errors import LlmCallError
from plugins.llm.testing.fake_server import Reply

SYSTEM = "HOOK: secrets\nAnswer."


@pytest.fixture
def key() -> str:
    """A key unique to the test (the redaction registry lives as long as the process)."""
    return f"sk-ant-leak-canary-{uuid.uuid4().hex}"


def request() -> LlmRequest:
    return LlmRequest(hook="secrets", system=SYSTEM,
                      messages=({"role": "user", "content": "hello"},))


def formatted(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def anthropic_error(status: int, kind: str, key: str) -> str:
    """Anthropic's documented error body (``{"type": "error", "error": {...}}``), echoing the key."""
    return json.dumps({"type": "error", "error": {"type": kind,
                                                  "message": f"invalid x-api-key: {key}"}})


def test_call_when_answered_then_key_not_in_debug_logs(fake_model, fake_server, make_llm, key,
                                                        caplog):
    fake_model.add("HOOK: secrets", Reply.text("hi"))
    caplog.set_level(logging.DEBUG)

    reply = make_llm(api_key=key).call(request())

    assert reply.source == "api"
    assert key not in caplog.text


@pytest.mark.parametrize(("status", "kind"), [(401, "authentication_error"),
                                              (403, "permission_error"),
                                              (500, "api_error"), (529, "overloaded_error")])
def test_call_when_api_errors_and_echoes_key_then_key_in_neither_error_nor_logs(
        httpserver, llm_config, clock, key, caplog, status, kind):
    httpserver.expect_request("/v1/messages", method="POST").respond_with_data(
        anthropic_error(status, kind, key), status=status, content_type="application/json",
        headers={"retry-after": "0"})
    config = LlmConfig.model_validate({**llm_config.model_dump(),
                                       "base_url": httpserver.url_for("").rstrip("/")})
    llm = AnthropicLlm(config, api_key=key, clock=clock)
    caplog.set_level(logging.DEBUG)

    try:
        with pytest.raises(LlmCallError) as raised:
            llm.call(request())
    finally:
        llm.close()

    assert str(status) in str(raised.value)
    assert key not in formatted(raised.value)
    assert key not in caplog.text


def test_call_when_server_unreachable_then_key_in_neither_error_nor_logs(llm_config, clock, key,
                                                                         caplog):
    config = LlmConfig.model_validate({**llm_config.model_dump(), "base_url": "http://127.0.0.1:9",
                                       "max_retries": 1, "connect_timeout_s": 1})
    llm = AnthropicLlm(config, api_key=key, clock=clock)
    caplog.set_level(logging.DEBUG)

    try:
        with pytest.raises(LlmCallError) as raised:
            llm.call(request())
    finally:
        llm.close()

    assert key not in formatted(raised.value)
    assert key not in caplog.text
