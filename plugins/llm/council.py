"""The analyst council: on-chain, momentum, macro, sentiment and risk analysts in parallel, then
a judge -> a verdict with a confidence in [0, 1] and the dissent, journaled.

Each analyst gets its own slice of the briefing and a fixed mandate (static, cached system
prompt) and answers ``AnalystVerdict``; all run at once (``asyncio.gather`` on
``AsyncAnthropic``), so the council takes about as long as its slowest analyst. The judge reads
the verdicts and answers ``JudgeVerdict``: a decision (``enter_long`` / ``wait`` / ``avoid``),
``confidence`` = how sound a long entry is now (0 = not at all, 1 = fully), a summary and the
dissenting views. An analyst whose output stays invalid or whose call fails abstains; with
fewer than ``council_quorum`` analysts, or without a valid judge answer, the council abstains:
decision ``abstain``, confidence 0, so the confidence gate denies the entry (fail closed).

The verdict is data, never an action: a number and text written to the decision journal
(kind ``gate``, reason ``council``, the verdict as JSON in ``detail``) and to a verdict CSV per
(pair, candle) that a strategy merges as its ``confidence`` column
(``merge_council_confidence``); the risk layer's confidence gate then compares it with
``ai_suite.risk.gates.min_confidence``. No verdict can change a risk setting or a breaker.
Backtests read verdicts only from that CSV, produced with ``cassette_mode: replay`` from
recorded cassettes, so a rerun sees exactly the same verdicts and no live call is made.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from plugins.core.atomic import atomic_write
from plugins.llm.briefing import Briefing, build_briefing
from plugins.llm.client import LlmClient, LlmRequest
from plugins.llm.errors import LlmCallError, LlmOutputError
from plugins.llm.prompts import briefing_template, reference, schema_text, system_prompt, user_turn
from plugins.llm.structured import JsonOutput, Structured, aask
from plugins.risk.journal import DecisionJournal, JournalRow

logger = logging.getLogger(__name__)

HOOK = "council"
JOURNAL_REASON = "council"
VERDICT_COLUMNS = ("date", "pair", "confidence", "decision", "at", "judge_prompt_hash")

_PREAMBLE = """You are one analyst of a crypto trading council. Judge only from your own domain,
using only the data given. Answer with one JSON object: your stance (bullish / neutral /
bearish on a long entry now), your confidence in that stance (0-1), a short rationale and the key
signals you used."""

MANDATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "onchain": ("On-chain analyst: do exchange flows support or contradict a long position?",
                ("price", "price_change_24h_frac", "netflow_btc", "netflow_as_of")),
    "momentum": ("Momentum analyst: do RSI across timeframes, the 24h move and the regime favour "
                 "an entry now or waiting?", ("price", "price_change_24h_frac", "rsi", "regime")),
    "macro": ("Macro strategist: do the dollar, yields or an upcoming FOMC/CPI event argue against "
              "an entry?", ("dxy", "dxy_change_1w_frac", "dxy_as_of", "us10y_pct",
                           "us10y_change_1w_bp", "us10y_as_of", "next_event")),
    "sentiment": ("Sentiment analyst: is sentiment contrarian-positive, neutral or a risk?",
                  ("fear_greed", "fear_greed_label", "fear_greed_as_of", "news",
                   "price_change_24h_frac")),
    "risk": ("Risk assessor: given everything, do conditions support taking a new position? You "
             "cannot change any risk limit; you only assess.", ()),
}

JUDGE_SYSTEM = system_prompt(f"{HOOK}.judge", """
You are the chief judge of a crypto trading council. Read the analysts' verdicts and decide:
enter_long, wait or avoid. Give confidence = how sound a long entry is right now, 0 (not at
all) to 1 (fully); it is compared with a fixed threshold by a deterministic gate. Check whether
each analyst reasoned within its domain, flag contradictions, and list the dissenting views
(role and view) - weigh them, do not ignore them. Answer with one JSON object.""")


class AnalystVerdict(BaseModel):
    """One analyst's answer: stance on a long entry now, confidence in it (0-1)."""

    model_config = ConfigDict(extra="forbid")

    stance: Literal["bullish", "neutral", "bearish"]
    confidence: float = Field(ge=0, le=1)
    rationale: str = Field(min_length=1, max_length=1500)
    key_signals: list[str] = Field(default_factory=list, max_length=6)


