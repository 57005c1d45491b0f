"""Run-time helpers of compiled Freqtrade strategies: a trade's batches, stages and levels.

A compiled strategy keeps no position state of its own: everything is read back from the
Freqtrade trade (its filled orders) and the analysed dataframe, so a restarted bot picks up
where it was. The tree's definitions, applied to Freqtrade's fills:

- a *batch* is one filled entry order (``entry_fills``); every batch has the same size
  (``position.size_per_batch``), so the *average entry price* is the plain mean of the batch
  prices (``reference_price``), as the interpreter's size-weighted mean of equal sizes;
- a take-profit stage is done when a filled exit order carries its tag (``take_profit_1``),
  so ``stages_done`` counts tags; fractions are of the *peak* position (``peak_amount``: all
  batches filled - no batch is added after the first take profit);
- decisions use the last *closed* candle (``last_candle``), only candles from the trade's
  first fill on: the interpreter's candle ``t`` is acted on at the open of ``t + 1``.

Levels: ``batch_value`` (the ATR of the latest batch's signal candle), ``highest_high`` (the
trailing reference) and ``stop_relative`` (an absolute stop price as Freqtrade's relative
``custom_stoploss`` value, robust to Freqtrade re-deriving it after a fill). Start-up:
``check_timeframe``, ``activation_start`` (when the tree became active, for ``expiry``),
``load_altdata`` / ``require_altdata`` (fail at bot start when an alt-data series has no
data, naming it and how to provide it), ``load_calendar``. Entries: ``no_close_since`` (no
entry on a candle that closed a position).

Caches (``batch_value``, ``highest_high``) live in the strategy instance, keyed by trade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from freqtrade.configuration import TimeRange
from freqtrade.enums import RunMode
from freqtrade.exchange import timeframe_to_minutes, timeframe_to_prev_date
from freqtrade.persistence import Trade
from freqtrade.strategy import stoploss_from_absolute

from plugins.altdata.calendar import EventCalendar
from plugins.altdata.config import AltDataConfig
from plugins.altdata.registry import build_providers
from plugins.core.config import load_section
from plugins.strategy_tree.compilers.common import altdata_series
from plugins.strategy_tree.config import StrategyTreeConfig
from plugins.strategy_tree.errors import TreeEvaluationError
from plugins.strategy_tree.inputs import altdata_frame
from plugins.strategy_tree.schema import StrategyTree

#: Freqtrade ignores a custom stop of exactly 0 (a stop at the current price); this is used
#: instead, so a stop above the whole candle still exits.
MIN_STOP = 1e-9
#: Top-level Freqtrade config key of compiled strategies (``ai_suite`` rejects unknown keys).


@dataclass(frozen=True)
class Fill:
    """One filled batch: ``at`` (UTC fill time), ``price`` (quote), ``amount`` (base units)."""

    at: datetime
    price: float
    amount: float


def entry_fills(trade) -> list[Fill]:
    """The trade's filled entry orders (batches), oldest first."""
    return [Fill(o.order_filled_utc or trade.open_date_utc, float(o.safe_price), float(o.safe_filled))
            for o in trade.select_filled_orders(trade.entry_side)]


def reference_price(fills: list[Fill], reference: str = "average_entry_price") -> float:
    """``average_entry_price`` (mean of the batch prices: batches are equal in size),
    ``first_entry_price`` or ``last_entry_price``."""
    if reference == "first_entry_price":
        return fills[0].price
    if reference == "last_entry_price":
        return fills[-1].price
    return sum(f.price for f in fills) / len(fills)


def peak_amount(fills: list[Fill]) -> float:
    """The position at its peak (base units): every batch filled."""
    return sum(f.amount for f in fills)


def stages_done(trade) -> int:
    """Take-profit stages already sold (tags ``take_profit_<n>`` of filled exit orders)."""
    return sum((o.ft_order_tag or "").count("take_profit_")
               for o in trade.select_filled_orders(trade.exit_side))


