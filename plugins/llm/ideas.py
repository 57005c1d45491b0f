"""Stage 2: briefing + the user's thesis -> 1-3 structured trade ideas (hypotheses, not orders).

The model answers with ``TradeIdeas`` (structured output; unknown keys rejected). Each idea
has an entry thesis (why now), supporting signals, invalidation (key risks), an entry zone, a
stop and targets; prices must be consistent with the direction (a long's stop below its entry
zone, its targets above it, targets in order). Inconsistent or malformed answers are fed back
and retried (``structured``); when no valid answer comes, the hook *abstains*: no idea.

Ideas are written to ``<output_dir>/ideas/<stamp>-<hash>.json`` and ``.md`` for a human to read.
Nothing here can act on them: turning an idea into rules is ``structure``, and a human picks.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from plugins.core.atomic import atomic_write
from plugins.llm.briefing import Briefing, render_markdown
from plugins.llm.client import LlmClient, LlmRequest
from plugins.llm.errors import LlmCallError, LlmOutputError
from plugins.llm.prompts import briefing_template, reference, schema_text, system_prompt, user_turn
from plugins.llm.structured import JsonOutput, ask

logger = logging.getLogger(__name__)

HOOK = "ideas"
SYSTEM = system_prompt(HOOK, """
You are the research analyst of a systematic crypto trading desk. From the market briefing and
the trader's investment thesis, propose 1 to 3 trade ideas: hypotheses with explicit logic, not
predictions. For each idea give the entry thesis (why now), the key signals that support it,
what would invalidate it (key risks), an entry zone (low <= high, quote currency), a stop loss
and 1-4 take-profit targets. For a long the stop is below the entry zone and the targets above
it, rising; for a short the reverse. Conviction is 0-1. Prefer no trade over a weak one: if
nothing qualifies, propose the single best watch-list idea with low conviction.
Answer with one JSON object of the given schema.""")


class EntryZone(BaseModel):
    """Entry price range (quote currency), ``low <= high``."""

    model_config = ConfigDict(extra="forbid")

    low: float = Field(gt=0)
    high: float = Field(gt=0)


class TradeIdea(BaseModel):
    """One idea. Prices in the pair's quote currency; ``conviction`` 0-1."""

    model_config = ConfigDict(extra="forbid")

    pair: str = Field(pattern=r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}$")
    direction: Literal["long", "short"]
    thesis: str = Field(min_length=10, max_length=1500)
    supporting_signals: list[str] = Field(min_length=1, max_length=8)
    invalidation: list[str] = Field(min_length=1, max_length=8)
    entry_zone: EntryZone
    stop_loss: float = Field(gt=0)
    targets: list[float] = Field(min_length=1, max_length=4)
    horizon: Literal["intraday", "days", "weeks", "months"]
    conviction: float = Field(ge=0, le=1)


class TradeIdeas(BaseModel):
    """The model's answer: 1-3 ideas."""

    model_config = ConfigDict(extra="forbid")

    ideas: list[TradeIdea] = Field(min_length=1, max_length=3)


def idea_problems(answer: TradeIdeas) -> list[str]:
    """Price-consistency problems of every idea (empty = consistent)."""
    problems = []
    for i, idea in enumerate(answer.ideas):
        zone, where = idea.entry_zone, f"ideas.{i}"
        if zone.low > zone.high:
            problems.append(f"{where}.entry_zone: low {zone.low} is above high {zone.high}")
        sign = 1 if idea.direction == "long" else -1
        if sign * (idea.stop_loss - (zone.low if sign > 0 else zone.high)) >= 0:
            problems.append(f"{where}.stop_loss {idea.stop_loss} must be "
                            f"{'below' if sign > 0 else 'above'} the entry zone for a {idea.direction}")
        edge = zone.high if sign > 0 else zone.low
        if any(sign * (t - edge) <= 0 for t in idea.targets):
            problems.append(f"{where}.targets must all be {'above' if sign > 0 else 'below'} the "
                            f"entry zone for a {idea.direction}")
        if any(sign * (b - a) <= 0 for a, b in zip(idea.targets, idea.targets[1:], strict=False)):
            problems.append(f"{where}.targets must move away from the entry in order")
    return problems


