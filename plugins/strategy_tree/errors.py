"""Errors of the strategy-tree layer: every user-facing problem names a path and a fix.

``TreeValidationError`` is the only exception that loading or validating a tree raises for bad
input (a malformed file, a wrong type, an unknown indicator, inconsistent sizing, ...). Its
``issues`` are ``Issue(path, message, fix)`` rows; ``str()`` renders one ``path: message (fix)``
line per issue, which is what ``python -m plugins.strategy_tree validate`` prints.

Paths are dotted from the document root in the seed layout: ``strategy.position.batches``,
``strategy.entry.conditions[1]``, ``strategy.take_profit[0].action``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One validation problem.

    Attributes:
        path: where it is (``strategy.entry.conditions[0]``).
        message: what is wrong, with the offending value.
        fix: what to write instead.
    """

    path: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} ({self.fix})"


class StrategyTreeError(ValueError):
    """Base class of the strategy-tree errors."""


class TreeValidationError(StrategyTreeError):
    """A tree (or its file) is invalid; ``issues`` lists every problem found.

    Args:
        issues: at least one ``Issue``.
    """

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class RuleError(ValueError):
    """Raised inside validators; the loader turns it into ``Issue`` rows.

    Pydantic keeps the raised exception in the error's ``ctx["error"]``, so ``fix`` and
    ``field`` survive the trip. ``field`` is a path *below* the location pydantic reports
    (for model-level checks, e.g. ``size_per_batch`` under ``strategy.position``).

    Args:
        message: what is wrong.
        fix: what to write instead.
        field: optional sub-path (``entry.conditions[0]``), appended to pydantic's location.
        more: further ``(field, message, fix)`` problems found by the same check.
    """

    def __init__(self, message: str, fix: str, field: str | None = None,
                 more: tuple[tuple[str | None, str, str], ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.field = field
        self.more = more


class ConditionSyntaxError(RuleError):
    """A condition string does not parse (or names an unknown series); ``position`` is the
    0-based character offset of the offending token."""

    def __init__(self, message: str, fix: str, position: int) -> None:
        super().__init__(message, fix)
        self.position = position


class TreeEvaluationError(StrategyTreeError):
    """The interpreter cannot evaluate a valid tree on the data given (a series needs data
    that was not passed, candles of the wrong timeframe, ...). The message names the fix."""


class CompileConflictError(StrategyTreeError):
    """A compiler refused to write its file: the target exists and was generated from another
    tree (two names with one class name, e.g. ``a-b`` and ``a_b`` -> ``AB.py``) or was not
    generated from a tree at all. Nothing is written; the message names both trees (or the
    file) and the fix (rename one tree)."""
