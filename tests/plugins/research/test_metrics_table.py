"""Seed 000's metrics table: figures from Freqtrade's functions, beside buy-and-hold."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from freqtrade.data.metrics import calculate_market_change

from plugins.research.metrics_table import (
    buy_and_hold_curve,
    compute_metrics,
    curve_figures,
    realized_curve,
    red_flags,
    render_table,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _daily(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range(T0, periods=len(values), freq="D"), dtype=float)


def test_compute_metrics_when_known_trades_and_curve_then_each_figure_as_defined():
    equity = _daily([100.0, 110.0, 88.0, 99.0, 105.0, 111.0, 112.0])

    m = compute_metrics([100.0, 100.0, 100.0, -150.0], equity)

    assert m.trades == 4 and m.win_rate == 0.75 and m.profit_factor == pytest.approx(2.0)
    assert m.avg_rr == pytest.approx(100 / 150)
    assert m.max_drawdown_frac == pytest.approx(0.2)          # 110 -> 88
    assert m.recovered and m.recovery == timedelta(days=4)   # peak day 1, back above on day 5
    returns = equity.pct_change().dropna()
    assert m.sharpe == pytest.approx(returns.mean() / returns.std(ddof=0) * math.sqrt(365))
    assert m.total_return_frac == pytest.approx(0.12)


def test_curve_figures_when_equity_sessions_then_sharpe_annualized_over_252():
    equity = _daily([100.0, 101.0, 100.5, 102.0])
    returns = equity.pct_change().dropna()

    figures = curve_figures(equity, periods_per_year=252)

    assert figures.sharpe == pytest.approx(returns.mean() / returns.std(ddof=0) * math.sqrt(252))


def test_curve_figures_when_flat_curve_then_no_drawdown_and_sharpe_undefined():
    figures = curve_figures(_daily([100.0, 100.0, 100.0]))

    assert figures.max_drawdown_frac == 0 and figures.recovery is None and figures.recovered
    assert math.isnan(figures.sharpe), "Freqtrade's -100 'no variance' marker is not a Sharpe"


def test_buy_and_hold_when_two_pairs_then_equal_weight_and_return_equals_market_change():
    idx = pd.date_range(T0, periods=4, freq="h")
    closes = {"BTC/USDT": pd.Series([100.0, 110.0, 120.0, 130.0], index=idx),
              "ETH/USDT": pd.Series([10.0, 9.0, 8.0, 9.0], index=idx)}

    curve = buy_and_hold_curve(closes, idx[0], idx[-1], 1000.0)

    assert curve.tolist() == pytest.approx([1000.0, 1000.0, 1000.0, 1100.0])
    frames = {p: s.rename("close").rename_axis("date").reset_index() for p, s in closes.items()}
    assert curve.iloc[-1] / 1000.0 - 1 == pytest.approx(calculate_market_change(frames, "close"))


def test_render_table_when_losing_strategy_beside_rising_market_then_flags_and_control_shown():
    equity = _daily([100.0, 95.0, 90.0, 92.0])
    control = _daily([100.0, 105.0, 110.0, 120.0])

    m = compute_metrics([-5.0, -5.0, 2.0], equity, control=control, control_label="1 pair")
    table = render_table(m, "T")

    flags = red_flags(m)
    assert flags["profit_factor"] and flags["trade_count"] and flags["recovery_time"]
    assert "Buy & hold" in table and "20.0 %" in table and "(1 pair)" in table
    assert "(not recovered)" in table and "RED FLAG" in table
    assert m.as_dict()["buy_and_hold"]["total_return"] == pytest.approx(0.2)


def test_realized_curve_when_trades_close_on_two_days_then_balance_steps_on_daily_grid():
    trades = pd.DataFrame({"close_date": pd.to_datetime(["2024-01-02 05:00", "2024-01-03 10:00"],
                                                        utc=True),
                           "profit_abs": [10.0, -4.0]})

    curve = realized_curve(trades, T0, T0 + timedelta(days=4), 1000.0)

    assert curve.loc["2024-01-02"] == 1000.0 and curve.loc["2024-01-03"] == 1010.0
    assert curve.iloc[-1] == 1006.0
