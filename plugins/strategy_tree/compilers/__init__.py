"""Compilers: a strategy tree -> engine code that trades it (issue stage 3, items 3 and 6).

Engines, one module each, each with ``compile_tree(tree, out_dir) -> list[Path]`` (the hook
``python -m plugins.strategy_tree compile TREE --engine ENGINE --out DIR`` calls):

- ``freqtrade``: a readable ``IStrategy`` file (``<ClassName>.py``; ``class <ClassName>(
  ExecutionCostMixin, RiskGuardMixin, IStrategy)``) - loads with ``freqtrade backtesting
  --strategy <ClassName> --strategy-path DIR``;
- ``backtrader``: a ``backtrader.Strategy`` file, and ``build_backtrader_strategy(tree)``,
  which compiles the same source in memory (the Alpaca adapter uses it).

Shared pieces: ``common`` (hash, class name, series, data needs), ``codegen`` (source
rendering, the signal blocks both engines share), ``runtime`` (what generated code imports:
the interpreter's series and three-valued logic), ``ft_runtime`` / ``bt_runtime`` (engine
bookkeeping). Generated signals equal the reference interpreter's
(``plugins.strategy_tree.interpreter``) candle for candle; fills differ as each engine's
module documents. ``compile_tree`` here takes a tree, a tree file or plain data: an invalid
tree raises ``TreeValidationError`` (``path: message (fix)`` rows) before any code runs.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from plugins.strategy_tree.io import load_tree
from plugins.strategy_tree.schema import StrategyTree, validate_tree

ENGINES = ("freqtrade", "backtrader")

__all__ = ["ENGINES", "build_backtrader_strategy", "compile_tree", "as_tree"]


def as_tree(tree: StrategyTree | dict | str | Path) -> StrategyTree:
    """A validated tree from a tree, plain data (``{"strategy": {...}}`` or the tree's keys)
    or a ``.yaml`` / ``.json`` file path.

    Raises:
        TreeValidationError: the tree (or file) is invalid; every problem with its path.
    """
    if isinstance(tree, StrategyTree):
        return tree
    if isinstance(tree, str | Path):
        return load_tree(tree)
    return validate_tree(tree)


def compile_tree(tree: StrategyTree | dict | str | Path, out_dir: Path | str,
                 engine: str = "freqtrade") -> list[Path]:
    """Compile ``tree`` for ``engine`` into ``out_dir``; returns the files written.

    Raises:
        TreeValidationError: the tree is invalid (nothing is written).
        ValueError: unknown engine.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    valid = as_tree(tree)
    module = importlib.import_module(f"plugins.strategy_tree.compilers.{engine}")
    return module.compile_tree(valid, out_dir)


def __getattr__(name: str) -> Any:
    # Lazy: backtrader is imported only by who builds a backtrader strategy.
    if name == "build_backtrader_strategy":
        from plugins.strategy_tree.compilers.backtrader import build_backtrader_strategy

        return build_backtrader_strategy
    raise AttributeError(f"module 'plugins.strategy_tree.compilers' has no attribute {name!r}")
