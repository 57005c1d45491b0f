"""Facts about a tree that both compilers (and the code they generate) need.

- identity: ``canonical_json(tree)`` (sorted keys, no spaces: the form the hash is taken of),
  ``tree_sha256(tree)``, ``class_name(tree)`` (CamelCase of the name, a valid Python class
  name that shadows nothing the generated module imports);
- the series a compiled strategy computes: ``tree_series(tree)`` - every series the
  conditions read plus the ATR of an ATR stop, each with the tree paths that read it;
- what data they need: ``data_needs(tree)`` (one line per need, naming how to provide it) and
  ``startup_candles(tree)`` (warm-up candles of the tree's timeframe);
- ``informative_assets(tree)``: assets whose *candles* a series reads (not alt data).

Nothing here evaluates a tree; the reference semantics are ``plugins.strategy_tree.interpreter``.
"""

from __future__ import annotations

import hashlib
import json
import keyword
import math
import re
from dataclasses import dataclass

from plugins.strategy_tree.grammar import Series
from plugins.strategy_tree.io import tree_data
from plugins.strategy_tree.registry import OHLCV
from plugins.strategy_tree.schema import CalendarFilter, StrategyTree
from plugins.strategy_tree.units import timeframe_delta

#: Names the generated modules define or import; a class named like one gets a ``Tree`` suffix.
RESERVED = frozenset({
    "BaseStrategy", "DataFrame", "EventCalendar", "IStrategy", "Order", "RiskGuardMixin",
    "SeriesFrame", "StrategyTree", "Timestamp", "Trade", "TreeBook", "Truth", "TreeEvaluationError",
})
#: TA-Lib look-back (candles before the first value) per function, from its parameters.
_LOOKBACK = {
    "RSI": lambda p: p[0], "EMA": lambda p: p[0] - 1, "SMA": lambda p: p[0] - 1,
    "ATR": lambda p: p[0], "ADX": lambda p: 2 * p[0] - 1, "ROC": lambda p: p[0],
    "MOM": lambda p: p[0], "MACD": lambda p: p[1] + p[2] - 2, "BBANDS": lambda p: p[0] - 1,
}
#: Recursive indicators (Wilder / EMA smoothing) get this many times their look-back, so the
#: start of the data barely moves the values a strategy trades on.
_RECURSIVE = {"RSI": 2, "EMA": 2, "ATR": 2, "ADX": 2, "MACD": 2}


