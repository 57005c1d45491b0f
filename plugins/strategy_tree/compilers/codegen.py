"""Python source rendering shared by the compilers: lines, literals, conditions, signal blocks.

``Code`` collects indented lines and keeps each within ``WIDTH`` (comments are wrapped, long
calls broken after their parenthesis), so generated files pass the project's ruff settings.
``entry_block`` / ``exit_block`` render a tree's signal rules as statements over a candle
frame of series columns, using ``compilers.runtime``'s three-valued operators, with one
comment per block naming the tree path it implements. Both engines' generated code use them,
so Freqtrade's and backtrader's signals come from the same text.

Rendering is deterministic (same tree -> same bytes): the golden test of the shipped compiled
files relies on it.
"""

from __future__ import annotations

import io
import pprint
import textwrap
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from plugins.strategy_tree.compilers.common import stop_series
from plugins.strategy_tree.explain import describe
from plugins.strategy_tree.grammar import And, Compare, Cross, InList, Node, Not, Number, Or, Series, String
from plugins.strategy_tree.io import tree_data
from plugins.strategy_tree.registry import LABEL
from plugins.strategy_tree.schema import (
    CalendarFilter,
    ConditionFilter,
    RequireFilter,
    StrategyTree,
)
from plugins.strategy_tree.units import format_percent

WIDTH = 110
_FN = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}


# ------------------------------------------------------------------------------------ lines
@dataclass
class Code:
    """Source lines; ``indent`` counts levels of four spaces."""

    lines: list[str] = field(default_factory=list)

    def add(self, text: str = "", indent: int = 0) -> None:
        """One line as is (``text`` may hold several lines, each indented)."""
        for line in text.split("\n"):
            self.lines.append(("    " * indent + line).rstrip())

    def comment(self, text: str, indent: int = 0) -> None:
        """``# text``, wrapped at ``WIDTH``."""
        prefix = "    " * indent + "# "
        for line in textwrap.wrap(safe_text(text), WIDTH - len(prefix), break_long_words=True,
                                  break_on_hyphens=False) or [""]:
            self.lines.append(prefix + line)

    def assign(self, target: str, fn: str, args: list[str], indent: int = 0) -> None:
        """``target = fn(args...)``; broken after ``(`` with aligned arguments when too long."""
        pad = "    " * indent
        head = f"{pad}{target} = {fn}("
        one = head + ", ".join(args) + ")"
        if len(one) <= WIDTH:
            self.lines.append(one)
            return
        current, rows = head, []
        if len(head) > WIDTH // 2:  # hanging indent: arguments on the following lines
            rows.append(head)
            head = current = pad + "    "
        for i, arg in enumerate(args):
            piece = arg + (")" if i == len(args) - 1 else ",")
            if current != head and current.strip() and len(current) + 1 + len(piece) > WIDTH:
                rows.append(current.rstrip())
                current = " " * len(head)
            current += ("" if current.endswith("(") or not current.strip() else " ") + piece
        rows.append(current)
        self.lines.extend(rows)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def safe_text(text: str) -> str:
    """``text`` fit for a comment or docstring: printable characters only, no backslashes or
    triple quotes (tree descriptions are free text)."""
    clean = "".join(ch if ch.isprintable() or ch == "\n" else " " for ch in text)
    return clean.replace("\\", "/").replace('"""', "'''")


def docstring(text: str, indent: int = 0) -> str:
    """A triple-quoted docstring of ``text`` (lines wrapped at ``WIDTH``)."""
    pad = "    " * indent
    out: list[str] = []
    for para in safe_text(text).split("\n"):
        if not para.strip():
            out.append("")
            continue
        lead = len(para) - len(para.lstrip())
        out += textwrap.wrap(para.strip(), WIDTH - len(pad) - lead - 3, break_long_words=True,
                             break_on_hyphens=False, initial_indent=" " * lead,
                             subsequent_indent=" " * (lead + 2 if lead else 0)) or [""]
    body = "\n".join((pad + line).rstrip() for line in out).lstrip()
    return f'{pad}"""{body}\n{pad}"""' if len(out) > 1 else f'{pad}"""{body}"""'


# --------------------------------------------------------------------------------- literals
def py_float(value: float) -> str:
    """Exact float literal (``repr`` round-trips): the compiled threshold is the tree's."""
    return repr(float(value))


