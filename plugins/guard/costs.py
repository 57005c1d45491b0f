"""ExecutionCostMixin: the execution-cost model (``ai_suite.costs``) on a Freqtrade strategy.

Use it first in the bases: ``class MyStrategy(ExecutionCostMixin, RiskGuardMixin, IStrategy)``.
Like the risk guard, it wraps the strategy's *resolved* callbacks on the instance at
construction, so a subclass's own ``order_filled`` or ``confirm_trade_entry`` still runs:

- ``order_types``: market orders for entries, exits and stops. The model prices orders that
  take liquidity; a limit order (a subclass may set one) is left at Freqtrade's price - at its
  limit when the candle reaches it in a backtest, when the book's best price crosses it in a
  dry-run - and a warning says so at start.
- ``advise_indicators``: adds the model's inputs of each candle
  (``cost_half_spread_frac``, ``cost_sigma_daily_frac``, ``cost_daily_notional``:
  :func:`plugins.execution.costs.cost_inputs`, from that candle and earlier ones) and keeps them
  per pair; ``startup_candle_count`` is raised to the windows' length.
- ``confirm_trade_entry``: no entry without a cost estimate (too little history, zero volume):
  fail closed, logged.
- ``order_filled`` in **backtesting** (and hyperopt, lookahead/recursive analysis: every runmode
  but dry-run and live): a market order's price becomes the model's.
  Freqtrade fills a backtest order at the price it proposes (the next candle's open for
  signals, the stop or ROI level for those exits, clamped to the candle); the mixin replaces it
  with ``proposed x (1 +/- cost)`` for the order's size (``amount x proposed``) and the inputs of
  the last candle closed before the fill, rounded to the pair's price precision as Freqtrade
  rounds prices, and updates the trade from the order as ``Order.close_bt_order`` does (open
  rate, stake, stop loss re-anchored on the entry fill as in live). Trade rates in the result
  file are therefore worse than Freqtrade's own by exactly the modelled cost.
- ``order_filled`` in **dry-run / live**: nothing is changed (the venue prices fills; the replay
  exchange serves a book built from the same model, :mod:`plugins.execution.book`); the fill
  is logged beside the signal candle's close and the model's cost.
- ``bot_start``: one log line saying whether costs are on and how they are modelled.

Fees stay Freqtrade's (``--fee`` or the exchange's).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from functools import wraps

import pandas as pd
from ccxt import DECIMAL_PLACES, TICK_SIZE
from freqtrade.enums import RunMode
from freqtrade.exchange import price_to_precision, timeframe_to_seconds
from freqtrade.persistence import Order, Trade

from plugins.core.config import load_section
from plugins.execution.config import CostConfig
from plugins.execution.costs import (
    COLUMNS,
    DAILY_NOTIONAL,
    CostInputs,
    CostModelError,
    cost_inputs,
    fill_price,
    half_tick_frac,
    inputs_at,
    order_cost,
)

logger = logging.getLogger(__name__)

COST_HOOKS = ("bot_start", "advise_indicators", "confirm_trade_entry", "order_filled")
#: Runmodes whose fills a venue prices (the replay exchange or a real one); every other runmode
#: (backtesting, hyperopt, lookahead- and recursive-analysis) fills in Freqtrade's simulator and
#: the mixin prices its fills.
VENUE_RUNMODES = (RunMode.DRY_RUN, RunMode.LIVE)
#: Market orders throughout: what the cost model prices.
MARKET_ORDER_TYPES = {
    "entry": "market", "exit": "market", "emergency_exit": "market", "force_entry": "market",
    "force_exit": "market", "stoploss": "market", "stoploss_on_exchange": False,
    "stoploss_on_exchange_interval": 60,
}


def tick_size(price_precision: float | None, precision_mode: int | None) -> float | None:
    """The price tick from a market's precision (ccxt TICK_SIZE or DECIMAL_PLACES mode)."""
    if price_precision is None:
        return None
    if precision_mode == TICK_SIZE:
        return float(price_precision)
    if precision_mode == DECIMAL_PLACES:
        return 10.0 ** -int(price_precision)
    return None


