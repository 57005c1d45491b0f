"""Control rows: predictors and a position that need no model, evaluated beside every model.

A metric that a no-skill control scores well on is broken (the old per-pair-day rank IC gave
``-close`` +0.76); a model that does not beat the naive one-liners or buy-and-hold has not
earned its place. Every report built with :mod:`plugins.research.evaluation` carries these.

Candles: one frame per pair with ``date`` (tz-aware UTC candle open time), ``open`` and
``close`` (quote currency), in time order, as ``freqtrade.data.history.load_pair_history``
returns them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: Control predictor names (keys of :func:`control_predictors`), with what each is.
CONTROL_PREDICTORS = {
    "no_skill_neg_close": "-close: known at prediction time, no information on the future "
                          "(scores high only on a broken metric)",
    "no_skill_random": "standard normal noise from a seeded generator",
    "momentum": "past return over the label horizon: close / close(h candles ago) - 1",
    "mean_reversion_ema20": "-(close / EMA20(close) - 1)",
}


def realized_label(close: pd.Series, horizon: int) -> pd.Series:
    """The suite's FreqAI label on realized candles: mean close of the next ``horizon``
    candles / close - 1 (a fraction; NaN where fewer than ``horizon`` candles follow). The same
    formula as ``&-s_close`` in ``strategies/FreqaiBaseline.py`` (which the FreqAI strategies share)."""
    return close.shift(-horizon).rolling(horizon).mean() / close - 1


def control_predictors(close: pd.Series, horizon: int,
                       rng: np.random.Generator) -> dict[str, pd.Series]:
    """The control predictors of one pair (see :data:`CONTROL_PREDICTORS`), each a float
    series on ``close``'s index, computed from candles up to and including each row's.

    Args:
        close: close prices in time order (gaps filled as Freqtrade fills them).
        horizon: label horizon in candles (the momentum look-back).
        rng: the noise source of ``no_skill_random`` (inject a seeded generator).
    """
    close = close.astype("float64")
    ema = close.ewm(span=20, adjust=False).mean()
    return {
        "no_skill_neg_close": -close,
        "no_skill_random": pd.Series(rng.standard_normal(len(close)), index=close.index),
        "momentum": close / close.shift(horizon) - 1,
        "mean_reversion_ema20": -(close / ema - 1),
    }


def buy_and_hold_balance(candles: Mapping[str, pd.DataFrame], start: pd.Timestamp,
                         stop: pd.Timestamp, starting_balance: float,
                         fee: float) -> pd.Series:
    """Equity of an equal-weight buy-and-hold of the pairs over ``[start, stop)``.

    At the open of the first candle at or after ``start`` the balance is split equally among
    the pairs and each share buys at that open, paying ``fee`` (fraction per side, e.g. 0.001);
    the position is marked at every candle close and sold at the last close before ``stop``,
    paying ``fee`` again (the last point is net of it). Candles missing for one pair carry its
    last close forward.

    Returns:
        stake-currency equity indexed by candle close time (UTC): the first point is
        ``starting_balance`` at ``start``'s first open.

    Raises:
        ValueError: a pair has no candle in the window, or ``fee`` is not in [0, 1).
    """
    if not 0 <= fee < 1:
        raise ValueError(f"fee must be a fraction in [0, 1), got {fee}")
    share = starting_balance / len(candles)
    values, first_open = [], None
    for pair, frame in candles.items():
        window = frame[(frame["date"] >= start) & (frame["date"] < stop)]
        if window.empty:
            raise ValueError(f"{pair}: no candle between {start} and {stop}")
        units = share * (1 - fee) / float(window["open"].iloc[0])
        step = window["date"].diff().median() if len(window) > 1 else pd.Timedelta(0)
        closes = pd.Series(window["close"].to_numpy(dtype="float64"),
                           index=pd.DatetimeIndex(window["date"]) + step)
        values.append(closes * units)
        opened = window["date"].iloc[0]
        first_open = opened if first_open is None else min(first_open, opened)
    equity = pd.concat(values, axis=1).sort_index().ffill().bfill().sum(axis=1)
    equity.iloc[-1] *= 1 - fee
    head = pd.Series([starting_balance], index=pd.DatetimeIndex([first_open]))
    return pd.concat([head, equity])
