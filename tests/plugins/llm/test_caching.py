"""Prompt caching as the API does it: only prefixes at or above the model's documented minimum
are cached (Anthropic, "Prompt caching", "Cache limitations"); the hooks put their stable
reference in the cached prefix where it crosses the minimum and mark nothing shorter."""

from __future__ import annotations

import pytest

from plugins.llm import council, ideas, news_scorer, review, structure
from plugins.llm.caching import estimate_tokens, min_cacheable_tokens
from plugins.llm.client import LlmRequest
from plugins.llm.testing.fake_server import FakeModel

EPHEMERAL = {"type": "ephemeral"}


def _body(model: str, prefix_tokens: int) -> dict:
    text = "x" * (prefix_tokens * 4)
    return {"model": model, "system": [{"type": "text", "text": text, "cache_control": EPHEMERAL}],
            "messages": [{"role": "user", "content": "data"}]}


@pytest.mark.parametrize(("model", "minimum"), [("claude-sonnet-4-6", 1024), ("claude-opus-4-1", 1024),
                                                ("claude-3-5-haiku-20241022", 2048),
                                                ("claude-haiku-4-5", 4096), ("claude-opus-4-6", 4096),
                                                ("some-future-model", 1024)])
def test_min_cacheable_tokens_when_model_named_then_documented_minimum(model, minimum):
    assert min_cacheable_tokens(model) == minimum


def test_fake_server_when_marked_prefix_below_minimum_then_nothing_cached_and_all_input_billed():
    model = FakeModel([])
    body = _body("claude-sonnet-4-6", 1000)

    first, second = model.usage(body, "ok"), model.usage(body, "ok")

    for usage in (first, second):
        assert usage["cache_creation_input_tokens"] == usage["cache_read_input_tokens"] == 0
        assert usage["input_tokens"] >= 1000


def test_fake_server_when_prefix_between_sonnet_and_haiku_minimum_then_cached_for_sonnet_only():
    model = FakeModel([])

    sonnet = [model.usage(_body("claude-sonnet-4-6", 1500), "ok") for _ in range(2)]
    haiku = [model.usage(_body("claude-3-5-haiku-20241022", 1500), "ok") for _ in range(2)]

    assert sonnet[0]["cache_creation_input_tokens"] == 1500 and sonnet[0]["cache_read_input_tokens"] == 0
    assert sonnet[1]["cache_read_input_tokens"] == 1500 and sonnet[1]["cache_creation_input_tokens"] == 0
    assert sonnet[1]["input_tokens"] < 20, "only what follows the breakpoint is input"
    assert all(u["cache_creation_input_tokens"] == u["cache_read_input_tokens"] == 0 for u in haiku)


def _requests() -> dict[str, LlmRequest]:
    turn = ({"role": "user", "content": "data"},)
    return {"ideas": LlmRequest(hook="ideas", system=ideas.SYSTEM, messages=turn, context=ideas.CONTEXT),
            "council.analyst": LlmRequest(hook="a", system=council.analyst_system("momentum"),
                                          messages=turn, context=council.analyst_context()),
            "council.judge": LlmRequest(hook="j", system=council.JUDGE_SYSTEM, messages=turn,
                                        context=council.judge_context()),
            "review": LlmRequest(hook="r", system=review.SYSTEM, messages=turn,
                                 context=review.review_context()),
            "structure": structure.structure_request("buy BTC on fear"),
            "news_scorer": LlmRequest(hook="n", system=news_scorer.SYSTEM, messages=turn)}


def test_hook_requests_when_sonnet_then_stable_reference_cached_and_short_prefix_unmarked(make_llm):
    llm = make_llm()

    bodies = {name: llm.wire_request(r) for name, r in _requests().items()}

    for name in ("ideas", "council.analyst", "council.judge", "review", "structure"):
        system = bodies[name]["system"]
        assert system[-1].get("cache_control") == EPHEMERAL, name
        assert all("cache_control" not in b for b in system[:-1]), "one breakpoint, at the end"
        prefix = "".join(b["text"] for b in system)
        assert estimate_tokens(prefix) >= 1024 or name == "structure", name
    assert "Stable reference" in bodies["ideas"]["system"][1]["text"]
    assert "Condition grammar" in bodies["review"]["system"][1]["text"]
    assert all("cache_control" not in b for b in bodies["news_scorer"]["system"]), \
        "a ~300-token prefix cannot be cached: not marked"


def test_hook_requests_when_haiku_4_5_then_prefixes_under_4096_tokens_not_marked(make_llm):
    llm = make_llm(model="claude-haiku-4-5")

    body = llm.wire_request(_requests()["council.analyst"])

    assert all("cache_control" not in b for b in body["system"])