class ExecutionCostMixin:
    """The cost model on a Freqtrade strategy (see the module docstring).

    Attributes: ``cost_config`` (``plugins.execution.config.CostConfig``), ``cost_frames``
    (per pair: ``date`` + the model's input columns of the latest analysed candles).
    """

    order_types = dict(MARKET_ORDER_TYPES)

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self.cost_config = load_section(config, "costs", CostConfig)
        self.cost_frames: dict[str, pd.DataFrame] = {}
        if self._cost_model_on() and self.startup_candle_count < self.cost_config.required_candles():
            logger.info("Execution costs need %d candles of history; raising %s."
                        "startup_candle_count from %d", self.cost_config.required_candles(),
                        type(self).__name__, self.startup_candle_count)
            self.startup_candle_count = self.cost_config.required_candles()
        for name in COST_HOOKS:
            setattr(self, name, getattr(self, f"_cost_{name}")(getattr(self, name)))

    def _cost_model_on(self) -> bool:
        """The estimated model (not off, not a fixed cost) is in use."""
        return self.cost_config.enabled and self.cost_config.fixed_bps is None

    # --- wrappers -------------------------------------------------------------------------

    def _cost_bot_start(self, original):
        @wraps(original)
        def bot_start(**kwargs) -> None:
            runmode = self.config.get("runmode")
            where = ("applied to every market fill's price (order_filled)"
                     if runmode not in VENUE_RUNMODES else
                     "priced by the venue (the replay exchange serves the same model as depth)")
            state = "ON" if self.cost_config.enabled else "OFF"
            logger.info("Execution costs %s (ai_suite.costs): %s; %s; fees are Freqtrade's.",
                        state, self.cost_config.describe(),
                        where if self.cost_config.enabled else "no modelled slippage")
            limits = [k for k in ("entry", "exit", "stoploss") if self.order_types.get(k) == "limit"]
            if self.cost_config.enabled and limits:
                logger.warning("%s places limit orders for %s: the cost model prices market "
                               "orders only; limit fills stay at Freqtrade's price",
                               type(self).__name__, ", ".join(limits))
            original(**kwargs)
        return bot_start

    def _cost_advise_indicators(self, original):
        @wraps(original)
        def advise_indicators(dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
            frame = original(dataframe, metadata)
            if self._cost_model_on():
                inputs = cost_inputs(frame, self.cost_config, self.timeframe)
                frame = pd.concat([frame.drop(columns=list(COLUMNS), errors="ignore"), inputs],
                                  axis=1)
                self.cost_frames[metadata["pair"]] = frame[["date", *COLUMNS]].copy()
            return frame
        return advise_indicators

    def _cost_confirm_trade_entry(self, original):
        @wraps(original)
        def confirm_trade_entry(pair: str, order_type: str, amount: float, rate: float,
                                time_in_force: str, current_time: datetime,
                                entry_tag: str | None, side: str, **kwargs) -> bool:
            wanted = original(pair=pair, order_type=order_type, amount=amount, rate=rate,
                              time_in_force=time_in_force, current_time=current_time,
                              entry_tag=entry_tag, side=side, **kwargs)
            if not wanted or not self._cost_model_on():
                return bool(wanted)
            try:
                self.model_cost(pair, current_time, amount * rate, rate, None)
            except CostModelError as err:
                logger.warning("No %s entry at %s: %s", pair, current_time, err)
                return False
            except Exception:  # noqa: BLE001 - fail closed: Freqtrade would default to True
                logger.exception("Cost model failed on %s entry; denying it", pair)
                return False
            return True
        return confirm_trade_entry

    def _cost_order_filled(self, original):
        @wraps(original)
        def order_filled(pair: str, trade: Trade, order: Order, current_time: datetime,
                         **kwargs) -> None:
            if self.cost_config.enabled and order.order_type == "market":
                if self.config.get("runmode") not in VENUE_RUNMODES:
                    self._price_backtest_fill(pair, trade, order, current_time)
                else:
                    try:
                        self._log_venue_fill(pair, order, current_time)
                    except Exception:  # noqa: BLE001 - a log line must not break the fill
                        logger.exception("Could not compare the %s fill with the model", pair)
            original(pair=pair, trade=trade, order=order, current_time=current_time, **kwargs)
        return order_filled

    # --- the model --------------------------------------------------------------------------

    def model_cost(self, pair: str, when: datetime, notional: float, reference: float,
                   tick: float | None):
        """The model's cost (``CostBreakdown``) of an order of ``notional`` (quote currency) on
        ``pair`` at ``when``, from the last candle closed by then.

        Raises:
            CostModelError: no usable estimate (module docstring of ``plugins.execution.costs``).
        """
        if not self._cost_model_on():
            return order_cost(self.cost_config, None, notional)
        frame = self.cost_frames.get(pair)
        found = inputs_at(frame, when, self.timeframe) if frame is not None else None
        if found is None:
            raise CostModelError(f"{pair}: no analysed candle closed by {when}")
        return order_cost(self.cost_config, found[1], notional, half_tick_frac(tick, reference))

    def _price_backtest_fill(self, pair: str, trade: Trade, order: Order,
                             current_time: datetime) -> None:
        reference = float(order.ft_price)
        amount = float(order.safe_amount)
        tick = tick_size(trade.price_precision, trade.precision_mode_price)
        try:
            cost = self.model_cost(pair, current_time, amount * reference, reference, tick)
        except CostModelError as err:
            # Only an exit can get here (entries need an estimate): keep the last usable one.
            cost = self._last_usable_cost(pair, current_time, amount * reference, reference, tick)
            logger.warning("%s %s fill at %s: %s; used the last candle with an estimate",
                           pair, order.ft_order_side, current_time, err)
        price = price_to_precision(fill_price(reference, order.ft_order_side, cost.total_frac),
                                   trade.price_precision, trade.precision_mode_price)
        order.ft_price = order.price = order.average = price
        order.cost = amount * price
        if order.ft_order_side == trade.entry_side:
            # What Order.close_bt_order did with the proposed price, again with the fill's.
            trade.open_rate = price
            trade.recalc_trade_from_orders()
            if trade.nr_of_successful_entries == 1:
                trade.initial_stop_loss_pct = None
                trade.is_stop_loss_trailing = False
            trade.adjust_stop_loss(trade.open_rate, trade.stop_loss_pct)
        logger.debug("%s %s %.8g @ %.8g -> %.8g (cost %.3f bps)", pair, order.ft_order_side,
                     amount, reference, price, cost.total_bps)

    def _last_usable_cost(self, pair: str, when: datetime, notional: float, reference: float,
                          tick: float | None):
        """The cost from the last candle closed by ``when`` that has a usable estimate."""
        frame = self.cost_frames.get(pair)
        if frame is not None:
            cutoff = pd.Timestamp(when) - pd.Timedelta(seconds=timeframe_to_seconds(self.timeframe))
            usable = frame[frame["date"] <= cutoff].dropna()
            usable = usable[usable[DAILY_NOTIONAL] > 0]
            if not usable.empty:
                row = usable.iloc[-1]
                inputs = CostInputs(*(float(row[c]) for c in COLUMNS))
                return order_cost(self.cost_config, inputs, notional,
                                  half_tick_frac(tick, reference))
        raise CostModelError(f"{pair}: no candle with a cost estimate before {when}")

    def _log_venue_fill(self, pair: str, order: Order, current_time: datetime) -> None:
        """Dry-run/live: the venue's fill beside the signal candle's close and the model."""
        frame = self.cost_frames.get(pair)
        price, amount = order.safe_price, order.safe_filled
        if frame is None or not price or not amount:
            return
        found = inputs_at(frame, current_time, self.timeframe)
        analysed, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        if found is None or analysed.empty:
            return
        signal = analysed.loc[analysed["date"] == found[0], "close"]
        if signal.empty:
            return
        close = float(signal.iloc[-1])
        sign = 1 if order.ft_order_side == "buy" else -1
        slippage_bps = sign * (price / close - 1) * 1e4
        try:
            model_bps = self.model_cost(pair, current_time, amount * close, close, None).total_bps
        except CostModelError:
            model_bps = math.nan
        logger.info("%s %s fill %.8g vs signal close %.8g: slippage %.2f bps (model %.2f bps)",
                    pair, order.ft_order_side, price, close, slippage_bps, model_bps)
