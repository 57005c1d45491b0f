"""The condition grammar: condition strings -> a small typed AST, parsed (never ``eval``-ed).

Grammar (keywords case-insensitive)::

    condition  := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | "(" condition ")" | test
    test       := operand CMP operand            CMP: < <= > >= == !=
                | operand ("crosses_above" | "crosses_below") operand
                | series "in" "[" string ("," string)* "]"
    operand    := series | number | string
    series     := NAME [ "(" arg ("," arg)* ")" ]   see ``registry`` for names and arguments
    arg        := asset (BTC, BTC/USDT) | duration (1D, 48h) | number
    number     := -?digits[.digits][e[+-]digits] ["%"]
    string     := "..." | '...'

Examples: ``RSI(BTC, 1D) < 30``, ``exchange_netflow(BTC, 48h) < -3000``,
``fear_greed_index < 25``, ``close crosses_above EMA(BTC, 1D, 200)``,
``BTC_dominance < 40%``, ``regime in ["calm_bull", "calm_bear"] AND NOT ADX(1d) > 40``.

Each AST node renders back to canonical text (``render()``): upper-case keywords, canonical
series names, lower-case timeframes, default parameters left out, minimal parentheses; and
``parse(node.render()) == node``. Type rules checked while parsing (so an invalid condition
never reaches an engine): a test compares at least one series; two series only of the same
unit; a ``%`` literal only with a percent/fraction series; strings only with ``regime``;
``regime`` only with ``==``, ``!=`` or ``in``.

Errors: ``ConditionSyntaxError`` (a ``RuleError``) with the character position, what was
found, and a fix; unknown series names list the known ones.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from plugins.strategy_tree.errors import ConditionSyntaxError, RuleError
from plugins.strategy_tree.registry import (
    LABEL,
    MAX_PERIOD,
    PERCENT,
    PERCENT_UNITS,
    SeriesSpec,
    known_names,
    lookup,
)
from plugins.strategy_tree.units import Duration, parse_duration, parse_timeframe

MAX_LENGTH = 2000
MAX_DEPTH = 32
COMPARATORS = ("<", "<=", ">", ">=", "==", "!=")
CROSSES = ("above", "below")
KEYWORDS = ("AND", "OR", "NOT", "IN", "CROSSES_ABOVE", "CROSSES_BELOW")


# --------------------------------------------------------------------------------------- AST
class Node:
    """Base of every AST node: ``render()`` to canonical text, ``children()``, ``walk()``."""

    def render(self) -> str:
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        return ()

    def walk(self) -> Iterator[Node]:
        """This node and all below it, pre-order."""
        yield self
        for child in self.children():
            yield from child.walk()

    def series(self) -> list[Series]:
        """Every ``Series`` below (and including) this node, in order, duplicates kept."""
        return [n for n in self.walk() if isinstance(n, Series)]

    def __str__(self) -> str:
        return self.render()


def _fmt_number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


@dataclass(frozen=True, eq=True)
class Series(Node):
    """A series reference: ``RSI(BTC, 1d)``, ``exchange_netflow(BTC, 48h)``, ``close``.

    Attributes:
        name: canonical registry name.
        asset: ``"BTC"`` / ``"BTC/USDT"``, or None = the evaluated pair.
        timeframe: canonical timeframe (market series), None = the tree's timeframe.
        window: aggregation window (alt-data series), None = the latest observation.
        params: every numeric parameter, defaults filled in (``RSI`` -> ``(14,)``).
    """

    name: str
    asset: str | None = None
    timeframe: str | None = None
    window: Duration | None = None
    params: tuple[float, ...] = ()

    @cached_property
    def spec(self) -> SeriesSpec:
        return lookup(self.name)

    @property
    def key(self) -> str:
        """Canonical text, used as the column name of the computed series."""
        return self.render()

    def render(self) -> str:
        args: list[str] = []
        if self.asset is not None:
            args.append(self.asset)
        if self.timeframe is not None:
            args.append(self.timeframe)
        if self.window is not None:
            args.append(str(self.window))
        params = list(self.params)
        defaults = [p.default for p in self.spec.params]
        while params and params[-1] == defaults[len(params) - 1]:
            params.pop()
        args.extend(_fmt_number(p) for p in params)
        return f"{self.name}({', '.join(args)})" if args else self.name


@dataclass(frozen=True)
class Number(Node):
    """A numeric literal; ``percent`` = written with ``%`` (``value`` is the written number:
    ``40%`` -> ``Number(40.0, True)``)."""

    value: float
    percent: bool = False

    def render(self) -> str:
        return _fmt_number(self.value) + ("%" if self.percent else "")

    def resolved(self, unit: str) -> float:
        """The value in ``unit``: ``40%`` is 40 for a percent series, 0.4 for a fraction."""
        if self.percent and unit != PERCENT:
            return self.value / 100
        return self.value


@dataclass(frozen=True)
class String(Node):
    """A string literal (regime names)."""

    value: str

    def render(self) -> str:
        return f'"{self.value}"'


Operand = Series | Number | String


@dataclass(frozen=True)
class Compare(Node):
    """``left op right``; ``op`` one of ``COMPARATORS``."""

    left: Operand
    op: str
    right: Operand

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def render(self) -> str:
        return f"{self.left.render()} {self.op} {self.right.render()}"


@dataclass(frozen=True)
class Cross(Node):
    """``left crosses_above right``: ``left > right`` now and ``left <= right`` one candle
    earlier (``below``: ``<`` now, ``>=`` before), like ``qtpylib.crossed_above``."""

    left: Series | Number
    direction: str
    right: Series | Number

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def render(self) -> str:
        return f"{self.left.render()} crosses_{self.direction} {self.right.render()}"


@dataclass(frozen=True)
class InList(Node):
    """``series in ["a", "b"]`` (string membership; the regime)."""

    left: Series
    values: tuple[str, ...]

    def children(self) -> tuple[Node, ...]:
        return (self.left,)

    def render(self) -> str:
        return f"{self.left.render()} in [{', '.join(String(v).render() for v in self.values)}]"


def _wrap(node: Node, parent: type) -> str:
    text = node.render()
    if isinstance(node, And | Or) and type(node) is not parent:
        return f"({text})"
    return text


@dataclass(frozen=True)
class And(Node):
    """All ``items`` hold (at least two; nested ``And`` are flattened)."""

    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items

    def render(self) -> str:
        return " AND ".join(_wrap(i, And) for i in self.items)


@dataclass(frozen=True)
class Or(Node):
    """Any of ``items`` holds (at least two; nested ``Or`` are flattened)."""

    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items

    def render(self) -> str:
        return " OR ".join(_wrap(i, Or) for i in self.items)


@dataclass(frozen=True)
class Not(Node):
    """``item`` does not hold."""

    item: Node

    def children(self) -> tuple[Node, ...]:
        return (self.item,)

    def render(self) -> str:
        return f"NOT ({self.item.render()})"


def make_and(items: list[Node]) -> Node:
    """``And`` of ``items`` with nested ``And`` spliced in; a single item is returned as is."""
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, And) else (item,))
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def make_or(items: list[Node]) -> Node:
    """``Or`` of ``items`` with nested ``Or`` spliced in; a single item is returned as is."""
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, Or) else (item,))
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


# --------------------------------------------------------------------------------- tokenizer
@dataclass(frozen=True)
class Token:
    kind: str  # NUM DUR NAME STR OP KW ( ) [ ] , EOF
    text: str
    pos: int


_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<NUM>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?%?)(?![A-Za-z0-9_.])
  | (?P<DUR>\d+(?:\.\d+)?[A-Za-z]+)(?![A-Za-z0-9_])
  | (?P<NAME>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z0-9_]+)?)
  | (?P<STR>"[^"\\\n]*"|'[^'"\\\n]*')
  | (?P<OP><=|>=|==|!=|<|>)
  | (?P<PUNCT>[()\[\],])
""", re.VERBOSE)


