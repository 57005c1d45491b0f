"""Strategy tree -> a readable Freqtrade ``IStrategy`` source file.

``render(tree)`` returns the source; ``compile_tree(tree, out_dir)`` writes it to
``<out_dir>/<ClassName>.py`` (``freqtrade backtesting --strategy <ClassName> --strategy-path
<out_dir>`` loads it). The class is ``class <ClassName>(ExecutionCostMixin, RiskGuardMixin,
IStrategy)`` (modelled execution costs on its fills, the risk guard), the CamelCase of the
tree's name (``common.class_name``).

What the generated file contains (each block commented with the tree path it implements):

- a header: tree name, schema version, sha256 of the canonical tree, ``explain`` text, the
  data it reads (and, for a series no shipped provider has, how to provide it), and the
  documented differences from the reference interpreter;
- the canonical tree itself (``TREE``; its hash is checked at import, so a hand-edited file
  fails to load) and its numbers as constants;
- ``populate_indicators``: every series via ``runtime.SeriesFrame`` - the interpreter's own
  functions, nothing re-derived; ``populate_entry_trend`` / ``populate_exit_trend``: the
  tree's conditions as three-valued logic (``codegen.entry_block`` / ``exit_block``), so
  ``enter_long`` / ``tree_exit`` equal the interpreter's ``enter_long`` / ``exit_long``;
- ``custom_stake_amount`` + ``adjust_trade_position``: scaled entries (batches, interval,
  ``position_adjustment_enable``) and staged take profits as partial exits (a negative stake);
- ``custom_stoploss``: the percentage or ATR stop (and trailing stop) from the tree's
  reference price, as an absolute level (``after_fill`` lets it follow the average);
- ``confirm_trade_entry`` (no entry on a candle that closed a position) and ``custom_exit``
  (the tree's exit where Freqtrade would ignore ``exit_long``).

Freqtrade acts on candle ``t``'s signals at the open of ``t + 1``; the interpreter at ``t``'s
close. See ``DIFFERENCES`` for what that (and Freqtrade's own fills) changes.
"""

from __future__ import annotations

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
    informative_assets,
    is_candle_column,
    needs_calendar,
    reads_regime,
    startup_candles,
    stop_series,
    tree_series,
)
from plugins.strategy_tree.compilers.skeleton import Section, TreeCompiler
from plugins.strategy_tree.explain import describe_series
from plugins.strategy_tree.schema import CalendarFilter, StrategyTree
from plugins.strategy_tree.units import format_percent, timeframe_delta

#: The documented differences between a compiled Freqtrade strategy and the interpreter
#: (``tests/e2e/test_tree_parity.py`` checks each).
DIFFERENCES = (
    "fills: entries, added batches and signal exits fill at the next candle's open (the "
    "interpreter: at the signal candle's close); stops fill inside the candle at min(open, "
    "stop), as in the interpreter",
    "take profits: a stage whose level a candle's high reached is sold at the next candle's "
    "open (the interpreter: at max(open, level) inside that candle)",
    "levels: stop and take-profit prices are computed from Freqtrade's own fills (each batch "
    "counts equally, as in the tree), so they differ from the interpreter's by the fill "
    "difference",
    "fees: Freqtrade charges the exchange's fees; the interpreter has none",
    "costs: Freqtrade's fills carry the modelled execution costs (ai_suite.costs: half-spread, "
    "impact, latency; plugins.guard.costs) and its orders are market orders; the interpreter has "
    "none",
)


class FreqtradeCompiler(TreeCompiler):
    """Strategy tree -> a Freqtrade ``IStrategy`` file (the module docstring)."""

    engine = "freqtrade"
    title = "Freqtrade strategy"
    unit = "candles"
    differences = DIFFERENCES
    take_profit_only = "take profits"

    def usage(self, tree: StrategyTree, name: str) -> list[str]:
        return [f"Run: freqtrade backtesting --strategy {name} --strategy-path <this folder> "
                f"(pairs: {', '.join(tree.assets)}; timeframe {tree.timeframe})."]

    def semantics(self) -> str:
        return ("Semantics: the reference interpreter's (plugins.strategy_tree.interpreter), "
                "decided on each closed candle; the series are computed by the interpreter's own "
                "functions (compilers.runtime), so enter_long and tree_exit equal its enter_long "
                "and exit_long candle for candle. Expiry counts from ai_suite.strategy_tree.start, "
                "else the start of --timerange (backtesting), else the bot's start (dry-run/live).")

    def sections(self, tree: StrategyTree, name: str) -> list[Section]:
        return [lambda code: _class(code, tree, name)]

    def timeframe_constants(self, code: Code, tree: StrategyTree) -> None:
        code.add(f"CANDLE = timedelta(seconds={int(_seconds(tree.timeframe))})")

    def interval_constant(self, code: Code, tree: StrategyTree) -> None:
        code.add(f"INTERVAL = {py_timedelta(tree.position.interval)}")

    def extra_constants(self, code: Code, tree: StrategyTree) -> None:
        assets = informative_assets(tree)
        if assets:
            code.comment("assets whose candles a series reads (informative pairs)")
            code.add(f"INFORMATIVE = {tuple(assets)!r}")


