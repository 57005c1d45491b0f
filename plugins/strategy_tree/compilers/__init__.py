"""Compilers: a strategy tree -> engine code that trades it (issue stage 3, items 3 and 6).

One skeleton (``skeleton.TreeCompiler``: the template every generated file follows), one
compiler per engine filling in what differs, and one dispatcher here (:data:`COMPILERS`,
:func:`compile_tree`, the hook ``python -m plugins.strategy_tree compile TREE --engine ENGINE
--out DIR`` and ``make trees`` call):

- ``freqtrade``: a readable ``IStrategy`` file (``<ClassName>.py``; ``class <ClassName>(
  ExecutionCostMixin, RiskGuardMixin, IStrategy)``) - loads with ``freqtrade backtesting
  --strategy <ClassName> --strategy-path DIR``;
- ``backtrader``: a ``backtrader.Strategy`` file, and ``build_backtrader_strategy(tree)``,
  which compiles the same source in memory (the Alpaca adapter uses it).

Shared pieces: ``skeleton`` (the template method), ``common`` (hash, class name, series, data
needs), ``codegen`` (source rendering, the signal blocks both engines share), ``runtime`` (what
generated code imports: the interpreter's series and three-valued logic), ``ft_runtime`` /
``bt_runtime`` (engine bookkeeping). Generated signals equal the reference interpreter's
(``plugins.strategy_tree.interpreter``) candle for candle; fills differ as each engine's
module documents. ``compile_tree`` here takes a tree, a tree file or plain data: an invalid
tree raises ``TreeValidationError`` (``path: message (fix)`` rows) before any code runs.
Importing this package imports neither Freqtrade nor backtrader (generated files do).
"""

from __future__ import annotations

from pathlib import Path

from plugins.strategy_tree.compilers.backtrader import BacktraderCompiler, build_backtrader_strategy
from plugins.strategy_tree.compilers.freqtrade import FreqtradeCompiler
from plugins.strategy_tree.compilers.skeleton import TreeCompiler
from plugins.strategy_tree.io import as_tree
from plugins.strategy_tree.schema import StrategyTree

#: Every engine's compiler, by ``--engine`` name.
COMPILERS: dict[str, TreeCompiler] = {c.engine: c for c in (FreqtradeCompiler(),
                                                             BacktraderCompiler())}
ENGINES = tuple(COMPILERS)

__all__ = ["COMPILERS", "ENGINES", "as_tree", "build_backtrader_strategy", "compile_tree"]


def compile_tree(tree: StrategyTree | dict | str | Path, out_dir: Path | str,
                 engine: str = "freqtrade") -> list[Path]:
    """Compile ``tree`` for ``engine`` into ``out_dir``; returns the files written.

    Raises:
        TreeValidationError: the tree is invalid (nothing is written).
        CompileConflictError: a file there was generated from another tree or by hand.
        ValueError: unknown engine.
    """
    if engine not in COMPILERS:
        raise ValueError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    return COMPILERS[engine].compile_tree(as_tree(tree), out_dir)