def take_profit_order(stages: tuple[tuple[float, float | None], ...], done: int, average: float,
                      high: float) -> tuple[float, list[str]]:
    """The stages due on a candle whose high is ``high``: each pending stage (from index
    ``done``) whose price ``average x (1 + level)`` the high reached, in order, as the
    interpreter fills them.

    Returns:
        (fraction of the peak position to sell now - 1.0 or more = everything left,
        the stages' tags ``take_profit_<n>``); ``(0.0, [])`` when none is due.
    """
    closed = 0.0
    for _, fraction in stages[:done]:
        closed = 1.0 if fraction is None else min(1.0, closed + fraction)
    before, tags = closed, []
    for n in range(done, len(stages)):
        level, fraction = stages[n]
        if high < average * (1 + level):
            break
        closed = 1.0 if fraction is None else min(1.0, closed + fraction)
        tags.append(f"take_profit_{n + 1}")
        if closed >= 1 - 1e-12:
            return 1.0, tags
    return closed - before, tags


class LastCandle:
    """The last row of an analysed dataframe, read column by column (``candle["high"]``)
    without building a row Series of every column."""

    __slots__ = ("_frame",)

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def __getitem__(self, column: str):
        return self._frame[column].iat[-1]


def last_candle(dp, pair: str, timeframe: str, since: datetime) -> LastCandle | None:
    """The last closed candle of ``pair``'s analysed dataframe, or None when there is none or
    it opened before ``since``'s candle (e.g. the candle that signalled the entry)."""
    frame, _ = dp.get_analyzed_dataframe(pair, timeframe)
    if frame.empty or frame["date"].iat[-1] < timeframe_to_prev_date(timeframe, since):
        return None
    return LastCandle(frame)


def stop_relative(stop: float, current_rate: float, trade, after_fill: bool = False) -> float | None:
    """Absolute stop price ``stop`` as ``custom_stoploss``'s value (relative to
    ``current_rate``); None (keep the stop as is) when ``stop`` is NaN.

    After a batch fills (``after_fill``) Freqtrade's backtesting re-applies the returned value
    to the trade's new average price (``recalc_trade_from_orders``) and keeps the higher stop;
    the value is then taken relative to the higher of the fill and that average, so the stop
    ends at ``stop`` either way (live, a stop left lower is raised at the next call).
    """
    if stop != stop:
        return None
    base = max(current_rate, freqtrade_average(trade)) if after_fill else current_rate
    relative = stoploss_from_absolute(stop, base, is_short=False, leverage=trade.leverage or 1.0)
    return max(relative, MIN_STOP)


def freqtrade_average(trade) -> float:
    """Freqtrade's own average entry price of the filled batches (amount-weighted), which it
    sets as ``trade.open_rate`` once it recalculates the trade."""
    orders = trade.select_filled_orders(trade.entry_side)
    amount = sum(float(o.safe_amount_after_fee) for o in orders)
    if amount <= 0:
        return 0.0
    return sum(float(o.safe_price) * float(o.safe_amount_after_fee) for o in orders) / amount


def activation_start(config: dict) -> pd.Timestamp | None:
    """When the tree became active (``expiry`` counts from it; no entries before it).

    ``ai_suite.strategy_tree.start`` (ISO time, UTC) when set; else in backtesting /
    hyperopt the start of ``--timerange``; in dry-run / live the bot's start (now). None (no
    time range start): the first candle, as the interpreter's default.
    """
    start = load_section(config, "strategy_tree", StrategyTreeConfig).start
    if start is not None:
        when = pd.Timestamp(start)
        return when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    if config.get("runmode") in (RunMode.DRY_RUN, RunMode.LIVE):
        return pd.Timestamp.now(tz="UTC")
    timerange = config.get("timerange")
    if timerange:
        parsed = TimeRange.parse_timerange(timerange)
        if parsed.startts:
            return pd.Timestamp(parsed.startts, unit="s", tz="UTC")
    return None


def load_altdata(tree: StrategyTree, cache_dir: Path) -> pd.DataFrame | None:
    """``inputs.altdata_frame`` of the cache, reading only the providers whose columns the
    tree's series read; None when none of them is cached (``require_altdata`` then says which
    series lack data)."""
    columns = {item.series.spec.column or "" for item in altdata_series(tree)}
    names = [p.name for p in build_providers(AltDataConfig(cache_dir=Path(cache_dir)))
             if any(c.startswith(f"{p.name}_") for c in columns)]
    if not names:
        return None
    try:
        return altdata_frame(cache_dir, providers=names)
    except TreeEvaluationError:
        return None


