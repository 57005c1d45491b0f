"""The weekly review of a strategy that is not a strategy tree (RegimeMoE, the FreqAI
baselines): its trades, decision journal and regime / expert diagnostics go to the LLM, which
writes the seed's weekly review (what worked, what did not) and may propose up to five changes
to the strategy's *model* settings. The proposal is a unified diff of the settings, written
next to the review for a human; nothing is ever applied (there is no approve path that edits a
running bot's config: a human edits the config file and redeploys through the stages).

Only ``ALLOWED_PREFIXES`` can be proposed (the regime detector and experts, FreqAI's features
and training windows); a change elsewhere (risk limits, breakers, stake, exchange, keys) is
rejected with its reason, like a change to a path the settings do not have.

Output: ``<output_dir>/reviews/<id>/review.md``, ``review.json`` and, with accepted changes,
``config.diff``. The id is ``config-YYYYMMDD-xxxxxxxx`` (the week's last day, a hash of the
inputs): the same week and inputs give the same id.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from plugins.core.atomic import atomic_write
from plugins.llm.client import LlmClient, LlmRequest
from plugins.llm.errors import LlmCallError, LlmOutputError
from plugins.llm.prompts import reference, schema_text, system_prompt, user_turn
from plugins.llm.review_stats import ReviewStats, render_stats
from plugins.llm.structured import JsonOutput, ask

logger = logging.getLogger(__name__)

HOOK = "review.config"
#: Settings a proposal may touch (dotted paths of the Freqtrade config).
ALLOWED_PREFIXES = ("ai_suite.regime.", "freqai.feature_parameters.",
                    "freqai.model_training_parameters.", "freqai.train_period_days",
                    "freqai.backtest_period_days")
PATH_RE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"

SYSTEM = system_prompt(HOOK, """
You write the weekly performance review of a machine-learning trading strategy (a regime-gated
mixture of experts or a FreqAI model) for its human owner. From the statistics, the decision
journal's counts, the regime and expert diagnostics and the model settings, say what worked and
what did not, and suggest adjustments. You may propose up to five changes to the model settings
shown, each a dotted path (e.g. "ai_suite.regime.detector.n_regimes",
"freqai.feature_parameters.label_period_candles"), the new value as JSON and the reason. Only
the settings shown exist for you; risk limits, circuit breakers, stakes and exchange settings
are not yours to change. A human reads the proposal as a diff and decides; nothing is applied.
Answer with one JSON object.""")


class ConfigChange(BaseModel):
    """One proposed change: ``path`` (dotted), ``value_json`` (the new value as JSON), ``why``."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(pattern=PATH_RE, max_length=160)
    value_json: str = Field(max_length=2000)
    why: str = Field(max_length=600)