def py_timedelta(value: timedelta | None) -> str:
    """``timedelta(hours=4)`` etc. (largest whole unit), or ``None``."""
    if value is None:
        return "None"
    seconds = value.total_seconds()
    for unit, size in (("weeks", 604800), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds % size == 0:
            return f"timedelta({unit}={int(seconds // size)})"
    return f"timedelta(seconds={seconds!r})"


def tree_literal(tree: StrategyTree) -> str:
    """The canonical document (``io.tree_data``) as a Python literal, keys in schema order."""
    return pprint.pformat(tree_data(tree), indent=1, width=WIDTH - 10, sort_dicts=False)


# ---------------------------------------------------------------------------------- imports
#: Every import a generated file may need: (module, name); only the names its body uses are
#: written (so the file passes ruff's unused-import check).
_IMPORTS = (
    ("numpy", "np"), ("pandas", "pd"), ("backtrader", "bt"),
    ("freqtrade.exchange", "timeframe_to_prev_date"),
    ("freqtrade.persistence", "Trade"), ("freqtrade.strategy", "IStrategy"),
    ("pandas", "DataFrame"), ("pandas", "Timestamp"),
    ("plugins.altdata.calendar", "EventCalendar"), ("plugins.altdata.config", "AltDataConfig"),
    ("plugins.core.config", "load_section"),
    ("plugins.guard", "ExecutionCostMixin"), ("plugins.guard", "RiskGuardMixin"),
    *[("plugins.strategy_tree.compilers.ft_runtime", n) for n in (
        "activation_start", "batch_value", "check_timeframe", "entry_fills", "highest_high",
        "last_candle", "load_altdata", "load_calendar", "no_close_since", "peak_amount",
        "reference_price", "require_altdata", "stages_done", "stop_relative", "take_profit_order")],
    *[("plugins.strategy_tree.compilers.runtime", n) for n in (
        "SeriesFrame", "all_of", "any_of", "blackout", "close_ns", "crosses_above",
        "crosses_below", "eq", "expiry_mask", "ge", "gt", "label_eq", "label_in", "label_ne",
        "le", "load_compiled_tree", "lt", "ne", "start_ns")],
    *[("plugins.strategy_tree.compilers.bt_runtime", n) for n in (
        "FeedState", "TreeBook", "align_signals", "feed_frame")],
    ("plugins.strategy_tree.errors", "TreeEvaluationError"),
    ("plugins.strategy_tree.inputs", "altdata_frame"),
)


_ALIASES = ("np", "pd", "bt")


def imports(code: Code, body: str) -> None:
    """The import block of a generated file whose code is ``body``: the ``_IMPORTS`` names its
    code uses (names outside comments and strings), grouped and sorted like ruff's isort."""
    used = code_names(body)
    code.add("from __future__ import annotations")
    code.add()
    stdlib = ["import logging"] if "logging" in used else []
    dt = [n for n in ("datetime", "timedelta") if n in used]
    if dt:
        stdlib.append(f"from datetime import {', '.join(dt)}")
    if "Path" in used:
        stdlib.append("from pathlib import Path")
    groups: dict[str, list[str]] = {}
    third = []
    for module, name in _IMPORTS:
        if name not in used:
            continue
        if name in _ALIASES:
            third.append(f"import {module} as {name}")
        else:
            groups.setdefault(module, []).append(name)
    first = []
    for module in sorted(groups):
        target = first if module.startswith("plugins") else third
        target.append(_import_line(module, sorted(groups[module], key=_isort_key)))
    for block in (_isort(stdlib), _isort(third), _isort(first)):
        if block:
            for line in block:
                code.add(line)
            code.add()


def code_names(source: str) -> set[str]:
    """Every name ``source`` reads (NAME tokens, not attributes; comments and strings excluded)."""
    names, previous = set(), None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and not (previous is not None and previous.string == "."):
            names.add(tok.string)
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            previous = tok
    return names


def _isort(lines: list[str]) -> list[str]:
    # ruff's isort: plain ``import x`` lines first, then ``from x import`` lines, by module
    return sorted(lines, key=lambda line: (line.startswith("from "), line.split()[1].lower()))


def _isort_key(name: str) -> tuple[int, str]:
    # isort's force-sort-within-sections default: CONSTANTS, Classes, functions
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


def _import_line(module: str, names: list[str]) -> str:
    one = f"from {module} import {', '.join(names)}"
    if len(one) <= 110:
        return one
    return "\n".join([f"from {module} import (", *[f"    {n}," for n in names], ")"])


# ------------------------------------------------------------------------------- conditions
Column = Callable[[Series], str]


def _operand(node: Node, unit: str, column: Column) -> str:
    if isinstance(node, Series):
        return column(node)
    assert isinstance(node, Number)
    return py_float(node.resolved(unit))


def truth_code(node: Node, column: Column) -> str:
    """``node`` as one expression building a ``runtime.Truth`` (the interpreter's ``_truth``
    rule for each node type); ``column(series)`` is the code reading a series' values."""
    if isinstance(node, And | Or):
        fn = "all_of" if isinstance(node, And) else "any_of"
        return f"{fn}({', '.join(truth_code(item, column) for item in node.items)})"
    if isinstance(node, Not):
        return f"~{truth_code(node.item, column)}"
    if isinstance(node, InList):
        return f"label_in({column(node.left)}, {tuple(node.values)!r})"
    if isinstance(node, Compare) and any(
            isinstance(x, String) or (isinstance(x, Series) and x.spec.unit == LABEL)
            for x in (node.left, node.right)):
        series, string = ((node.left, node.right) if isinstance(node.right, String)
                          else (node.right, node.left))
        fn = "label_eq" if node.op == "==" else "label_ne"
        return f"{fn}({column(series)}, {string.value!r})"  # type: ignore[union-attr,arg-type]
    if isinstance(node, Compare | Cross):
        unit = next(x.spec.unit for x in (node.left, node.right) if isinstance(x, Series))
        args = f"{_operand(node.left, unit, column)}, {_operand(node.right, unit, column)}"
        fn = _FN[node.op] if isinstance(node, Compare) else f"crosses_{node.direction}"
        return f"{fn}({args})"
    raise TypeError(f"cannot compile condition node {node!r}")  # unreachable for parsed trees


def _split_call(expr: str) -> tuple[str, list[str]]:
    """``fn(a, b(c, d))`` -> ``("fn", ["a", "b(c, d)"])`` (top-level arguments)."""
    fn, _, rest = expr.partition("(")
    args, depth, current, quote = [], 0, "", ""
    for ch in rest[:-1]:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            args.append(current.strip())
            current = ""
        else:
            current += ch
    args.append(current.strip())
    return fn, args


def condition(code: Code, target: str, node: Node, column: Column, indent: int) -> None:
    """``target = <truth of node>``; a composite too long for one line gets one variable per
    part (``target_a``, ``target_b``, ...)."""
    expr = truth_code(node, column)
    if len("    " * indent + f"{target} = {expr}") <= WIDTH or not isinstance(node, And | Or | Not):
        if expr.startswith("~"):
            code.add(f"{target} = {expr}", indent)
        else:
            fn, args = _split_call(expr)
            code.assign(target, fn, args, indent)
        return
    if isinstance(node, Not):
        condition(code, f"{target}_not", node.item, column, indent)
        code.add(f"{target} = ~{target}_not", indent)
        return
    parts = []
    for i, item in enumerate(node.items):  # type: ignore[attr-defined]
        name = f"{target}_{chr(ord('a') + i) if i < 26 else i}"
        condition(code, name, item, column, indent)
        parts.append(name)
    code.assign(target, "all_of" if isinstance(node, And) else "any_of", parts, indent)


# ---------------------------------------------------------------------------- signal blocks
@dataclass(frozen=True)
class Frame:
    """How the generated code names things: the candle frame variable, the calendar and the
    activation time (int64 ns) expressions."""

    df: str = "df"
    calendar: str = "calendar"
    start: str = "start"

    def column(self, s: Series) -> str:
        return f"{self.df}[{s.key!r}]"


def entry_block(code: Code, tree: StrategyTree, frame: Frame, indent: int) -> list[tuple[str, str]]:
    """Statements computing the interpreter's ``entry_signal`` (``entry.true``),
    ``filter_block``, ``expired``, ``enter`` and ``add`` (when a further batch may be added)
    as bool arrays over ``frame.df``.

    Returns:
        ``(condition path, Truth variable)`` of every condition rendered (entry and filters).
    """
    df = frame.df
    truths = []
    for i, node in enumerate(tree.entry.conditions):
        path = f"entry.conditions[{i}]"
        code.comment(f"{path}: {node.render()} - {describe(node)}", indent)
        condition(code, f"entry_{i}", node, frame.column, indent)
        truths.append((path, f"entry_{i}"))
    names = [v for _, v in truths]
    logic = tree.entry.logic
    code.comment(f"entry: logic {logic} of {len(names)} condition(s)", indent)
    if len(names) == 1:
        code.add(f"entry = {names[0]}", indent)
    else:
        code.assign("entry", "all_of" if logic == "ALL" else "any_of", names, indent)
    blocks = []
    for i, f in enumerate(tree.filters):
        path = f"filters[{i}]"
        if isinstance(f, CalendarFilter):
            minutes = f.no_entry_within.total_seconds() / 60
            events = tuple(f.events)
            code.comment(f"{path}: no entry within {f.no_entry_within} before or after "
                         f"{' or '.join(events)} (judged at the candle's close)", indent)
            code.assign(f"block_{i}", "blackout", [frame.calendar, f"{df}['date']", "TIMEFRAME",
                                                   repr(path), py_float(minutes), repr(events)],
                        indent)
        elif isinstance(f, ConditionFilter):
            code.comment(f"{path}.no_entry_if: {f.no_entry_if.render()} - blocks while true or "
                         "unknown (missing data never opens a trade)", indent)
            condition(code, f"filter_{i}", f.no_entry_if, frame.column, indent)
            code.add(f"block_{i} = ~filter_{i}.false", indent)
            truths.append((f"{path}.no_entry_if", f"filter_{i}"))
        else:
            assert isinstance(f, RequireFilter)
            code.comment(f"{path}.only_if: {f.only_if.render()} - blocks unless known to be true",
                         indent)
            condition(code, f"filter_{i}", f.only_if, frame.column, indent)
            code.add(f"block_{i} = ~filter_{i}.true", indent)
            truths.append((f"{path}.only_if", f"filter_{i}"))
        blocks.append(f"block_{i}")
    for which in ("stop_loss", "trailing"):
        stop = getattr(tree.risk, which)
        if stop is not None and stop.type == "atr":
            key = stop_series(tree)[f"risk.{which}"].key
            code.comment(f"risk.{which}: an ATR stop needs its ATR - no entry while {key} is "
                         "unknown", indent)
            code.add(f"block_{which} = np.isnan({df}[{key!r}].to_numpy(dtype='float64'))", indent)
            blocks.append(f"block_{which}")
    if blocks:
        code.add(f"filter_block = {' | '.join(blocks)}", indent)
    else:
        code.add(f"filter_block = np.zeros(len({df}), dtype=bool)", indent)
    expiry = f"expires {tree.expiry} after activation without an entry" if tree.expiry else "none"
    code.comment(f"activation (no entry closing at or before it) and expiry ({expiry})", indent)
    code.add(f"close = close_ns({df}['date'], TIMEFRAME)", indent)
    code.add(f"active = close > {frame.start}", indent)
    code.add("candidate = entry.true & ~filter_block & active", indent)
    code.add(f"expired = expiry_mask(candidate, close, {frame.start}, EXPIRY)", indent)
    code.add("enter = candidate & ~expired", indent)
    pos = tree.position
    if pos.batches > 1 and pos.add_on == "signal":
        code.comment("position.add_on: signal - a further batch needs the entry signal (enter) "
                     "again", indent)
        code.add("add = enter", indent)
    elif pos.batches > 1:
        code.comment("position.add_on: schedule - a further batch follows every interval while "
                     "no filter blocks and the tree has not expired", indent)
        code.add("add = ~(filter_block | expired | ~active)", indent)
    else:
        code.comment("position: a single batch - nothing is ever added", indent)
        code.add(f"add = np.zeros(len({df}), dtype=bool)", indent)
    return truths


def exit_block(code: Code, tree: StrategyTree, frame: Frame, indent: int) -> list[tuple[str, str]]:
    """Statements computing the interpreter's ``exit_long`` as the bool array ``exit_signal``.

    Returns:
        ``(condition path, Truth variable)`` of the exit conditions.
    """
    if tree.exit is None:
        code.comment("exit: the tree has no exit conditions (stops and take profits only)", indent)
        code.add(f"exit_signal = np.zeros(len({frame.df}), dtype=bool)", indent)
        return []
    truths = []
    for i, node in enumerate(tree.exit.conditions):
        path = f"exit.conditions[{i}]"
        code.comment(f"{path}: {node.render()} - {describe(node)}", indent)
        condition(code, f"exit_{i}", node, frame.column, indent)
        truths.append((path, f"exit_{i}"))
    names = [v for _, v in truths]
    code.comment(f"exit: logic {tree.exit.logic} of {len(names)} condition(s)", indent)
    if len(names) == 1:
        code.add(f"exit_ = {names[0]}", indent)
    else:
        code.assign("exit_", "all_of" if tree.exit.logic == "ALL" else "any_of", names, indent)
    code.add("exit_signal = exit_.true", indent)
    return truths


def stop_text(tree: StrategyTree) -> str:
    """One line on the stops, for comments."""
    stop = tree.risk.stop_loss
    ref = stop.reference.replace("_", " ")
    text = (f"{format_percent(stop.value)} below the {ref}" if stop.type == "percentage" else
            f"{stop.value:g} x ATR({stop.atr_period}"
            f"{', ' + stop.atr_timeframe if stop.atr_timeframe else ''}) below the {ref}")
    trail = tree.risk.trailing
    if trail is not None:
        dist = (format_percent(trail.value) if trail.type == "percentage" else
                f"{trail.value:g} x ATR({trail.atr_period})")
        text += (f"; trailing {dist} below the highest high since the first entry once that "
                 f"high is {format_percent(trail.activate_at)} above the average entry price")
    return text
