"""Strategy trees: engine-neutral, versioned trade rules (``../shared/seeds``, stage 3).

A tree says what to trade, when to enter (conditions over TA-Lib indicators, alternative data,
the regime and the FOMC/CPI calendar, combined ALL/ANY), how to size (scaled entries), where
to stop and take profit, which filters block entries, and when the idea expires.

Modules: ``schema`` (pydantic models, ``SCHEMA_VERSION``, ``json_schema()``), ``grammar``
(condition strings -> typed AST, parsed, never evaluated as Python), ``registry`` (the known
series and how each is computed), ``units`` (``3.3%``, ``4h``, ``1D``), ``io`` (YAML / JSON),
``interpreter`` (the reference semantics: tree + candles + alt data -> signals and position
targets; compilers are tested against it), ``explain`` / ``diff`` (readable renderings),
``errors``, ``__main__`` (CLI: validate, explain, diff, compile, schema).

    from plugins.strategy_tree import load_tree, evaluate
    tree = load_tree("strategies/trees/btc_fear_accumulation_v1.yaml")
"""

from plugins.strategy_tree.errors import TreeEvaluationError, TreeValidationError
from plugins.strategy_tree.io import dump_tree, dumps_tree, load_tree, loads_tree
from plugins.strategy_tree.schema import SCHEMA_VERSION, StrategyTree, json_schema
from plugins.strategy_tree.validation import validate_tree

__all__ = ["SCHEMA_VERSION", "StrategyTree", "TreeEvaluationError", "TreeValidationError",
           "dump_tree", "dumps_tree", "evaluate", "json_schema", "load_tree", "loads_tree",
           "validate_tree"]


def __getattr__(name: str):
    # Lazy: the interpreter pulls in pandas/TA-Lib/alt data, which validate/explain do not need.
    if name == "evaluate":
        from plugins.strategy_tree.interpreter import evaluate

        return evaluate
    raise AttributeError(f"module 'plugins.strategy_tree' has no attribute {name!r}")
