"""One report row per model or control, with the keys every benchmark JSON carries.

A row is a flat dict with at least :data:`ROW_KEYS`; a key that does not apply (the IC of
buy-and-hold, the trades of a predictor that is not traded, the cross-sectional IC with fewer
than 3 pairs) is ``None``, never a made-up value. :func:`metric_definitions` says what each key means
(a report carries them beside its figures).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from plugins.research import stats

#: Keys of every row (``None`` where not applicable).
ROW_KEYS = ("ic_nonoverlap", "ic_nonoverlap_t", "ic_cross_sectional", "ic_cross_sectional_t",
            "sharpe_daily", "psr", "max_drawdown", "profit_total", "trades")


def metric_definitions(horizon: int, periods_per_year: int = stats.DAYS_PER_YEAR) -> dict[str, str]:
    """What each key of a row means, for the report's ``metric_definitions``."""
    return {
        "ic_nonoverlap": f"Spearman rank IC of prediction vs realized label pooled over pairs "
                         f"and time, on every {horizon}th candle only (labels of {horizon} "
                         f"candles never overlap), the {horizon} offsets averaged",
        "ic_nonoverlap_t": "its t-statistic: Driscoll-Kraay/Newey-West HAC standard error per "
                           "offset, t averaged over offsets; |t| >= 2 ~ significant at 5 %",
        "ic_cross_sectional": "mean over timestamps with >= 3 pairs of the Spearman IC across "
                              f"pairs (every {horizon}th candle, offsets averaged); null with "
                              "< 3 pairs",
        "ic_cross_sectional_t": "its Newey-West t-statistic",
        "sharpe_daily": f"mean / std (ddof 1) of daily returns * sqrt({periods_per_year}); daily "
                        "return = stake-currency P&L of the day (closed trades' profit_abs, net "
                        "of fees; buy-and-hold: marked to market) / starting balance",
        "psr": "Probabilistic Sharpe Ratio vs 0 of the daily returns (Bailey & Lopez de Prado "
               "2012): probability the true Sharpe is above 0",
        "max_drawdown": "Freqtrade's max_drawdown_account (freqtrade.data.metrics), a fraction",
        "profit_total": "total profit / starting balance, net of fees (Freqtrade's profit_total)",
        "trades": "closed trades (buy-and-hold: one per pair)",
    }


def empty_row() -> dict[str, Any]:
    """A row with every key of :data:`ROW_KEYS` set to ``None``."""
    return dict.fromkeys(ROW_KEYS)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def prediction_row(frame: pd.DataFrame, horizon: int, timeframe: str,
                   rng: np.random.Generator | None = None, n_boot: int = 1000) -> dict[str, Any]:
    """IC figures of one predictor: the IC keys of :data:`ROW_KEYS` plus ``rows``,
    ``directional_accuracy`` and, when ``rng`` is given, ``ic_ci`` (block-bootstrap 95 %
    interval of the pooled rank IC, :func:`stats.ic_ci`).

    Args:
        frame: prediction frame (``pair``, ``date``, ``pred``, ``real``; see
            :mod:`plugins.research.stats`).
        horizon: label horizon in candles; ``timeframe``: Freqtrade timeframe (``"1h"``).
    """
    ic = stats.information_coefficient(frame, horizon, timeframe)
    cs = stats.cross_sectional_ic(frame, horizon, timeframe)
    clean = frame.dropna(subset=["pred", "real"])
    row = {
        "ic_nonoverlap": _finite(ic.ic), "ic_nonoverlap_t": _finite(ic.t_stat),
        "ic_cross_sectional": None if cs is None else _finite(cs.ic),
        "ic_cross_sectional_t": None if cs is None else _finite(cs.t_stat),
        "rows": int(len(clean)), "ic_rows_per_offset": ic.n_obs,
        "directional_accuracy": _finite(stats.directional_accuracy(clean["pred"], clean["real"])),
    }
    if rng is not None and len(clean) >= 3:
        row["ic_ci"] = stats.ic_ci(clean, horizon, rng, n_boot=n_boot).to_dict()
    return row


def _returns_row(returns: pd.Series, rng: np.random.Generator | None, n_boot: int,
                 periods_per_year: int) -> dict[str, Any]:
    row = {"sharpe_daily": _finite(stats.annualized_sharpe(returns, periods_per_year)),
           "psr": _finite(stats.psr_from_returns(returns)), "days": int(len(returns))}
    if rng is not None and len(returns) >= 3:
        row["sharpe_ci"] = stats.sharpe_ci(returns, rng, periods_per_year=periods_per_year,
                                           n_boot=n_boot).to_dict()
    return row


def trading_row_from_trades(trades: pd.DataFrame, start: datetime, stop: datetime,
                            starting_balance: float, rng: np.random.Generator | None = None,
                            n_boot: int = 1000,
                            periods_per_year: int = stats.DAYS_PER_YEAR) -> tuple[dict, pd.Series]:
    """Trading figures of a Freqtrade backtest: the trading keys of :data:`ROW_KEYS`, plus
    ``profit_factor``, ``calmar``, ``days`` and ``sharpe_ci`` (with ``rng``), and the daily
    returns they were computed from (:func:`stats.daily_returns`).

    Args:
        trades: Freqtrade's trade frame (``load_backtest_data``); ``start``/``stop``: the
            backtest's time range (UTC, stop exclusive); ``starting_balance``: stake currency.
    """
    returns = stats.daily_returns(trades, start, stop, starting_balance)
    figures = stats.trade_figures(trades, start, stop, starting_balance)
    row = {**_returns_row(returns, rng, n_boot, periods_per_year),
           "max_drawdown": figures["max_drawdown"], "profit_total": figures["profit_total"],
           "trades": figures["trades"], "profit_factor": figures["profit_factor"],
           "calmar": figures["calmar"]}
    return row, returns


def trading_row_from_balance(balance: pd.Series, trades: int | None,
                             rng: np.random.Generator | None = None, n_boot: int = 1000,
                             periods_per_year: int = stats.DAYS_PER_YEAR) -> tuple[dict, pd.Series]:
    """Trading figures of an equity curve (e.g. buy-and-hold): as
    :func:`trading_row_from_trades`, from :func:`stats.balance_figures` and
    :func:`stats.balance_returns`; ``trades`` as given."""
    returns = stats.balance_returns(balance)
    figures = stats.balance_figures(balance)
    row = {**_returns_row(returns, rng, n_boot, periods_per_year),
           "max_drawdown": figures["max_drawdown"], "profit_total": figures["profit_total"],
           "trades": trades, "calmar": figures["calmar"]}
    return row, returns


def report_row(prediction: dict[str, Any] | None = None,
               trading: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """:func:`empty_row` updated with the prediction and trading figures and ``extra`` keys."""
    return {**empty_row(), **(prediction or {}), **(trading or {}), **extra}
