"""Strategy tree -> a readable ``backtrader.Strategy`` source file, or the class in memory.

``render(tree)`` returns the source; ``compile_tree(tree, out_dir)`` writes it to
``<out_dir>/<ClassName>.py``; ``build_backtrader_strategy(tree)`` compiles the same source in
memory and returns the class (the Alpaca adapter calls it).

The generated module holds:

- ``tree_signals(candles, pair=..., altdata=..., calendar=..., informative=..., start=...)``:
  the interpreter's signal columns (``entry_signal filter_block expired enter_long exit_long``,
  plus ``add`` and every series) for a candle frame - the same statements as the Freqtrade
  compiler's ``populate_*`` (``codegen.entry_block`` / ``exit_block``) over the series of
  ``runtime.SeriesFrame`` (the interpreter's own functions);
- ``class <ClassName>(bt.Strategy)``: per feed (named after a tree asset, or ``pair=`` for a
  single feed) it computes those signals from the feed's bars (``bt_runtime.feed_frame``) -
  or takes precomputed interpreter ``Signals`` (``signals=``) - and trades them the
  interpreter's way: at bar ``t`` (after its close) exit on the exit signal, add a batch,
  or enter, with market orders; then a ``Stop`` order for the whole position at the stop
  and a ``Limit`` order for the next take-profit stage (one cancels the other), both for bar
  ``t + 1``. ``tree_log`` lists every fill as ``{date, action, price, size}``.

With ``cerebro.broker.set_coc(True)`` (cheat-on-close) market orders fill at the signal bar's
close and the fills equal the interpreter's: stops at min(open, stop) and take profits at
max(open, level), as backtrader's Stop and Limit orders fill. Differences: see
``DIFFERENCES``.
"""

from __future__ import annotations

import linecache
import sys
import types
from typing import TYPE_CHECKING

from plugins.strategy_tree.compilers.codegen import (
    Code,
    Frame,
    docstring,
    entry_block,
    exit_block,
    py_float,
    py_timedelta,
    stop_text,
)
from plugins.strategy_tree.compilers.common import (
    altdata_series,
    class_name,
    is_candle_column,
    needs_calendar,
    reads_regime,
    stop_series,
    tree_series,
    tree_sha256,
)
from plugins.strategy_tree.compilers.skeleton import Section, TreeCompiler
from plugins.strategy_tree.explain import describe_series
from plugins.strategy_tree.io import as_tree
from plugins.strategy_tree.schema import StrategyTree
from plugins.strategy_tree.units import format_percent

if TYPE_CHECKING:
    import backtrader as bt

#: The documented differences between a compiled backtrader strategy and the interpreter.
DIFFERENCES = (
    "without cheat-on-close (backtrader's default) entries, added batches and signal exits fill "
    "at the next bar's open (the interpreter: at the signal bar's close); the book then takes "
    "the real fill prices, so levels move with them",
    "one take-profit stage per bar: a bar whose range reaches two stages fills the first, the "
    "next on a later bar (the interpreter fills both in that bar)",
    "order sizes are units of the asset worth size_per_batch of the broker's value at the "
    "signal bar's close; the broker may reject an order the cash does not cover (logged)",
    "fees: the broker's commission (none by default; the interpreter has none)",
)


class BacktraderCompiler(TreeCompiler):
    """Strategy tree -> a ``backtrader.Strategy`` file (the module docstring)."""

    engine = "backtrader"
    title = "backtrader strategy"
    unit = "bars"
    differences = DIFFERENCES
    take_profit_only = "one take-profit"

    def usage(self, tree: StrategyTree, name: str) -> list[str]:
        return [
            "Use (one feed per traded pair, named after it; bars of the tree's timeframe):",
            "",
            f"    cerebro.adddata(bt.feeds.PandasData(dataname=bars), name={tree.assets[0]!r})",
            f"    cerebro.addstrategy({name})  # altdata=, calendar=, start=, signals= as needed",
            "    cerebro.broker.set_coc(True)  # fill at the signal bar's close, as the interpreter",
        ]

    def semantics(self) -> str:
        return ("Semantics: the reference interpreter's (plugins.strategy_tree.interpreter); the "
                "series are computed by its own functions (compilers.runtime), so tree_signals() "
                "equals its signal columns bar for bar. Expiry counts from start= (default: the "
                "first bar).")

    def sections(self, tree: StrategyTree, name: str) -> list[Section]:
        return [lambda code: _signals_function(code, tree), lambda code: _class(code, tree, name)]

    def interval_constant(self, code: Code, tree: StrategyTree) -> None:
        pos = tree.position
        interval_ns = int(pos.interval.total_seconds() * 10**9) if pos.interval is not None else 0
        code.add(f"INTERVAL_NS = {interval_ns}  # {py_timedelta(pos.interval)}")