class Dissent(BaseModel):
    """A dissenting analyst and its view."""

    model_config = ConfigDict(extra="forbid")

    role: str
    view: str = Field(max_length=600)


class JudgeVerdict(BaseModel):
    """The judge's answer (``confidence``: soundness of a long entry now, 0-1)."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["enter_long", "wait", "avoid"]
    confidence: float = Field(ge=0, le=1)
    summary: str = Field(min_length=1, max_length=2000)
    dissent: list[Dissent] = Field(default_factory=list, max_length=5)


class CouncilVerdict(BaseModel):
    """The council's verdict on ``pair`` at ``at``.

    Attributes:
        candle: open time of the last 1h candle closed by ``at`` (the signal candle the
            verdict belongs to in the verdict CSV).
        decision: the judge's decision, or ``abstain``.
        confidence: 0-1 (0 when abstaining).
        analysts: each role's verdict; ``abstained``: role -> reason for those without one.
        reason: why the council abstained.
    """

    model_config = ConfigDict(frozen=True)

    pair: str
    at: datetime
    candle: datetime
    decision: Literal["enter_long", "wait", "avoid", "abstain"]
    confidence: float = Field(ge=0, le=1)
    summary: str = ""
    dissent: tuple[Dissent, ...] = ()
    analysts: dict[str, AnalystVerdict] = Field(default_factory=dict)
    abstained: dict[str, str] = Field(default_factory=dict)
    reason: str = ""
    model: str = ""
    judge_prompt_hash: str = ""
    prompt_hashes: tuple[str, ...] = ()
    cost_usd: float = 0.0
    billed_usd: float = 0.0


def analyst_system(role: str) -> str:
    """The static system prompt of analyst ``role``."""
    return system_prompt(f"{HOOK}.{role}", f"{_PREAMBLE}\n\nYour mandate - {MANDATES[role][0]}")


@functools.cache
def analyst_context() -> str:
    """The analysts' stable reference (cached prefix): their output schema and the briefing
    template."""
    return reference(output_schema=schema_text(AnalystVerdict), market_briefing=briefing_template())


@functools.cache
def judge_context() -> str:
    """The judge's stable reference (cached prefix): its output schema, the analysts' verdict
    schema and the briefing template the analysts read."""
    return reference(output_schema=schema_text(JudgeVerdict),
                     analyst_verdict_schema=schema_text(AnalystVerdict),
                     market_briefing_the_analysts_read=briefing_template())


def analyst_request(role: str, briefing: Briefing) -> LlmRequest:
    """Analyst ``role``'s request: its slice of the briefing as a data block."""
    facts = briefing.facts()
    keys = MANDATES[role][1]
    context = {"pair": facts["pair"], "at": facts["at"],
               **({k: facts[k] for k in keys} if keys else facts)}
    turn = user_turn(f"Give your verdict as the {role} analyst.", market_data=context)
    return LlmRequest(hook=f"{HOOK}.{role}", system=analyst_system(role), messages=(turn,),
                      output_format=AnalystVerdict, max_tokens=1024, context=analyst_context())


def judge_request(briefing: Briefing, verdicts: dict[str, AnalystVerdict],
                  abstained: dict[str, str]) -> LlmRequest:
    """The judge's request: the analysts' verdicts (and who abstained) as data."""
    panel = {role: v.model_dump() for role, v in verdicts.items()}
    panel.update({role: {"abstained": why[:300]} for role, why in abstained.items()})
    turn = user_turn("Synthesize the council's decision.",
                     context={"pair": briefing.pair, "at": briefing.facts()["at"],
                              "price": briefing.price,
                              "regime": briefing.regime.name if briefing.regime else None},
                     analyst_verdicts=panel)
    return LlmRequest(hook=f"{HOOK}.judge", system=JUDGE_SYSTEM, messages=(turn,),
                      output_format=JudgeVerdict, max_tokens=1024, context=judge_context())


