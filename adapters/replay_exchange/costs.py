"""The replay exchange's order book from the execution-cost model (``ai_suite.costs``).

Freqtrade's dry-run prices a market order by walking the venue's order book
(``Exchange.get_dry_market_fill_price``) and fills a limit order when the book's best opposite
price crosses its limit (``_dry_is_price_crossed``). Served from here, the book makes both land
on the model that prices backtest fills (``plugins.guard.costs``):

- mid = the last close (as the synthesized book's), the model's inputs from the last
  ``ai_suite.costs`` windows of ``cost_timeframe`` candles closed by "now" - the candles the
  strategy sees, gaps filled as Freqtrade fills them - so the inputs are bit-identical to the
  strategy's ``cost_*`` columns of the same candle;
- levels from :func:`plugins.execution.book.model_levels`: a market order of notional ``q``
  averages ``mid x (1 +/- cost(q))`` (exactly at the level boundaries 10, 20, 40, ... quote
  units; a little worse in between, :func:`plugins.execution.book.max_interpolation_excess`);
- the best ask/bid is the model's price for the smallest order: a limit buy fills once the
  price has traded through it by the half-spread and latency.

Level prices are the model's, not rounded to the tick: the book is the device that carries the
model into Freqtrade's fill logic, which rounds the average to the tick itself.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np
import pandas as pd
from freqtrade.data.converter import ohlcv_fill_up_missing_data
from freqtrade.exchange import timeframe_to_msecs

from adapters.replay_exchange.candles import CandleStore
from plugins.execution.book import BookLevel, model_levels
from plugins.execution.config import CostConfig
from plugins.execution.costs import (
    COLUMNS,
    CostInputs,
    CostModelError,
    Side,
    cost_inputs,
    fill_price,
    half_tick_frac,
    order_cost,
)

logger = logging.getLogger(__name__)


class ModelBook:
    """Order books and fill prices of the cost model over a :class:`CandleStore`.

    Args:
        store: the recorded candles.
        costs: ``ai_suite.costs`` (enabled).
        timeframe: candles the model's inputs come from: the strategy's timeframe.
        ticks: price tick per symbol (the served PRICE_FILTER), for the half-spread floor.
    """

    def __init__(self, store: CandleStore, costs: CostConfig, timeframe: str,
                 ticks: dict[str, float]) -> None:
        self.store = store
        self.costs = costs
        self.timeframe = timeframe
        self.ticks = ticks
        self._warned: set[str] = set()
        self._inputs = lru_cache(maxsize=4096)(self._inputs_uncached)

    def inputs(self, symbol: str, now_ms: int) -> CostInputs | None:
        """The model's inputs of the last ``timeframe`` candle closed by ``now_ms`` (data
        time), or None when there is none (fixed-cost configs need none)."""
        if self.costs.fixed_bps is not None:
            return None
        series = self.store.series(symbol, self.timeframe)
        closed = int(np.searchsorted(series.open_ms, now_ms - series.timeframe_ms, side="right"))
        return self._inputs(symbol, closed)

    def _inputs_uncached(self, symbol: str, closed: int) -> CostInputs | None:
        series = self.store.series(symbol, self.timeframe)
        need = self.costs.required_candles()
        if closed < 1:
            return None
        # Enough raw rows to cover `need` candles after Freqtrade's gap filling.
        last_open = int(series.open_ms[closed - 1])
        first_open = last_open - (need - 1) * series.timeframe_ms
        lo = int(np.searchsorted(series.open_ms, first_open, side="left"))
        frame = pd.DataFrame(series.ohlcv[lo:closed], columns=["open", "high", "low", "close",
                                                               "volume"])
        frame.insert(0, "date", pd.to_datetime(series.open_ms[lo:closed], unit="ms", utc=True))
        frame = ohlcv_fill_up_missing_data(frame, self.timeframe, symbol)
        if len(frame) < need:
            return None
        row = cost_inputs(frame.tail(need).reset_index(drop=True), self.costs,
                          self.timeframe).iloc[-1]
        return CostInputs(*(float(row[c]) for c in COLUMNS))

    def levels(self, symbol: str, mid: float, now_ms: int,
               limit: int) -> tuple[list[BookLevel], list[BookLevel]] | None:
        """(bids, asks), ``limit`` levels each, best first; None when the model has no
        estimate at ``now_ms`` (the caller serves its plain synthesized book)."""
        inputs = self.inputs(symbol, now_ms)
        floor = half_tick_frac(self.ticks.get(symbol), mid)
        try:
            return (model_levels(mid, "sell", self.costs, inputs, limit, floor),
                    model_levels(mid, "buy", self.costs, inputs, limit, floor))
        except CostModelError as err:
            if symbol not in self._warned:
                self._warned.add(symbol)
                logger.warning("%s: %s; serving the plain synthesized book until the model has "
                               "an estimate", symbol, err)
            return None

    def model_price(self, symbol: str, side: Side, amount: float, mid: float,
                    now_ms: int) -> float:
        """The model's average price for ``amount`` (base units) at ``now_ms`` around ``mid``:
        what a walk of :meth:`levels` gives at a level boundary (for checks and benchmarks).

        Raises:
            CostModelError: no estimate at ``now_ms``.
        """
        cost = order_cost(self.costs, self.inputs(symbol, now_ms), amount * mid,
                          half_tick_frac(self.ticks.get(symbol), mid))
        return fill_price(mid, side, cost.total_frac)


def timeframe_ms(timeframe: str) -> int:
    """``timeframe`` in milliseconds (``1h`` -> 3 600 000)."""
    return timeframe_to_msecs(timeframe)
