"""Raw, causal regime inputs from a Freqtrade OHLCV frame.

Every value at row ``t`` is computed from candles ``<= t`` only: rolling windows end at ``t``,
EMA and ADX are TA-Lib's forward recursions. Dropping later rows never changes earlier values.
Dropping *earlier* rows does change the recursive ones (``adx``, ``ema_slope``) for a while -
the usual indicator start-up effect that Freqtrade's ``startup_candle_count`` covers; give the
detector at least :data:`CONVERGED_CANDLES` candles of history before the rows you label.

Inputs (all float64, raw and unscaled - the detectors standardize on their training rows):

======================  ==========================================================================
``ret``                 log return over ``window`` candles: ``ln(close_t / close_{t-window})``.
``vol``                 realized volatility: sample std (ddof 1) of the last ``window`` one-candle
                        log returns; per candle, *not* annualized.
``downside_vol``        downside deviation of the last ``window`` one-candle log returns:
                        ``sqrt(mean(min(r, 0)^2))`` (target 0, Sortino & van der Meer 1991; the
                        jump-model paper of Shu, Yu & Mulvey 2024 uses an EWM version). It is 0
                        when no return in the window is negative. This is the root mean square
                        of the negative parts, not the std of the negative returns around their
                        own mean (which is undefined with fewer than two of them).
``adx``                 TA-Lib ``ADX(high, low, close, 14)``, Wilder's average directional index,
                        0-100 (trend strength, no direction).
``ema_slope``           relative change of the EMA(50) of close over 10 candles:
                        ``ema_t / ema_{t-10} - 1`` (a fraction, 0.01 = 1 %). TA-Lib's EMA is seeded
                        with the SMA of the first 50 closes.
======================  ==========================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd
import talib

from plugins.core.windowed import window_mean, window_std
from plugins.regime.base import RegimeDetectorError

logger = logging.getLogger(__name__)

#: the columns :func:`regime_inputs` returns and the detectors read, in this order.
REGIME_INPUTS: tuple[str, ...] = ("ret", "vol", "downside_vol", "adx", "ema_slope")

#: OHLCV columns :func:`regime_inputs` reads (``open``, ``volume`` and ``date`` are not needed).
PRICE_COLUMNS: tuple[str, ...] = ("high", "low", "close")

ADX_PERIOD = 14
EMA_PERIOD = 50
EMA_SLOPE_LAG = 10

#: candles after which the recursive inputs (EMA-50, ADX-14) no longer depend on where the data
#: starts, to float precision in practice (about 10 EMA time constants); use it as
#: ``startup_candle_count`` in strategies that feed a detector.
CONVERGED_CANDLES = 500


def warmup_candles(window: int = 24) -> int:
    """Number of leading rows of :func:`regime_inputs` that contain NaN.

    Rows ``0 .. warmup_candles(window) - 1`` have at least one NaN input; every later row is
    complete (given complete OHLC). The longest of: ``window`` (rolling return statistics need
    ``window`` one-candle returns), ``2 * 14 - 1 = 27`` (TA-Lib ADX-14 lookback) and
    ``50 - 1 + 10 = 59`` (EMA-50 lookback plus the 10-candle slope lag).
    """
    return max(window, 2 * ADX_PERIOD - 1, EMA_PERIOD - 1 + EMA_SLOPE_LAG)


def regime_inputs(ohlcv: pd.DataFrame, window: int = 24) -> pd.DataFrame:
    """The :data:`REGIME_INPUTS` columns for every candle of ``ohlcv``.

    Args:
        ohlcv: a Freqtrade candle frame (``date, open, high, low, close, volume``; only
            ``high``, ``low``, ``close`` are read), rows in time order, any index, prices > 0.
        window: candles in the return / volatility windows (24 = one day of 1h candles).

    Returns:
        A float64 frame with ``ohlcv``'s index and the :data:`REGIME_INPUTS` columns, NaN in the
        first :func:`warmup_candles` rows (drop them before ``fit`` / ``predict_proba``).

    Raises:
        RegimeDetectorError: a price column is missing, has NaN or non-positive values, or
            ``window < 2``.
    """
    if window < 2:
        raise RegimeDetectorError(f"regime_inputs window={window}: need at least 2 candles")
    missing = [c for c in PRICE_COLUMNS if c not in ohlcv.columns]
    if missing:
        raise RegimeDetectorError(f"regime_inputs: OHLCV frame lacks column(s) {missing}; pass the "
                                  "Freqtrade candle frame (date, open, high, low, close, volume)")
    prices = {c: ohlcv[c].to_numpy(dtype="float64") for c in PRICE_COLUMNS}
    for column, values in prices.items():
        bad = int(np.count_nonzero(~(values > 0)))   # catches NaN, 0 and negatives
        if bad:
            raise RegimeDetectorError(f"regime_inputs: column {column!r} has {bad} NaN or non-positive "
                                      "value(s); fill or drop those candles first")
    close = prices["close"]
    log_close = pd.Series(np.log(close))
    r1 = log_close.diff()
    ret = log_close - log_close.shift(window)
    # Window by window (plugins.core.windowed): the same value wherever the data starts.
    vol = window_std(r1, window, ddof=1)
    down = np.minimum(r1, 0.0) ** 2
    downside_vol = np.sqrt(window_mean(down, window))
    adx = talib.ADX(prices["high"], prices["low"], close, timeperiod=ADX_PERIOD)
    ema = pd.Series(talib.EMA(close, timeperiod=EMA_PERIOD))
    ema_slope = ema / ema.shift(EMA_SLOPE_LAG) - 1.0
    out = pd.DataFrame({"ret": ret.to_numpy(), "vol": vol.to_numpy(),
                        "downside_vol": downside_vol.to_numpy(), "adx": adx,
                        "ema_slope": ema_slope.to_numpy()}, index=ohlcv.index, dtype="float64")
    return out.loc[:, list(REGIME_INPUTS)]


def check_inputs(X: pd.DataFrame, columns: Iterable[str], *, who: str) -> np.ndarray:
    """The ``columns`` of ``X`` as a float64 array of shape ``(len(X), len(columns))``.

    Args:
        X: detector input rows (see :mod:`plugins.regime.base`).
        columns: the input columns the caller needs.
        who: caller name for the error messages (``"HmmDetector.fit"``).

    Raises:
        RegimeDetectorError: ``X`` is not a DataFrame, lacks a column, or has NaN / inf values
            (the message names the column and how many rows).
    """
    columns = list(columns)
    if not isinstance(X, pd.DataFrame):
        raise RegimeDetectorError(f"{who}: X must be a pandas DataFrame with columns {columns}, "
                                  f"got {type(X).__name__}")
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise RegimeDetectorError(f"{who}: input column(s) {missing} missing; compute them with "
                                  "plugins.regime.features.regime_inputs(ohlcv)")
    values = X.loc[:, columns].to_numpy(dtype="float64", copy=True)
    bad = ~np.isfinite(values)
    if bad.any():
        counts = {c: int(n) for c, n in zip(columns, bad.sum(axis=0), strict=True) if n}
        raise RegimeDetectorError(f"{who}: NaN/inf in input column(s) {counts} (rows); drop the "
                                  "warm-up rows first (X.iloc[warmup_candles(window):] or X.dropna())")
    return values
