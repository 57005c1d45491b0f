"""A local Messages API server with a scripted fake model, for tests, cassettes and benchmarks.

It answers ``POST /v1/messages`` in the documented format, so the real ``anthropic`` clients
talk to it unchanged through ``base_url``:

- 200: ``{"id", "type": "message", "role": "assistant", "model", "content": [text | tool_use
  blocks], "stop_reason", "stop_sequence", "stop_details", "usage": {"input_tokens",
  "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"}}``;
- errors: ``{"type": "error", "error": {"type": "rate_limit_error" | "overloaded_error" | ...,
  "message"}, "request_id"}`` with the status (429, 529, 500 ...) and, when scripted, a
  ``retry-after`` header (seconds).

The model is a script: ``Rule``s matched against the request's system prompt (a substring,
e.g. ``HOOK: council.momentum``) and optionally its last user turn; each rule plays its
``Reply``s in order and repeats the last one. Answers are deterministic: ids derive from the
request, token counts from its size (4 characters a token). Prompt caching is simulated as the
API does it: the prefix up to the last ``cache_control`` breakpoint (tools, then system) is
cached only when it holds at least the model's documented minimum
(``plugins.llm.caching.min_cacheable_tokens``: 1024 tokens for most Sonnet/Opus models, 2048 or
4096 for Haiku models); then it is billed as ``cache_creation_input_tokens`` the first time and
``cache_read_input_tokens`` afterwards, and ``input_tokens`` counts only what follows it. A
shorter marked prefix is silently not cached: both cache counts are 0 and every token is
``input_tokens``.

Run alone with the default script (``script.default_model``, for manual cassette recording)::

    python -m plugins.llm.testing --port 8765 [--latency-s 0.2]
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from plugins.llm.caching import min_cacheable_tokens

logger = logging.getLogger(__name__)

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error",
               500: "api_error", 529: "overloaded_error"}


def tokens(text: str) -> int:
    """Fake token count: one token per 4 characters (at least 1 for non-empty text)."""
    return math.ceil(len(text) / 4)


@dataclass(frozen=True)
class Reply:
    """One scripted answer (build with the class methods).

    Attributes:
        kind: ``json`` (a text block holding ``payload`` as JSON), ``text``, ``tool``
            (a tool_use block: ``payload`` = input, ``tool_name``), ``refusal``, ``max_tokens``
            (truncated text), ``error`` (HTTP ``status`` with an error body).
        delay_s: seconds to wait before answering (simulated latency or a hang).
        retry_after_s: ``retry-after`` header of an error.
    """

    kind: str
    payload: Any = None
    tool_name: str = ""
    status: int = 200
    retry_after_s: float | None = None
    delay_s: float = 0.0

    @classmethod
    def json(cls, payload: Any, delay_s: float = 0.0) -> Reply:
        return cls("json", payload, delay_s=delay_s)

    @classmethod
    def text(cls, text: str, delay_s: float = 0.0) -> Reply:
        return cls("text", text, delay_s=delay_s)

    @classmethod
    def tool(cls, name: str, payload: dict, delay_s: float = 0.0) -> Reply:
        return cls("tool", payload, tool_name=name, delay_s=delay_s)

    @classmethod
    def refusal(cls, explanation: str = "I can't help with that.") -> Reply:
        return cls("refusal", explanation)

    @classmethod
    def truncated(cls, text: str) -> Reply:
        return cls("max_tokens", text)

    @classmethod
    def error(cls, status: int, retry_after_s: float | None = None, delay_s: float = 0.0) -> Reply:
        return cls("error", None, status=status, retry_after_s=retry_after_s, delay_s=delay_s)


@dataclass
class Rule:
    """Answers for requests whose system prompt contains ``system`` (and whose last user turn
    contains ``user``, when given). ``replies`` play in order; the last one repeats."""

    system: str
    replies: list[Reply]
    user: str | None = None
    served: int = 0


@dataclass
class Recorded:
    """One request the server received: the body, the headers, when it arrived and the status."""

    body: dict
    headers: dict[str, str]
    at_s: float
    status: int = 0


@dataclass
class FakeModel:
    """The script: ``rules`` tried in order (first match answers); no match answers 400."""

    rules: list[Rule]
    requests: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cached_prefixes: set[str] = field(default_factory=set)

    def add(self, system: str, *replies: Reply, user: str | None = None) -> FakeModel:
        """Add a rule in front of the others (later additions win); returns self."""
        self.rules.insert(0, Rule(system, list(replies), user))
        return self

    def pick(self, body: dict) -> Reply | None:
        system = _system_text(body)
        last_user = _last_user_text(body)
        with self._lock:
            for rule in self.rules:
                if rule.system in system and (rule.user is None or rule.user in last_user):
                    reply = rule.replies[min(rule.served, len(rule.replies) - 1)]
                    rule.served += 1
                    return reply
        return None

    def usage(self, body: dict, output_text: str) -> dict[str, int]:
        """Deterministic usage with simulated prompt caching (see the module docstring)."""
        prefix_parts: list[str] = []
        cached_upto: str | None = None
        for tool in body.get("tools") or []:
            prefix_parts.append(json.dumps(tool, sort_keys=True))
            if tool.get("cache_control"):
                cached_upto = "".join(prefix_parts)
        system = body.get("system")
        blocks = system if isinstance(system, list) else [{"type": "text", "text": system or ""}]
        for block in blocks:
            prefix_parts.append(str(block.get("text", "")))
            if block.get("cache_control"):
                cached_upto = "".join(prefix_parts)
        everything = "".join(prefix_parts) + json.dumps(body.get("messages"), sort_keys=True)
        created = read = 0
        if cached_upto and tokens(cached_upto) < min_cacheable_tokens(str(body.get("model", ""))):
            cached_upto = None  # below the model's minimum: the API caches nothing, silently
        if cached_upto:
            key = hashlib.sha256(cached_upto.encode()).hexdigest()
            with self._lock:
                hit = key in self._cached_prefixes
                self._cached_prefixes.add(key)
            read, created = (tokens(cached_upto), 0) if hit else (0, tokens(cached_upto))
        return {"input_tokens": max(1, tokens(everything) - created - read),
                "output_tokens": max(1, tokens(output_text)),
                "cache_creation_input_tokens": created, "cache_read_input_tokens": read}


def _system_text(body: dict) -> str:
    system = body.get("system")
    if isinstance(system, list):
        return "".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
    return str(system or "")


def _last_user_text(body: dict) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def message_body(reply: Reply, body: dict, model: FakeModel) -> dict:
    """The 200 answer of ``reply`` to the request ``body``."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    stop_details = None
    if reply.kind == "tool":
        content = [{"type": "tool_use", "id": f"toolu_fake_{digest[:20]}", "name": reply.tool_name,
                    "input": reply.payload}]
        stop, out = "tool_use", json.dumps(reply.payload)
    elif reply.kind == "refusal":
        content = [{"type": "text", "text": str(reply.payload)}]
        stop, out = "refusal", str(reply.payload)
        stop_details = {"type": "refusal", "category": None, "explanation": str(reply.payload)}
    else:
        out = json.dumps(reply.payload) if reply.kind == "json" else str(reply.payload)
        content = [{"type": "text", "text": out}]
        stop = "max_tokens" if reply.kind == "max_tokens" else "end_turn"
    return {"id": f"msg_fake_{digest[:24]}", "type": "message", "role": "assistant",
            "model": body.get("model", "fake"), "content": content, "stop_reason": stop,
            "stop_sequence": None, "stop_details": stop_details, "usage": model.usage(body, out)}