def build_backtrader_strategy(tree: StrategyTree) -> type[bt.Strategy]:
    """The compiled ``backtrader.Strategy`` subclass of ``tree``, built in memory from the
    same source ``compile_tree`` writes (its module is registered as
    ``plugins.strategy_tree.compiled.<ClassName>``, so tracebacks show the generated lines).

    Raises:
        TreeValidationError: ``tree`` is not a valid tree (plain data or a path is validated).
    """
    tree = as_tree(tree)
    name = class_name(tree)
    source = BacktraderCompiler().render(tree)
    module_name = f"plugins.strategy_tree.compiled.{name}"
    filename = f"<compiled strategy tree {tree.name} {tree_sha256(tree)[:12]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(module_name, f"backtrader strategy compiled from tree {tree.name}")
    module.__file__ = filename
    sys.modules[module_name] = module
    exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102 - our own generated code
    return getattr(module, name)


def _signals_function(code: Code, tree: StrategyTree) -> None:
    args = ["pair=pair"]
    if altdata_series(tree):
        args.append("altdata=altdata")
    if needs_calendar(tree):
        args.append("calendar=calendar")
    args.append("informative=informative")
    code.add("def tree_signals(candles: pd.DataFrame, *, pair: str, altdata: pd.DataFrame | None = None,")
    code.add("                 calendar: EventCalendar | None = None,")
    code.add("                 informative: dict[str, pd.DataFrame] | None = None,")
    code.add("                 start: pd.Timestamp | None = None) -> pd.DataFrame:")
    code.add(docstring(
        "The interpreter's signal columns for ``candles`` (date + open high low close volume of "
        "the tree's timeframe, a 'regime' column when the tree reads it): entry_signal, "
        "filter_block, expired, enter_long, exit_long (bool), add (a further batch may be "
        "added) and one column per series, row for row. ``altdata`` / ``calendar`` / "
        "``informative`` as interpreter.evaluate takes them; ``start``: activation (default "
        "the first candle).\n\nRaises:\n    TreeEvaluationError: data the tree needs is missing "
        "(names the series and the fix).", 1))
    code.assign("series", "SeriesFrame", ["TREE", "candles", *args], 1)
    code.add('df = pd.DataFrame({"date": candles["date"]}, index=candles.index)', 1)
    for column in ("open", "high", "low", "close", "volume"):
        code.add(f'df["{column}"] = candles["{column}"].to_numpy(dtype="float64")', 1)
    if reads_regime(tree):
        code.add('df["regime"] = candles["regime"].to_numpy(dtype=object)', 1)
    for item in tree_series(tree):
        if is_candle_column(item.series) or item.series.spec.kind == "regime":
            continue
        code.comment(f"{', '.join(item.paths)}: {describe_series(item.series)}", 1)
        code.add(f"df[{item.key!r}] = series.values({item.key!r})", 1)
    code.add('start = start_ns(start, df["date"])', 1)
    entry_block(code, tree, Frame(df="df", calendar="calendar", start="start"), 1)
    exit_block(code, tree, Frame(df="df", calendar="calendar", start="start"), 1)
    for column, var in (("entry_signal", "entry.true"), ("filter_block", "filter_block"),
                        ("expired", "expired"), ("enter_long", "enter"), ("exit_long", "exit_signal"),
                        ("add", "add")):
        code.add(f"df[{column!r}] = {var}", 1)
    code.add("return df", 1)


