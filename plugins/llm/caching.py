"""When Anthropic caches a prompt prefix: the per-model minimum cacheable length.

Anthropic's prompt caching caches the prefix up to a ``cache_control`` breakpoint (tools, then
system, then messages) only when that prefix holds at least the model's minimum number of
tokens; a shorter marked prefix is processed without caching, silently (no error, and both
``cache_creation_input_tokens`` and ``cache_read_input_tokens`` are 0). Source: Anthropic,
"Prompt caching", section "Cache limitations"
(https://platform.claude.com/docs/en/build-with-claude/prompt-caching, the table as quoted in
https://github.com/anthropics/anthropic-sdk-python/issues/1194):

- 4096 tokens: Claude Opus 4.6, Claude Opus 4.5, Claude Haiku 4.5;
- 1024 tokens: Claude Sonnet 4.6, Sonnet 4.5, Opus 4.1, Opus 4, Sonnet 4, Sonnet 3.7;
- 2048 tokens: Claude Haiku 3.5, Claude Haiku 3.

Third-party copies of that table differ for some models (e.g. 2048 for Sonnet 4.6 in
docs.orq.ai's copy, and that issue reports caching on Sonnet 4.6 only from ~2048 tokens), so
an unknown model gets the most common minimum (1024) and ``ai_suite.llm`` models not listed
here should be checked against the current documentation.

The suite uses this table twice: the client marks the static prefix (``AnthropicLlm.
wire_request``) only when its estimated length reaches the model's minimum, and the local fake
Messages API server (``plugins.llm.testing.fake_server``) caches nothing below it, as the API.
"""

from __future__ import annotations

import math

#: (model-name prefix, minimum cacheable prefix in tokens); the first matching prefix wins.
MIN_CACHEABLE_TOKENS: tuple[tuple[str, int], ...] = (
    ("claude-opus-4-6", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-haiku-4-5", 4096),
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
    ("claude-haiku-3", 2048),
    ("claude-sonnet-4", 1024),
    ("claude-opus-4", 1024),
    ("claude-3-7-sonnet", 1024),
)
DEFAULT_MIN_CACHEABLE_TOKENS = 1024
#: Characters per token of the estimate (English prose and JSON run at ~3.5-4 on Claude's
#: tokenizer, so 4 under-counts: a prefix estimated long enough is long enough).
CHARS_PER_TOKEN = 4


def min_cacheable_tokens(model: str) -> int:
    """The documented minimum cacheable prefix (tokens) of ``model`` (a Messages API name,
    e.g. ``claude-sonnet-4-6``); ``DEFAULT_MIN_CACHEABLE_TOKENS`` for unknown models."""
    name = model.lower()
    for prefix, minimum in MIN_CACHEABLE_TOKENS:
        if name.startswith(prefix):
            return minimum
    return DEFAULT_MIN_CACHEABLE_TOKENS


def estimate_tokens(text: str) -> int:
    """Token estimate of ``text``: ``ceil(len / CHARS_PER_TOKEN)`` (the fake server's count)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def cacheable(prefix_text: str, model: str) -> bool:
    """Whether a prefix of this text would be cached for ``model`` (estimate >= minimum)."""
    return estimate_tokens(prefix_text) >= min_cacheable_tokens(model)
