"""Pure metric functions of ``bench/moe_vs_baseline.py`` on hand-made frames (no backtest)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.conftest import load_bench

bench = load_bench("moe_vs_baseline")
SQRT365 = math.sqrt(365)


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_realized_label_when_horizon_2_then_mean_of_next_two_closes_over_close():
    label = bench.realized_label(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]), horizon=2)

    # row i: mean(close[i+1..i+2]) / close[i] - 1; the strategy's rolling formula also leaves
    # the first horizon-1 rows NaN (irrelevant: candles start long before the time range)
    np.testing.assert_allclose(label[1:3], [3.5 / 2 - 1, 4.5 / 3 - 1])
    assert label[[0, 3, 4]].isna().all()


def test_directional_accuracy_when_half_the_signs_agree_then_one_half():
    assert bench.directional_accuracy([1, -1, 2, -2], [0.5, 0.5, -1, -3]) == 0.5
    assert math.isnan(bench.directional_accuracy([], []))


def test_spearman_when_monotone_reversed_or_constant_then_1_minus_1_nan():
    assert bench.spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert bench.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert bench.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)  # 1 - 6*2/(4*15)
    assert math.isnan(bench.spearman([1, 2, 3], [5, 5, 5]))


def test_daily_rank_ic_when_pair_days_differ_then_mean_of_per_group_ics():
    def group(pair, day, pred, real):
        dates = pd.date_range(_utc(day), periods=len(pred), freq="1h")
        return pd.DataFrame({"pair": pair, "date": dates, "pred": pred, "real": real})

    frame = pd.concat([
        group("A/USDT", "2024-03-01", [1, 2, 3], [10, 20, 30]),        # IC +1
        group("A/USDT", "2024-03-02", [1, 2, 3], [3, 2, 1]),           # IC -1
        group("B/USDT", "2024-03-01", [1, 2, 3, 4], [1, 3, 2, 4]),     # IC 0.8
        group("B/USDT", "2024-03-02", [1, 2], [1, 2]),                 # too few rows: skipped
        group("B/USDT", "2024-03-03", [1, 2, 3], [7, 7, 7]),           # constant: skipped
    ], ignore_index=True)

    mean, std, groups = bench.daily_rank_ic(frame)

    assert groups == 3
    assert mean == pytest.approx((1 - 1 + 0.8) / 3)
    assert std == pytest.approx(np.std([1, -1, 0.8], ddof=1))


def test_daily_returns_when_days_without_closes_then_zero_and_pnl_summed_per_close_day():
    trades = pd.DataFrame({
        "close_date": [_utc("2024-03-01 05:00"), _utc("2024-03-01 20:00"), _utc("2024-03-03 01:00")],
        "profit_abs": [100.0, -50.0, 20.0],
    })

    returns = bench.daily_returns(trades, _utc("2024-03-01"), _utc("2024-03-05"), 1000.0)

    assert list(returns.index) == list(pd.date_range(_utc("2024-03-01"), periods=4, freq="D"))
    np.testing.assert_allclose(returns, [0.05, 0.0, 0.02, 0.0])


def test_daily_returns_when_no_trades_then_all_zero_days():
    empty = pd.DataFrame({"close_date": pd.Series(dtype="datetime64[ns, UTC]"),
                          "profit_abs": pd.Series(dtype=float)})
    returns = bench.daily_returns(empty, _utc("2024-03-01"), _utc("2024-03-03"), 1000.0)

    np.testing.assert_allclose(returns, [0.0, 0.0])
    assert math.isnan(bench.sharpe(returns)) and math.isnan(bench.sortino(returns))


def test_sharpe_and_sortino_when_known_returns_then_closed_form_values():
    r = pd.Series([0.03, -0.01, 0.03, -0.01])   # mean 0.01, std(ddof=1) 0.04/sqrt(3)

    assert bench.sharpe(r) == pytest.approx(0.01 / (0.04 / math.sqrt(3)) * SQRT365)
    # downside deviation sqrt((0.01^2 + 0.01^2) / 4) = sqrt(0.00005)
    assert bench.sortino(r) == pytest.approx(0.01 / math.sqrt(0.00005) * SQRT365)


def test_sortino_when_no_losing_day_then_nan_and_sharpe_finite():
    r = pd.Series([0.02, 0.0, 0.02, 0.0])

    assert bench.sharpe(r) == pytest.approx(0.01 / math.sqrt(0.0004 / 3) * SQRT365)
    assert math.isnan(bench.sortino(r))


def test_timing_from_log_when_lines_present_then_sums_and_per_candle_time():
    log = "\n".join([
        "2026 - TimedX - WARNING - BENCH_TIMING fit BTC/USDT 500 2.0",
        "2026 - TimedX - WARNING - BENCH_TIMING fit ETH/USDT 500 3.0",
        "2026 - TimedX - WARNING - BENCH_TIMING predict BTC/USDT 100 0.01",
        "2026 - TimedX - WARNING - BENCH_TIMING predict ETH/USDT 300 0.03",
        "2026 - freqai - WARNING - Training ETH/USDT raised exception ValueError. Message: x",
    ])

    timing = bench.timing_from_log(log)

    assert timing["train_seconds"] == pytest.approx(5.0) and timing["fit_calls"] == 2
    assert timing["inference_us_per_candle"] == pytest.approx(100.0)
    assert timing["failed_trainings"] == 1


def test_corr_pairs_when_no_configured_pair_given_then_first_given_pair():
    assert bench.corr_pairs(["BTC/USDT", "ETH/USDT"], ["ETH/USDT", "SOL/USDT"]) == ["ETH/USDT"]
    assert bench.corr_pairs(["BTC/USDT", "ETH/USDT"], ["SOL/USDT", "ADA/USDT"]) == ["SOL/USDT"]


def test_mixture_fits_from_log_when_one_fit_all_fell_back_then_counted():
    log = "\n".join([
        "x - plugins.regime.mixture - INFO - regime mixture fitted: 234 rows, lightgbm experts (soft "
        "gate), rows per regime {'low_vol_bull': 59, 'high_vol_bear': 175}, fallback to global "
        "['low_vol_bull', 'high_vol_bear'], 3.32s in all (detector 0.26s, experts global 2.97s)",
        "x - plugins.regime.mixture - INFO - regime mixture fitted: 540 rows, lightgbm experts (soft "
        "gate), rows per regime {'low_vol_bull': 300, 'high_vol_bear': 240}, fallback to global "
        "none, 3.32s in all (detector 0.26s, experts global 2.97s)",
    ])

    mixture = bench.mixture_fits_from_log(log)

    assert mixture["fits"] == 2 and mixture["fits_all_regimes_fell_back"] == 1
    assert mixture["own_experts_per_fit_mean"] == pytest.approx(1.0)
