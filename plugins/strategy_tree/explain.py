"""Plain-English rendering of a strategy tree (``python -m plugins.strategy_tree explain``).

``explain(tree)`` returns the text; ``describe(node)`` renders one condition. The wording
follows the interpreter's rules (``interpreter``), so the text can be reviewed against what
will run: decisions at candle closes, missing data never opens a trade, take-profit fractions
of the peak position, the stop in force from the candle after an entry.
"""

from __future__ import annotations

from plugins.strategy_tree.grammar import (
    And,
    Compare,
    Cross,
    InList,
    Node,
    Not,
    Number,
    Or,
    Series,
    String,
)
from plugins.strategy_tree.schema import (
    CalendarFilter,
    ConditionFilter,
    ConditionGroup,
    RequireFilter,
    StrategyTree,
    _Stop,
)
from plugins.strategy_tree.units import format_percent

_OPS = {"<": "is below", "<=": "is at or below", ">": "is above", ">=": "is at or above",
        "==": "equals", "!=": "is not"}
_EVENTS = {"FOMC": "an FOMC decision", "CPI": "a CPI release"}
_REFERENCES = {"average_entry_price": "the average entry price",
               "first_entry_price": "the first entry price",
               "last_entry_price": "the latest entry price"}


def describe_series(s: Series) -> str:
    """``RSI(BTC, 1d)`` -> ``the 14-period RSI of BTC on 1d candles``."""
    spec = s.spec
    names = {p.name: (int(v) if v == int(v) else v) for p, v in zip(spec.params, s.params, strict=True)}
    noun = spec.noun.format(**names)
    if spec.kind in ("ohlcv", "indicator"):
        text = f"the {noun}"
        if s.asset is not None:
            text += f" of {s.asset}"
        if s.timeframe is not None:
            text += f" on {s.timeframe} candles"
        return text
    if spec.kind == "altdata":
        subject = f"{noun} for {s.asset}" if s.asset is not None else noun
        if s.window is None:
            return f"the latest {subject}"
        how = "sum" if spec.agg == "sum" else "average"
        return f"the {s.window} {how} of {subject}"
    if spec.kind == "regime":
        return "the market regime"
    return f"the {noun}"


def _operand(node: Node) -> str:
    if isinstance(node, Series):
        return describe_series(node)
    if isinstance(node, Number):
        return node.render()
    if isinstance(node, String):
        return f'"{node.value}"'
    return node.render()


def describe(node: Node) -> str:
    """A condition in English (``RSI(BTC, 1D) < 30`` -> ``the 14-period RSI of BTC on 1d
    candles is below 30``)."""
    if isinstance(node, And | Or):
        word = " and " if isinstance(node, And) else " or "
        return word.join(_grouped(item) for item in node.items)
    if isinstance(node, Not):
        return f"not ({describe(node.item)})"
    if isinstance(node, InList):
        return f"{describe_series(node.left)} is one of {', '.join(node.values)}"
    if isinstance(node, Compare):
        return f"{_operand(node.left)} {_OPS[node.op]} {_operand(node.right)}"
    if isinstance(node, Cross):
        return f"{_operand(node.left)} crosses {node.direction} {_operand(node.right)}"
    return node.render()


def _grouped(node: Node) -> str:
    text = describe(node)
    return f"({text})" if isinstance(node, And | Or) else text


def _group(group: ConditionGroup, title: str) -> list[str]:
    if len(group.conditions) == 1:
        return [f"{title} when {describe(group.conditions[0])}."]
    word = "all" if group.logic == "ALL" else "at least one"
    lines = [f"{title} when {word} of these hold{'s' if word != 'all' else ''}:"]
    lines += [f"  {i}. {describe(c)}" for i, c in enumerate(group.conditions, 1)]
    return lines


def _stop(stop: _Stop, below: str) -> str:
    if stop.type == "percentage":
        return f"{format_percent(stop.value)} below {below}"
    timeframe = f" on {stop.atr_timeframe} candles" if stop.atr_timeframe else ""
    return (f"{stop.value:g} x ATR({stop.atr_period}){timeframe} below {below} (ATR taken at the "
            "latest batch)")


def explain(tree: StrategyTree) -> str:
    """The whole tree as English text (one rule per line or block)."""
    lines = [f"{tree.name} (strategy tree schema v{tree.schema_version})"]
    if tree.description:
        lines.append(tree.description)
    lines.append(f"Trades {', '.join(tree.assets)} long, deciding at the close of each "
                 f"{tree.timeframe} candle.")
    lines.append("")
    lines += _group(tree.entry, "Enter")
    if tree.exit is not None:
        lines += _group(tree.exit, "Exit everything at the close")
    lines.append("Missing data counts as 'not met' for entries and as 'blocking' for filters.")
    if tree.filters:
        lines.append("No entry:")
        for f in tree.filters:
            if isinstance(f, CalendarFilter):
                events = " or ".join(_EVENTS[e] for e in f.events)
                lines.append(f"  - within {f.no_entry_within} before or after {events}")
            elif isinstance(f, ConditionFilter):
                lines.append(f"  - while {describe(f.no_entry_if)}")
            elif isinstance(f, RequireFilter):
                lines.append(f"  - unless {describe(f.only_if)}")
    pos = tree.position
    size = format_percent(pos.size_per_batch)
    cap = format_percent(pos.max_total_exposure)
    if pos.batches == 1:
        lines.append(f"Position: one entry of {size} of equity (at most {cap} in total).")
    else:
        when = ("while the entry signal still holds" if pos.add_on == "signal"
                else "on schedule, unless a filter blocks")
        lines.append(f"Position: scales in up to {pos.batches} batches of {size} of equity, at "
                     f"least {pos.interval} apart, each {when}, until the first take profit; "
                     f"at most {cap} of equity in total.")
    lines.append(f"Stop loss: {_stop(tree.risk.stop_loss, _REFERENCES[tree.risk.stop_loss.reference])}"
                 ", checked from the candle after each entry.")
    if tree.risk.trailing is not None:
        trail = tree.risk.trailing
        start = ("from the first entry" if trail.activate_at == 0 else
                 f"once the price has risen {format_percent(trail.activate_at)} above the "
                 "average entry price")
        lines.append(f"Trailing stop: {_stop(trail, 'the highest high since the first entry')}, "
                     f"active {start}.")
    if tree.take_profit:
        lines.append("Take profit (fractions of the peak position):")
        for stage in tree.take_profit:
            what = ("close the remaining position" if stage.action is None
                    else f"close {format_percent(stage.action)} of the position")
            lines.append(f"  - at +{format_percent(stage.level)} over the average entry price, "
                         f"{what}")
    else:
        lines.append("Take profit: none.")
    if tree.expiry is not None:
        lines.append(f"Expiry: if no entry happens within {tree.expiry} of activation, the "
                     "strategy expires (no further entries).")
    else:
        lines.append("Expiry: never.")
    return "\n".join(lines)