def error_body(status: int, message: str) -> dict:
    """A Messages API error body."""
    return {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message},
            "request_id": "req_fake"}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        logger.debug("fake messages server: " + format, *args)

    def _send(self, status: int, data: dict, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(data).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.send_header("request-id", "req_fake")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer

    def do_POST(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(400, error_body(400, "request body is not JSON"))
            return
        if self.path.split("?")[0] != "/v1/messages":
            self._send(404, error_body(404, f"no route {self.path}"))
            return
        model = self.server.model
        record = Recorded(body, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
        with model._lock:
            model.requests.append(record)
        reply = model.pick(body)
        if reply is None:
            record.status = 400
            self._send(400, error_body(400, "fake model: no scripted answer for this system prompt"))
            return
        delay = reply.delay_s + self.server.latency_s
        if delay:
            time.sleep(delay)
        if reply.kind == "error":
            record.status = reply.status
            headers = {} if reply.retry_after_s is None else {"retry-after": f"{reply.retry_after_s:g}"}
            self._send(reply.status, error_body(reply.status, "scripted error"), headers)
            return
        record.status = 200
        self._send(200, message_body(reply, body, model))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # listen backlog: a council opens many connections at once
    model: FakeModel
    latency_s: float


class FakeMessagesServer:
    """The server on ``127.0.0.1`` (``port`` 0 = a free one), in a background thread.

    Args:
        model: the script.
        latency_s: added to every answer (benchmarks).
    """

    def __init__(self, model: FakeModel, port: int = 0, latency_s: float = 0.0) -> None:
        self.model = model
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.model = model
        self._server.latency_s = latency_s
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-messages",
                                        daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the SDK's ``base_url``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeMessagesServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def serving(model: FakeModel, latency_s: float = 0.0) -> Iterator[FakeMessagesServer]:
    """Run a ``FakeMessagesServer`` for the ``with`` block."""
    server = FakeMessagesServer(model, latency_s=latency_s).start()
    try:
        yield server
    finally:
        server.stop()
