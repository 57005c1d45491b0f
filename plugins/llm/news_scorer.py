"""Headline scoring with the Anthropic model: the optional scorer behind the same interface as
the offline VADER scorer (``plugins.altdata.news.scoring.HeadlineScorer``).

``LlmHeadlineScorer.score(titles)`` sends the titles in batches (``batch_size`` per call) as an
untrusted ``<data>`` block, asks for structured output (``HeadlineScores``: one ``{id, score}``
per headline, score -1..1) and validates it (every id exactly once; ``structured.ask`` feeds
problems back, bounded retries). Everything else comes from the client (``client``):
cassettes by prompt hash, so a rerun over the same headlines replays at $0; the budget cap
(``ai_suite.llm.daily_budget_usd`` / ``monthly_budget_usd``, checked against the call ledger
before each live call); every call in the ledger.

Any failure - no key and no cassette, budget exhausted, API error after retries, output still
invalid - makes the batch **abstain** (``None`` per title, logged with the reason). The score
cache stores no abstention, and the news features then have no sentiment there (NaN), never a
neutral 0.

A caution the offline scorer does not need: a model trained after the headlines' dates may
"know" what followed (hindsight in its weights). LLM scores of historical headlines can
therefore flatter a backtest; judge them on headlines newer than the model's training data.

``version`` = ``llm-<model>-<PROMPT_VERSION>``: a new model or prompt scores every title anew.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from plugins.llm.client import LlmClient, LlmRequest
from plugins.llm.errors import LlmError
from plugins.llm.prompts import system_prompt, user_turn
from plugins.llm.structured import JsonOutput, ask

logger = logging.getLogger(__name__)

HOOK = "news.score"
#: Bump when SYSTEM, the task text or the output schema change (cached scores are keyed by it).
PROMPT_VERSION = "v1"
SYSTEM = system_prompt(HOOK, """
You rate crypto-market news headlines. For each headline in the <data name="headlines"> block,
give the tone of the news for the price of the crypto assets it concerns, as a number from -1
(clearly bad news: hacks, bans, crashes, outflows) through 0 (neutral, mixed or not
price-relevant) to 1 (clearly good news: adoption, approvals, inflows, rallies). Judge only the
headline as written, as a trader would have read it the moment it was published; do not use
anything you know about what happened afterwards. Answer with one JSON object
{"scores": [{"id": <the headline's id>, "score": <number>}, ...]}: every id exactly once.""")
TASK = "Score every headline above. Every id exactly once; scores between -1 and 1."


class HeadlineScore(BaseModel):
    """One headline's score: ``id`` (as sent), ``score`` (-1..1)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    score: float = Field(ge=-1.0, le=1.0)


class HeadlineScores(BaseModel):
    """The answer: one ``HeadlineScore`` per headline sent."""

    model_config = ConfigDict(extra="forbid")

    scores: list[HeadlineScore]


def _problems(expected: int):
    def check(answer: HeadlineScores) -> list[str]:
        ids = [s.id for s in answer.scores]
        missing = sorted(set(range(expected)) - set(ids))
        extra = sorted(set(ids) - set(range(expected)))
        twice = sorted({i for i in ids if ids.count(i) > 1})
        problems = []
        if missing:
            problems.append(f"ids missing: {missing[:20]}")
        if extra:
            problems.append(f"unknown ids: {extra[:20]} (use the ids 0..{expected - 1} as sent)")
        if twice:
            problems.append(f"ids given more than once: {twice[:20]}")
        return problems

    return check


def scorer_version(model: str) -> str:
    """The ``version`` an ``LlmHeadlineScorer`` on ``model`` has (to read its recorded scores
    without a client, e.g. in a backtest)."""
    return f"llm-{model}-{PROMPT_VERSION}"


class LlmHeadlineScorer:
    """``HeadlineScorer`` on an ``LlmClient`` (module docstring).

    Args:
        client: the LLM client (``AnthropicLlm``: cassettes, budget, ledger).
        batch_size: headlines per call (1..200).

    Attributes:
        version: ``llm-<model>-<PROMPT_VERSION>``.
        abstained: reasons of the batches that abstained, in order (for reports and tests).
    """

    def __init__(self, client: LlmClient, batch_size: int = 40) -> None:
        if not 1 <= batch_size <= 200:
            raise ValueError(f"batch_size must be 1..200, got {batch_size}")
        self.client = client
        self.batch_size = batch_size
        self.version = scorer_version(client.config.model)
        self.abstained: list[str] = []

    def request(self, titles: Sequence[str]) -> LlmRequest:
        """The request of one batch (ids 0..n-1 in the order given)."""
        headlines = [{"id": i, "headline": str(t)} for i, t in enumerate(titles)]
        turn = user_turn(TASK, headlines=headlines)
        return LlmRequest(hook=HOOK, system=SYSTEM, messages=(turn,), output_format=HeadlineScores,
                          max_tokens=64 + 16 * len(headlines))

    def score(self, titles: Sequence[str]) -> list[float | None]:
        """A score per title (-1..1), ``None`` for the titles of a batch that abstained."""
        out: list[float | None] = []
        for start in range(0, len(titles), self.batch_size):
            out.extend(self._batch(list(titles[start:start + self.batch_size])))
        return out

    def _batch(self, titles: list[str]) -> list[float | None]:
        try:
            result = ask(self.client, self.request(titles), JsonOutput(HeadlineScores,
                                                                       _problems(len(titles))))
        except LlmError as err:
            reason = f"{type(err).__name__}: {err}"
            self.abstained.append(reason)
            logger.warning("LLM headline scorer abstained on %d headline(s): %s", len(titles),
                           reason[:300])
            return [None] * len(titles)
        by_id = {s.id: s.score for s in result.value.scores}
        return [by_id.get(i) for i in range(len(titles))]