class ConfigReviewNarrative(BaseModel):
    """The model's answer."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1, max_length=2000)
    what_worked: list[str] = Field(default_factory=list, max_length=8)
    what_did_not: list[str] = Field(default_factory=list, max_length=8)
    suggestions: list[str] = Field(default_factory=list, max_length=8)
    config_changes: list[ConfigChange] = Field(default_factory=list, max_length=5)


CONTEXT = reference(output_schema=schema_text(ConfigReviewNarrative),
                    statistics_schema=schema_text(ReviewStats))


def settings_excerpt(config: Mapping[str, Any]) -> dict[str, Any]:
    """The reviewable settings of a Freqtrade config: ``ai_suite.regime`` and ``freqai``'s
    ``feature_parameters``, ``model_training_parameters``, ``train_period_days``,
    ``backtest_period_days`` (absent ones left out)."""
    out: dict[str, Any] = {}
    regime = (config.get("ai_suite") or {}).get("regime")
    if regime is not None:
        out["ai_suite"] = {"regime": copy.deepcopy(dict(regime))}
    freqai = config.get("freqai") or {}
    kept = {k: copy.deepcopy(freqai[k]) for k in ("feature_parameters", "model_training_parameters",
                                                 "train_period_days", "backtest_period_days")
            if k in freqai}
    if kept:
        out["freqai"] = kept
    return json.loads(json.dumps(out, default=str))


def apply_changes(settings: dict[str, Any], changes: list[ConfigChange]
                  ) -> tuple[dict[str, Any], list[ConfigChange], list[tuple[ConfigChange, str]]]:
    """``settings`` with the allowed changes set (a copy), the applied and the rejected ones with
    why. A change must name an allowed path that exists in ``settings`` (its parent at least)
    and carry valid JSON."""
    proposed = copy.deepcopy(settings)
    applied, rejected = [], []
    for change in changes:
        if not change.path.startswith(ALLOWED_PREFIXES) and change.path not in (
                p.rstrip(".") for p in ALLOWED_PREFIXES):
            rejected.append((change, f"{change.path} is not a reviewable setting "
                                     f"(allowed: {', '.join(ALLOWED_PREFIXES)})"))
            continue
        try:
            value = json.loads(change.value_json)
        except ValueError as err:
            rejected.append((change, f"value_json is not JSON: {err}"))
            continue
        *parents, leaf = change.path.split(".")
        node: Any = proposed
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        if not isinstance(node, dict):
            rejected.append((change, f"{change.path}: no such setting in the config"))
            continue
        node[leaf] = value
        applied.append(change)
    return proposed, applied, rejected


def settings_diff(before: Mapping[str, Any], after: Mapping[str, Any], name: str) -> str:
    """A unified diff of two settings dicts as sorted, indented JSON."""
    a = json.dumps(before, indent=2, sort_keys=True).splitlines(keepends=True)
    b = json.dumps(after, indent=2, sort_keys=True).splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, f"{name} (running)", f"{name} (proposed)"))


def config_review_request(stats: ReviewStats, diagnostics: Mapping[str, Any],
                          settings: Mapping[str, Any], notes: str = "") -> LlmRequest:
    """The request: figures, diagnostics, settings and notes as data blocks."""
    turn = user_turn("Write the weekly review and propose settings changes, if any.",
                     statistics=stats.model_dump(mode="json"), diagnostics=dict(diagnostics),
                     model_settings=dict(settings), owner_notes=notes)
    return LlmRequest(hook=HOOK, system=SYSTEM, messages=(turn,), output_format=ConfigReviewNarrative,
                      max_tokens=3000, context=CONTEXT)


def review_id(stats: ReviewStats, diagnostics: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """``config-YYYYMMDD-xxxxxxxx``: the period's last day and a hash of the inputs."""
    day = (stats.until or stats.last_close)
    digest = hashlib.sha256(json.dumps([stats.model_dump(mode="json"), dict(diagnostics), dict(settings)],
                                       sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"config-{day:%Y%m%d}-{digest}" if day else f"config-notrades-{digest}"


@dataclass(frozen=True)
class ConfigReviewOutput:
    """Where a config review went: id, folder, markdown, diff (None: no accepted change), the
    narrative (None: the LLM gave none, ``reason`` says why), applied and rejected changes."""

    review_id: str
    folder: Path
    markdown: Path
    diff: Path | None
    narrative: ConfigReviewNarrative | None
    reason: str
    applied: tuple[ConfigChange, ...]
    rejected: tuple[tuple[ConfigChange, str], ...]
    cost_usd: float


def run_config_review(client: LlmClient, stats: ReviewStats, diagnostics: Mapping[str, Any],
                      config: Mapping[str, Any], out_dir: Path, now: datetime,
                      notes: str = "", attempts: int | None = None) -> ConfigReviewOutput:
    """Write the weekly review of a non-tree strategy (see the module docstring).

    Raises:
        LlmUnavailableError / BudgetExceededError: from the client (nothing written).
    """
    settings = settings_excerpt(config)
    rid = review_id(stats, diagnostics, settings)
    folder = Path(out_dir) / "reviews" / rid
    narrative, reason, cost, hashes = None, "", 0.0, []
    try:
        result = ask(client, config_review_request(stats, diagnostics, settings, notes),
                     JsonOutput(ConfigReviewNarrative), attempts)
        narrative, cost, hashes = result.value, result.cost_usd, result.prompt_hashes
    except (LlmOutputError, LlmCallError) as err:
        reason = str(err)
        logger.warning("config review: no narrative: %s", err)
    proposed, applied, rejected = apply_changes(settings, narrative.config_changes if narrative else [])
    diff_path = None
    if applied:
        diff_path = folder / "config.diff"
        diff = settings_diff(settings, proposed, stats.strategy)
        atomic_write(diff_path, lambda tmp: tmp.write_text(diff, encoding="utf-8"))
    meta = {"review_id": rid, "strategy": stats.strategy, "at": now.isoformat(),
            "stats": stats.model_dump(mode="json"), "diagnostics": dict(diagnostics),
            "settings": settings, "narrative": narrative.model_dump() if narrative else None,
            "narrative_missing": reason, "applied": [c.model_dump() for c in applied],
            "rejected": [{**c.model_dump(), "reason": r} for c, r in rejected],
            "diff": diff_path.name if diff_path else None, "prompt_hashes": hashes, "cost_usd": cost}
    atomic_write(folder / "review.json", lambda tmp: tmp.write_text(json.dumps(meta, indent=1) + "\n"))
    lines = [f"# Weekly review {rid}: {stats.strategy}", "", *render_stats(stats), "",
             "## Regime and expert diagnostics", "", "```json",
             json.dumps(dict(diagnostics), indent=1, sort_keys=True), "```", ""]
    if narrative:
        lines += ["## Summary", "", narrative.summary, "", "## What worked", "",
                  *(f"- {x}" for x in narrative.what_worked), "", "## What did not work", "",
                  *(f"- {x}" for x in narrative.what_did_not), "", "## Suggestions", "",
                  *(f"- {x}" for x in narrative.suggestions), ""]
    else:
        lines += [f"No LLM narrative: {reason}", ""]
    lines += ["## Proposed settings changes (for human approval; never applied)", ""]
    lines += [f"- `{c.path}` = `{c.value_json}`: {c.why}" for c in applied] or ["- none"]
    lines += [f"- rejected `{c.path}`: {r}" for c, r in rejected]
    if diff_path:
        lines += ["", "```diff", diff_path.read_text(encoding="utf-8").rstrip(), "```"]
    markdown = folder / "review.md"
    text = "\n".join(lines) + "\n"
    atomic_write(markdown, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return ConfigReviewOutput(rid, folder, markdown, diff_path, narrative, reason, tuple(applied),
                              tuple(rejected), cost)