def canonical_json(tree: StrategyTree) -> str:
    """The canonical document (``io.tree_data``) as compact JSON with sorted keys: two equal
    trees give the same text, whatever their files looked like."""
    return json.dumps(tree_data(tree), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def tree_sha256(tree: StrategyTree) -> str:
    """sha256 (hex) of ``canonical_json(tree)``: the tree a compiled file was built from."""
    return hashlib.sha256(canonical_json(tree).encode("utf-8")).hexdigest()


def class_name(tree: StrategyTree) -> str:
    """CamelCase of the tree's name: ``BTC_fear_accumulation_v1`` -> ``BtcFearAccumulationV1``.

    Parts split at ``_ . -``; an all-capitals part is capitalized (``BTC`` -> ``Btc``), others
    keep their inner capitals (``myTree`` -> ``MyTree``). A keyword or a name the generated
    module uses (``RESERVED``) gets a ``Tree`` suffix.
    """
    parts = [p for p in re.split(r"[_.\-]+", tree.name) if p]
    name = "".join(p.capitalize() if p.isupper() or p.isdigit() else p[0].upper() + p[1:]
                   for p in parts)
    if keyword.iskeyword(name) or name in RESERVED:
        name += "Tree"
    return name


@dataclass(frozen=True)
class TreeSeries:
    """One series a compiled strategy computes.

    Attributes:
        series: the grammar node (``key`` = its canonical text = the column name).
        paths: tree paths reading it (``entry.conditions[0]``, ``risk.stop_loss``).
    """

    series: Series
    paths: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.series.key


def stop_series(tree: StrategyTree) -> dict[str, Series]:
    """The ATR series of ATR stops, by path (``risk.stop_loss`` / ``risk.trailing``), built
    exactly as the interpreter builds them (``interpreter._stop_atr``)."""
    out = {}
    for which in ("stop_loss", "trailing"):
        stop = getattr(tree.risk, which)
        if stop is not None and stop.type == "atr":
            out[f"risk.{which}"] = Series("ATR", None, stop.atr_timeframe, None, (stop.atr_period,))
    return out


def tree_series(tree: StrategyTree) -> list[TreeSeries]:
    """Every series the compiled strategy computes, in first-use order: the conditions'
    (``tree.series()``) and the ATR of ATR stops."""
    paths: dict[Series, list[str]] = {}
    for path, node in tree.conditions():
        for s in node.series():
            where = paths.setdefault(s, [])
            if path not in where:
                where.append(path)
    for path, s in stop_series(tree).items():
        paths.setdefault(s, []).append(path)
    return [TreeSeries(s, tuple(p)) for s, p in paths.items()]


def is_candle_column(s: Series) -> bool:
    """The series is a plain candle column of the evaluated pair (``close``): no column to add."""
    return s.spec.kind == "ohlcv" and s.asset is None and s.timeframe is None and s.name in OHLCV


def informative_assets(tree: StrategyTree) -> list[str]:
    """Assets whose candles a market series names (``RSI(ETH, 1d)`` -> ``ETH``) and that are not
    the traded pair itself for every pair the tree trades, in first-use order (for a pair whose
    base is the asset, the pair's own candles are used, as in the interpreter)."""
    bases = {pair.split("/")[0] for pair in tree.assets}
    seen: dict[str, None] = {}
    for item in tree_series(tree):
        s = item.series
        if s.spec.kind in ("ohlcv", "indicator") and s.asset is not None and (
                bases != {s.asset.split("/")[0]}):
            seen.setdefault(s.asset, None)
    return list(seen)


def needs_calendar(tree: StrategyTree) -> bool:
    """A ``no_entry_within`` filter or an ``hours_*`` series reads the FOMC/CPI calendar."""
    return any(isinstance(f, CalendarFilter) for f in tree.filters) or any(
        item.series.spec.kind == "calendar" for item in tree_series(tree))


def altdata_series(tree: StrategyTree) -> list[TreeSeries]:
    """The alternative-data series the tree reads."""
    return [item for item in tree_series(tree) if item.series.spec.kind == "altdata"]


def reads_regime(tree: StrategyTree) -> bool:
    return any(item.series.spec.kind == "regime" for item in tree_series(tree))


def startup_candles(tree: StrategyTree) -> int:
    """Warm-up candles (of the tree's timeframe) before the first signal can be trusted.

    Per market series: TA-Lib's look-back (x2 for recursive indicators), in candles of the
    series' timeframe, converted to the tree's timeframe plus one leading partial candle;
    +1 for ``crosses_*`` (the previous candle). At least 1.
    """
    base = timeframe_delta(tree.timeframe)
    need = 1
    for item in tree_series(tree):
        s = item.series
        if s.spec.kind not in ("ohlcv", "indicator"):
            continue
        ratio = int(timeframe_delta(s.timeframe) / base) if s.timeframe else 1
        look = 0
        if s.spec.talib is not None:
            fn = s.spec.talib[0]
            look = math.ceil(_LOOKBACK[fn](s.params)) * _RECURSIVE.get(fn, 1)
        need = max(need, (look + 2) * ratio + ratio)
    return need


def data_needs(tree: StrategyTree) -> list[str]:
    """What a compiled strategy reads besides its own candles, one line each, with where it
    comes from and - where no shipped source exists - how to provide it."""
    lines = []
    assets = informative_assets(tree)
    if assets:
        lines.append(f"candles of {', '.join(assets)} ({tree.timeframe}) besides the traded pair")
    for item in altdata_series(tree):
        spec = item.series.spec
        line = (f"{item.key}: alt-data column {spec.column} (read by {', '.join(item.paths)})")
        if spec.notes and "no plugins.altdata provider" in spec.notes:
            line += (f" - NO shipped provider: {spec.notes}; without it the strategy stops at "
                     "start with this message, so it cannot be backtested on the shipped data "
                     "as is")
        lines.append(line)
    if needs_calendar(tree):
        lines.append("the FOMC/CPI calendar (<alt-data cache>/calendar)")
    if reads_regime(tree):
        lines.append("a 'regime' column per candle (no shipped source: override "
                     "populate_regime / pass candles with a regime column)")
    return lines
