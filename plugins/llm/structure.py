"""Stage 3: a natural-language strategy description -> a validated strategy tree, for review.

The model calls the tool ``submit_strategy_tree`` whose input schema is the strategy-tree JSON
Schema (``plugins.strategy_tree.json_schema``). The input is validated by the tree's own
validator (``validate_tree``); its ``path: message (fix)`` problems go back to the model as the
tool result (``is_error``) and it tries again, at most ``max_output_attempts`` answers. A valid
tree is written as a *new* file (``treefiles.write_draft``, never overwriting) for a human to
review; the tree compiler, when installed, turns it into code. The LLM writes no code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from plugins.llm.client import LlmClient, LlmRequest
from plugins.llm.prompts import system_prompt, user_turn
from plugins.llm.structured import OutputRejected, ToolOutput, ask
from plugins.strategy_tree.errors import TreeValidationError
from plugins.strategy_tree.registry import known_names
from plugins.strategy_tree.schema import StrategyTree, json_schema
from plugins.strategy_tree.validation import validate_tree

logger = logging.getLogger(__name__)

HOOK = "structure"
TOOL_NAME = "submit_strategy_tree"


def tree_guide() -> str:
    from plugins.strategy_tree import grammar, schema

    return (f"Document layout and units (from the schema):\n{schema.__doc__}\n\nCondition grammar:\n"
            f"{grammar.__doc__}\n\nKnown series names: {', '.join(known_names())}")


SYSTEM = system_prompt(HOOK, f"""
You translate a trader's description of a strategy into a formal strategy tree: precise,
testable rules with every parameter explicit. Call the tool {TOOL_NAME} once with the complete
tree document ({{"strategy": {{...}}}}). Use only the series and syntax below; do not invent
fields. If a rule cannot be expressed, leave it out and mention it in the tree's description.
If the tool reports problems, fix every one and call it again.

{tree_guide()}""")


def tree_tool() -> dict[str, Any]:
    """The tool definition: the strategy-tree document schema as its input schema."""
    schema = {k: v for k, v in json_schema().items() if k not in ("$schema", "$id")}
    return {"name": TOOL_NAME, "description": "Submit the complete strategy tree document for "
            "validation. Problems come back as an error result; fix them and call again.",
            "input_schema": schema}


def _validate(payload: dict[str, Any]) -> StrategyTree:
    try:
        return validate_tree(payload)
    except TreeValidationError as err:
        raise OutputRejected("the tree is invalid:\n" + str(err)) from None


@dataclass(frozen=True)
class StructureResult:
    """A validated tree, the rejected attempts' problems and the calls' hashes and cost."""

    tree: StrategyTree
    problems: tuple[str, ...]
    prompt_hashes: tuple[str, ...]
    cost_usd: float


def structure_request(description: str) -> LlmRequest:
    """The request: static guide + tool; the description as a data block."""
    turn = user_turn("Formalise the strategy description above as a strategy tree.",
                     strategy_description=description)
    return LlmRequest(hook=HOOK, system=SYSTEM, messages=(turn,), tools=(tree_tool(),),
                      tool_choice={"type": "tool", "name": TOOL_NAME}, max_tokens=4096)


def structure_tree(client: LlmClient, description: str, attempts: int | None = None) -> StructureResult:
    """A validated tree from ``description`` (see the module docstring).

    Raises:
        LlmOutputError: no valid tree after the allowed attempts; ``problems`` holds each
            attempt's ``path: message (fix)`` lines. Nothing is written.
        LlmUnavailableError / BudgetExceededError / LlmCallError: from the client.
    """
    result = ask(client, structure_request(description), ToolOutput(TOOL_NAME, _validate), attempts)
    return StructureResult(result.value, result.problems, tuple(result.prompt_hashes), result.cost_usd)

