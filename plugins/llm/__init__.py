"""LLM hooks on the Anthropic API - never on the order path.

The LLM produces validated data (ideas, strategy trees, council verdicts, reviews); the
strategy-tree compiler writes code; a human approves; breakers cannot be touched by any LLM
output (no output schema has a field that reaches them).

Modules:
    config      ``LlmConfig`` (``ai_suite.llm``): model, budgets, pricing, cassettes, timeouts.
    client      ``LlmClient`` protocol and ``AnthropicLlm`` (official SDK, prompt caching,
                structured output, async, retries, budget, ledger, cassettes).
    ledger      every call's prompt hash, model, tokens and cost; per-day / per-month caps.
    cassette    prompt-hash keyed request/response store (record / replay).
    structured  validation with feedback and bounded retries; abstain on failure.
    briefing    deterministic "Current Market State" markdown (no LLM).
    ideas       briefing + thesis -> 1-3 trade ideas.
    structure   natural language -> validated strategy tree file.
    council     parallel analysts + judge -> verdict (journal + confidence CSV).
    review      statistics + narrative + tree-change proposal; ``approve``.
    testing     a local Messages API server with a scripted fake model.

CLI: ``python -m plugins.llm brief|ideas|structure|council|review|approve|budget`` (``--help``).
Only these modules import the ``anthropic`` SDK, lazily: nothing else in the suite needs it.
"""