def tokenize(text: str) -> list[Token]:
    """Tokens of ``text``, ending with an ``EOF`` token.

    Raises:
        ConditionSyntaxError: a character that starts no token.
    """
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            char = text[pos]
            fix = ("use == to compare" if char == "=" else
                   "conditions use series, numbers, comparisons (< <= > >= == !=), "
                   "crosses_above/crosses_below, AND/OR/NOT and parentheses")
            raise ConditionSyntaxError(f"unexpected {char!r} at character {pos}", fix, pos)
        kind = match.lastgroup or ""
        if kind == "NAME" and match.group().upper() in KEYWORDS:
            kind = "KW"
        elif kind == "PUNCT":
            kind = match.group()
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("EOF", "", len(text)))
    return tokens


# ------------------------------------------------------------------------------------ parser
class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, fix: str, token: Token | None = None) -> ConditionSyntaxError:
        token = token or self.tok
        found = "the end" if token.kind == "EOF" else repr(token.text)
        return ConditionSyntaxError(f"{message} at character {token.pos} (found {found})", fix,
                                    token.pos)

    def take(self, kind: str, fix: str, what: str) -> Token:
        if self.tok.kind != kind:
            raise self.error(f"expected {what}", fix)
        token = self.tok
        self.i += 1
        return token

    def keyword(self, word: str) -> bool:
        if self.tok.kind == "KW" and self.tok.text.upper() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.parse_or()
        if self.tok.kind != "EOF":
            raise self.error("unexpected text after a complete condition",
                             "join conditions with AND / OR, or remove the extra text")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.keyword("OR"):
            items.append(self.parse_and())
        return make_or(items)

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while self.keyword("AND"):
            items.append(self.parse_not())
        return make_and(items)

    def parse_not(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"conditions nest deeper than {MAX_DEPTH} levels",
                             "split the condition into several entries")
        try:
            if self.keyword("NOT"):
                return Not(self.parse_not())
            if self.tok.kind == "(":
                self.i += 1
                node = self.parse_or()
                self.take(")", "close every '(' with ')'", "')'")
                return node
            return self.parse_test()
        finally:
            self.depth -= 1

    def parse_test(self) -> Node:
        start = self.tok
        left = self.parse_operand()
        tok = self.tok
        if tok.kind == "OP":
            self.i += 1
            right = self.parse_operand()
            node: Node = Compare(left, tok.text, right)
        elif tok.kind == "KW" and tok.text.upper() in ("CROSSES_ABOVE", "CROSSES_BELOW"):
            self.i += 1
            right = self.parse_operand()
            node = Cross(left, tok.text.lower().removeprefix("crosses_"), right)  # type: ignore[arg-type]
        elif tok.kind == "KW" and tok.text.upper() == "IN":
            self.i += 1
            node = InList(left, self.parse_list())  # type: ignore[arg-type]
        else:
            raise self.error("expected a comparison (< <= > >= == !=, crosses_above, "
                             "crosses_below or in)", f"write e.g. {start.text} < 30")
        if self.tok.kind == "OP":
            raise self.error("comparisons cannot be chained",
                             "write two comparisons joined by AND: 20 < RSI(BTC) AND RSI(BTC) < 30")
        _check_types(node, start.pos)
        return node

    def parse_list(self) -> tuple[str, ...]:
        self.take("[", 'write in ["calm_bull", "calm_bear"]', "'['")
        values = [self.take("STR", "list quoted names", "a quoted string").text[1:-1]]
        while self.tok.kind == ",":
            self.i += 1
            values.append(self.take("STR", "list quoted names", "a quoted string").text[1:-1])
        self.take("]", "close the list with ']'", "']'")
        return tuple(values)

    def parse_operand(self) -> Operand:
        tok = self.tok
        if tok.kind == "NUM":
            self.i += 1
            return _number(tok)
        if tok.kind == "STR":
            self.i += 1
            return String(tok.text[1:-1])
        if tok.kind == "NAME":
            return self.parse_series()
        if tok.kind == "DUR":
            raise self.error("a duration is not a value", "durations go inside a series' "
                             "parentheses: exchange_netflow(BTC, 48h)")
        raise self.error("expected a series, a number or a string",
                         "write e.g. RSI(BTC, 1D) < 30")

    def parse_series(self) -> Series:
        name_tok = self.take("NAME", "write a series name", "a series name")
        try:
            spec = lookup(name_tok.text)
        except KeyError:
            close = difflib.get_close_matches(name_tok.text, known_names(), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}? " if close else ""
            raise self.error(f"unknown series {name_tok.text!r}",
                             f"{hint}known: {', '.join(known_names())}", name_tok) from None
        args: list[Token] = []
        if self.tok.kind == "(":
            self.i += 1
            if self.tok.kind != ")":
                args.append(self.parse_arg())
                while self.tok.kind == ",":
                    self.i += 1
                    args.append(self.parse_arg())
            self.take(")", f"close the arguments of {spec.name} with ')'", "',' or ')'")
        return _build_series(spec, name_tok, args)

    def parse_arg(self) -> Token:
        if self.tok.kind in ("NAME", "DUR", "NUM"):
            token = self.tok
            self.i += 1
            return token
        raise self.error("expected an argument (asset, timeframe/window or number)",
                         "write e.g. RSI(BTC, 1D, 14)")


