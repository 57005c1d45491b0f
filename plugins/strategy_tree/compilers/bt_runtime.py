"""Run-time helpers of compiled backtrader strategies: the feed as candles, the position book.

- ``feed_frame(data, timeframe)``: a backtrader data feed's bars so far (all of them when
  preloaded) as the candle frame the interpreter reads - ``date`` (UTC open time, floored to
  the tree's timeframe: Alpaca-style daily bars stamped 05:00 UTC become 00:00 UTC of their
  trading day), ``open high low close volume`` (float64).
- ``TreeBook``: one open position as the interpreter's ``_Book`` keeps it - the batches'
  prices and sizes, the time of the last batch, the ATR(s) of the latest batch's bar, the
  highest high since the first entry, the fraction of the peak closed by take profits and
  the next stage.
- ``FeedState``: what a compiled strategy keeps per feed (pair, signals, book, the pending
  protective orders, the bar that last closed a position).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plugins.strategy_tree.compilers.runtime import close_ns, start_ns
from plugins.strategy_tree.errors import TreeEvaluationError
from plugins.strategy_tree.inputs import WEEK_OFFSET
from plugins.strategy_tree.schema import StrategyTree
from plugins.strategy_tree.units import timeframe_delta

#: backtrader's float dates count days from 0001-01-01 (ordinal 1); 1970-01-01 is this one.
_EPOCH_ORDINAL = 719163.0


def feed_frame(data, timeframe: str) -> pd.DataFrame:
    """The bars of backtrader feed ``data`` held so far as a candle frame (see the module
    docstring). Bar dates are read as UTC (backtrader keeps them naive) and floored to
    ``timeframe``.

    Raises:
        TreeEvaluationError: two bars fall into one candle (bars finer than the timeframe).
    """
    n = len(data.close.array)
    days = np.frombuffer(data.datetime.array, dtype="float64", count=n)
    seconds = np.round((days - _EPOCH_ORDINAL) * 86400.0).astype("int64")
    ns = seconds * 10**9
    step = np.int64(timeframe_delta(timeframe).total_seconds() * 10**9)
    offset = WEEK_OFFSET if timeframe == "1w" else np.int64(0)
    floored = (ns - offset) // step * step + offset
    if n > 1 and (np.diff(floored) <= 0).any():
        raise TreeEvaluationError(f"feed {data._name or '(unnamed)'}: two bars fall into one "
                                  f"{timeframe} candle; feed bars of the tree's timeframe "
                                  f"(e.g. cerebro.resampledata(feed, ...) to {timeframe})")
    frame = pd.DataFrame({"date": pd.to_datetime(floored, utc=True)})
    for column in ("open", "high", "low", "close", "volume"):
        frame[column] = np.frombuffer(getattr(data, column).array, dtype="float64", count=n)
    return frame


@dataclass
class TreeBook:
    """One open position (prices in quote, sizes in units of the asset).

    Attributes:
        prices / sizes: per batch (each batch is ``size_per_batch`` of equity at its time).
        last_add_ns: close time (int64 ns UTC) of the latest batch's bar.
        atr / trail_atr: the stops' ATR at the latest batch's bar (NaN without ATR stops).
        highest: highest high since the first entry (starts at the first batch's price).
        entry_bar: bar index of the first batch.
        held: the size held once every submitted order has filled.
        closed: fraction of the peak position closed by take profits; ``tp_next``: next stage.
    """

    prices: list[float]
    sizes: list[float]
    last_add_ns: int
    atr: float
    trail_atr: float
    highest: float
    entry_bar: int
    held: float
    closed: float = 0.0
    tp_next: int = 0

    @property
    def average(self) -> float:
        """Size-weighted mean of the batch prices in the tree's sense: batches are equal
        fractions of equity, so each counts once."""
        return sum(self.prices) / len(self.prices)

    @property
    def peak(self) -> float:
        """The position at its peak: every batch (none is added after a take profit)."""
        return sum(self.sizes)

    def reference(self, which: str) -> float:
        """``average_entry_price`` | ``first_entry_price`` | ``last_entry_price``."""
        if which == "first_entry_price":
            return self.prices[0]
        if which == "last_entry_price":
            return self.prices[-1]
        return self.average


@dataclass
class FeedState:
    """Per-feed state of a compiled strategy.

    Attributes:
        pair: the tree asset the feed is.
        signals: the signal frame (``tree_signals``) covering the bars so far; ``arrays``: its
            columns as numpy arrays (fast row access in ``next``).
        book: the open position, None when flat.
        orders: pending protective orders (stop, take profit).
        closed_bar: index of the bar in which a position last closed (no entry on it).
    """

    pair: str
    signals: pd.DataFrame | None = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    book: TreeBook | None = None
    orders: list = field(default_factory=list)
    closed_bar: int = -1


def align_signals(signals, dates: pd.Series, tree: StrategyTree,
                  start: pd.Timestamp | None) -> pd.DataFrame:
    """Precomputed interpreter ``Signals`` as a compiled strategy's signal frame for the bars
    dated ``dates``: the signal columns and series by date, plus ``add`` (a further batch may
    be added: ``enter_long`` for ``add_on: signal``; no filter block, not expired and active
    for ``schedule``; ``start`` must be the one the signals were evaluated with).

    Raises:
        TreeEvaluationError: the signals lack some of the bars (names the first).
    """
    frame = signals.frame.join(signals.series.drop(columns=["regime"], errors="ignore"))
    frame = frame.drop_duplicates("date").set_index("date")
    missing = ~pd.Index(dates).isin(frame.index)
    if missing.any():
        raise TreeEvaluationError(f"the precomputed signals of {signals.pair} have no row for the "
                                  f"bar of {pd.Index(dates)[missing][0]}; evaluate the tree on the "
                                  "same bars the feed holds")
    frame = frame.reindex(pd.Index(dates)).reset_index()
    enter = frame["enter_long"].to_numpy(dtype=bool)
    if tree.position.add_on == "signal":
        frame["add"] = enter
    else:
        active = close_ns(frame["date"], tree.timeframe) > start_ns(start, frame["date"])
        frame["add"] = ~(frame["filter_block"].to_numpy(dtype=bool)
                         | frame["expired"].to_numpy(dtype=bool)) & active
    return frame
