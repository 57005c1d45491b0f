"""Rolling sum, mean and standard deviation computed window by window, so that a value depends on
its window's candles only, never on where the data starts.

pandas' ``Series.rolling(n).mean()/.std()`` update running sums from the first row on; their
rounding (~1e-8 relative for a Bollinger width) therefore depends on how much history precedes a
candle. A backtest and a dry-run analyse the same candle with different amounts of history, so
such a feature differs in its last bits between the two, and a tree model (LightGBM) fitted on
it can pick another split: ``bench/dryrun_parity.py`` traced its remaining backtest/dry-run
differences to exactly this (README, "Backtest/dry-run parity"). Here each window is reduced on
its own (``numpy.lib.stride_tricks.sliding_window_view``), bit-identical wherever the data starts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view


def _rolling(series: pd.Series, window: int, reduce: str, **kwargs: int) -> pd.Series:
    """``numpy.<reduce>`` over each window of ``window`` values, aligned on the window's last
    row; NaN on the first ``window - 1`` rows (all rows when the series is shorter)."""
    if window < 1:
        raise ValueError(f"window={window}: need at least 1 candle")
    out = np.full(len(series), np.nan)
    if len(series) >= window:
        windows = sliding_window_view(series.to_numpy(dtype="float64"), window)
        out[window - 1:] = getattr(windows, reduce)(axis=1, **kwargs)
    return pd.Series(out, index=series.index, name=series.name)


def window_mean(series: pd.Series, window: int) -> pd.Series:
    """Mean of the last ``window`` values at each row (float64, same index as ``series``):
    NaN on the first ``window - 1`` rows and wherever the window holds a NaN (as pandas'
    ``rolling(window).mean()``).

    Raises:
        ValueError: ``window < 1``.
    """
    return _rolling(series, window, "mean")


def window_sum(series: pd.Series, window: int) -> pd.Series:
    """Sum of the last ``window`` values at each row; NaN like :func:`window_mean`.

    Raises:
        ValueError: ``window < 1``.
    """
    return _rolling(series, window, "sum")


def window_std(series: pd.Series, window: int, ddof: int = 1) -> pd.Series:
    """Standard deviation of the last ``window`` values at each row (``ddof`` 1 = sample, as
    pandas' ``rolling(window).std()``); NaN like :func:`window_mean`.

    Raises:
        ValueError: ``window < 1``.
    """
    return _rolling(series, window, "std", ddof=ddof)


def money_flow_index(ohlcv: pd.DataFrame, period: int) -> pd.Series:
    """Money Flow Index (Quong & Soudack, 1989), as TA-Lib's ``MFI`` computes it, from window
    sums: ``100 * positive / (positive + negative)`` money flow over the last ``period`` candles,
    money flow = typical price ``(high + low + close) / 3`` x volume, positive when the typical
    price rose from the previous candle, negative when it fell, and 0 where the total flow is
    below 1.0 (TA-Lib's guard). TA-Lib keeps running sums, which carry rounding from the first
    candle on (values differ ~1e-12 with the start of the data); this does not.

    Args:
        ohlcv: Freqtrade candles with float ``high``, ``low``, ``close``, ``volume`` columns.
        period: candles in the window (TA-Lib's ``timeperiod``).

    Returns:
        float64 Series on ``ohlcv.index`` in 0..100; NaN on the first ``period`` rows.

    Raises:
        ValueError: ``period < 1``.
    """
    typical = (ohlcv["high"] + ohlcv["low"] + ohlcv["close"]) / 3
    flow = typical * ohlcv["volume"]
    change = typical.diff()
    positive = window_sum(flow.where(change > 0, 0.0).where(change.notna()), period)
    negative = window_sum(flow.where(change < 0, 0.0).where(change.notna()), period)
    total = positive + negative
    mfi = (100.0 * positive / total).where(total >= 1.0, 0.0)
    return mfi.where(positive.notna())
