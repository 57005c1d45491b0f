"""The client layer on the real SDK against a local Messages API server: structured output,
tool use, prompt caching, retries (429/529 with retry-after), timeouts, malformed and refused
output, the budget, the ledger and cassettes."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import httpx2
import pytest
from pydantic import BaseModel, ConfigDict, Field

from plugins.llm.client import AnthropicLlm, LlmClient, LlmRequest
from plugins.llm.config import LlmConfig
from plugins.llm.errors import (
    BudgetExceededError,
    CassetteMissError,
    LlmCallError,
    LlmOutputError,
    LlmUnavailableError,
)
from plugins.llm.caching import min_cacheable_tokens
from plugins.llm.ledger import CallRecord, TokenUsage
from plugins.llm.structured import JsonOutput, ToolOutput, ask
from plugins.llm.testing.fake_server import Reply, message_body
from tests.plugins.llm.conftest import API_KEY


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stance: str
    confidence: float = Field(ge=0, le=1)


SYSTEM = "HOOK: test\nYou judge. Answer JSON."


def request(**changes) -> LlmRequest:
    base = {"hook": "test", "system": SYSTEM, "output_format": Verdict,
            "messages": ({"role": "user", "content": "data"},)}
    return LlmRequest(**{**base, **changes})


#: Stable reference text long enough to cross Sonnet's 1024-token minimum (4 chars a token).
REFERENCE = "REFERENCE: output schema\n" + "field: meaning and unit. " * 180


def test_call_when_answer_valid_then_parsed_billed_and_cached_prefix_reported(fake_model, fake_server,
                                                                              make_llm):
    fake_model.add("HOOK: test", Reply.json({"stance": "bullish", "confidence": 0.7}))
    llm = make_llm()
    assert isinstance(llm, LlmClient)

    first = ask(llm, request(context=REFERENCE), JsonOutput(Verdict))
    second = ask(llm, request(context=REFERENCE, messages=({"role": "user", "content": "other data"},)),
                 JsonOutput(Verdict))

    assert first.value == Verdict(stance="bullish", confidence=0.7)
    sent = fake_model.requests[0]
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["x-stainless-helper"] == "messages.parse"
    assert sent.body["system"] == [{"type": "text", "text": SYSTEM},
                                   {"type": "text", "text": REFERENCE,
                                    "cache_control": {"type": "ephemeral"}}]
    schema = sent.body["output_config"]["format"]
    assert schema["type"] == "json_schema" and schema["schema"]["additionalProperties"] is False
    written = first.replies[0].usage.cache_creation_input_tokens
    assert written >= min_cacheable_tokens("claude-sonnet-4-6")
    assert second.replies[0].usage.cache_read_input_tokens == written
    assert second.cost_usd < first.cost_usd, "a cache read costs a tenth of a cache write"
    [row1, row2] = llm.ledger.calls()
    assert (row1.prompt_hash, row1.model, row1.source) == (first.prompt_hashes[0], "claude-sonnet-4-6", "api")
    assert row2.usage.cache_read_input_tokens > 0 and row2.billed_usd == pytest.approx(second.cost_usd)


def test_call_when_prefix_below_model_minimum_then_not_marked_and_nothing_cached(fake_model, fake_server,
                                                                                make_llm):
    fake_model.add("HOOK: test", Reply.json({"stance": "bullish", "confidence": 0.7}))
    llm = make_llm()

    first = ask(llm, request(), JsonOutput(Verdict))
    second = ask(llm, request(), JsonOutput(Verdict))

    assert fake_model.requests[0].body["system"] == [{"type": "text", "text": SYSTEM}]
    for result in (first, second):
        usage = result.replies[0].usage
        assert usage.cache_creation_input_tokens == usage.cache_read_input_tokens == 0


def test_tool_use_when_input_invalid_then_error_result_fed_back_and_fixed(fake_model, fake_server, make_llm):
    fake_model.add("HOOK: test", Reply.tool("submit", {"n": -1}))
    fake_model.add("HOOK: test", Reply.tool("submit", {"n": 3}), user="Rejected:")
    tool = {"name": "submit", "description": "submit n", "input_schema": {
        "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}

    def validate(payload: dict) -> int:
        from plugins.llm.structured import OutputRejected
        if payload["n"] < 0:
            raise OutputRejected("n: must be >= 0 (write a count)")
        return payload["n"]

    result = ask(make_llm(), request(output_format=None, tools=(tool,),
                                     tool_choice={"type": "tool", "name": "submit"}),
                 ToolOutput("submit", validate))

    assert result.value == 3 and result.problems == ("n: must be >= 0 (write a count)",)
    retry = fake_model.requests[1].body
    assert retry["tools"] == [tool] and retry["tool_choice"] == {"type": "tool", "name": "submit"}
    assistant, feedback = retry["messages"][1:]
    assert assistant["content"][0]["type"] == "tool_use"
    assert feedback["content"][0] == {"type": "tool_result", "tool_use_id": assistant["content"][0]["id"],
                                      "is_error": True, "content": "n: must be >= 0 (write a count)"}


@pytest.mark.parametrize(("errors", "retry_after_s", "min_wait_s"), [
    ([429], 1, 1.0),      # rate limited: the SDK waits what retry-after says
    ([529], None, 0.3),   # overloaded: exponential backoff (0.5 s x jitter 0.75..1)
    ([429, 529], 1, 1.3),
], ids=["429-retry-after", "529-overloaded", "429-then-529"])
def test_call_when_rate_limited_or_overloaded_then_sdk_retries_and_succeeds(
        fake_model, fake_server, make_llm, errors, retry_after_s, min_wait_s):
    replies = [Reply.error(s, retry_after_s=retry_after_s if s == 429 else None) for s in errors]
    fake_model.add("HOOK: test", *replies, Reply.json({"stance": "neutral", "confidence": 0.5}))

    result = ask(make_llm(), request(), JsonOutput(Verdict))

    assert result.value.stance == "neutral"
    seen = fake_model.requests
    assert [r.status for r in seen] == [*errors, 200]
    assert seen[-1].at_s - seen[0].at_s >= min_wait_s
    assert seen[1].headers["x-stainless-retry-count"] == "1"


def test_call_when_retries_exhausted_then_call_error_logged_and_nothing_billed(fake_model, fake_server,
                                                                               make_llm):
    fake_model.add("HOOK: test", Reply.error(529))
    llm = make_llm(max_retries=1)

    with pytest.raises(LlmCallError, match="InternalServerError|OverloadedError|529"):
        llm.call(request())

    assert len(fake_model.requests) == 2, "one try plus max_retries=1"
    [row] = llm.ledger.calls()
    assert row.outcome.startswith("error:") and row.billed_usd == 0


def test_call_when_server_hangs_then_bounded_timeout_raises_call_error(fake_model, fake_server, make_llm):
    fake_model.add("HOOK: test", Reply.json({"stance": "x", "confidence": 0.1}, delay_s=3))
    llm = make_llm(timeout_s=0.3, max_retries=1)

    started = time.monotonic()
    with pytest.raises(LlmCallError, match="APITimeoutError"):
        llm.call(request())

    assert time.monotonic() - started < 2.5, "two 0.3 s attempts and one backoff"
    assert len(fake_model.requests) == 2


@pytest.mark.parametrize(("bad", "problem"), [
    (Reply.text("Sure! Here is my verdict: bullish"), "does not match the schema"),
    (Reply.json({"stance": "bullish", "confidence": 7}), "confidence"),
    (Reply.json({"stance": "bullish", "confidence": 0.5, "order": "buy now"}), "order"),
    (Reply.refusal("I can't help with that."), "refused"),
    (Reply.truncated('{"stance": "bull'), "max_tokens"),
], ids=["prose", "out-of-range", "extra-key", "refusal", "truncated"])
def test_ask_when_output_bad_then_fed_back_then_accepted(fake_model, fake_server, make_llm, bad, problem):
    fake_model.add("HOOK: test", bad, Reply.json({"stance": "bearish", "confidence": 0.2}))
    llm = make_llm()

    result = ask(llm, request(), JsonOutput(Verdict))

    assert result.value.stance == "bearish"
    assert problem in result.problems[0]
    assert "Your answer was rejected" in json.dumps(fake_model.requests[1].body["messages"][-1])
    assert len(llm.ledger.calls()) == 2, "the rejected answer is billed too"


def test_ask_when_output_stays_bad_then_bounded_attempts_then_output_error(fake_model, fake_server, make_llm):
    fake_model.add("HOOK: test", Reply.text("no JSON, ever"))
    llm = make_llm(max_output_attempts=3)

    with pytest.raises(LlmOutputError) as err:
        ask(llm, request(), JsonOutput(Verdict))

    assert err.value.attempts == 3 and len(err.value.problems) == 3
    assert len(fake_model.requests) == 3


def test_budget_when_daily_cap_too_small_then_refused_before_sending(fake_model, fake_server, make_llm):
    fake_model.add("HOOK: test", Reply.json({"stance": "x", "confidence": 0.5}))
    llm = make_llm(daily_budget_usd=0.001, monthly_budget_usd=1)

    with pytest.raises(BudgetExceededError, match=r"daily cap of \$0.00.*daily_budget_usd"):
        llm.call(request())

    assert fake_model.requests == [], "nothing was sent"


def test_budget_when_spent_reaches_cap_then_refused_until_next_day_and_month(fake_model, fake_server,
                                                                            make_llm, clock):
    fake_model.add("HOOK: test", Reply.json({"stance": "x", "confidence": 0.5}))
    llm = make_llm(daily_budget_usd=0.10, monthly_budget_usd=0.15)  # a call reserves ~$0.034

    def spend(usd: float) -> None:
        llm.ledger.record(CallRecord(clock(), "earlier", "h", "claude-sonnet-4-6", "api", "end_turn",
                                     TokenUsage(), usd, usd))

    def call(text: str) -> None:
        llm.call(request(messages=({"role": "user", "content": text},)))

    spend(0.08)
    with pytest.raises(BudgetExceededError, match="daily cap of \\$0.10"):
        call("day 1")
    clock.now += timedelta(days=1)
    call("day 2")
    spend(0.05)
    with pytest.raises(BudgetExceededError, match="monthly cap of \\$0.15"):
        call("day 2 again")
    clock.now = clock.now.replace(month=clock.now.month + 1, day=1)
    call("next month")

    assert len(fake_model.requests) == 2, "refused calls were never sent"
    assert [c.hook for c in llm.ledger.calls()] == ["earlier", "test", "earlier", "test"]


def test_cassette_when_recorded_then_replayed_without_server_or_key_and_not_billed(
        fake_model, fake_server, make_llm, tmp_path):
    fake_model.add("HOOK: test", Reply.json({"stance": "bullish", "confidence": 0.9}))
    live = make_llm(cassette_mode="auto").call(request())
    fake_server.stop()

    replay = make_llm(api_key=None, cassette_mode="replay").call(request())

    assert replay.source == "cassette" and replay.billed_usd == 0
    assert replay.message == live.message and replay.prompt_hash == live.prompt_hash
    stored = json.loads((tmp_path / "cassettes" / f"{live.prompt_hash}.json").read_text())
    assert stored["request"]["system"][0]["text"] == SYSTEM and API_KEY not in json.dumps(stored)
    with pytest.raises(CassetteMissError, match="cassette_mode replay"):
        make_llm(api_key=None, cassette_mode="replay").call(request(system=SYSTEM + " changed"))


def test_call_when_no_key_and_no_cassette_then_clear_unavailable_error(fake_model, fake_server, make_llm):
    with pytest.raises(LlmUnavailableError, match="ANTHROPIC_API_KEY is not set and no cassette"):
        make_llm(api_key=None, cassette_mode="auto").call(request())

    assert fake_model.requests == []


def test_acall_when_five_calls_gathered_then_wall_time_near_one_call(fake_model, fake_server, make_llm):
    fake_model.add("HOOK: test", Reply.json({"stance": "x", "confidence": 0.5}, delay_s=0.4))
    llm = make_llm()

    async def five():
        try:
            return await asyncio.gather(*[llm.acall(request(messages=({"role": "user", "content": str(i)},)))
                                          for i in range(5)])
        finally:
            await llm.aclose()
    started = time.monotonic()
    replies = asyncio.run(five())
    wall = time.monotonic() - started

    assert len({r.prompt_hash for r in replies}) == 5
    assert wall < 1.5, f"5 parallel calls of 0.4 s took {wall:.2f} s (sequential: 2 s)"
    assert fake_model.requests[0].headers["x-stainless-async"].startswith("async")


def test_call_when_http_client_injected_then_mock_transport_answers(tmp_path):
    seen = []

    def handler(req: httpx2.Request) -> httpx2.Response:
        body = json.loads(req.content)
        seen.append(body)
        from plugins.llm.testing.fake_server import FakeModel
        return httpx2.Response(200, json=message_body(Reply.json({"stance": "up", "confidence": 1}), body,
                                                      FakeModel([])))
    config = LlmConfig(cassette_mode="off", ledger_path=tmp_path / "l.sqlite", base_url="http://mock")
    transport = httpx2.MockTransport(handler)
    llm = AnthropicLlm(config, api_key="k", http_client=httpx2.Client(transport=transport))

    result = ask(llm, request(), JsonOutput(Verdict))

    assert result.value.stance == "up" and seen[0]["model"] == "claude-sonnet-4-6"
    llm.close()
