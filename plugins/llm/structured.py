"""Validated output: ask, validate, feed the problems back, retry a bounded number of times.

``ask(client, request, spec)`` sends the request; ``spec.parse(reply)`` turns the answer into a
validated value or raises ``OutputRejected`` with the problem (malformed JSON, a schema
mismatch, a refusal, a truncated answer, an invalid strategy tree ...). A rejected answer and
the problem are appended to the conversation (``spec.feedback``) and the model is asked again,
up to ``LlmConfig.max_output_attempts`` answers in all; then ``LlmOutputError`` is raised and
the hook abstains. Every answer - rejected ones too - is billed and in the ledger.

Two specs: ``JsonOutput`` (structured output with a pydantic model, plus optional semantic
checks) and ``ToolOutput`` (the input of a named tool call, validated by a function).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from plugins.llm.client import LlmClient, LlmReply, LlmRequest
from plugins.llm.errors import LlmOutputError

logger = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
MAX_PROBLEM_CHARS = 2000


class OutputRejected(Exception):
    """An answer failed validation; ``problem`` says why, in words fit to send to the model."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem[:MAX_PROBLEM_CHARS]


def describe_validation_error(err: ValidationError) -> str:
    """One ``loc: message`` line per pydantic error (inputs left out: they may be long)."""
    lines = []
    for e in err.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"]) or "(root)"
        lines.append(f"{loc}: {e['msg']}")
    return "; ".join(lines)


def _stop_problem(reply: LlmReply) -> str | None:
    if reply.stop_reason == "refusal":
        details = reply.message.get("stop_details") or {}
        return f"the model refused ({details.get('explanation') or reply.text()[:200] or 'no reason given'})"
    if reply.stop_reason == "max_tokens":
        return "the answer was cut off at max_tokens; answer more briefly"
    return None


class OutputSpec(Protocol[T]):
    """How to read one kind of answer."""

    def parse(self, reply: LlmReply) -> T:
        """The validated value; raises ``OutputRejected``."""
        ...

    def feedback(self, reply: LlmReply, problem: str) -> list[dict[str, Any]]:
        """Turns to append so the model can correct ``problem``."""
        ...


class JsonOutput(Generic[M]):
    """A JSON answer matching ``model`` (sent as ``output_format``), then ``check`` (semantic
    problems as a list of strings; empty = fine)."""

    def __init__(self, model: type[M], check: Callable[[M], list[str]] | None = None) -> None:
        self.model = model
        self.check = check

    def parse(self, reply: LlmReply) -> M:
        stop = _stop_problem(reply)
        if stop:
            raise OutputRejected(stop)
        text = reply.text().strip()
        if not text:
            raise OutputRejected("the answer is empty; answer with one JSON object")
        try:
            value = self.model.model_validate_json(text)
        except ValidationError as err:
            raise OutputRejected(f"the JSON does not match the schema: "
                                 f"{describe_validation_error(err)}") from None
        problems = self.check(value) if self.check else []
        if problems:
            raise OutputRejected("; ".join(problems))
        return value

    def feedback(self, reply: LlmReply, problem: str) -> list[dict[str, Any]]:
        turns: list[dict[str, Any]] = []
        content = reply.as_turn_content()
        if content and reply.stop_reason != "refusal":
            turns.append({"role": "assistant", "content": content})
        turns.append({"role": "user", "content": f"Your answer was rejected: {problem}\nAnswer again "
                      "with one JSON object that matches the output schema exactly: no other keys, "
                      "no prose outside the JSON."})
        return turns


class ToolOutput(Generic[T]):
    """The input of a call to tool ``name``, turned into a value by ``validate`` (which raises
    ``OutputRejected``)."""

    def __init__(self, name: str, validate: Callable[[dict[str, Any]], T]) -> None:
        self.name = name
        self.validate = validate

    def parse(self, reply: LlmReply) -> T:
        stop = _stop_problem(reply)
        if stop:
            raise OutputRejected(stop)
        calls = [u for u in reply.tool_uses() if u.get("name") == self.name]
        if not calls:
            raise OutputRejected(f"no call of the tool {self.name}; call it with the complete input")
        payload = calls[0].get("input")
        if not isinstance(payload, dict):
            raise OutputRejected(f"the input of {self.name} is not an object")
        return self.validate(payload)

    def feedback(self, reply: LlmReply, problem: str) -> list[dict[str, Any]]:
        turns: list[dict[str, Any]] = []
        content = reply.as_turn_content()
        uses = reply.tool_uses()
        if content and reply.stop_reason != "refusal":
            turns.append({"role": "assistant", "content": content})
        results = [{"type": "tool_result", "tool_use_id": u.get("id"), "is_error": True,
                    "content": problem if u.get("name") == self.name else "ignored: unknown tool"}
                   for u in uses] if turns else []
        text = {"type": "text", "text": f"Rejected: {problem}\nFix every problem listed and call "
                f"{self.name} again with the complete corrected input."}
        turns.append({"role": "user", "content": [*results, text]})
        return turns


@dataclass(frozen=True)
class Structured(Generic[T]):
    """A validated value and how it was obtained.

    Attributes:
        value: the validated output.
        replies: every answer, rejected ones first.
        problems: why each rejected answer was rejected.
    """

    value: T
    replies: tuple[LlmReply, ...]
    problems: tuple[str, ...]

    @property
    def prompt_hashes(self) -> list[str]:
        return [r.prompt_hash for r in self.replies]

    @property
    def cost_usd(self) -> float:
        return sum(r.cost_usd for r in self.replies)

    @property
    def billed_usd(self) -> float:
        return sum(r.billed_usd for r in self.replies)


def _attempts(client: LlmClient, attempts: int | None) -> int:
    return attempts if attempts is not None else client.config.max_output_attempts


def _rejected(request: LlmRequest, spec: OutputSpec, reply: LlmReply, err: OutputRejected, n: int,
              total: int, problems: list[str], messages: list[dict]) -> None:
    problems.append(err.problem)
    logger.warning("LLM %s: answer %d/%d rejected: %s", request.hook, n, total, err.problem[:300])
    messages.extend(spec.feedback(reply, err.problem))


def ask(client: LlmClient, request: LlmRequest, spec: OutputSpec[T],
        attempts: int | None = None) -> Structured[T]:
    """Ask until ``spec`` accepts an answer (see the module docstring).

    Raises:
        LlmOutputError: every attempt rejected (the hook abstains).
        LlmUnavailableError / BudgetExceededError / LlmCallError: from the client.
    """
    total = _attempts(client, attempts)
    messages, replies, problems = list(request.messages), [], []
    for n in range(1, total + 1):
        reply = client.call(request.with_messages(messages))
        replies.append(reply)
        try:
            return Structured(spec.parse(reply), tuple(replies), tuple(problems))
        except OutputRejected as err:
            _rejected(request, spec, reply, err, n, total, problems, messages)
    raise LlmOutputError(request.hook, total, problems)


async def aask(client: LlmClient, request: LlmRequest, spec: OutputSpec[T],
               attempts: int | None = None) -> Structured[T]:
    """``ask`` in an event loop (``client.acall``). Same errors."""
    total = _attempts(client, attempts)
    messages, replies, problems = list(request.messages), [], []
    for n in range(1, total + 1):
        reply = await client.acall(request.with_messages(messages))
        replies.append(reply)
        try:
            return Structured(spec.parse(reply), tuple(replies), tuple(problems))
        except OutputRejected as err:
            _rejected(request, spec, reply, err, n, total, problems, messages)
    raise LlmOutputError(request.hook, total, problems)
