"""The client layer: a small protocol every hook talks to, and its Anthropic SDK implementation.

``LlmClient`` is the protocol: ``call(LlmRequest) -> LlmReply`` and its async twin ``acall``.
``AnthropicLlm`` implements it on the official SDK (``anthropic.Anthropic`` / ``AsyncAnthropic``,
SDK >= 2, transport ``httpx2``):

- the static instructions (``LlmRequest.system``) and the hook's stable reference
  (``LlmRequest.context``: output schema, strategy-tree grammar, briefing template) go in the
  system blocks; the last one is marked ``cache_control: {"type": "ephemeral"}`` only when
  tools + system reach the model's minimum cacheable length (``plugins.llm.caching``: Anthropic
  caches nothing shorter, silently), so tools + system form a cached prefix and only the
  dynamic data is billed at the full input rate on repeated calls;
- structured output: ``output_format`` (a pydantic model) is sent through ``messages.parse``
  (JSON-schema structured output); tool use goes through ``messages.create`` with ``tools`` and
  ``tool_choice``. The answer is validated by the caller (``structured``), because a rejected
  answer must still be billed, stored and fed back to the model: a small SDK middleware keeps
  each call's raw response body for that;
- bounded time: ``timeout_s`` per HTTP attempt (``connect_timeout_s`` to connect) and
  ``max_retries`` SDK retries (429, 529 overloaded, 5xx, timeouts; ``retry-after`` honoured);
- cassettes (``cassette.CassetteStore``) by prompt hash: ``auto`` / ``replay`` / ``record`` /
  ``off`` (``LlmConfig.cassette_mode``);
- the budget (``ledger.Budget``) is checked before every live call; every call - live, replayed
  or failed - is written to the ledger with its prompt hash, model, tokens and cost.

Without an API key (``ANTHROPIC_API_KEY``) a prompt that no cassette holds raises
``LlmUnavailableError``; replays need no key.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

import pydantic
from pydantic import BaseModel, ConfigDict, TypeAdapter

from plugins.core.secrets import register_secret, safe_cause
from plugins.llm.caching import cacheable
from plugins.llm.cassette import CassetteStore, canonical_json, prompt_hash_of
from plugins.llm.config import LlmConfig
from plugins.llm.errors import CassetteMissError, LlmCallError, LlmUnavailableError
from plugins.llm.ledger import Budget, CallRecord, Ledger, TokenUsage, cost_usd, estimate_cost

logger = logging.getLogger(__name__)

#: Request header that ties an HTTP attempt to our call (read by the capture middleware).
CALL_HEADER = "X-Ai-Suite-Call"


class LlmRequest(BaseModel):
    """One call, engine-neutral.

    Attributes:
        hook: who asks (``ideas``, ``council.momentum``, ...): ledger and cassette label.
        system: the static instructions (the cached prefix); must not hold per-call data.
        context: the hook's stable reference text (output schema, grammar, briefing template),
            sent as a second system block after ``system``; part of the cached prefix; must
            not hold per-call data.
        messages: Messages API turns (``{"role": "user", "content": ...}``), the dynamic part.
        output_format: pydantic model of a JSON answer (structured output), or None.
        tools / tool_choice: Messages API tool definitions and choice (tool-use output).
        max_tokens: output limit (None: ``LlmConfig.max_tokens``).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    hook: str
    system: str
    messages: tuple[dict[str, Any], ...]
    context: str = ""
    output_format: type[BaseModel] | None = None
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: dict[str, Any] | None = None
    max_tokens: int | None = None

    def with_messages(self, messages: list[dict[str, Any]]) -> LlmRequest:
        """A copy with other turns (used to feed validation problems back)."""
        return self.model_copy(update={"messages": tuple(messages)})