def _number(tok: Token) -> Number:
    text = tok.text
    percent = text.endswith("%")
    value = float(text.rstrip("%"))
    if value != value or value in (float("inf"), float("-inf")):
        raise ConditionSyntaxError(f"number {text!r} at character {tok.pos} is out of range",
                                   "write a finite number", tok.pos)
    return Number(value, percent)


def _signature(spec: SeriesSpec) -> str:
    parts = []
    if spec.takes_asset:
        parts.append("asset")
    if spec.duration:
        parts.append(spec.duration)
    parts.extend(p.name for p in spec.params)
    return f"{spec.name}({', '.join(parts)})" if parts else spec.name


def _build_series(spec: SeriesSpec, name_tok: Token, args: list[Token]) -> Series:
    signature = _signature(spec)
    fix = f"write {signature}"

    def fail(message: str, tok: Token) -> ConditionSyntaxError:
        return ConditionSyntaxError(f"{spec.name}: {message} at character {tok.pos}", fix, tok.pos)

    asset: str | None = None
    duration: Token | None = None
    numbers: list[Token] = []
    for tok in args:
        if tok.kind == "NAME":
            if not spec.takes_asset:
                raise fail(f"takes no asset (got {tok.text!r})", tok)
            if asset is not None:
                raise fail(f"takes one asset (got {asset!r} and {tok.text!r})", tok)
            asset = tok.text.upper()
            if spec.assets is not None and asset.split("/")[0] not in spec.assets:
                raise ConditionSyntaxError(
                    f"{spec.name}: no data for asset {tok.text!r} at character {tok.pos}",
                    f"data exists for {', '.join(spec.assets)}", tok.pos)
        elif tok.kind == "DUR":
            if spec.duration is None:
                raise fail(f"takes no timeframe or window (got {tok.text!r})", tok)
            if duration is not None:
                raise fail(f"takes one {spec.duration} (got {duration.text!r} and {tok.text!r})",
                           tok)
            duration = tok
        else:
            if tok.text.endswith("%"):
                raise fail(f"parameters are plain numbers (got {tok.text!r})", tok)
            numbers.append(tok)
    if spec.assets is not None and asset is None:
        raise ConditionSyntaxError(
            f"{spec.name} needs an asset at character {name_tok.pos}",
            f"write {spec.name}({spec.assets[0]}{', 48h' if spec.agg == 'sum' else ''})",
            name_tok.pos)
    if len(numbers) > len(spec.params):
        raise fail(f"takes at most {len(spec.params)} number(s) "
                   f"({', '.join(p.name for p in spec.params) or 'none'})", numbers[len(spec.params)])
    params: list[float] = []
    for i, param in enumerate(spec.params):
        if i < len(numbers):
            value = float(numbers[i].text)
            tok = numbers[i]
            if not param.minimum <= value <= MAX_PERIOD:
                raise fail(f"{param.name} must be between {_fmt_number(param.minimum)} and "
                           f"{MAX_PERIOD} (got {tok.text})", tok)
            if param.integer and value != int(value):
                raise fail(f"{param.name} must be a whole number (got {tok.text})", tok)
            params.append(int(value) if param.integer else value)
        elif param.default is None:
            raise ConditionSyntaxError(
                f"{spec.name} needs its {param.name} at character {name_tok.pos}",
                f"write e.g. {spec.name}(BTC, 1D, 200)", name_tok.pos)
        else:
            params.append(param.default)
    if spec.name.startswith("MACD") and params[0] >= params[1]:
        raise fail("fast period must be shorter than the slow one", name_tok)
    timeframe = window = None
    if duration is not None:
        try:
            if spec.duration == "timeframe":
                timeframe = parse_timeframe(duration.text, f"{spec.name} timeframe")
            else:
                window = parse_duration(duration.text, f"{spec.name} window")
        except RuleError as err:
            raise ConditionSyntaxError(f"{err.message} at character {duration.pos}", err.fix,
                                       duration.pos) from None
        if window is not None:
            periods = window / spec.period
            if spec.agg == "sum" and (periods < 1 or periods != int(periods)):
                raise ConditionSyntaxError(
                    f"{spec.name} window {duration.text} is not a whole number of its "
                    f"{_fmt_td(spec.period)} observations at character {duration.pos}",
                    f"write a multiple of {_fmt_td(spec.period)}, e.g. "
                    f"{spec.name}(BTC, {_fmt_td(spec.period * 2)})", duration.pos)
    return Series(spec.name, asset, timeframe, window, tuple(params))


