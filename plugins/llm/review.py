"""The weekly review (the seed's feedback loop): statistics + LLM narrative + a proposed tree
change as a diff, written to markdown with an equity curve; ``approve`` makes it a new version.

``run_review`` computes the deterministic figures (``review_stats``), then asks the model for a
``ReviewNarrative``: what worked, what did not, suggestions, and at most five ``TreeChange``s
(a dotted path inside the strategy tree, a YAML value and why). Each change is applied to the
tree's canonical data and kept only if the tree still validates (``validate_tree``); paths
outside the tree (a risk setting, a breaker, anything in the Freqtrade config) cannot exist in
a tree document, so they are rejected with the validator's problem. The review folder
``<output_dir>/reviews/<id>/`` gets ``review.md``, ``equity.png``, ``review.json`` and, if any
change survived, ``proposal.yaml``. Without a valid answer the review is still written, with the
figures and the reason the narrative is missing.

``approve(id)``: a human's decision. The id must have the shape ``review_id`` generates
(``check_review_id``: ``YYYYMMDD-<8 hex>`` or ``notrades-<8 hex>``); anything else - ``../``, an
absolute path, 5,000 characters - is refused with ``ReviewIdError`` before a file is touched.
It validates ``proposal.yaml`` again, writes
``<trees_dir>/<base>_v<N>.yaml`` (next free version, never overwriting), calls the tree compiler
for every engine when installed, and marks the review approved (a second approval is refused).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field

from plugins.core.atomic import atomic_write
from plugins.core.errors import SuiteError
from plugins.llm.client import LlmClient, LlmRequest
from plugins.llm.errors import LlmCallError, LlmOutputError
from plugins.llm.prompts import reference, schema_text, system_prompt, user_turn
from plugins.llm.review_stats import ReviewStats, plot_equity, render_stats
from plugins.llm.structured import JsonOutput, ask
from plugins.llm.treefiles import base_name, compile_engines, next_version, renamed, write_new
from plugins.strategy_tree.diff import diff_trees
from plugins.strategy_tree.errors import TreeValidationError
from plugins.strategy_tree.io import dumps_tree, load_tree, tree_data
from plugins.strategy_tree.schema import StrategyTree
from plugins.strategy_tree.validation import validate_tree

logger = logging.getLogger(__name__)

HOOK = "review"
PATH_RE = r"^[a-z_]+(\[\d+\])?(\.[a-z_]+(\[\d+\])?)*$"
_SEGMENT = re.compile(r"^(?P<key>[a-z_]+)(\[(?P<index>\d+)\])?$")
MAX_TRADES_SHOWN = 40
#: The shape of the ids ``review_id`` generates: the period's last day (``YYYYMMDD``, ASCII
#: digits) or ``notrades``, a dash, 8 lowercase hex digits. Matched with ``fullmatch``.
REVIEW_ID_RE = re.compile(r"(?:[0-9]{8}|notrades)-[0-9a-f]{8}")
REVIEW_ID_SHAPE = "YYYYMMDD-xxxxxxxx (8 digits, a dash, 8 lowercase hex digits) or notrades-xxxxxxxx"

SYSTEM = system_prompt(HOOK, """
You write the weekly performance review of a rule-based strategy for its human owner. From the
statistics, the trade sample and the strategy tree, say what worked, what did not, and suggest
adjustments. You may propose up to five changes to the strategy tree, each a dotted path inside
the tree document below "strategy" (e.g. "position.interval", "entry.conditions[1]",
"filters[2]", "take_profit[0].level"), the new value written as YAML ("8h", "RSI(BTC, 1D) < 25",
"{no_entry_within: 24h_of_FOMC}", "null" to remove) and the reason. Only tree fields exist;
account risk limits and circuit breakers are not yours to change. A human approves or rejects.
Answer with one JSON object.""")


class TreeChange(BaseModel):
    """One proposed change: ``path`` inside the tree, ``value_yaml`` the new value, ``why``."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(pattern=PATH_RE, max_length=120)
    value_yaml: str = Field(max_length=2000)
    why: str = Field(max_length=600)


