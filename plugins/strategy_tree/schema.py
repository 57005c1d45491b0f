"""The strategy-tree schema (engine-neutral, versioned): pydantic v2 models + JSON Schema export.

A tree is the formal version of a trade idea (``../shared/seeds``, stage 3): what to trade, when
to enter, how to size, where to stop and take profit, which filters block entries, and when the
idea expires. It names no engine; compilers (Freqtrade, backtrader) and the reference
interpreter (``interpreter``) read the same validated ``StrategyTree``.

Document layout (YAML or JSON; ``io`` reads both)::

    strategy:
      schema_version: 1              # optional, default SCHEMA_VERSION
      name: BTC_fear_accumulation_v1
      assets: [BTC/USDT]             # or `asset: BTC/USDT`
      timeframe: 1D                  # candle timeframe the tree is evaluated on
      entry: {conditions: [...], logic: ALL}     # ALL | ANY; conditions: see `grammar`
      exit: {conditions: [...], logic: ANY}      # optional signal exits
      position: {type: scaled_entry, batches: 3, size_per_batch: 3.3%, interval: 4h,
                 max_total_exposure: 10%, add_on: signal}
      risk:
        stop_loss: {type: percentage, value: 8%, reference: average_entry_price}
        trailing: {type: percentage, value: 5%, activate_at: 10%}    # optional
      take_profit: [{level: 15%, action: close_50%}, {level: 30%, action: close_remaining}]
      filters: [{no_entry_within: 24h_of_FOMC}, {no_entry_if: BTC_dominance < 40%},
                {only_if: 'regime in ["calm_bull"]'}]
      expiry: 30d

Units: percentages are stored as fractions (``3.3%`` -> 0.033; a bare number *is* a fraction);
durations as ``units.Duration`` (a ``timedelta``); timeframes as canonical strings (``1d``);
conditions as ``grammar`` AST nodes. ``model_dump(mode="json")`` writes them back as
``"3.3%"``, ``"4h"``, ``"1d"`` and canonical condition text, and loading that dump gives an
equal tree.

Validation problems raise ``errors.TreeValidationError`` (``validate_tree``): one
``path: message (fix)`` row per problem, e.g.
``strategy.position.size_per_batch: 3 batches x 5% = 15% exceeds max_total_exposure 10% (...)``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    PlainValidator,
    Tag,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic import WithJsonSchema as _WithJsonSchema

from plugins.strategy_tree.errors import RuleError
from plugins.strategy_tree.grammar import Node, Series, make_and, make_or, parse_condition
from plugins.strategy_tree.units import (
    TIMEFRAMES,
    Duration,
    format_percent,
    parse_duration,
    parse_percent,
    parse_timeframe,
    timeframe_delta,
)

SCHEMA_VERSION = 1
SCHEMA_ID = "https://freqtrade-ai-suite/schemas/strategy-tree/v1.json"
ROOT = "strategy"
#: Sums of percentages may exceed their limit by this much (float rounding of 3 x 3.3%).
TOLERANCE = 1e-9
NAME_RE = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
#: A separator (``_ . -``) repeated or at the end: ``a..b`` / ``a-`` would compile to the class
#: of ``a.b`` / ``a`` (``compilers.common.class_name`` drops separators).
_NAME_SEPARATORS_RE = re.compile(r"[_.-]{2}|[_.-]$")
PAIR_RE = re.compile(r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}(:[A-Z0-9]{1,20})?$")
EVENTS = ("FOMC", "CPI")

_PERCENT_JSON = {"anyOf": [{"type": "number", "description": "a fraction: 0.08 = 8%"},
                           {"type": "string", "pattern": r"^[+-]?\d+(\.\d+)?\s*%$",
                            "description": "a percentage: 8%"}]}
_DURATION_JSON = {"type": "string", "pattern": r"^\d+(\.\d+)?[mhdwHDW]$",
                  "description": "a duration: number + unit m/h/d/w, e.g. 4h, 48h, 1D, 30d"}
_CONDITION_JSON = {"type": "string", "minLength": 1,
                   "description": "a condition in the strategy-tree grammar (plugins.strategy_tree"
                                  ".grammar), e.g. 'RSI(BTC, 1D) < 30'"}


def _percent(what: str, low: float, high: float, low_inclusive: bool = False,
             example: str = "5%") -> Any:
    """A percentage field type: fraction in ``(low, high]`` (``[low, high]`` if inclusive)."""
    def validate(value: object) -> float:
        fraction = parse_percent(value, what)
        above_low = fraction >= low if low_inclusive else fraction > low
        if not (above_low and fraction <= high + TOLERANCE):
            bracket = "[" if low_inclusive else "("
            hint = " (a bare number is a fraction: write 8% or 0.08)" if fraction > high else ""
            raise RuleError(f"{what} {format_percent(fraction)} is outside "
                            f"{bracket}{format_percent(low)}, {format_percent(high)}]{hint}",
                            f"write e.g. {example}")
        return fraction

    return Annotated[float, PlainValidator(validate),
                     PlainSerializer(format_percent, return_type=str),
                     _WithJsonSchema({**_PERCENT_JSON, "description":
                                      f"{what}: percentage in {format_percent(low)}.."
                                      f"{format_percent(high)}, e.g. {example}"})]


DurationField = Annotated[Duration, PlainValidator(parse_duration),
                          PlainSerializer(str, return_type=str), _WithJsonSchema(_DURATION_JSON)]
Timeframe = Annotated[str, PlainValidator(parse_timeframe),
                      _WithJsonSchema({"type": "string", "enum": list(TIMEFRAMES),
                                       "description": "candle timeframe (1D is read as 1d)"})]
Condition = Annotated[Node, PlainValidator(parse_condition),
                      PlainSerializer(lambda node: node.render(), return_type=str),
                      _WithJsonSchema(_CONDITION_JSON)]


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConditionGroup(_Model):
    """Conditions combined by ``logic`` (``ALL``: every one holds; ``ANY``: at least one).

    Attributes:
        conditions: one or more conditions (``grammar`` AST nodes; written as text).
        logic: ``ALL`` | ``ANY`` (case-insensitive on input).
    """

    conditions: tuple[Condition, ...] = Field(min_length=1)
    logic: Annotated[Literal["ALL", "ANY"], BeforeValidator(_upper)] = "ALL"

    def expression(self) -> Node:
        """The group as one AST node (``And`` / ``Or`` of the conditions, or the one condition)."""
        items = list(self.conditions)
        return make_and(items) if self.logic == "ALL" else make_or(items)


class Position(_Model):
    """Sizing, as fractions of total equity.

    Attributes:
        type: ``scaled_entry`` (``batches`` entries) | ``single`` (one entry; batches = 1).
        batches: number of entries (1-100).
        size_per_batch: equity fraction each entry adds (``3.3%``).
        interval: least time between two entries (required when batches > 1). On candles
            longer than ``interval`` the next batch simply comes at a later candle.
        max_total_exposure: cap on the position (fraction of equity); must be >=
            ``batches * size_per_batch`` (no leverage: at most 100%).
        add_on: ``signal`` = a further batch needs the entry signal (``enter_long``) again
            after ``interval``; ``schedule`` = it follows every ``interval`` regardless.
    """

    type: Annotated[Literal["scaled_entry", "single"], BeforeValidator(_lower)] = "scaled_entry"
    batches: int = Field(default=1, ge=1, le=100)
    size_per_batch: _percent("size_per_batch", 0, 1, example="3.3%")
    interval: DurationField | None = None
    max_total_exposure: _percent("max_total_exposure", 0, 1, example="10%")
    add_on: Annotated[Literal["signal", "schedule"], BeforeValidator(_lower)] = "signal"

    @model_validator(mode="after")
    def _consistent(self) -> Position:
        if self.type == "single" and self.batches != 1:
            raise RuleError(f"type single takes one batch, got batches: {self.batches}",
                            "set batches: 1 or type: scaled_entry", field="batches")
        if self.batches > 1 and self.interval is None:
            raise RuleError(f"{self.batches} batches need an interval between them",
                            "add e.g. interval: 4h", field="interval")
        total = self.batches * self.size_per_batch
        if total > self.max_total_exposure + TOLERANCE:
            raise RuleError(
                f"{self.batches} batches x {format_percent(self.size_per_batch)} = "
                f"{format_percent(round(total, 12))} exceeds max_total_exposure "
                f"{format_percent(self.max_total_exposure)}",
                f"lower size_per_batch to at most "
                f"{format_percent(math.floor(self.max_total_exposure / self.batches * 1e5) / 1e5)}"
                f", use fewer batches, "
                f"or raise max_total_exposure", field="size_per_batch")
        return self


class _Stop(_Model):
    """Common fields of the stop loss and the trailing stop (``value``: a percentage for
    ``type: percentage``, an ATR multiple (plain number) for ``type: atr``)."""

    type: Annotated[Literal["percentage", "atr"], BeforeValidator(_lower)] = "percentage"
    value: Annotated[float, _WithJsonSchema({**_PERCENT_JSON, "description":
                                             "type percentage: 8% (or 0.08); type atr: the ATR "
                                             "multiple as a plain number"})]
    atr_period: int = Field(default=14, ge=1, le=1000)
    atr_timeframe: Timeframe | None = None

    @model_validator(mode="before")
    @classmethod
    def _value(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "value" not in data:
            return data
        kind = _lower(data.get("type", "percentage"))
        value = data["value"]
        if kind == "atr":
            if isinstance(value, str) and value.strip().endswith("%"):
                raise RuleError(f"an ATR stop's value is a multiple of the ATR, got {value!r}",
                                "write a plain number, e.g. value: 2 (2 x ATR)", field="value")
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    0 < value <= 100):
                raise RuleError(f"ATR multiple {value!r} must be a number in (0, 100]",
                                "write e.g. value: 2", field="value")
            return data
        fraction = parse_percent(value, "value")
        if not 0 < fraction < 1:
            hint = " (a bare number is a fraction)" if fraction >= 1 else ""
            raise RuleError(f"percentage {format_percent(fraction)} must be above 0% and below "
                            f"100%{hint}", "write e.g. value: 8%", field="value")
        return {**data, "value": fraction}

    @field_serializer("value")
    def _dump_value(self, value: float) -> str | float:
        return format_percent(value) if self.type == "percentage" else value


class StopLoss(_Stop):
    """Fixed stop below a reference price.

    Attributes:
        type: ``percentage`` (stop = reference x (1 - value)) | ``atr`` (stop = reference -
            value x ATR(atr_period) of ``atr_timeframe`` candles, the ATR taken at the
            candle of the latest batch).
        value: 8% / 0.08, or the ATR multiple.
        reference: ``average_entry_price`` (size-weighted mean of the filled batches),
            ``first_entry_price`` or ``last_entry_price``.
    """

    reference: Annotated[Literal["average_entry_price", "first_entry_price", "last_entry_price"],
                         BeforeValidator(_lower)] = "average_entry_price"


class Trailing(_Stop):
    """Trailing stop: ``value`` below the highest high since the first entry (percentage), or
    ``value`` x ATR below it (atr); active once that high reached ``activate_at`` above the
    average entry price (0% = from the start)."""

    activate_at: _percent("activate_at", 0, 100, low_inclusive=True, example="10%") = 0.0


class Risk(_Model):
    """``stop_loss`` (required) and an optional ``trailing`` stop; the tighter one applies."""

    stop_loss: StopLoss
    trailing: Trailing | None = None


def _parse_action(value: object) -> float | None:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("close_remaining", "close_all", "close_rest"):
            return None
        if text.startswith("close_") and text.endswith("%"):
            try:
                fraction = parse_percent(text.removeprefix("close_"), "action")
            except RuleError:
                fraction = 0.0
            if 0 < fraction <= 1:
                return fraction
    elif isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1:
        return float(value)
    raise RuleError(f"take-profit action {value!r} is not close_<N>% or close_remaining"[:200],
                    "write e.g. action: close_50% or action: close_remaining")


CloseAction = Annotated[float | None, PlainValidator(_parse_action),
                        PlainSerializer(lambda f: "close_remaining" if f is None
                                        else f"close_{format_percent(f)}", return_type=str),
                        _WithJsonSchema({"type": "string",
                                         "pattern": r"^close_(\d+(\.\d+)?%|remaining|all)$",
                                         "description": "close_50% (a fraction of the full "
                                                        "position) or close_remaining"})]


class TakeProfit(_Model):
    """One take-profit stage.

    Attributes:
        level: gain over the average entry price that triggers it (``15%``).
        action: fraction of the *full* position to close (``close_50%`` -> 0.5), or None for
            ``close_remaining`` (whatever is left). Stored as that float / None.
    """

    level: _percent("level", 0, 100, example="15%")
    action: CloseAction


class CalendarFilter(_Model):
    """No entry within ``no_entry_within`` before or after an event of ``events`` (FOMC
    statement 14:00 New York, CPI release 08:30 New York; ``EventCalendar``). The seed's
    ``no_entry_within: 24h_of_FOMC`` is read as ``{no_entry_within: 24h, events: [FOMC]}``;
    ``24h_of_FOMC_or_CPI`` names both."""

    no_entry_within: Annotated[DurationField, _WithJsonSchema({"anyOf": [
        _DURATION_JSON, {"type": "string", "pattern": r"^\d+(\.\d+)?[mhdwHDW]_of_[A-Za-z_]+$",
                         "description": "shorthand: 24h_of_FOMC, 12h_of_FOMC_or_CPI"}]})]
    events: tuple[Annotated[Literal["FOMC", "CPI"], BeforeValidator(_upper)], ...] = Field(
        default=("FOMC",), min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("no_entry_within"), str) and (
                "_of_" in data["no_entry_within"]):
            if "events" in data:
                raise RuleError("events given twice (in the shorthand and in events)",
                                "write no_entry_within: 24h with events: [FOMC], or only "
                                "no_entry_within: 24h_of_FOMC", field="events")
            duration, _, names = data["no_entry_within"].partition("_of_")
            events = [e.upper() for e in re.split(r"_or_|_and_|_|,", names, flags=re.I) if e]
            bad = [e for e in events if e not in EVENTS]
            if bad or not events:
                raise RuleError(f"unknown event(s) {', '.join(bad) or repr(names)} in "
                                f"{data['no_entry_within']!r}",
                                "write e.g. 24h_of_FOMC or 24h_of_FOMC_or_CPI",
                                field="no_entry_within")
            return {**data, "no_entry_within": duration, "events": list(dict.fromkeys(events))}
        return data


class ConditionFilter(_Model):
    """No entry while ``no_entry_if`` holds, *or cannot be evaluated* (missing data blocks)."""

    no_entry_if: Condition


class RequireFilter(_Model):
    """Entries only while ``only_if`` holds (missing data blocks), e.g. a regime filter
    ``only_if: regime in ["calm_bull", "calm_bear"]``."""

    only_if: Condition


FILTER_KEYS = {"no_entry_within": CalendarFilter, "no_entry_if": ConditionFilter,
               "only_if": RequireFilter}


def _filter_kind(value: Any) -> str | None:
    for key, cls in FILTER_KEYS.items():
        if isinstance(value, cls) or (isinstance(value, dict) and key in value):
            return f"#{key}"
    return None


Filter = Annotated[Union[tuple(Annotated[cls, Tag(f"#{key}")]  # noqa: UP007
                               for key, cls in FILTER_KEYS.items())],
                   Discriminator(_filter_kind, custom_error_type="filter_kind",
                                 custom_error_message="a filter needs one of the keys "
                                                      "no_entry_within, no_entry_if, only_if")]


def _pair(value: object) -> str:
    if isinstance(value, str) and PAIR_RE.match(value.strip().upper()):
        return value.strip().upper()
    raise RuleError(f"asset {value!r} is not a BASE/QUOTE pair"[:200],
                    "write e.g. BTC/USDT (futures: BTC/USDT:USDT)")


Pair = Annotated[str, PlainValidator(_pair),
                 _WithJsonSchema({"type": "string", "pattern": PAIR_RE.pattern})]


class StrategyTree(_Model):
    """A whole strategy tree (the value under ``strategy:``).

    Attributes:
        schema_version: this loader reads version ``SCHEMA_VERSION`` only.
        name: identifier (letters, digits, ``_.-``; starts with a letter; up to 64).
        description: free text.
        assets: pairs the tree trades (``asset: X`` is read as ``assets: [X]``).
        timeframe: candles the tree is evaluated on; every series' timeframe must be a whole
            multiple of it.
        entry / exit: ``ConditionGroup``; exit is optional.
        position / risk / take_profit: sizing, stops, staged take profits (levels rising,
            close fractions at most 100% in total, ``close_remaining`` only last).
        filters: entry blockers (``CalendarFilter``, ``ConditionFilter``, ``RequireFilter``).
        expiry: with no entry within this long of activation, the tree expires (None: never).
    """

    schema_version: int = SCHEMA_VERSION
    name: str = Field(pattern=NAME_RE)
    description: str | None = Field(default=None, max_length=2000)
    assets: tuple[Pair, ...] = Field(min_length=1, max_length=50)
    timeframe: Timeframe
    entry: ConditionGroup
    exit: ConditionGroup | None = None
    position: Position
    risk: Risk
    take_profit: tuple[TakeProfit, ...] = ()
    filters: tuple[Filter, ...] = ()
    expiry: DurationField | None = None

    @model_validator(mode="before")
    @classmethod
    def _asset_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "asset" in data:
            if "assets" in data:
                raise RuleError("both asset and assets are given",
                                "keep one: assets: [BTC/USDT]", field="asset")
            asset = data["asset"]
            data = {k: v for k, v in data.items() if k != "asset"}
            data["assets"] = asset if isinstance(asset, list) else [asset]
        return data

    @field_validator("schema_version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if value != SCHEMA_VERSION or isinstance(value, bool):
            raise RuleError(f"schema_version {value!r} is not supported (this loader reads "
                            f"version {SCHEMA_VERSION})"[:200],
                            f"write schema_version: {SCHEMA_VERSION}, or upgrade "
                            "plugins.strategy_tree")
        return value

    @field_validator("name")
    @classmethod
    def _single_separators(cls, value: str) -> str:
        # A separator is never repeated nor last, so ``a..b`` cannot pass for ``a.b``. (Said
        # here, not in the class docstring: that is the JSON Schema description the LLM hooks
        # send, part of every recorded cassette's key.)
        if _NAME_SEPARATORS_RE.search(value):
            raise RuleError(f"name {value!r} has a repeated or trailing separator (_ . -); its "
                            "compiled class name would be another tree's",
                            "separate words with one _, . or - and end with a letter or digit, "
                            "e.g. btc_trend_v2")
        return value

    @field_validator("assets")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise RuleError("assets lists a pair twice", "list each pair once")
        return value

    @model_validator(mode="after")
    def _tree_rules(self) -> StrategyTree:
        problems = [*self._timeframe_problems(), *self._take_profit_problems()]
        if problems:
            (field, message, fix), *more = problems
            raise RuleError(message, fix, field=field, more=tuple(more))
        return self

    def conditions(self) -> list[tuple[str, Node]]:
        """Every condition with its path: ``[("entry.conditions[0]", node), ...]``."""
        out: list[tuple[str, Node]] = []
        for group_name in ("entry", "exit"):
            group = getattr(self, group_name)
            if group is not None:
                out += [(f"{group_name}.conditions[{i}]", c) for i, c in enumerate(group.conditions)]
        for i, f in enumerate(self.filters):
            if isinstance(f, ConditionFilter):
                out.append((f"filters[{i}].no_entry_if", f.no_entry_if))
            elif isinstance(f, RequireFilter):
                out.append((f"filters[{i}].only_if", f.only_if))
        return out

    def series(self) -> list[Series]:
        """Every distinct series the tree reads, in first-use order (stops' ATR excluded)."""
        seen: dict[Series, None] = {}
        for _, node in self.conditions():
            for s in node.series():
                seen.setdefault(s, None)
        return list(seen)

    def _timeframe_problems(self) -> list[tuple[str, str, str]]:
        base = timeframe_delta(self.timeframe)
        problems = []
        checks = [(path, s.timeframe, s.render()) for path, node in self.conditions()
                  for s in node.series() if s.timeframe is not None]
        for name in ("stop_loss", "trailing"):
            stop = getattr(self.risk, name)
            if stop is not None and stop.atr_timeframe is not None:
                checks.append((f"risk.{name}.atr_timeframe", stop.atr_timeframe,
                               f"ATR({stop.atr_timeframe})"))
        for path, timeframe, text in checks:
            ratio = timeframe_delta(timeframe) / base
            if ratio < 1 or ratio != int(ratio):
                problems.append((path, f"{text} uses {timeframe} candles, which cannot be built "
                                       f"from the tree's {self.timeframe} candles",
                                 f"use a timeframe that is a whole multiple of {self.timeframe} "
                                 f"(e.g. {self.timeframe} or 1d), or lower the tree's timeframe"))
        return problems

    def _take_profit_problems(self) -> list[tuple[str, str, str]]:
        problems = []
        total = 0.0
        for i, stage in enumerate(self.take_profit):
            path = f"take_profit[{i}]"
            previous = self.take_profit[i - 1].level if i else None
            if previous is not None and stage.level <= previous:
                problems.append((f"{path}.level", f"level {format_percent(stage.level)} is not "
                                 f"above the previous stage's {format_percent(previous)}",
                                 "list take-profit stages by rising level"))
            if stage.action is None and i != len(self.take_profit) - 1:
                problems.append((f"{path}.action", "close_remaining closes everything, so no "
                                 "stage can follow it", "make close_remaining the last stage"))
            total += stage.action or 0.0
        if total > 1 + TOLERANCE:
            problems.append(("take_profit", f"take-profit stages close "
                             f"{format_percent(round(total, 12))} of the position in total, "
                             "more than 100%", "make the close_N% fractions add up to 100% at "
                             "most (the last stage can be close_remaining)"))
        return problems


class StrategyDocument(_Model):
    """The file layout: the tree under ``strategy:``."""

    strategy: StrategyTree


def json_schema() -> dict:
    """JSON Schema (draft 2020-12) of a strategy-tree document (``{"strategy": {...}}``) in
    its canonical form (``io`` also reads the shorthands listed in the module docstring)."""
    schema = StrategyDocument.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": f"Strategy tree v{SCHEMA_VERSION}",
            "description": "Engine-neutral strategy tree (plugins.strategy_tree)", **schema}