def require_altdata(tree: StrategyTree, frame: pd.DataFrame | None, source: Path | str,
                    strategy: str) -> None:
    """Check that ``frame`` (the alt-data frame from ``source``) holds every alt-data column
    the tree reads.

    Raises:
        TreeEvaluationError: one line per missing series: which series, which tree path reads
            it, and how to provide it (shipped provider: fill the cache; none shipped:
            override ``load_tree_altdata`` in a subclass of ``strategy``).
    """
    missing = []
    for item in altdata_series(tree):
        spec = item.series.spec
        if frame is not None and spec.column in frame.columns and frame[spec.column].notna().any():
            continue
        if spec.notes and "no plugins.altdata provider" in spec.notes:
            how = (f"no shipped provider has it: subclass {strategy} and override "
                   f"load_tree_altdata(cache_dir) to append rows with column {spec.column!r} "
                   f"(index observed_at UTC, plus available_at) - {spec.notes}")
        else:
            how = ("fill the alt-data cache: python -m plugins.altdata import-shared (or "
                   "download), with ai_suite.altdata.cache_dir pointing at it")
        missing.append(f"{item.key} (read by {', '.join(item.paths)}) has no data: alt-data "
                       f"column {spec.column!r} is not in {source}; {how}")
    if missing:
        raise TreeEvaluationError("; ".join(missing))


def no_close_since(pair: str, since: datetime) -> bool:
    """No trade of ``pair`` closed at or after ``since`` (the open of the signal candle)."""
    return not any(t.close_date_utc >= since
                   for t in Trade.get_trades_proxy(pair=pair, is_open=False) if t.close_date)


def load_calendar(folder: Path, paths: list[str]) -> EventCalendar:
    """The FOMC/CPI calendar in ``folder``.

    Raises:
        TreeEvaluationError: it is missing (names the tree paths that read it and the fix).
    """
    try:
        return EventCalendar.from_dir(Path(folder))
    except FileNotFoundError as err:
        raise TreeEvaluationError(f"{', '.join(paths)} read the FOMC/CPI calendar, which is not in "
                                  f"{folder} ({err}); run python -m plugins.altdata import-shared "
                                  "(ai_suite.altdata.cache_dir points at the cache)") from None


def batch_value(cache: dict, dp, trade, fills: list[Fill], timeframe: str, column: str) -> float:
    """``column`` of the analysed dataframe at the latest batch's signal candle (the candle
    before its fill's), remembered per trade and batch; NaN when that candle is not there."""
    key = (trade.pair, trade.id, len(fills), column)
    if key not in cache:
        frame, _ = dp.get_analyzed_dataframe(trade.pair, timeframe)
        when = timeframe_to_prev_date(timeframe, fills[-1].at) - pd.Timedelta(
            timeframe_to_minutes(timeframe), unit="min")
        values = frame.loc[frame["date"] == when, column] if not frame.empty else frame
        if len(values) == 0:
            return float("nan")
        cache[key] = float(values.iloc[-1])
    return cache[key]


def highest_high(cache: dict, dp, trade, fills: list[Fill], timeframe: str) -> float:
    """The highest high since the first entry: the first fill's price, then the highs of the
    closed candles from the fill's candle on (a running maximum, remembered per trade, so
    candles that left the analysed window still count)."""
    key = (trade.pair, trade.id, "highest")
    last, best = cache.get(key, (None, fills[0].price))
    frame, _ = dp.get_analyzed_dataframe(trade.pair, timeframe)
    if frame.empty:
        return best
    dates = frame["date"]
    first = dates.searchsorted(timeframe_to_prev_date(timeframe, fills[0].at), side="left")
    if last is not None:
        first = max(first, dates.searchsorted(last, side="right"))
    if first < len(frame):
        best = max(best, float(frame["high"].to_numpy()[first:].max()))
        last = dates.iat[-1]
    cache[key] = (last, best)
    return best


def check_timeframe(tree: StrategyTree, timeframe: str) -> None:
    """The strategy runs on the tree's timeframe.

    Raises:
        TreeEvaluationError: the config overrode it (Freqtrade's ``timeframe`` setting).
    """
    if timeframe != tree.timeframe:
        raise TreeEvaluationError(f"tree {tree.name} decides on {tree.timeframe} candles but the "
                                  f"config sets timeframe {timeframe}; set \"timeframe\": "
                                  f"\"{tree.timeframe}\" in the config (or --timeframe "
                                  f"{tree.timeframe}), or leave it out")