def _class(code: Code, tree: StrategyTree, name: str) -> None:
    atr = stop_series(tree)
    code.add(f"class {name}(bt.Strategy):")
    code.add(docstring(
        f"Strategy tree {tree.name}, compiled (see the module docstring).\n\nParams: pair (the "
        "tree asset of a single unnamed feed), altdata, calendar, informative, start (as "
        "tree_signals), signals (precomputed interpreter Signals, or {pair: Signals}, instead "
        "of computing them from the bars). tree_log: every fill, {date, action, price, size}; "
        "date is the signal bar for market orders and the bar of the fill for stops and take "
        "profits (the interpreter's action candle).", 1))
    code.add()
    code.add('params = (("pair", None), ("altdata", None), ("calendar", None), ("informative", None),',
             1)
    code.add('          ("start", None), ("signals", None))', 1)
    code.add()
    code.add("def __init__(self) -> None:", 1)
    code.add("self.tree_log: list[dict] = []", 2)
    code.add("self.tree_feeds: dict = {}", 2)
    code.add("names = [d._name for d in self.datas]", 2)
    code.add("for data in self.datas:", 2)
    code.add("pair = data._name.upper() if data._name else None", 3)
    code.add("if pair is not None and pair not in TREE.assets:", 3)
    code.add("pair = next((a for a in TREE.assets if a.split('/')[0] == pair), None)", 4)
    code.add("if pair is None and len(self.datas) == 1:", 3)
    code.add("pair = (self.p.pair or TREE.assets[0]).upper()", 4)
    code.add("if pair is None:", 3)
    code.add("raise TreeEvaluationError(f\"feed {data._name!r} is none of the assets of tree \"", 4)
    code.add("                          f\"{TREE.name} ({', '.join(TREE.assets)}); name each feed \"",
             4)
    code.add("                          f\"after its pair (cerebro.adddata(feed, name=...)), got \"",
             4)
    code.add('                          f"{names}")', 4)
    code.add("self.tree_feeds[data] = FeedState(pair)", 3)
    code.add()
    _class_signals(code)
    _levels(code, tree)
    _next(code, tree, atr)
    _notify(code)
    while code.lines and not code.lines[-1]:
        code.lines.pop()


def _class_signals(code: Code) -> None:
    code.add("def tree_row(self, data, state: FeedState, i: int) -> dict:", 1)
    code.add(docstring("Signals of bar ``i`` of ``data``: computed from the feed's bars (all of "
                       "them when preloaded; again when a live feed grew) or taken from "
                       "precomputed Signals.", 2))
    code.add('if state.signals is None or i >= len(state.arrays["enter_long"]):', 2)
    code.add("candles = feed_frame(data, TIMEFRAME)", 3)
    code.add("given = self.p.signals", 3)
    code.add("if given is not None:", 3)
    code.add("signals = given[state.pair] if isinstance(given, dict) else given", 4)
    code.add('frame = align_signals(signals, candles["date"], TREE, self.p.start)', 4)
    code.add("else:", 3)
    code.add("frame = tree_signals(candles, pair=state.pair, altdata=self.p.altdata,", 4)
    code.add("                     calendar=self.p.calendar, informative=self.p.informative,", 4)
    code.add("                     start=self.p.start)", 4)
    code.add("state.signals = frame", 3)
    code.add("state.arrays = {c: frame[c].to_numpy() for c in frame.columns if c != 'regime'}", 3)
    code.add('state.arrays["close_ns"] = close_ns(frame["date"], TIMEFRAME)', 3)
    code.add("return {k: v[i] for k, v in state.arrays.items()}", 2)
    code.add()