def _seconds(timeframe: str) -> float:
    return timeframe_delta(timeframe).total_seconds()


# ----------------------------------------------------------------------------------- class
def _class(code: Code, tree: StrategyTree, name: str) -> None:
    pos = tree.position
    stop = tree.risk.stop_loss
    adjusts = pos.batches > 1 or bool(tree.take_profit)
    code.add(f"class {name}(ExecutionCostMixin, RiskGuardMixin, IStrategy):")
    code.add(docstring(
        f"Strategy tree {tree.name}, compiled (see the module docstring). Columns it adds: one "
        "per series (named by its canonical text, e.g. the interpreter's Signals.series), one per "
        "condition path (1.0 true, 0.0 false, NaN unknown), and tree_entry_signal, "
        "tree_filter_block, tree_expired, tree_enter, tree_add, tree_exit (bool: the "
        "interpreter's signal columns).", 1))
    code.add()
    code.add("INTERFACE_VERSION = 3", 1)
    code.add("timeframe = TIMEFRAME", 1)
    code.add("can_short = False", 1)
    code.add("process_only_new_candles = True", 1)
    code.add("use_exit_signal = True", 1)
    code.add(f"startup_candle_count: int = {startup_candles(tree)}", 1)
    code.comment("exits come from the tree only: no ROI table; the stop is custom_stoploss's", 1)
    code.add('minimal_roi = {"0": 100.0}', 1)
    if stop.type == "percentage":
        code.comment(f"risk.stop_loss: {stop_text(tree)} (custom_stoploss keeps it there)", 1)
        code.add(f"stoploss = {py_float(-stop.value)}", 1)
    else:
        code.comment("risk.stop_loss is an ATR stop: custom_stoploss sets it at every fill", 1)
        code.add("stoploss = -0.99", 1)
    code.add("use_custom_stoploss = True", 1)
    code.add("trailing_stop = False", 1)
    if adjusts:
        code.comment("position / take_profit: batches and partial exits via adjust_trade_position",
                     1)
        code.add("position_adjustment_enable = True", 1)
        code.add(f"max_entry_position_adjustment = {pos.batches - 1}", 1)
    else:
        code.add("position_adjustment_enable = False", 1)
    code.add()
    code.add("tree_start: Timestamp | None = None", 1)
    if stop_series(tree) or tree.risk.trailing is not None:
        code.add("tree_cache: dict", 1)
    if altdata_series(tree):
        code.add("tree_altdata: DataFrame | None = None", 1)
    if needs_calendar(tree):
        code.add("tree_calendar: EventCalendar | None = None", 1)
    code.add()
    if stop_series(tree) or tree.risk.trailing is not None:
        code.add("def __init__(self, config: dict) -> None:", 1)
        code.add("super().__init__(config)", 2)
        code.add("self.tree_cache = {}  # per trade: the ATR of a batch, the highest high so far", 2)
        code.add()
    _bot_start(code, tree, name)
    if informative_assets(tree):
        _informative(code)
    if reads_regime(tree):
        _regime(code)
    _populate(code, tree)
    _stake(code, tree)
    if adjusts:
        _adjust(code, tree)
    _stoploss(code, tree)
    if tree.exit is not None:
        _custom_exit(code)
    while code.lines and not code.lines[-1]:
        code.lines.pop()