class ReviewNarrative(BaseModel):
    """The model's answer."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1, max_length=2000)
    what_worked: list[str] = Field(default_factory=list, max_length=8)
    what_did_not: list[str] = Field(default_factory=list, max_length=8)
    suggestions: list[str] = Field(default_factory=list, max_length=8)
    tree_changes: list[TreeChange] = Field(default_factory=list, max_length=5)


class ReviewError(SuiteError):
    """A review cannot be approved (unknown id, no proposal, already approved, invalid
    proposal). The CLI exits 1 with the message."""


class ReviewIdError(ReviewError):
    """A review id that is not of the shape the suite generates (``REVIEW_ID_RE``): bad input,
    refused before any file is read. The CLI exits 2 (usage), REST answers 422, Telegram
    ``Refused: <message>``."""


def check_review_id(rid: object) -> str:
    """``rid`` when it has the shape ``review_id`` generates (``REVIEW_ID_RE``).

    Raises:
        ReviewIdError: anything else (a path, ``../``, an over-long or empty string); the
            message shows at most the first 40 characters of it.
    """
    text = rid if isinstance(rid, str) else repr(rid)
    if isinstance(rid, str) and REVIEW_ID_RE.fullmatch(rid):
        return rid
    shown = repr(text[:40]) + (f"... ({len(text)} characters)" if len(text) > 40 else "")
    raise ReviewIdError(f"{shown} is not a review id: expected {REVIEW_ID_SHAPE}, as printed by "
                        "`python -m plugins.llm review` (or /review)")


@dataclass(frozen=True)
class ReviewOutput:
    """Where a review was written and what it proposed."""

    review_id: str
    folder: Path
    markdown: Path
    proposal: Path | None
    narrative: ReviewNarrative | None
    applied: tuple[TreeChange, ...]
    rejected: tuple[tuple[TreeChange, str], ...]


def _set(data: dict, path: str, value: Any) -> None:
    """Set (or with None delete) ``path`` in the tree's plain data; raises ValueError."""
    parts = path.removeprefix("strategy.").split(".")
    node: Any = data
    for n, part in enumerate(parts):
        match = _SEGMENT.match(part)
        if match is None or not isinstance(node, dict):
            raise ValueError(f"{path}: {part!r} is not a key of a mapping")
        key, index, last = match["key"], match["index"], n == len(parts) - 1
        if index is None:
            if last:
                if value is None:
                    node.pop(key, None)
                else:
                    node[key] = value
                return
            node = node.setdefault(key, {})
            continue
        items = node.setdefault(key, [])
        i = int(index)
        if not isinstance(items, list) or i > len(items):
            raise ValueError(f"{path}: index {i} is beyond the end of {key} (length "
                             f"{len(items) if isinstance(items, list) else 'n/a'})")
        if last:
            if value is None:
                if i < len(items):
                    items.pop(i)
            elif i == len(items):
                items.append(value)
            else:
                items[i] = value
            return
        if i == len(items):
            items.append({})
        node = items[i]


def apply_changes(tree: StrategyTree, changes: list[TreeChange]
                  ) -> tuple[StrategyTree, list[TreeChange], list[tuple[TreeChange, str]]]:
    """Apply ``changes`` in order, each kept only if the tree stays valid.

    Returns:
        (the resulting tree, applied changes, rejected changes with the reason).
    """
    current = tree
    applied, rejected = [], []
    for change in changes:
        data = json.loads(json.dumps(tree_data(current)["strategy"]))
        try:
            value = yaml.safe_load(change.value_yaml) if change.value_yaml.strip() else None
            _set(data, change.path, value)
            candidate = validate_tree({"strategy": data})
        except (ValueError, yaml.YAMLError) as err:
            rejected.append((change, str(err).splitlines()[0][:300]))
            continue
        except TreeValidationError as err:
            rejected.append((change, "; ".join(map(str, err.issues))[:600]))
            continue
        if candidate.name != current.name:
            rejected.append((change, "the tree's name is set on approval, not by a review"))
            continue
        current = candidate
        applied.append(change)
    return current, applied, rejected


@functools.cache
def review_context() -> str:
    """The review's stable reference (cached prefix): its output schema and the strategy-tree
    grammar (document layout, condition grammar, series names) its proposals must follow."""
    from plugins.llm.structure import tree_guide

    return reference(output_schema=schema_text(ReviewNarrative), strategy_tree_grammar=tree_guide())


