"""Stepped dry-run: Freqtrade's own dry-run loop driven candle by candle over a past window.

A real-time replay of one month of 1h candles takes a month. Here the clock is moved instead
of waited for: ``time_machine`` sets the process-wide UTC clock to each candle's open, then
``FreqtradeBot.process()`` runs once - the same call Freqtrade's ``Worker`` makes each
throttle cycle in ``freqtrade trade --dry-run``. The replay exchange runs in the same process
(static mode: candles keep their recorded timestamps) and reads the same travelled clock, so
at every step it serves exactly the candles that had opened by then, the forming one without
its future, and ticker/order-book prices of that moment. Nothing of the bot is replaced: the
exchange class, ccxt, the data provider, the strategy, FreqAI (its training thread included),
the wallet and the dry-run order fills are Freqtrade's.

What the clock cannot make deterministic is FreqAI's training *thread*: it trains whenever it
finds a model missing or older than ``live_retrain_hours``, in parallel with the loop. So the
runner waits (in real time, with the clock frozen) after any step that left a whitelisted
pair without a model, until the thread has trained it; and it refuses a ``live_retrain_hours``
that would retrain inside the window, where the thread would race the loop (see
``run_stepped_dryrun``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import time_machine
from freqtrade.exchange import timeframe_to_seconds

logger = logging.getLogger(__name__)

TRADE_COLUMNS = ["pair", "open_date", "close_date", "open_rate", "close_rate", "exit_reason",
                 "profit_ratio", "enter_tag"]
ORDER_COLUMNS = ["pair", "side", "order_type", "amount", "price", "filled_at", "tag"]


class SteppedRunError(RuntimeError):
    """The stepped dry-run cannot start or cannot go on; the message names the setting."""


@dataclass(frozen=True)
class SteppedRun:
    """What a stepped dry-run saw.

    Attributes:
        analyzed: one row per (pair, step): the last candle of the analysed dataframe that
            ``dp.get_analyzed_dataframe`` returned after ``process()`` at that step - the
            candle the bot acts on. Columns: ``pair`` (str), ``step`` (UTC timestamp of the
            clock), then every column of the analysed dataframe (``date`` = candle open, UTC;
            ``enter_long``/``exit_long`` as the strategy set them, NaN where unset).
        trades: the dry-run's trades (:data:`TRADE_COLUMNS`; dates UTC, ``profit_ratio`` a
            fraction, NaN while open).
        steps: number of ``process()`` calls.
        wall_s: wall time of the stepping loop, FreqAI training waits included (s).
        training_wait_s: part of ``wall_s`` spent waiting for FreqAI's training thread (s).
        orders: every filled order (:data:`ORDER_COLUMNS`: ``side`` buy/sell, ``amount`` in
            base units, ``price`` the fill's average in quote, ``filled_at`` UTC, ``tag`` the
            order's tag: entry tag or exit reason).
    """

    analyzed: pd.DataFrame
    trades: pd.DataFrame
    steps: int
    wall_s: float
    training_wait_s: float
    orders: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ORDER_COLUMNS))


def step_times(start: datetime, end: datetime, timeframe: str) -> list[datetime]:
    """Candle open times ``start <= t <= end`` (UTC) on the ``timeframe`` grid.

    Raises:
        SteppedRunError: ``start`` is not on the grid or ``end`` is before it.
    """
    step = timeframe_to_seconds(timeframe)
    if int(start.timestamp()) % step:
        raise SteppedRunError(
            f"start {start.isoformat()} is not a {timeframe} candle open; use a time on the "
            f"{timeframe} grid, e.g. a midnight UTC.")
    if end < start:
        raise SteppedRunError(f"end {end.isoformat()} is before start {start.isoformat()}.")
    count = int((end - start).total_seconds()) // step
    return [start + timedelta(seconds=step * i) for i in range(count + 1)]


def run_stepped_dryrun(config: dict[str, Any], start: datetime, end: datetime,
                       training_timeout_s: float = 900.0) -> SteppedRun:
    """Run ``freqtrade trade --dry-run``'s loop once per candle from ``start`` to ``end``.

    The first step (the clock at ``start``) analyses the candle *before* ``start``; the
    step at ``t`` analyses the candle that opened at ``t - timeframe``, so the candles
    ``start .. end - timeframe`` are acted upon by the steps after the first.

    Args:
        config: a complete Freqtrade config (``Configuration(..., RunMode.DRY_RUN)``) whose
            exchange URLs point at a replay exchange in **this** process in static mode (it
            must read the travelled clock), ``dry_run`` true, and a ``db_url`` of its own.
        start, end: UTC candle opens on the strategy timeframe's grid.
        training_timeout_s: real seconds to wait for FreqAI's thread to train a missing model.

    Returns:
        :class:`SteppedRun`.

    Raises:
        SteppedRunError: not a dry-run config, a ``live_retrain_hours`` that would retrain
            inside the window, a FreqAI training that did not finish in time, or a step that
            did not analyse the expected candle.
    """
    from freqtrade.freqtradebot import FreqtradeBot
    from freqtrade.persistence import Trade

    if not config.get("dry_run"):
        raise SteppedRunError("config: dry_run must be true; the stepped run never trades live.")
    timeframe = config["timeframe"]
    times = step_times(start, end, timeframe)
    freqai = config.get("freqai", {})
    if freqai.get("enabled"):
        window_h = (end - start).total_seconds() / 3600
        if freqai.get("live_retrain_hours", 0) < window_h:
            raise SteppedRunError(
                f"freqai.live_retrain_hours={freqai.get('live_retrain_hours', 0)} would retrain "
                f"inside the {window_h:.0f} h window, on FreqAI's thread racing the loop; set it "
                f">= {window_h:.0f} (and freqai.expiration_hours to 0) for a stepped run.")
    tf_delta = timedelta(seconds=timeframe_to_seconds(timeframe))
    rows: list[pd.DataFrame] = []
    waited = 0.0
    began = time.monotonic()
    with time_machine.travel(times[0], tick=False) as clock:
        bot = FreqtradeBot(config)
        try:
            bot.startup()
            for step in times:
                clock.move_to(step)
                bot.process()
                waited += _wait_for_models(bot, training_timeout_s)
                rows.extend(_last_candles(bot, step, step - tf_delta))
            trades = _trades_frame(Trade.get_trades_proxy())
            orders = _orders_frame(Trade.get_trades_proxy())
        finally:
            bot.cleanup()
    wall = time.monotonic() - began
    analyzed = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    logger.info("Stepped dry-run: %d steps over %d pairs in %.1f s (%.1f s waiting for FreqAI)",
                len(times), len(bot_pairs(config)), wall, waited)
    return SteppedRun(analyzed=analyzed, trades=trades, steps=len(times), wall_s=wall,
                      training_wait_s=waited, orders=orders)


def bot_pairs(config: dict[str, Any]) -> list[str]:
    """The static whitelist of ``config`` (the stepped run supports StaticPairList only)."""
    return list(config["exchange"]["pair_whitelist"])


def _wait_for_models(bot: Any, timeout_s: float) -> float:
    """Block (real time, clock frozen) until FreqAI has a model for every whitelisted pair;
    returns the seconds waited (0 without FreqAI)."""
    freqai = getattr(bot.strategy, "freqai", None)
    if freqai is None or not bot.config.get("freqai", {}).get("enabled"):
        return 0.0
    pairs = bot.active_pair_whitelist
    began = time.monotonic()
    while True:
        missing = [p for p in pairs
                   if not freqai.dd.pair_dict.get(p, {}).get("trained_timestamp")]
        if not missing:
            return time.monotonic() - began
        if time.monotonic() - began > timeout_s:
            raise SteppedRunError(
                f"FreqAI did not train {', '.join(missing)} within {timeout_s:.0f} s; see the "
                "log for its training errors, or raise training_timeout_s.")
        time.sleep(0.2)


def _last_candles(bot: Any, step: datetime, expected: datetime) -> list[pd.DataFrame]:
    out = []
    for pair in bot.active_pair_whitelist:
        frame, _ = bot.dataprovider.get_analyzed_dataframe(pair, bot.config["timeframe"])
        if frame.empty:
            raise SteppedRunError(f"{pair}: nothing analysed at {step.isoformat()}.")
        last = frame.iloc[[-1]].copy()
        if last["date"].iloc[0] != pd.Timestamp(expected):
            raise SteppedRunError(
                f"{pair}: at {step.isoformat()} the last analysed candle is "
                f"{last['date'].iloc[0]}, expected {expected.isoformat()}; the replay exchange "
                "must run in this process in static mode.")
        last.insert(0, "step", pd.Timestamp(step))
        last.insert(0, "pair", pair)
        out.append(last)
    return out


def _trades_frame(trades: Sequence[Any]) -> pd.DataFrame:
    records = [{
        "pair": t.pair,
        "open_date": pd.Timestamp(t.open_date_utc),
        "close_date": pd.Timestamp(t.close_date_utc) if t.close_date else pd.NaT,
        "open_rate": t.open_rate, "close_rate": t.close_rate, "exit_reason": t.exit_reason,
        "profit_ratio": t.close_profit, "enter_tag": t.enter_tag,
    } for t in trades]
    return pd.DataFrame(records, columns=TRADE_COLUMNS)


def _orders_frame(trades: Sequence[Any]) -> pd.DataFrame:
    records = [{
        "pair": t.pair, "side": o.ft_order_side, "order_type": o.order_type,
        "amount": float(o.safe_filled), "price": float(o.safe_price),
        "filled_at": pd.Timestamp(o.order_filled_utc), "tag": o.ft_order_tag,
    } for t in trades for o in t.orders if o.status == "closed" and o.safe_filled]
    return pd.DataFrame(records, columns=ORDER_COLUMNS)