def _dissent_problems(roles: Iterable[str]):
    allowed = set(roles)

    def check(v: JudgeVerdict) -> list[str]:
        return [f"dissent.{i}.role {d.role!r} is not one of the analysts {sorted(allowed)}"
                for i, d in enumerate(v.dissent) if d.role not in allowed]
    return check


def signal_candle(at: datetime) -> datetime:
    """Open time of the last 1h candle closed by ``at``."""
    return (pd.Timestamp(at).floor("1h") - pd.Timedelta(hours=1)).to_pydatetime()


async def ask_analysts(client: LlmClient, requests: dict[str, LlmRequest], attempts: int | None = None
                       ) -> tuple[dict[str, AnalystVerdict], dict[str, str], list[Structured]]:
    """Ask every analyst at once (``asyncio.gather``).

    Returns:
        (verdict per label, abstention reason per label, the successful calls).

    Raises:
        LlmUnavailableError / BudgetExceededError: after all calls settled.
    """
    outcomes = await asyncio.gather(
        *[aask(client, r, JsonOutput(AnalystVerdict), attempts) for r in requests.values()],
        return_exceptions=True)
    verdicts: dict[str, AnalystVerdict] = {}
    abstained: dict[str, str] = {}
    calls: list[Structured] = []
    for label, outcome in zip(requests, outcomes, strict=True):
        if isinstance(outcome, Structured):
            verdicts[label] = outcome.value
            calls.append(outcome)
        elif isinstance(outcome, LlmOutputError | LlmCallError):
            abstained[label] = str(outcome)
            logger.warning("council: analyst %s abstains: %s", label, outcome)
        else:
            raise outcome
    return verdicts, abstained, calls


async def run_council_async(client: LlmClient, briefing: Briefing, roles: tuple[str, ...] | None = None,
                            quorum: int | None = None, attempts: int | None = None) -> CouncilVerdict:
    """The council on ``briefing`` (see the module docstring).

    Raises:
        LlmUnavailableError / BudgetExceededError: no key and no cassette / over budget (the
            caller decides; no verdict row is written, so the strategy sees no confidence and
            the gate denies entries).
    """
    roles = tuple(roles or client.config.council_roles)
    quorum = quorum if quorum is not None else min(client.config.council_quorum, len(roles))
    verdicts, abstained, calls = await ask_analysts(
        client, {r: analyst_request(r, briefing) for r in roles}, attempts)
    base = {"pair": briefing.pair, "at": briefing.at, "candle": signal_candle(briefing.at),
            "analysts": verdicts, "abstained": abstained, "model": client.config.model}
    judge = None
    if len(verdicts) < quorum:
        reason = f"only {len(verdicts)} of {len(roles)} analysts answered (quorum {quorum})"
    else:
        try:
            judge = await aask(client, judge_request(briefing, verdicts, abstained),
                               JsonOutput(JudgeVerdict, _dissent_problems(roles)), attempts)
            calls.append(judge)
            reason = ""
        except (LlmOutputError, LlmCallError) as err:
            reason = f"judge: {err}"
    hashes = tuple(h for c in calls for h in c.prompt_hashes)
    cost = {"cost_usd": sum(c.cost_usd for c in calls), "billed_usd": sum(c.billed_usd for c in calls)}
    if judge is None:
        logger.warning("council %s at %s abstains: %s", briefing.pair, briefing.at, reason)
        return CouncilVerdict(**base, decision="abstain", confidence=0.0, reason=reason,
                              prompt_hashes=hashes, **cost)
    v = judge.value
    return CouncilVerdict(**base, decision=v.decision, confidence=v.confidence, summary=v.summary,
                          dissent=tuple(v.dissent), judge_prompt_hash=judge.prompt_hashes[-1],
                          prompt_hashes=hashes, **cost)


def run_council(client: LlmClient, briefing: Briefing, **kwargs) -> CouncilVerdict:
    """``run_council_async`` in a fresh event loop (for scripts and the CLI)."""
    async def main() -> CouncilVerdict:
        try:
            return await run_council_async(client, briefing, **kwargs)
        finally:
            await _aclose(client)
    return asyncio.run(main())