def _levels(code: Code, tree: StrategyTree) -> None:
    stop = tree.risk.stop_loss
    trail = tree.risk.trailing
    code.add("def tree_levels(self, book: TreeBook) -> tuple[float, bool, float]:", 1)
    code.add(docstring(f"risk: {stop_text(tree)}. Returns (the stop for the next bar, whether the "
                       "trailing level is the binding one, the next take-profit price or NaN): "
                       "the interpreter's levels.", 2))
    ref = repr(stop.reference)
    if stop.type == "percentage":
        code.comment(f"risk.stop_loss: {format_percent(stop.value)} below the "
                     f"{stop.reference.replace('_', ' ')}", 2)
        code.add(f"stop = book.reference({ref}) * (1 - {py_float(stop.value)})", 2)
    else:
        code.comment(f"risk.stop_loss: {stop.value:g} x ATR of the latest batch's bar below the "
                     f"{stop.reference.replace('_', ' ')}", 2)
        code.add(f"stop = book.reference({ref}) - {py_float(stop.value)} * book.atr", 2)
    code.add("trailing = False", 2)
    if trail is not None:
        code.comment(f"risk.trailing: once the highest high since the first entry is "
                     f"{format_percent(trail.activate_at)} above the average entry price", 2)
        code.add(f"if book.highest >= book.average * (1 + {py_float(trail.activate_at)}):", 2)
        if trail.type == "percentage":
            code.add(f"trail = book.highest * (1 - {py_float(trail.value)})", 3)
        else:
            code.add(f"trail = book.highest - {py_float(trail.value)} * book.trail_atr", 3)
        code.add("if trail > stop:", 3)
        code.add("stop, trailing = trail, True", 4)
    if tree.take_profit:
        code.comment("take_profit: the next pending stage", 2)
        code.add("take_profit = float('nan')", 2)
        code.add("if book.tp_next < len(TAKE_PROFITS):", 2)
        code.add("take_profit = book.average * (1 + TAKE_PROFITS[book.tp_next][0])", 3)
        code.add("return stop, trailing, take_profit", 2)
    else:
        code.add("return stop, trailing, float('nan')  # no take-profit stages", 2)
    code.add()


def _next(code: Code, tree: StrategyTree, atr: dict) -> None:
    pos = tree.position
    nan = 'float("nan")'
    atr_value = f'row[{atr["risk.stop_loss"].key!r}]' if "risk.stop_loss" in atr else nan
    trail_value = f'row[{atr["risk.trailing"].key!r}]' if "risk.trailing" in atr else nan
    code.add("def next(self) -> None:", 1)
    code.add(docstring("After each bar's close: per feed, the interpreter's order of actions - "
                       "exit signal, else a further batch; entry when flat (not on a bar that "
                       "closed a position) - then the protective orders for the next bar.", 2))
    code.add("for data, state in self.tree_feeds.items():", 2)
    code.add("i = len(data) - 1", 3)
    code.add("row = self.tree_row(data, state, i)", 3)
    code.add("for order in state.orders:", 3)
    code.add("self.cancel(order)", 4)
    code.add("state.orders = []", 3)
    code.add("book = state.book", 3)
    code.add("if book is not None:", 3)
    code.add("book.highest = max(book.highest, data.high[0])  # after this bar's stop / take profit",
             4)
    code.add('if row["exit_long"]:', 4)
    code.comment("exit: the whole position at the close", 5)
    code.add('self.tree_order(data, state, i, "exit_signal", -book.held)', 5)
    code.add("state.book = None", 5)
    if pos.batches > 1:
        first = "book.tp_next == 0 and " if tree.take_profit else ""
        code.add(f'elif ({first}len(book.prices) < BATCHES and row["add"]', 4)
        code.add('      and row["close_ns"] - book.last_add_ns >= INTERVAL_NS):', 4)
        code.comment(f"position: a further batch ({pos.interval} or more after the previous one, "
                     f"add_on {pos.add_on}, none after a take profit)", 5)
        code.add('size = self.tree_order(data, state, i, "add", None)', 5)
        code.add("book.prices.append(data.close[0])", 5)
        code.add("book.sizes.append(size)", 5)
        code.add("book.held += size", 5)
        code.add('book.last_add_ns = int(row["close_ns"])', 5)
        code.add(f"book.atr = {atr_value}", 5)
        code.add(f"book.trail_atr = {trail_value}", 5)
    code.add('elif row["enter_long"] and state.closed_bar != i:', 3)
    code.comment("entry: the first batch at the close", 4)
    code.add('size = self.tree_order(data, state, i, "enter", None)', 4)
    code.add("state.book = TreeBook(prices=[data.close[0]], sizes=[size], "
             'last_add_ns=int(row["close_ns"]),', 4)
    code.add(f"                      atr={atr_value}, trail_atr={trail_value},", 4)
    code.add("                      highest=data.close[0], entry_bar=i, held=size)", 4)
    code.add("if state.book is not None:", 3)
    code.add("self.tree_protect(data, state)", 4)
    code.add()
    code.add("def tree_order(self, data, state: FeedState, i: int, action: str,", 1)
    code.add("               size: float | None) -> float:", 1)
    code.add(docstring("A market order for ``action`` (``size`` None: a batch of SIZE_PER_BATCH "
                       "of the broker's value at this close; negative: a sale); returns its size.",
                       2))
    code.add("if size is None:", 2)
    code.add("size = SIZE_PER_BATCH * self.broker.getvalue() / data.close[0]", 3)
    code.add("order = self.buy(data=data, size=size) if size > 0 else self.sell(data=data, size=-size)",
             2)
    code.add("order.addinfo(tree_action=action, tree_bar=i)", 2)
    code.add("return size", 2)
    code.add()
    code.add("def tree_protect(self, data, state: FeedState) -> None:", 1)
    code.add(docstring("The stop for the whole position, then the next take-profit stage (one "
                       "cancels the other): Stop and Limit orders for the next bar.", 2))
    code.add("book = state.book", 2)
    code.add("stop, trailing, take_profit = self.tree_levels(book)", 2)
    code.add("order = self.sell(data=data, size=book.held, exectype=bt.Order.Stop, price=stop)", 2)
    code.add('order.addinfo(tree_action="trailing_stop" if trailing else "stop_loss")', 2)
    code.add("state.orders = [order]", 2)
    if tree.take_profit:
        code.add("if take_profit == take_profit:  # not NaN", 2)
        code.add("fraction = TAKE_PROFITS[book.tp_next][1]", 3)
        code.add("last = fraction is None or book.closed + fraction >= 1 - 1e-12", 3)
        code.add("size = book.held if last else fraction * book.peak", 3)
        code.add("limit = self.sell(data=data, size=size, exectype=bt.Order.Limit, price=take_profit,",
                 3)
        code.add("                  oco=order)", 3)
        code.add('limit.addinfo(tree_action=f"take_profit_{book.tp_next + 1}", tree_last=last)', 3)
        code.add("state.orders.append(limit)", 3)
    code.add()