def _bot_start(code: Code, tree: StrategyTree, name: str) -> None:
    altdata = bool(altdata_series(tree))
    calendar = needs_calendar(tree)
    code.add("def bot_start(self, **kwargs) -> None:", 1)
    code.add(docstring("Activation time (expiry counts from it) and the data the tree reads "
                       "besides candles, checked now: a series without data stops the bot "
                       "here, with its name and how to provide it.", 2))
    code.add("check_timeframe(TREE, self.timeframe)", 2)
    code.add("self.tree_start = activation_start(self.config)", 2)
    if altdata or calendar:
        code.add('cache_dir = load_section(self.config, "altdata", AltDataConfig).cache_dir', 2)
    if altdata:
        code.add("self.tree_altdata = self.load_tree_altdata(cache_dir)", 2)
        code.add("require_altdata(TREE, self.tree_altdata, cache_dir, type(self).__name__)", 2)
    if calendar:
        paths = [f"filters[{i}]" for i, f in enumerate(tree.filters)
                 if isinstance(f, CalendarFilter)]
        paths += [p for item in tree_series(tree) if item.series.spec.kind == "calendar"
                  for p in item.paths]
        code.add(f"self.tree_calendar = load_calendar(cache_dir / 'calendar', {paths!r})", 2)
    code.add('logger.info("%s: tree %s (sha256 %s), active from %s", type(self).__name__, '
             "TREE.name,", 2)
    code.add("            TREE_SHA256[:12], self.tree_start or 'the first candle')", 2)
    code.add()
    if altdata:
        code.add("def load_tree_altdata(self, cache_dir: Path) -> DataFrame | None:", 1)
        code.add(docstring(
            "The alternative-data frame the series read (inputs.altdata_frame of the "
            "cache, the providers they need; None when none is cached). Override to add a "
            "series no shipped provider has (e.g. btc_dominance): append rows indexed by "
            "observed_at (UTC) with the column and available_at.", 2))
        code.add("return load_altdata(TREE, cache_dir)", 2)
        code.add()


def _informative(code: Code) -> None:
    code.add("def informative_pairs(self) -> list[tuple[str, str]]:", 1)
    code.add(docstring("Candles of the other assets the series name, on the tree's timeframe "
                       "(an asset without a quote trades against the stake currency).", 2))
    code.add('quote = self.config["stake_currency"]', 2)
    code.add('return [(a if "/" in a else f"{a}/{quote}", TIMEFRAME) for a in INFORMATIVE]', 2)
    code.add()
    code.add("def tree_informative(self, pair: str) -> dict[str, DataFrame]:", 1)
    code.add(docstring("Informative candles of the assets other than ``pair`` itself.", 2))
    code.add('base = pair.split("/")[0]', 2)
    code.add("return {p: self.dp.get_pair_dataframe(p, TIMEFRAME) for p, _ in self.informative_pairs()",
             2)
    code.add('        if p.split("/")[0] != base}', 2)
    code.add()


def _regime(code: Code) -> None:
    code.add("def populate_regime(self, dataframe: DataFrame, metadata: dict):", 1)
    code.add(docstring("The market regime per candle (a name, causal), which the tree's regime "
                       "conditions compare. No shipped source: override this in a subclass "
                       "(e.g. with a plugins.regime detector), or provide a 'regime' column.", 2))
    code.add('if "regime" in dataframe.columns:', 2)
    code.add('return dataframe["regime"]', 3)
    code.add('raise TreeEvaluationError("tree " + TREE.name + " reads the regime: override "', 2)
    code.add('                          "populate_regime in a subclass to return the regime name "',
             2)
    code.add('                          "per candle (causal, e.g. from plugins.regime)")', 2)
    code.add()