def _fmt_td(td) -> str:
    hours = td.total_seconds() / 3600
    return f"{int(hours // 24)}d" if hours % 24 == 0 else f"{hours:g}h"


def _check_types(node: Node, pos: int) -> None:
    """The type rules of the module docstring, for one test node."""
    def fail(message: str, fix: str) -> ConditionSyntaxError:
        return ConditionSyntaxError(f"{message} (condition at character {pos})", fix, pos)

    if isinstance(node, InList):
        if not (isinstance(node.left, Series) and node.left.spec.unit == LABEL):
            raise fail(f"'in [...]' needs the regime on its left (got {node.left.render()})",
                       'write regime in ["calm_bull", "calm_bear"]')
        return
    left, right = node.left, node.right  # type: ignore[attr-defined]
    if not isinstance(left, Series) and not isinstance(right, Series):
        raise fail(f"{node.render()} compares two constants",
                   "compare a series with a value, e.g. RSI(BTC, 1D) < 30")
    labels = [s for s in (left, right) if isinstance(s, Series) and s.spec.unit == LABEL]
    strings = [s for s in (left, right) if isinstance(s, String)]
    if labels or strings:
        if isinstance(node, Cross) or node.op not in ("==", "!="):  # type: ignore[attr-defined]
            raise fail(f"{node.render()}: the regime and strings only compare with == or !=",
                       'write regime == "calm_bull" or regime in ["calm_bull", "calm_bear"]')
        if not (labels and strings):
            raise fail(f"{node.render()}: a string compares only with the regime",
                       'write regime == "calm_bull"')
        return
    series = [s for s in (left, right) if isinstance(s, Series)]
    if len(series) == 2 and series[0].spec.unit != series[1].spec.unit:
        raise fail(f"{node.render()} compares {series[0].name} ({series[0].spec.unit}) with "
                   f"{series[1].name} ({series[1].spec.unit})",
                   "compare series of the same unit, or a series with a number")
    for number in (left, right):
        if isinstance(number, Number) and number.percent and series[0].spec.unit not in PERCENT_UNITS:
            raise fail(f"{node.render()}: {series[0].name} is in {series[0].spec.unit}, not a "
                       "percentage", f"write the number without % (e.g. {_fmt_number(number.value)})")


def parse_condition(text: object) -> Node:
    """Parse one condition string into its AST.

    Raises:
        RuleError: ``text`` is not a string, is empty or too long.
        ConditionSyntaxError: it does not follow the grammar or the type rules.
    """
    if isinstance(text, Node):
        return text
    if isinstance(text, bool) or not isinstance(text, str):
        raise RuleError(f"a condition must be a string, got {type(text).__name__} {text!r}"[:200],
                        "write it as text, e.g. RSI(BTC, 1D) < 30")
    if not text.strip():
        raise RuleError("the condition is empty", "write e.g. RSI(BTC, 1D) < 30")
    if len(text) > MAX_LENGTH:
        raise RuleError(f"the condition is {len(text)} characters long (max {MAX_LENGTH})",
                        "split it into several conditions")
    return _Parser(text).parse()