class LlmReply(BaseModel):
    """One answer.

    Attributes:
        hook / prompt_hash / model: as requested.
        source: ``api`` (a live call) or ``cassette`` (replayed, not billed).
        message: the Messages API response object as received (``content``, ``stop_reason``,
            ``usage`` ...).
        usage: its token counts.
        cost_usd: list-price cost of those tokens; billed_usd: what this call cost (0 if replayed).
    """

    model_config = ConfigDict(frozen=True)

    hook: str
    prompt_hash: str
    model: str
    source: Literal["api", "cassette"]
    message: dict[str, Any]
    usage: TokenUsage
    cost_usd: float
    billed_usd: float

    @property
    def stop_reason(self) -> str | None:
        """``end_turn``, ``tool_use``, ``max_tokens``, ``refusal`` ..."""
        return self.message.get("stop_reason")

    def blocks(self) -> list[dict[str, Any]]:
        """The content blocks (dicts)."""
        content = self.message.get("content")
        return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []

    def text(self) -> str:
        """All text blocks joined."""
        return "".join(str(b.get("text", "")) for b in self.blocks() if b.get("type") == "text")

    def tool_uses(self) -> list[dict[str, Any]]:
        """The ``tool_use`` blocks."""
        return [b for b in self.blocks() if b.get("type") == "tool_use"]

    def as_turn_content(self) -> list[dict[str, Any]]:
        """The answer's text and tool_use blocks, fit to be sent back as an assistant turn."""
        out: list[dict[str, Any]] = []
        for b in self.blocks():
            if b.get("type") == "text" and b.get("text"):
                out.append({"type": "text", "text": b["text"]})
            elif b.get("type") == "tool_use":
                out.append({"type": "tool_use", "id": b.get("id"), "name": b.get("name"),
                            "input": b.get("input") if isinstance(b.get("input"), dict) else {}})
        return out


@runtime_checkable
class LlmClient(Protocol):
    """What the hooks need from an LLM: one call, sync or async. Implementations raise
    ``LlmUnavailableError``, ``BudgetExceededError`` or ``LlmCallError`` (see ``errors``)."""

    config: LlmConfig

    def call(self, request: LlmRequest) -> LlmReply:
        """Answer ``request`` (blocking)."""
        ...

    async def acall(self, request: LlmRequest) -> LlmReply:
        """Answer ``request`` (in an event loop; parallel calls run concurrently)."""
        ...


def _sdk():
    """The SDK, imported on first use: nothing else in the suite needs it."""
    import anthropic

    return anthropic