def _notify(code: Code) -> None:
    code.add("def notify_order(self, order) -> None:", 1)
    code.add(docstring("Fills update the book (a stop or the last take profit closes it; a "
                       "market fill's real price replaces the close it was sized at) and "
                       "tree_log.", 2))
    code.add("state = self.tree_feeds.get(order.data)", 2)
    code.add('action = order.info.get("tree_action")', 2)
    code.add("if state is None or action is None or order.status in (order.Submitted, order.Accepted):",
             2)
    code.add("return", 3)
    code.add("i = len(order.data) - 1", 2)
    code.add("if order.status != order.Completed:", 2)
    code.add("if order.status != order.Canceled:", 3)
    code.add('logger.warning("%s %s order %s: %s", state.pair, action, order.getstatusname(), order)',
             4)
    code.add("return", 3)
    code.add("price, size = order.executed.price, abs(order.executed.size)", 2)
    code.add('bar = order.info.get("tree_bar", i)', 2)
    code.add("book = state.book", 2)
    code.add('if action in ("enter", "add") and book is not None:', 2)
    code.add("book.prices[len(book.prices) - 1 if action == 'add' else 0] = price", 3)
    code.add('elif action in ("stop_loss", "trailing_stop"):', 2)
    code.add("state.book, state.closed_bar = None, i", 3)
    code.add('elif action.startswith("take_profit_") and book is not None:', 2)
    code.add('fraction = 1.0 if order.info.get("tree_last") else size / book.peak', 3)
    code.add("book.closed = min(1.0, book.closed + fraction)", 3)
    code.add("book.tp_next += 1", 3)
    code.add("book.held -= size", 3)
    code.add('if order.info.get("tree_last"):', 3)
    code.add("state.book, state.closed_bar = None, i", 4)
    code.add('date = state.signals["date"].iloc[bar]', 2)
    code.add('self.tree_log.append({"pair": state.pair, "date": date, "action": action, "price": price,',
             2)
    code.add('                      "size": size})', 2)