def review_request(stats: ReviewStats, tree: StrategyTree, trades: pd.DataFrame, notes: str) -> LlmRequest:
    """The request: figures, a trade sample, the tree and the user's notes as data blocks."""
    columns = [c for c in ("pair", "open_date", "close_date", "profit_ratio", "profit_abs",
                           "exit_reason", "enter_tag") if c in trades.columns]
    sample = trades.sort_values("profit_abs").iloc[
        list(range(min(MAX_TRADES_SHOWN // 2, len(trades))))
        + list(range(max(len(trades) - MAX_TRADES_SHOWN // 2, MAX_TRADES_SHOWN // 2), len(trades)))]
    records = json.loads(sample[columns].to_json(orient="records", date_format="iso"))
    turn = user_turn("Write the review and propose tree changes, if any.",
                     statistics=stats.model_dump(mode="json"), trade_sample=records,
                     strategy_tree=dumps_tree(tree, "yaml"), owner_notes=notes)
    return LlmRequest(hook=HOOK, system=SYSTEM, messages=(turn,), output_format=ReviewNarrative,
                      max_tokens=3000, context=review_context())


def review_id(stats: ReviewStats, tree: StrategyTree) -> str:
    """``<last day>-<8 hex>``: the period's end (or its last trade's close) and a hash of the
    figures and the tree, so reruns on the same data agree."""
    digest = hashlib.sha256((stats.model_dump_json() + dumps_tree(tree)).encode()).hexdigest()[:8]
    day = stats.until or stats.last_close
    return f"{day:%Y%m%d}-{digest}" if day else f"notrades-{digest}"


def _yaml_diff(old: StrategyTree, new: StrategyTree) -> list[str]:
    return list(difflib.unified_diff(dumps_tree(old).splitlines(), dumps_tree(new).splitlines(),
                                     "current.yaml", "proposal.yaml", lineterm=""))


def run_review(client: LlmClient | None, stats: ReviewStats, trades: pd.DataFrame, tree_path: Path,
               out_dir: Path, notes: str = "", attempts: int | None = None) -> ReviewOutput:
    """Write the review of ``stats`` for the tree at ``tree_path`` (see the module docstring).

    Args:
        client: None for figures only (no LLM).
        trades: the trades behind ``stats`` (for the sample and the equity curve).

    Raises:
        TreeValidationError: the current tree is invalid.
        LlmUnavailableError / BudgetExceededError: from the client.
    """
    tree = load_tree(tree_path)
    rid = review_id(stats, tree)
    folder = Path(out_dir) / "reviews" / rid
    plot_equity(trades, stats.starting_balance, folder / "equity.png",
                f"{stats.strategy}: closed-trade equity")
    narrative, reason, hashes, cost = None, "no LLM requested", [], 0.0
    if client is not None:
        try:
            result = ask(client, review_request(stats, tree, trades, notes), JsonOutput(ReviewNarrative),
                         attempts)
            narrative, reason, hashes, cost = result.value, "", result.prompt_hashes, result.cost_usd
        except (LlmOutputError, LlmCallError) as err:
            reason = str(err)
            logger.warning("review: no narrative: %s", err)
    proposed, applied, rejected = apply_changes(tree, narrative.tree_changes if narrative else [])
    proposal = None
    if applied:
        proposal = folder / "proposal.yaml"
        text = dumps_tree(proposed)
        atomic_write(proposal, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    meta = {"review_id": rid, "tree": str(tree_path), "tree_name": tree.name,
            "stats": stats.model_dump(mode="json"),
            "narrative": narrative.model_dump() if narrative else None, "narrative_missing": reason,
            "applied": [c.model_dump() for c in applied],
            "rejected": [{**c.model_dump(), "reason": r} for c, r in rejected],
            "proposal": proposal.name if proposal else None, "prompt_hashes": hashes, "cost_usd": cost}
    atomic_write(folder / "review.json", lambda tmp: tmp.write_text(json.dumps(meta, indent=1) + "\n"))
    markdown = _markdown(rid, stats, tree, proposed, narrative, reason, applied, rejected, cost)
    atomic_write(folder / "review.md", lambda tmp: tmp.write_text(markdown, encoding="utf-8"))
    return ReviewOutput(rid, folder, folder / "review.md", proposal, narrative, tuple(applied),
                        tuple(rejected))


def _markdown(rid: str, stats: ReviewStats, tree: StrategyTree, proposed: StrategyTree,
              narrative: ReviewNarrative | None, reason: str, applied: list[TreeChange],
              rejected: list[tuple[TreeChange, str]], cost: float) -> str:
    period = " to ".join(f"{t:%Y-%m-%d}" if t else "..." for t in (stats.since or stats.first_open,
                                                                      stats.until or stats.last_close))
    lines = [f"## Weekly Performance Review - {stats.strategy} / tree {tree.name} ({period})",
             f"Review id: `{rid}`", "", *render_stats(stats), "", "![equity curve](equity.png)", ""]
    if narrative is None:
        lines += ["### Narrative", f"No LLM narrative: {reason}", ""]
    else:
        lines += ["_The sections below are written by an LLM from the figures above; check them._",
                  "", "### Summary", narrative.summary, "", "### What Worked",
                  *[f"- {x}" for x in narrative.what_worked], "", "### What Didn't Work",
                  *[f"- {x}" for x in narrative.what_did_not], "", "### Suggested Adjustments",
                  *[f"{n}. {x}" for n, x in enumerate(narrative.suggestions, 1)], ""]
    if applied:
        lines += ["### Proposed tree changes", *[f"- `{c.path}` -> `{c.value_yaml}`: {c.why}"
                                                 for c in applied], "", "Rule changes:", "```",
                  *diff_trees(tree, proposed), "```", "", "```diff", *_yaml_diff(tree, proposed), "```", ""]
    if rejected:
        lines += ["### Rejected changes (invalid for the tree schema)",
                  *[f"- `{c.path}` -> `{c.value_yaml}`: {why}" for c, why in rejected], ""]
    lines += ["### Action Required"]
    lines += ([f"- Review the proposal; approve it with `python -m plugins.llm approve {rid}` (writes a "
               "new tree version; nothing changes until then)."] if applied else
              ["- No tree change proposed; nothing to approve."])
    lines += ["", f"_LLM cost ${cost:.4f}._"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ApproveResult:
    """The new tree file, the compiled files (if any) and the compile status line."""

    tree_path: Path
    compiled: tuple[Path, ...]
    compile_status: str


def approve(rid: str, out_dir: Path, trees_dir: Path, compiled_dir: Path | None = None,
            now: datetime | None = None) -> ApproveResult:
    """Write review ``rid``'s proposal as ``<trees_dir>/<base>_v<N>.yaml`` (see the module
    docstring) and compile it for every engine into ``compiled_dir`` (``strategies/compiled``
    in the repository; None: not compiled).

    Raises:
        ReviewIdError: ``rid`` is not of the shape ``review_id`` generates (nothing is read).
        ReviewError: unknown review, no proposal, already approved, or an invalid proposal.
    """
    rid = check_review_id(rid)
    folder = Path(out_dir) / "reviews" / rid
    meta_path, marker = folder / "review.json", folder / "approved.json"
    if not meta_path.is_file():
        raise ReviewError(f"No review {rid!r} in {folder.parent}; list them with ls {folder.parent}")
    if marker.is_file():
        done = json.loads(marker.read_text())
        raise ReviewError(f"Review {rid} was already approved as {done.get('tree_path')}")
    meta = json.loads(meta_path.read_text())
    if not meta.get("proposal"):
        raise ReviewError(f"Review {rid} proposes no tree change; nothing to approve")
    try:
        proposal = load_tree(folder / meta["proposal"])
    except TreeValidationError as err:
        raise ReviewError(f"The proposal of review {rid} is invalid:\n{err}") from err
    base = base_name(meta.get("tree_name") or proposal.name)
    version = next_version(trees_dir, base)
    tree = renamed(proposal, f"{base}_v{version}")
    path = write_new(tree, Path(trees_dir) / f"{tree.name}.yaml")
    compiled, status = compile_engines(tree, compiled_dir)
    stamp = (now or datetime.now().astimezone()).isoformat()
    record = json.dumps({"tree_path": str(path), "approved_at": stamp, "compile": status}, indent=1)
    atomic_write(marker, lambda tmp: tmp.write_text(record + "\n"))
    logger.info("Review %s approved: %s (%s)", rid, path, status)
    return ApproveResult(path, tuple(compiled), status)
