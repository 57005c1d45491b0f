"""The LLM commands (``/ideas``, ``/review``, ``/approve``) of a running bot, on ``plugins.llm``.

Each command calls the same Python API as ``python -m plugins.llm ideas|review|approve``, with
the bot's own inputs (its data dir, decision journal, trades and, for a review, the strategy
tree its strategy was compiled from). An LLM is never needed to run the bot and never sits on
the order path: when there is no API key and no cassette for the prompt, the budget refuses
the call or the inputs are missing, the command answers ``not available: <reason>``
(:class:`LlmUnavailable`). ``plugins.llm`` is imported by the commands themselves (not when the
bot attaches them): a bot that never runs one never loads the LLM client. ``/brief`` takes only the
deterministic market briefing from here (``market_briefing``: no LLM call).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from plugins.altdata.config import AltDataConfig
from plugins.core.atomic import atomic_write
from plugins.core.config import load_section
from plugins.core.errors import DataNotFoundError
from plugins.llm.config import LlmConfig
from plugins.risk.journal import JournalRow
from plugins.rpc.status import Answer

logger = logging.getLogger(__name__)

#: Where approved trees and their compiled strategies go (``python -m plugins.llm approve``'s
#: defaults, relative to the bot's working folder: the repository root).
TREES_DIR = Path("strategies/trees")
COMPILED_DIR = Path("strategies/compiled")


class LlmUnavailable(Exception):  # noqa: N818 - reads as "the LLM is unavailable"
    """The LLM command cannot run; ``str(err)`` is the reason shown to the user (REST 503,
    Telegram ``not available: <reason>``)."""


class LlmRefused(Exception):  # noqa: N818 - reads as "the LLM layer refused"
    """``plugins.llm`` refused a valid request (unknown review id, already approved, nothing
    to approve). REST answers 409, Telegram ``Refused: <reason>``."""


class LlmBadInput(LlmRefused):
    """The request itself is malformed (a review id not of the shape the suite generates).
    REST answers 422, Telegram ``Refused: <reason>``."""


@contextmanager
def _unavailable_on_llm_errors() -> Iterator[None]:
    """Turn the LLM layer's "cannot answer" errors (no key / cassette, budget) and missing
    input data into :class:`LlmUnavailable`; anything else propagates."""
    from plugins.llm.errors import BudgetExceededError, LlmUnavailableError

    try:
        yield
    except (LlmUnavailableError, BudgetExceededError, DataNotFoundError) as err:
        raise LlmUnavailable(str(err)) from err


class LlmHooks:
    """The LLM commands for a bot running with Freqtrade ``config``.

    Args:
        config: the Freqtrade config (``datadir``; its ``ai_suite.llm`` and the alt-data cache
            folder of ``ai_suite.altdata`` are loaded here, once).
        trees_dir / compiled_dir: where ``/approve`` writes the new tree version and its
            compiled strategies.

    Raises:
        SuiteConfigError: ``ai_suite.llm`` or ``ai_suite.altdata`` is invalid.
    """

    def __init__(self, config: dict, trees_dir: Path = TREES_DIR,
                 compiled_dir: Path = COMPILED_DIR) -> None:
        self.config = config
        self.llm_config = load_section(config, "llm", LlmConfig)
        self.altdata_cache_dir = load_section(config, "altdata", AltDataConfig).cache_dir
        self.trees_dir = trees_dir
        self.compiled_dir = compiled_dir

    def _client(self) -> Any:
        from plugins.llm.client import AnthropicLlm

        return AnthropicLlm(self.llm_config)

    def _briefing(self, pair: str) -> Any:
        from plugins.llm.briefing import build_briefing, last_closed_time

        datadir = Path(self.config.get("datadir") or "user_data/data/binance")
        with _unavailable_on_llm_errors():
            at = last_closed_time(datadir, pair)
            return build_briefing(datadir, self.altdata_cache_dir, pair, at)

    def market_briefing(self, pair: str) -> str:
        """The deterministic "Current Market State" markdown of ``pair`` (no LLM call):
        ``plugins.llm.briefing`` on the bot's data dir at its newest closed 1h candle.

        Raises:
            LlmUnavailable: no candles of ``pair`` in the data dir.
        """
        from plugins.llm.briefing import render_markdown

        return render_markdown(self._briefing(pair))

    def ideas(self, pair: str, thesis: str) -> Answer:
        """``/ideas <thesis>``: the deterministic market briefing of ``pair`` from the bot's
        data dir at its newest closed 1h candle, plus the thesis -> 1-3 trade ideas (data,
        written under ``ai_suite.llm.output_dir/ideas``; nothing acts on them).

        Raises:
            LlmUnavailable: no key/cassette, budget, or candles.
        """
        from plugins.llm.ideas import generate_ideas, write_ideas

        briefing = self._briefing(pair)
        with _unavailable_on_llm_errors():
            result = generate_ideas(self._client(), briefing, thesis)
        digest = hashlib.sha256((briefing.model_dump_json() + thesis).encode()).hexdigest()[:8]
        _, markdown = write_ideas(result, self.llm_config.output_dir,
                                  f"{briefing.at:%Y%m%d-%H%M}-{digest}")
        lines = ([f"ABSTAIN: no ideas: {result.reason}"] if result.status == "abstain" else [])
        lines += [f"- {i.direction} {i.pair} entry {i.entry_zone.low:g}-{i.entry_zone.high:g} "
                  f"stop {i.stop_loss:g} targets {', '.join(f'{t:g}' for t in i.targets)} "
                  f"(conviction {i.conviction:.2f}): {i.thesis}" for i in result.ideas]
        lines.append(f"Written: {markdown}")
        return Answer({"status": result.status, "reason": result.reason,
                       "ideas": [i.model_dump(mode="json") for i in result.ideas],
                       "file": str(markdown), "cost_usd": result.cost_usd}, "\n".join(lines))

    def review(self, strategy_name: str, tree: Any, trades: pd.DataFrame,
               journal: Sequence[JournalRow], starting_balance: float | None,
               since: datetime | None = None) -> Answer:
        """``/review``: figures of the bot's trades and journal since ``since`` (UTC; None:
        all), the LLM narrative and a
        proposed tree change (``plugins.llm.review.run_review``); ``data["id"]`` is what
        ``/approve`` takes. The tree is written to ``<output_dir>/trees/`` for the review.

        Raises:
            LlmUnavailable: no tree, no key/cassette, budget.
        """
        from plugins.llm.review import run_review
        from plugins.llm.review_stats import compute_stats
        from plugins.strategy_tree.io import dumps_tree

        if tree is None:
            raise LlmUnavailable(f"{strategy_name} was not compiled from a strategy tree; a "
                                 "review proposes tree changes (run a strategy from "
                                 "strategies/compiled/, or python -m plugins.llm review --tree)")
        output_dir = self.llm_config.output_dir
        tree_file = output_dir / "trees" / f"{tree.name}.yaml"
        text = dumps_tree(tree)
        atomic_write(tree_file, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        stats = compute_stats(trades, list(journal), strategy_name, starting_balance, since=since)
        with _unavailable_on_llm_errors():
            out = run_review(self._client(), stats, trades, tree_file, output_dir)
        summary = out.narrative.summary if out.narrative else "no narrative"
        proposal = bool(out.proposal)
        text = (f"Review {out.review_id}: {summary}\n{len(out.applied)} tree change(s) proposed, "
                f"{len(out.rejected)} rejected. Report: {out.markdown}"
                + (f"\nApprove with /approve {out.review_id}" if proposal else ""))
        return Answer({"id": out.review_id if proposal else None, "review_id": out.review_id,
                       "summary": summary, "proposal": str(out.proposal) if proposal else None,
                       "applied": len(out.applied), "rejected": len(out.rejected),
                       "markdown": str(out.markdown)}, text)

    def config_review(self, strategy_name: str, config: dict, trades: pd.DataFrame,
                      journal: Sequence[JournalRow], diagnostics: dict, starting_balance: float | None,
                      since: datetime, now: datetime) -> Answer:
        """The weekly review of a strategy that is not a tree (``plugins.llm.config_review``):
        the week's figures, the regime / expert ``diagnostics`` and a proposed settings diff
        for a human (never applied).

        Raises:
            LlmUnavailable: no key/cassette, budget.
        """
        from plugins.llm.config_review import run_config_review
        from plugins.llm.review_stats import compute_stats

        stats = compute_stats(trades, list(journal), strategy_name, starting_balance, since=since,
                              until=now)
        with _unavailable_on_llm_errors():
            out = run_config_review(self._client(), stats, diagnostics, config,
                                    self.llm_config.output_dir, now)
        summary = out.narrative.summary if out.narrative else f"no narrative ({out.reason})"
        text = (f"Review {out.review_id}: {summary}\n{len(out.applied)} settings change(s) proposed"
                f"{f' as a diff for your approval (never applied): {out.diff}' if out.diff else ''}, "
                f"{len(out.rejected)} rejected. Report: {out.markdown}")
        return Answer({"review_id": out.review_id, "summary": summary,
                       "diff": str(out.diff) if out.diff else None, "applied": len(out.applied),
                       "rejected": len(out.rejected), "markdown": str(out.markdown),
                       "cost_usd": out.cost_usd}, text)

    def approve(self, review_id: str, by: str, now: datetime) -> Answer:
        """``/approve <id>``: a human approves review ``review_id``'s proposal: a new tree
        version in ``trees_dir`` and its compiled strategies in ``compiled_dir`` (the running
        bot is not changed; deploy the new strategy through the stages).

        Raises:
            LlmBadInput: ``review_id`` is not of the shape ``plugins.llm`` generates.
            LlmRefused: unknown id, nothing to approve, already approved, invalid proposal.
        """
        from plugins.llm.review import ReviewError, ReviewIdError, approve

        try:
            result = approve(review_id, self.llm_config.output_dir, self.trees_dir,
                             self.compiled_dir, now=now)
        except ReviewIdError as err:
            raise LlmBadInput(str(err)) from err
        except ReviewError as err:
            raise LlmRefused(str(err)) from err
        logger.warning("Review %s approved by %s: %s", review_id, by, result.tree_path)
        return Answer({"id": review_id, "approved_by": by, "tree": str(result.tree_path),
                       "compiled": [str(p) for p in result.compiled],
                       "compile_status": result.compile_status},
                      f"Review {review_id} approved by {by}: {result.tree_path} "
                      f"({result.compile_status}). The running bot is unchanged.")