def _populate(code: Code, tree: StrategyTree) -> None:
    frame = Frame(df="df", calendar="self.tree_calendar", start="start")
    code.add("def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:", 1)
    code.add(docstring("Every series the tree reads, computed by the interpreter's own functions "
                       "(runtime.SeriesFrame), one column each named by its canonical text: the "
                       "value the tree sees at each candle's close.", 2))
    if reads_regime(tree):
        code.add('dataframe["regime"] = self.populate_regime(dataframe, metadata)', 2)
    args = ['pair=metadata["pair"]']
    if altdata_series(tree):
        args.append("altdata=self.tree_altdata")
    if needs_calendar(tree):
        args.append("calendar=self.tree_calendar")
    if informative_assets(tree):
        args.append('informative=self.tree_informative(metadata["pair"])')
    code.assign("series", "SeriesFrame", ["TREE", "dataframe", *args], 2)
    for item in tree_series(tree):
        if is_candle_column(item.series) or item.series.spec.kind == "regime":
            continue
        code.comment(f"{', '.join(item.paths)}: {describe_series(item.series)}", 2)
        code.add(f"dataframe[{item.key!r}] = series.values({item.key!r})", 2)
    code.add("return dataframe", 2)
    code.add()
    code.add("def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:", 1)
    code.add(docstring("entry, filters, activation and expiry -> enter_long (the interpreter's "
                       "enter_long, candle for candle).", 2))
    code.add("df = dataframe", 2)
    code.add('start = start_ns(self.tree_start, df["date"])', 2)
    truths = entry_block(code, tree, frame, 2)
    code.comment("the tree's columns (conditions: 1.0 true, 0.0 false, NaN unknown)", 2)
    for path, var in truths:
        code.add(f"df[{path!r}] = {var}.as_float()", 2)
    for column, var in (("tree_entry_signal", "entry.true"), ("tree_filter_block", "filter_block"),
                        ("tree_expired", "expired"), ("tree_enter", "enter"), ("tree_add", "add")):
        code.add(f"df[{column!r}] = {var}", 2)
    code.add('df["enter_long"] = enter.astype("int64")', 2)
    code.add('df.loc[enter, "enter_tag"] = "tree_entry"', 2)
    code.add("return df", 2)
    code.add()
    code.add("def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:", 1)
    code.add(docstring("exit -> tree_exit (the interpreter's exit_long) and exit_long.", 2))
    code.add("df = dataframe", 2)
    truths = exit_block(code, tree, frame, 2)
    for path, var in truths:
        code.add(f"df[{path!r}] = {var}.as_float()", 2)
    code.add('df["tree_exit"] = exit_signal', 2)
    code.comment("Freqtrade ignores exit_long on a candle that also has enter_long, and enters on "
                 "no candle with exit_long; the tree enters and exits regardless, so exit_long "
                 "leaves out entry candles and custom_exit takes the tree's exit there.", 2)
    code.add('df["exit_long"] = (exit_signal & ~df["tree_enter"].to_numpy(dtype=bool)).astype("int64")',
             2)
    code.add("return df", 2)
    code.add()


def _stake(code: Code, tree: StrategyTree) -> None:
    size = format_percent(tree.position.size_per_batch)
    code.add("def custom_stake_amount(self, pair: str, current_time: datetime, current_rate: float,", 1)
    code.add("                        proposed_stake: float, min_stake: float | None, max_stake: float,",
             1)
    code.add("                        leverage: float, entry_tag: str | None, side: str, **kwargs) -> float:",
             1)
    code.add(docstring(f"position.size_per_batch: the first batch is {size} of equity (the risk "
                       "guard may cap it).", 2))
    code.add("return min(SIZE_PER_BATCH * self.wallets.get_total_stake_amount(), max_stake)", 2)
    code.add()
    code.add("def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,", 1)
    code.add("                        time_in_force: str, current_time: datetime, entry_tag: str | None,",
             1)
    code.add("                        side: str, **kwargs) -> bool:", 1)
    code.add(docstring("No entry on a candle that closed a position of the pair (the "
                       "interpreter's rule); the signal candle is the one before current_time's "
                       "candle.", 2))
    code.add("signal_candle = timeframe_to_prev_date(TIMEFRAME, current_time) - CANDLE", 2)
    code.add("return no_close_since(pair, signal_candle)", 2)
    code.add()


def _adjust(code: Code, tree: StrategyTree) -> None:
    pos = tree.position
    code.add("def adjust_trade_position(self, trade: Trade, current_time: datetime, current_rate: float,",
             1)
    code.add("                          current_profit: float, min_stake: float | None, max_stake: float,",
             1)
    code.add("                          current_entry_rate: float, current_exit_rate: float,", 1)
    code.add("                          current_entry_profit: float, current_exit_profit: float,", 1)
    code.add("                          **kwargs) -> float | None | tuple[float | None, str | None]:",
             1)
    code.add(docstring("Take profits, then a further batch, decided on the last closed candle "
                       "(the interpreter's candle t), acted on now (the open of t + 1). Returns "
                       "a stake to add, a negative stake to sell (fraction of the position), or "
                       "None.", 2))
    code.add("candle = last_candle(self.dp, trade.pair, TIMEFRAME, trade.open_date_utc)", 2)
    code.add("if candle is None:", 2)
    code.add("return None  # still the candle that signalled the entry", 3)
    code.add("fills = entry_fills(trade)", 2)
    if tree.take_profit:
        levels = ", ".join(f"+{format_percent(s.level)}" for s in tree.take_profit)
        code.comment(f"take_profit ({levels} over the average entry price): every pending stage "
                     "whose level the candle's high reached, fractions of the peak position", 2)
        code.add("done = stages_done(trade)", 2)
        code.add('fraction, tags = take_profit_order(TAKE_PROFITS, done, reference_price(fills), '
                 'candle["high"])', 2)
        code.add("if tags:", 2)
        code.add("amount = fraction * peak_amount(fills)", 3)
        code.add("if amount >= trade.amount:", 3)
        code.add('return -trade.stake_amount, "+".join(tags)  # everything left', 4)
        code.add('return -trade.stake_amount * amount / trade.amount, "+".join(tags)', 3)
    if pos.batches > 1:
        code.comment(f"position: a further batch ({pos.batches} at most, {pos.interval} or more "
                     f"after the previous one, add_on {pos.add_on}), never after a take profit nor "
                     "on an exit signal", 2)
        first = "done == 0 and " if tree.take_profit else ""
        code.add(f'if ({first}len(fills) < BATCHES and candle["tree_add"] and not candle["tree_exit"]',
                 2)
        code.add("        and current_time - fills[-1].at >= INTERVAL):", 2)
        code.add('return min(SIZE_PER_BATCH * self.wallets.get_total_stake_amount(), max_stake), "add"',
                 3)
    code.add("return None", 2)
    code.add()