class IdeasResult(BaseModel):
    """The hook's result.

    Attributes:
        status: ``ok`` or ``abstain`` (no valid answer: no idea, nothing to act on).
        ideas: the ideas (empty when abstaining).
        reason: why it abstained.
        briefing: the briefing markdown the ideas were generated from.
        prompt_hashes / cost_usd / billed_usd: the calls made (cost at list price; billed
            excludes cassette replays).
    """

    model_config = ConfigDict(frozen=True)

    status: Literal["ok", "abstain"]
    ideas: tuple[TradeIdea, ...] = ()
    reason: str = ""
    briefing: str
    prompt_hashes: tuple[str, ...] = ()
    cost_usd: float = 0.0
    billed_usd: float = 0.0


#: The stable reference of the cached prefix: the output schema and the briefing template.
CONTEXT = reference(output_schema=schema_text(TradeIdeas), market_briefing=briefing_template())


def ideas_request(briefing: Briefing, thesis: str) -> LlmRequest:
    """The request: static instructions; briefing facts and the thesis as data blocks."""
    turn = user_turn("Generate 1-3 trade ideas from the briefing and the thesis above.",
                     market_briefing=briefing.facts(), investment_thesis=thesis)
    return LlmRequest(hook=HOOK, system=SYSTEM, messages=(turn,), output_format=TradeIdeas,
                      context=CONTEXT)


def generate_ideas(client: LlmClient, briefing: Briefing, thesis: str,
                   attempts: int | None = None) -> IdeasResult:
    """Ideas from ``briefing`` and ``thesis`` (see the module docstring).

    Abstains (``status="abstain"``) on ``LlmOutputError`` / ``LlmCallError``.

    Raises:
        LlmUnavailableError / BudgetExceededError: no key and no cassette / over budget.
    """
    markdown = render_markdown(briefing)
    try:
        result = ask(client, ideas_request(briefing, thesis), JsonOutput(TradeIdeas, idea_problems),
                     attempts)
    except (LlmOutputError, LlmCallError) as err:
        logger.warning("ideas: abstaining: %s", err)
        return IdeasResult(status="abstain", reason=str(err), briefing=markdown)
    return IdeasResult(status="ok", ideas=tuple(result.value.ideas), briefing=markdown,
                       prompt_hashes=tuple(result.prompt_hashes), cost_usd=result.cost_usd,
                       billed_usd=result.billed_usd)


def render_ideas(result: IdeasResult) -> str:
    """Markdown of the ideas (or the abstention)."""
    lines = ["# Trade ideas", "", result.briefing]
    if result.status == "abstain":
        lines += ["## No ideas (abstained)", "", result.reason, ""]
    for n, idea in enumerate(result.ideas, 1):
        zone = idea.entry_zone
        lines += [f"## Idea {n}: {idea.direction} {idea.pair} ({idea.horizon}, conviction "
                  f"{idea.conviction:.2f})", "", f"**Thesis:** {idea.thesis}", "", "**Signals:**",
                  *[f"- {s}" for s in idea.supporting_signals], "", "**Invalidation:**",
                  *[f"- {s}" for s in idea.invalidation], "",
                  f"Entry {zone.low:,.2f}-{zone.high:,.2f}; stop {idea.stop_loss:,.2f}; targets "
                  + ", ".join(f"{t:,.2f}" for t in idea.targets), ""]
    lines.append(f"_LLM cost ${result.cost_usd:.4f} (billed ${result.billed_usd:.4f}); prompts "
                 + ", ".join(h[:12] for h in result.prompt_hashes) + "_")
    return "\n".join(lines) + "\n"


def write_ideas(result: IdeasResult, out_dir: Path, stamp: str) -> tuple[Path, Path]:
    """Write ``<out_dir>/ideas/<stamp>.json`` and ``.md`` atomically; returns both paths."""
    folder = Path(out_dir) / "ideas"
    data = json.dumps(result.model_dump(mode="json"), indent=1) + "\n"
    paths = (folder / f"{stamp}.json", folder / f"{stamp}.md")
    atomic_write(paths[0], lambda tmp: tmp.write_text(data, encoding="utf-8"))
    markdown = render_ideas(result)
    atomic_write(paths[1], lambda tmp: tmp.write_text(markdown, encoding="utf-8"))
    return paths
