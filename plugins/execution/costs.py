"""The execution-cost model: half-spread + market impact + latency -> the fill price.

For an order of ``notional`` (quote currency, e.g. USDT) at a reference price ``P`` (the price
Freqtrade proposes: the next candle's open in a backtest, the book's mid in the replay)::

    cost_frac = half_spread_frac + impact_frac(notional) + latency_bps / 10_000
    buy fill  = P x (1 + cost_frac)          sell fill = P x (1 - cost_frac)

Fees are not part of it: Freqtrade charges them on top, as always.

The three inputs are estimated per pair from its own candles, rolling, **point-in-time**: the
value on candle ``t`` uses candle ``t`` and candles before it only, so an order placed after
``t`` closed may use it (:func:`inputs_at` looks up the last candle closed by a given time).
Every window is reduced on its own (``plugins.core.windowed``), so a value does not depend on
where the data starts: a backtest, the strategy in dry-run and the replay exchange compute the
same bits for the same candle.

- **Half-spread** (:func:`abdi_ranaldo_half_spread`): Abdi & Ranaldo (2017), "A Simple
  Estimation of Bid-Ask Spreads from Daily Close, High, and Low Prices", Review of Financial
  Studies 30(12), eq. (9)-(10): with log close ``c``, log mid-range ``eta = (log high + log low)
  / 2``, ``S^2 = 4 E[(c_t - eta_t)(c_t - eta_{t+1})]``; the window's sample mean replaces the
  expectation and a negative mean is set to zero (their "monthly" estimator). ``S`` is the
  full relative spread, the half-spread ``S / 2``. Callers floor it at half a tick (the spread
  cannot be below one tick).
- **Market impact** (:func:`market_impact_frac`): the square-root law, Almgren, Thum, Hauptmann
  & Li (2005), "Direct Estimation of Equity Market Impact", Risk 18(7); Tóth et al. (2011),
  Phys. Rev. X 1, 021006: ``impact = Y x sigma_daily x sqrt(notional / daily notional volume)``.
- **sigma_daily** (:func:`daily_volatility`): sample standard deviation of log close-to-close
  returns over the window, times ``sqrt(candles per day)``.
- **Daily notional volume** (:func:`daily_notional_volume`): mean of ``volume x close`` per
  candle (base volume in quote currency) over the window, times candles per day.

Known limit (measured on Binance 1h candles 2022-2025, README "Execution costs"): the OHLC
estimator cannot resolve BTC/ETH/XRP's real spreads of about one tick; on 1h candles it is zero
on most candles and a few bps on the others (noise of the volatility it must subtract), i.e.
conservative on average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd
from freqtrade.exchange import timeframe_to_seconds

from plugins.core.errors import SuiteError
from plugins.core.windowed import window_mean, window_std
from plugins.execution.config import CostConfig

Side = Literal["buy", "sell"]

BPS = 1e-4
HALF_SPREAD = "cost_half_spread_frac"
SIGMA_DAILY = "cost_sigma_daily_frac"
DAILY_NOTIONAL = "cost_daily_notional"
#: The model's input columns (:func:`cost_inputs`), in this order.
COLUMNS = (HALF_SPREAD, SIGMA_DAILY, DAILY_NOTIONAL)


class CostModelError(SuiteError):
    """The model has no estimate for an order (too little history, NaN or zero-volume candles,
    a negative size). Strategies refuse the entry (fail closed) with the message logged."""


def candles_per_day(timeframe: str) -> float:
    """Candles of ``timeframe`` in one day (24 for ``1h``, 1 for ``1d``, 1/7 for ``1w``)."""
    return 86_400 / timeframe_to_seconds(timeframe)


def abdi_ranaldo_half_spread(candles: pd.DataFrame, window: int) -> pd.Series:
    """Half of the Abdi-Ranaldo (2017) relative bid-ask spread, rolling over ``window`` terms.

    The term of candle ``t`` is ``(c_t - eta_t)(c_t - eta_{t+1})``: it needs candle ``t + 1``,
    so the row of candle ``T`` averages the terms of ``T - window .. T - 1`` (candles
    ``T - window .. T``): nothing after ``T``.

    Args:
        candles: OHLCV rows in time order with float ``high``, ``low``, ``close`` (> 0).
        window: terms averaged (>= 2).

    Returns:
        float64 Series on ``candles.index``: the half-spread as a fraction of the price
        (0.0002 = 2 bps); 0.0 where the window's mean term is negative; NaN on the first
        ``window`` rows and wherever the window holds a NaN.

    Raises:
        ValueError: ``window < 2``.
    """
    if window < 2:
        raise ValueError(f"window={window}: the spread needs at least 2 terms")
    log_close = np.log(candles["close"].astype("float64"))
    mid_range = (np.log(candles["high"].astype("float64")) +
                 np.log(candles["low"].astype("float64"))) / 2
    known = (log_close.shift(1) - mid_range.shift(1)) * (log_close.shift(1) - mid_range)
    squared = 4 * window_mean(known, window)
    return np.sqrt(squared.clip(lower=0.0)) / 2


def daily_volatility(candles: pd.DataFrame, window: int, timeframe: str) -> pd.Series:
    """Daily volatility (fraction) from the last ``window`` log close-to-close returns.

    Returns:
        float64 Series on ``candles.index``: ``std(log returns, ddof=1) x sqrt(candles per
        day)``; NaN on the first ``window`` rows.

    Raises:
        ValueError: ``window < 2``.
    """
    if window < 2:
        raise ValueError(f"window={window}: a standard deviation needs at least 2 returns")
    returns = np.log(candles["close"].astype("float64")).diff()
    return window_std(returns, window) * math.sqrt(candles_per_day(timeframe))


def daily_notional_volume(candles: pd.DataFrame, window: int, timeframe: str) -> pd.Series:
    """Daily traded notional (quote currency) from the last ``window`` candles.

    Returns:
        float64 Series on ``candles.index``: ``mean(volume x close) x candles per day``
        (``volume`` in base units); NaN on the first ``window - 1`` rows.
    """
    notional = candles["volume"].astype("float64") * candles["close"].astype("float64")
    return window_mean(notional, window) * candles_per_day(timeframe)


def cost_inputs(candles: pd.DataFrame, config: CostConfig, timeframe: str) -> pd.DataFrame:
    """The model's inputs for every candle: columns :data:`COLUMNS` on ``candles.index``.

    Args:
        candles: Freqtrade OHLCV of one pair (``open high low close volume``), time order.
        config: window lengths.
        timeframe: the candles' timeframe, e.g. ``1h``.

    Returns:
        float64 frame: ``cost_half_spread_frac`` (fraction), ``cost_sigma_daily_frac``
        (fraction per day), ``cost_daily_notional`` (quote currency per day). The first
        ``config.required_candles() - 1`` rows are NaN.
    """
    return pd.DataFrame({
        HALF_SPREAD: abdi_ranaldo_half_spread(candles, config.spread_window_candles),
        SIGMA_DAILY: daily_volatility(candles, config.volatility_window_candles, timeframe),
        DAILY_NOTIONAL: daily_notional_volume(candles, config.volatility_window_candles,
                                              timeframe),
    }, index=candles.index)


@dataclass(frozen=True)
class CostInputs:
    """The model's inputs on one candle (see :func:`cost_inputs` for units)."""

    half_spread_frac: float
    sigma_daily_frac: float
    daily_notional: float

    def usable(self) -> bool:
        """All finite, volatility >= 0 and volume > 0."""
        values = (self.half_spread_frac, self.sigma_daily_frac, self.daily_notional)
        return all(math.isfinite(v) for v in values) and self.sigma_daily_frac >= 0 \
            and self.daily_notional > 0