@functools.cache
def _output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema ``messages.parse`` sends for ``model`` (the SDK's ``transform_schema``)."""
    return _sdk().transform_schema(TypeAdapter(model).json_schema())


def _capture_middleware():
    """An SDK middleware that keeps the raw body of each successful HTTP attempt, keyed by the
    ``CALL_HEADER`` of the request, so a call's answer survives a failed ``messages.parse``."""
    anthropic = _sdk()

    class WireCapture(anthropic.Middleware):
        def __init__(self) -> None:
            self._lock = threading.Lock()
            self._bodies: dict[str, Any] = {}

        def _keep(self, request: Any, body: Any) -> None:
            call_id = (request.headers or {}).get(CALL_HEADER)
            if isinstance(call_id, str):
                with self._lock:
                    self._bodies[call_id] = body

        def handle(self, request, call_next):
            response = call_next(request)
            if response.status_code == 200:
                self._keep(request, response.json())
            return response

        async def handle_async(self, request, call_next):
            response = await call_next(request)
            if response.status_code == 200:
                self._keep(request, await response.json())
            return response

        def pop(self, call_id: str) -> Any:
            with self._lock:
                return self._bodies.pop(call_id, None)

    return WireCapture()


class AnthropicLlm:
    """``LlmClient`` on the Anthropic SDK (see the module docstring).

    Args:
        config: ``ai_suite.llm``.
        api_key: the key (default: the ``config.api_key_env`` environment variable; never
            logged or stored).
        clock: current time (tz-aware) for the ledger and the budget's day/month.
        ledger / cassettes: defaults open ``config.ledger_path`` / ``config.cassette_dir``.
        http_client: an ``httpx2.Client`` for the sync SDK client (tests may pass one with
            ``httpx2.MockTransport``); the async client always uses the SDK default.
    """

    def __init__(self, config: LlmConfig, *, api_key: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 ledger: Ledger | None = None, cassettes: CassetteStore | None = None,
                 http_client: Any = None) -> None:
        self.config = config
        self._api_key = api_key if api_key is not None else (os.environ.get(config.api_key_env) or None)
        register_secret(self._api_key)  # masked in every error and log line (plugins.core.secrets)
        self.clock = clock
        self.ledger = ledger if ledger is not None else Ledger(config.ledger_path)
        self.budget = Budget(self.ledger, config.daily_budget_usd, config.monthly_budget_usd, clock)
        self.cassettes = cassettes if cassettes is not None else CassetteStore(config.cassette_dir)
        self._http_client = http_client
        self._capture = None
        self._sync_client = None
        self._async_client = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._init_lock = threading.Lock()

    # --- request -------------------------------------------------------------------------

    def wire_request(self, request: LlmRequest) -> dict[str, Any]:
        """The Messages API request body for ``request`` (what is sent, hashed and stored)."""
        system = [{"type": "text", "text": request.system}]
        if request.context:
            system.append({"type": "text", "text": request.context})
        prefix = "".join(json.dumps(dict(t), sort_keys=True) for t in request.tools)
        if cacheable(prefix + "".join(b["text"] for b in system), self.config.model):
            cache_control: dict[str, str] = {"type": "ephemeral"}
            if self.config.cache_ttl != "5m":
                cache_control["ttl"] = self.config.cache_ttl
            system[-1]["cache_control"] = cache_control
        body: dict[str, Any] = {
            "model": self.config.model,
            "max_tokens": request.max_tokens or self.config.max_tokens,
            "system": system,
            "messages": [dict(m) for m in request.messages],
        }
        if request.tools:
            body["tools"] = [dict(t) for t in request.tools]
        if request.tool_choice is not None:
            body["tool_choice"] = dict(request.tool_choice)
        if request.output_format is not None:
            schema = copy.deepcopy(_output_schema(request.output_format))
            body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        return body

    # --- calls ---------------------------------------------------------------------------

    def call(self, request: LlmRequest) -> LlmReply:
        """Answer ``request``: from a cassette, else from the API (see the module docstring).

        Raises:
            CassetteMissError / LlmUnavailableError: no cassette and (replay mode | no key).
            BudgetExceededError: the call would cross a budget cap (nothing was sent).
            LlmCallError: the API failed after the SDK's retries.
        """
        body, key, replayed, estimate = self._prepare(request)
        if replayed is not None:
            return replayed
        with self.budget.reserve(estimate, f"{request.hook} call {key[:12]}"):
            call_id = uuid.uuid4().hex
            kwargs = self._sdk_kwargs(body, call_id)
            client = self._sync()
            try:
                if request.output_format is not None:
                    client.messages.parse(output_format=request.output_format, **kwargs)
                else:
                    client.messages.create(**kwargs)
            except pydantic.ValidationError:
                pass  # messages.parse rejected the answer: the caller validates it and feeds back
            except _sdk().APIError as err:
                self._capture.pop(call_id)
                raise self._failed(request, key, err) from safe_cause(err)
            return self._finish(request, body, key, self._capture.pop(call_id))

    async def acall(self, request: LlmRequest) -> LlmReply:
        """``call`` on ``AsyncAnthropic`` (one client per event loop). Same errors."""
        body, key, replayed, estimate = self._prepare(request)
        if replayed is not None:
            return replayed
        with self.budget.reserve(estimate, f"{request.hook} call {key[:12]}"):
            call_id = uuid.uuid4().hex
            kwargs = self._sdk_kwargs(body, call_id)
            client = self._async()
            try:
                if request.output_format is not None:
                    await client.messages.parse(output_format=request.output_format, **kwargs)
                else:
                    await client.messages.create(**kwargs)
            except pydantic.ValidationError:
                pass
            except _sdk().APIError as err:
                self._capture.pop(call_id)
                raise self._failed(request, key, err) from safe_cause(err)
            return self._finish(request, body, key, self._capture.pop(call_id))

    # --- helpers -------------------------------------------------------------------------

    def _prepare(self, request: LlmRequest) -> tuple[dict, str, LlmReply | None, float]:
        """(wire body, prompt hash, the replayed reply or None, the worst-case cost of a live
        call). Raises the cassette / key errors of ``call``."""
        body = self.wire_request(request)
        text = canonical_json(body)
        key = prompt_hash_of(text)
        replayed = self._replay(request, key)
        if replayed is not None:
            return body, key, replayed, 0.0
        return body, key, None, self._live_estimate(request, body, key, len(text))

    def _replay(self, request: LlmRequest, key: str) -> LlmReply | None:
        mode = self.config.cassette_mode
        if mode in ("auto", "replay"):
            response = self.cassettes.get(key)
            if response is not None:
                logger.info("LLM %s: replayed cassette %s", request.hook, key[:12])
                return self._reply(request, key, response, "cassette")
        if mode == "replay":
            raise CassetteMissError(
                f"{request.hook}: no cassette for prompt {key[:12]} in {self.cassettes.root} "
                "(cassette_mode replay, used for reproducible runs). Record it first with "
                "cassette_mode auto or record (needs an API key or a local Messages API server), "
                "or point ai_suite.llm.cassette_dir at the recorded cassettes.")
        return None

    def _live_estimate(self, request: LlmRequest, body: dict, key: str, chars: int) -> float:
        if not self._api_key:
            raise LlmUnavailableError(
                f"{request.hook}: {self.config.api_key_env} is not set and no cassette in "
                f"{self.cassettes.root} holds this prompt ({key[:12]}). Set {self.config.api_key_env} "
                "to call the Anthropic API, or replay recorded cassettes (ai_suite.llm.cassette_dir, "
                "--cassette-dir). Nothing else in the suite needs the LLM.")
        price = self.config.price(self.config.model)
        return estimate_cost(chars, body["max_tokens"], price)

    def _sdk_kwargs(self, body: dict, call_id: str) -> dict[str, Any]:
        kwargs = {k: v for k, v in body.items() if k != "output_config"}
        kwargs["extra_headers"] = {CALL_HEADER: call_id}
        return kwargs

    def _client_options(self) -> dict[str, Any]:
        import httpx2

        if self._capture is None:
            self._capture = _capture_middleware()
        return {"api_key": self._api_key, "base_url": self.config.base_url,
                "timeout": httpx2.Timeout(self.config.timeout_s, connect=self.config.connect_timeout_s),
                "max_retries": self.config.max_retries, "middleware": [self._capture]}

    def _sync(self):
        with self._init_lock:
            if self._sync_client is None:
                options = self._client_options()
                if self._http_client is not None:
                    options["http_client"] = self._http_client
                self._sync_client = _sdk().Anthropic(**options)
            return self._sync_client

    def _async(self):
        loop = asyncio.get_running_loop()
        with self._init_lock:
            if self._async_client is None or self._async_loop is not loop:
                self._async_client = _sdk().AsyncAnthropic(**self._client_options())
                self._async_loop = loop
            return self._async_client

    def _reply(self, request: LlmRequest, key: str, response: dict, source: str) -> LlmReply:
        usage = TokenUsage.from_api(response.get("usage"))
        price = self.config.price(self.config.model)
        cost = cost_usd(usage, price, self.config.cache_ttl)
        billed = cost if source == "api" else 0.0
        self.ledger.record(CallRecord(self.clock(), request.hook, key, self.config.model, source,
                                      str(response.get("stop_reason") or "unknown"), usage, cost, billed))
        return LlmReply(hook=request.hook, prompt_hash=key, model=self.config.model, source=source,
                        message=response, usage=usage, cost_usd=cost, billed_usd=billed)

    def _finish(self, request: LlmRequest, body: dict, key: str, response: Any) -> LlmReply:
        if not isinstance(response, dict):
            raise LlmCallError(f"{request.hook}: the API answered without a JSON message body", key)
        reply = self._reply(request, key, response, "api")
        if self.config.cassette_mode != "off":
            self.cassettes.put(key, request.hook, body, response, self.clock())
        logger.info("LLM %s: %s in=%d out=%d cache_read=%d cache_write=%d $%.5f (%s)", request.hook,
                    key[:12], reply.usage.input_tokens, reply.usage.output_tokens,
                    reply.usage.cache_read_input_tokens, reply.usage.cache_creation_input_tokens,
                    reply.cost_usd, reply.stop_reason)
        return reply

    def _failed(self, request: LlmRequest, key: str, err: Exception) -> LlmCallError:
        kind = type(err).__name__
        self.ledger.record(CallRecord(self.clock(), request.hook, key, self.config.model, "api",
                                      f"error:{kind}", TokenUsage(), 0.0, 0.0))
        status = getattr(err, "status_code", None)
        logger.warning("LLM %s: call %s failed after %d retries: %s %s", request.hook, key[:12],
                       self.config.max_retries, kind, status or "")
        return LlmCallError(f"{request.hook}: the API call failed after {self.config.max_retries} "
                            f"retries: {kind}{f' (HTTP {status})' if status else ''}: {err}"[:500], key)

    async def aclose(self) -> None:
        """Close the async SDK client of the running loop (a later ``acall`` makes a new one)."""
        client, self._async_client, self._async_loop = self._async_client, None, None
        if client is not None:
            await client.close()

    def close(self) -> None:
        """Close the sync SDK client and the ledger."""
        if self._sync_client is not None:
            self._sync_client.close()
            self._sync_client = None
        self.ledger.close()