async def _aclose(client: LlmClient) -> None:
    close = getattr(client, "aclose", None)
    if close is not None:
        await close()


def run_council_range(client: LlmClient, datadir: Path, cache_dir: Path, pair: str, start: datetime,
                      end: datetime, every: timedelta, **kwargs) -> list[CouncilVerdict]:
    """One council per ``every`` from ``start`` to ``end`` (inclusive), each on the briefing at
    that time; for producing a backtest's verdict CSV (use ``cassette_mode: replay``)."""
    times = []
    t = pd.Timestamp(start)
    while t <= pd.Timestamp(end):
        times.append(t.to_pydatetime())
        t += every

    async def main() -> list[CouncilVerdict]:
        try:
            return [await run_council_async(client, build_briefing(datadir, cache_dir, pair, at), **kwargs)
                    for at in times]
        finally:
            await _aclose(client)
    return asyncio.run(main())


def verdict_detail(v: CouncilVerdict) -> str:
    """Compact JSON of a verdict for the journal's ``detail``."""
    return json.dumps({"decision": v.decision, "confidence": v.confidence, "summary": v.summary[:500],
                       "dissent": [d.model_dump() for d in v.dissent],
                       "analysts": {r: [a.stance, a.confidence] for r, a in v.analysts.items()},
                       "abstained": sorted(v.abstained), "reason": v.reason[:300], "model": v.model,
                       "judge_prompt_hash": v.judge_prompt_hash}, sort_keys=True)


def journal_verdict(journal: DecisionJournal, v: CouncilVerdict) -> None:
    """Write the verdict to the decision journal: kind ``gate``, reason ``council``, decision
    = the verdict's decision, ts = ``at``, detail = ``verdict_detail``."""
    journal.record(JournalRow(ts=v.at, kind="gate", decision=v.decision, reason=JOURNAL_REASON,
                              pair=v.pair, detail=verdict_detail(v)))


def record_verdicts(path: Path, verdicts: Iterable[CouncilVerdict]) -> Path:
    """Add verdicts to the CSV at ``path`` (one row per (pair, candle); a newer verdict for the
    same candle replaces the older), atomically. Columns: ``VERDICT_COLUMNS``."""
    rows = pd.DataFrame([{"date": pd.Timestamp(v.candle), "pair": v.pair, "confidence": v.confidence,
                          "decision": v.decision, "at": pd.Timestamp(v.at),
                          "judge_prompt_hash": v.judge_prompt_hash} for v in verdicts],
                        columns=list(VERDICT_COLUMNS))
    if path.is_file():
        rows = pd.concat([read_verdicts(path), rows], ignore_index=True)
    rows = rows.drop_duplicates(["pair", "date"], keep="last").sort_values(["pair", "date"])
    atomic_write(path, lambda tmp: rows.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S%z"))
    return path


def read_verdicts(path: Path) -> pd.DataFrame:
    """The verdict CSV with ``date`` / ``at`` as UTC timestamps."""
    frame = pd.read_csv(path, dtype={"pair": str, "decision": str, "judge_prompt_hash": str},
                        keep_default_na=False, na_values={"confidence": [""]})
    for column in ("date", "at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def merge_council_confidence(dataframe: pd.DataFrame, path: Path, pair: str,
                             column: str = "confidence") -> pd.DataFrame:
    """``dataframe`` (Freqtrade candles, ``date`` = open time) with the council's confidence of
    ``pair`` as ``column`` (NaN where no verdict: the confidence gate then denies, fail closed).

    A verdict for candle D was computed from data available at D's close, which is when
    Freqtrade evaluates D's signal, so it sits on D's row with no look-ahead.
    """
    verdicts = read_verdicts(path)
    verdicts = verdicts.loc[verdicts["pair"] == pair, ["date", "confidence"]]
    merged = dataframe.drop(columns=[column], errors="ignore").merge(
        verdicts.rename(columns={"confidence": column}), on="date", how="left")
    merged.index = dataframe.index
    return merged