def inputs_at(frame: pd.DataFrame, when: datetime, timeframe: str) -> tuple[pd.Timestamp,
                                                                              CostInputs] | None:
    """The inputs of the last candle closed by ``when`` (its open <= ``when - timeframe``).

    Args:
        frame: a ``date`` column (candle open, UTC, ascending) and :data:`COLUMNS`.
        when: the order time (UTC).

    Returns:
        (that candle's open, its inputs), or None when no candle had closed by ``when``.
    """
    cutoff = _utc(when) - pd.Timedelta(seconds=timeframe_to_seconds(timeframe))
    i = int(frame["date"].searchsorted(cutoff, side="right")) - 1
    if i < 0:
        return None
    row = frame.iloc[i]
    return pd.Timestamp(row["date"]), CostInputs(float(row[HALF_SPREAD]), float(row[SIGMA_DAILY]),
                                                 float(row[DAILY_NOTIONAL]))


def _utc(when: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(when)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def market_impact_frac(notional: float | np.ndarray, sigma_daily_frac: float,
                       daily_notional: float, impact_y: float) -> float | np.ndarray:
    """Square-root impact ``Y x sigma_daily x sqrt(notional / daily_notional)`` (fraction).

    Almgren et al. (2005); Tóth et al. (2011). Zero at zero size, increasing in size.

    Args:
        notional: order size(s) in quote currency (>= 0).
        sigma_daily_frac: daily volatility (fraction, >= 0).
        daily_notional: daily traded notional in quote currency (> 0).
        impact_y: the prefactor ``Y`` (> 0).

    Raises:
        CostModelError: a negative size, a non-positive volume or ``Y``, a negative volatility.
    """
    size = np.asarray(notional, dtype="float64")
    if np.any(size < 0) or not np.all(np.isfinite(size)):
        raise CostModelError(f"order notional {notional}: must be a finite amount >= 0")
    if not daily_notional > 0 or not sigma_daily_frac >= 0 or not impact_y > 0:
        raise CostModelError(f"impact undefined for daily notional {daily_notional}, sigma "
                             f"{sigma_daily_frac}, Y {impact_y}")
    impact = impact_y * sigma_daily_frac * np.sqrt(size / daily_notional)
    return float(impact) if np.ndim(impact) == 0 else impact


@dataclass(frozen=True)
class CostBreakdown:
    """One order's cost, by part (fractions of the reference price; ``fixed_frac`` only with
    ``ai_suite.costs.fixed_bps``)."""

    half_spread_frac: float = 0.0
    impact_frac: float = 0.0
    latency_frac: float = 0.0
    fixed_frac: float = 0.0

    @property
    def total_frac(self) -> float:
        """The whole cost (fraction)."""
        return self.half_spread_frac + self.impact_frac + self.latency_frac + self.fixed_frac

    @property
    def total_bps(self) -> float:
        """The whole cost in basis points."""
        return self.total_frac / BPS


def order_cost(config: CostConfig, inputs: CostInputs | None, notional: float,
               min_half_spread_frac: float = 0.0) -> CostBreakdown:
    """The model's cost of an order of ``notional`` (quote currency).

    Args:
        config: ``ai_suite.costs``; disabled = zero cost, ``fixed_bps`` = that cost.
        inputs: the pair's inputs at the order (:func:`inputs_at`); unused when disabled or
            fixed.
        notional: order size in quote currency (amount x reference price, >= 0).
        min_half_spread_frac: floor of the half-spread, e.g. half a tick / price.

    Raises:
        CostModelError: the model needs ``inputs`` and they are missing or unusable, or the
            size is negative.
    """
    if not config.enabled:
        return CostBreakdown()
    if config.fixed_bps is not None:
        return CostBreakdown(fixed_frac=config.fixed_bps * BPS)
    if inputs is None or not inputs.usable():
        raise CostModelError(
            f"no cost estimate ({inputs}): the model needs {config.required_candles()} candles of "
            "history with volume before an order")
    impact = market_impact_frac(notional, inputs.sigma_daily_frac, inputs.daily_notional,
                                config.impact_y)
    return CostBreakdown(half_spread_frac=max(inputs.half_spread_frac, min_half_spread_frac),
                         impact_frac=float(impact), latency_frac=config.latency_bps * BPS)


def fill_price(reference: float, side: Side, cost_frac: float) -> float:
    """``reference x (1 + cost)`` for a buy, ``x (1 - cost)`` for a sell (quote currency).

    Raises:
        ValueError: ``side`` is neither ``buy`` nor ``sell``.
    """
    if side == "buy":
        return reference * (1 + cost_frac)
    if side == "sell":
        return reference * (1 - cost_frac)
    raise ValueError(f"side={side!r}: use 'buy' or 'sell'")


def half_tick_frac(tick_size: float | None, reference: float) -> float:
    """Half a price tick as a fraction of ``reference`` (0 without a tick): the least
    half-spread a market order can pay."""
    if not tick_size or not reference > 0:
        return 0.0
    return tick_size / (2 * reference)