def _stoploss(code: Code, tree: StrategyTree) -> None:
    stop = tree.risk.stop_loss
    trail = tree.risk.trailing
    atr = stop_series(tree)
    code.add("def custom_stoploss(self, pair: str, trade: Trade, current_time: datetime,", 1)
    code.add("                    current_rate: float, current_profit: float, after_fill: bool,", 1)
    code.add("                    **kwargs) -> float | None:", 1)
    code.add(docstring(f"risk: {stop_text(tree)}; from the batches filled so far, as an absolute "
                       "price (Freqtrade's relative value is derived from it). Called after each "
                       "fill too (after_fill), so the stop follows the average down as well as "
                       "up.", 2))
    code.add("fills = entry_fills(trade)", 2)
    ref = repr(stop.reference)
    if stop.type == "percentage":
        code.comment(f"risk.stop_loss: {format_percent(stop.value)} below the "
                     f"{stop.reference.replace('_', ' ')}", 2)
        code.add(f"stop = reference_price(fills, {ref}) * (1 - {py_float(stop.value)})", 2)
    else:
        key = atr["risk.stop_loss"].key
        code.comment(f"risk.stop_loss: {stop.value:g} x {key} of the latest batch's signal candle "
                     f"below the {stop.reference.replace('_', ' ')}", 2)
        code.add(f"atr = batch_value(self.tree_cache, self.dp, trade, fills, TIMEFRAME, {key!r})", 2)
        code.add(f"stop = reference_price(fills, {ref}) - {py_float(stop.value)} * atr", 2)
    if trail is not None:
        code.comment(f"risk.trailing: active once the highest high since the first entry is "
                     f"{format_percent(trail.activate_at)} above the average entry price; the "
                     "tighter stop applies", 2)
        code.add("highest = highest_high(self.tree_cache, self.dp, trade, fills, TIMEFRAME)", 2)
        code.add(f"if highest >= reference_price(fills) * (1 + {py_float(trail.activate_at)}):", 2)
        if trail.type == "percentage":
            code.add(f"stop = max(stop, highest * (1 - {py_float(trail.value)}))", 3)
        else:
            key = atr["risk.trailing"].key
            code.add(f"trail_atr = batch_value(self.tree_cache, self.dp, trade, fills, TIMEFRAME, "
                     f"{key!r})", 3)
            code.add(f"stop = max(stop, highest - {py_float(trail.value)} * trail_atr)", 3)
    code.add("return stop_relative(stop, current_rate, trade, after_fill)", 2)
    code.add()


def _custom_exit(code: Code) -> None:
    code.add("def custom_exit(self, pair: str, trade: Trade, current_time: datetime, current_rate: float,",
             1)
    code.add("                current_profit: float, **kwargs) -> str | None:", 1)
    code.add(docstring("exit: the tree's exit signal on a candle that also signals entry "
                       "(Freqtrade skips exit_long there); never on the entry's own candle.", 2))
    code.add("candle = last_candle(self.dp, pair, TIMEFRAME, trade.open_date_utc)", 2)
    code.add('if candle is not None and candle["tree_exit"]:', 2)
    code.add('return "exit_signal"', 3)
    code.add("return None", 2)
    code.add()
