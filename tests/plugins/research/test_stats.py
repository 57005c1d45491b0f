"""plugins.research.stats on synthetic series whose answers are known in closed form."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from plugins.research import stats
from plugins.research.controls import realized_label

PAIRS = ("AAA/USDT", "BBB/USDT", "CCC/USDT")


def _panel(n: int, make, seed: int = 7) -> pd.DataFrame:
    """``n`` hourly rows per pair; ``make(rng, n)`` returns (pred, real) arrays."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC")
    frames = []
    for pair in PAIRS:
        pred, real = make(rng, n)
        frames.append(pd.DataFrame({"pair": pair, "date": dates, "pred": pred, "real": real}))
    return pd.concat(frames, ignore_index=True)


def _correlated(rho: float):
    def make(rng, n):
        x = rng.standard_normal(n)
        return x, rho * x + math.sqrt(1 - rho ** 2) * rng.standard_normal(n)
    return make


def _random_walk_neg_close(horizon: int):
    """``-close`` of a driftless random walk vs the h-candle forward-mean label."""
    def make(rng, n):
        close = pd.Series(100 * np.exp(np.cumsum(0.01 * rng.standard_normal(n))))
        return -close.to_numpy(), realized_label(close, horizon).to_numpy()
    return make


def old_per_pair_day_rank_ic(frame: pd.DataFrame) -> float:
    """The metric the bench used to print (removed): Spearman IC per (pair, UTC day) group of
    >= 3 rows, averaged. Kept here only to prove what it got wrong."""
    day = frame["date"].dt.floor("D")
    ics = [g["pred"].rank().corr(g["real"].rank())
           for _, g in frame.groupby([frame["pair"], day]) if len(g) >= 3]
    return float(np.nanmean(ics))


# --------------------------------------------------------------------------- IC


def test_information_coefficient_when_known_correlation_then_spearman_of_bivariate_normal():
    frame = _panel(4000, _correlated(0.3))

    result = stats.information_coefficient(frame, horizon=1, timeframe="1h")

    # Spearman of a bivariate normal: (6 / pi) * asin(rho / 2) (Kendall & Gibbons 1990)
    expected = 6 / math.pi * math.asin(0.15)
    assert result.ic == pytest.approx(expected, abs=0.03)
    assert result.t_stat > 10 and result.offsets == 1 and result.n_obs == 3 * 4000


def test_information_coefficient_when_pearson_then_close_to_rho():
    frame = _panel(4000, _correlated(0.3))

    result = stats.information_coefficient(frame, 1, "1h", method="pearson")

    assert result.ic == pytest.approx(0.3, abs=0.03)


def test_information_coefficient_when_horizon_24_then_every_24th_candle_and_24_offsets():
    frame = _panel(2400, _correlated(0.3))

    result = stats.information_coefficient(frame, horizon=24, timeframe="1h")

    assert result.offsets == 24
    assert result.n_obs == pytest.approx(3 * 2400 / 24)
    assert result.n_periods == pytest.approx(100)
    # one non-overlapping sample has 1/24 of the rows: t about sqrt(24) below the h=1 t
    full = stats.information_coefficient(frame, 1, "1h")
    assert result.t_stat == pytest.approx(full.t_stat / math.sqrt(24), rel=0.35)


def test_information_coefficient_when_noise_then_near_zero_and_insignificant():
    frame = _panel(4000, lambda rng, n: (rng.standard_normal(n), rng.standard_normal(n)))

    result = stats.information_coefficient(frame, 24, "1h")

    assert abs(result.ic) < 0.05 and abs(result.t_stat) < 2


def test_information_coefficient_when_labels_overlap_then_no_skill_neg_close_is_zero_but_old_metric_is_high():
    frame = _panel(4000, _random_walk_neg_close(24)).dropna()

    honest = stats.information_coefficient(frame, 24, "1h")
    old = old_per_pair_day_rank_ic(frame)

    assert abs(honest.ic) < 0.1 and abs(honest.t_stat) < 2
    assert old > 0.5          # the mechanical within-day ranking of overlapping labels


def test_information_coefficient_when_column_missing_then_error_names_it():
    with pytest.raises(stats.StatsInputError, match="'real'"):
        stats.information_coefficient(pd.DataFrame({"pair": [], "date": [], "pred": []}), 1, "1h")


def test_cross_sectional_ic_when_three_pairs_ranked_right_then_positive_with_t():
    frame = _panel(2400, _correlated(0.6))

    result = stats.cross_sectional_ic(frame, 24, "1h")

    assert result is not None and result.ic > 0.3 and result.t_stat > 2
    assert result.n_obs == pytest.approx(100)


def test_cross_sectional_ic_when_two_pairs_then_none():
    frame = _panel(200, _correlated(0.6))

    assert stats.cross_sectional_ic(frame[frame["pair"] != PAIRS[2]], 1, "1h") is None


def test_cross_sectional_ic_series_when_hand_made_timestamp_then_spearman_across_pairs():
    date = pd.Timestamp("2024-01-01", tz="UTC")
    frame = pd.DataFrame({"pair": ["A", "B", "C", "D"], "date": [date] * 4,
                          "pred": [1.0, 2.0, 3.0, 4.0], "real": [0.1, 0.3, 0.2, 0.4]})

    series = stats.cross_sectional_ic_series(frame)

    assert series.iloc[0] == pytest.approx(0.8)     # 1 - 6 * 2 / (4 * 15)


# --------------------------------------------------------------------------- Sharpe, PSR, DSR


def test_deflated_sharpe_when_paper_worked_example_then_sr0_and_dsr_of_the_paper():
    # Bailey & Lopez de Prado (2014), section "A numerical example": annualized SR 2.5 over
    # T = 1250 daily returns (250 a year), skew -3, kurtosis 10, N = 100 trials whose
    # annualized Sharpe ratios have variance 0.5.
    sr_daily = 2.5 / math.sqrt(250)

    result = stats.deflated_sharpe(sr_daily, 1250, -3, 10, n_trials=100, sr_variance=0.5 / 250)

    assert result.sr0 == pytest.approx(0.1132, abs=5e-5)
    assert result.dsr == pytest.approx(0.90, abs=0.005)


def test_expected_max_sharpe_when_one_trial_then_zero_and_more_trials_raise_the_bar():
    assert stats.expected_max_sharpe(1, 0.01) == 0.0
    assert 0 < stats.expected_max_sharpe(10, 0.01) < stats.expected_max_sharpe(1000, 0.01)
    with pytest.raises(stats.StatsInputError):
        stats.expected_max_sharpe(0, 0.01)


def test_probabilistic_sharpe_ratio_when_normal_returns_then_matches_sharpe_t_approximation():
    # normal returns: skew 0, kurtosis 3 -> PSR = Phi(SR sqrt(T-1) / sqrt(1 + SR^2 / 2))
    sr, t = 0.1, 365
    expected = 0.5 * (1 + math.erf(sr * math.sqrt(t - 1) / math.sqrt(1 + sr ** 2 / 2) / math.sqrt(2)))

    assert stats.probabilistic_sharpe_ratio(sr, t, 0.0, 3.0) == pytest.approx(expected)


def test_deflated_sharpe_from_returns_when_trials_given_then_variance_of_their_sharpes():
    rng = np.random.default_rng(3)
    returns = rng.normal(0.002, 0.01, 500)
    sharpes = [0.05, 0.1, 0.15, 0.2]

    result = stats.deflated_sharpe_from_returns(returns, n_trials=40, trial_sharpes=sharpes)

    assert result.sr_variance == pytest.approx(np.var(sharpes, ddof=1))
    assert result.n_trials == 40 and result.n_obs == 500
    with pytest.raises(stats.StatsInputError, match="at least 2 trials"):
        stats.deflated_sharpe_from_returns(returns, 40, [0.1])


def test_sharpe_ratio_when_known_returns_then_closed_form():
    r = [0.03, -0.01, 0.03, -0.01]          # mean 0.01, std(ddof=1) 0.04/sqrt(3)

    assert stats.sharpe_ratio(r) == pytest.approx(0.01 / (0.04 / math.sqrt(3)))
    assert stats.annualized_sharpe(r) == pytest.approx(stats.sharpe_ratio(r) * math.sqrt(365))
    assert math.isnan(stats.sharpe_ratio([0.01, 0.01]))


def test_daily_returns_when_days_without_closes_then_zero_and_pnl_summed_per_close_day():
    utc = lambda text: pd.Timestamp(text, tz="UTC")  # noqa: E731
    trades = pd.DataFrame({"close_date": [utc("2024-03-01 05:00"), utc("2024-03-01 20:00"),
                                          utc("2024-03-03 01:00")],
                           "profit_abs": [100.0, -50.0, 20.0]})

    returns = stats.daily_returns(trades, utc("2024-03-01"), utc("2024-03-05"), 1000.0)

    assert list(returns.index) == list(pd.date_range(utc("2024-03-01"), periods=4, freq="D"))
    np.testing.assert_allclose(returns, [0.05, 0.0, 0.02, 0.0])


def test_balance_returns_when_equity_curve_then_daily_change_over_start():
    index = pd.date_range("2024-01-01", periods=72, freq="1h", tz="UTC")
    balance = pd.Series(np.linspace(1000, 1071, 72), index=index)

    returns = stats.balance_returns(balance)

    np.testing.assert_allclose(returns, [23 / 1000, 24 / 1000, 24 / 1000])


# --------------------------------------------------------------------------- PBO


def test_pbo_when_variants_are_pure_noise_then_about_one_half():
    pbos = [stats.probability_of_backtest_overfitting(
        np.random.default_rng(seed).normal(0, 0.01, (20, 800))).pbo for seed in range(5)]

    assert np.mean(pbos) == pytest.approx(0.5, abs=0.1)


def test_pbo_when_one_variant_truly_dominates_then_about_zero():
    returns = np.random.default_rng(1).normal(0, 0.01, (20, 800))
    returns[7] += 0.005                      # a Sharpe of 0.5 a day above the rest

    result = stats.probability_of_backtest_overfitting(returns)

    assert result.pbo < 0.05 and result.n_splits == 12870 and result.n_groups == 16
    assert result.prob_oos_loss < 0.05


def test_pbo_when_few_windows_and_mean_metric_then_groups_shrink_to_fit():
    matrix = pd.DataFrame(np.random.default_rng(2).normal(0, 1, (6, 7)))

    result = stats.probability_of_backtest_overfitting(matrix, metric="mean")

    assert result.n_groups == 6 and result.n_splits == 20


def test_pbo_when_nan_or_single_variant_then_error():
    with pytest.raises(stats.StatsInputError, match="NaN"):
        stats.probability_of_backtest_overfitting(np.array([[0.1, np.nan, 0.2, 0.1]] * 3))
    with pytest.raises(stats.StatsInputError, match=">= 2 variants"):
        stats.probability_of_backtest_overfitting(np.zeros((1, 40)))


# --------------------------------------------------------------------------- bootstrap


def test_circular_block_indices_when_drawn_then_runs_of_consecutive_positions_wrapping():
    idx = stats.circular_block_indices(10, 4, 3, np.random.default_rng(0))

    assert idx.shape == (3, 10)
    steps = np.diff(idx[:, :4], axis=1) % 10
    assert (steps == 1).all()                # each block: consecutive, wrapping 9 -> 0


def test_sharpe_ci_when_same_seed_then_same_interval_and_it_covers_the_estimate():
    returns = np.random.default_rng(5).normal(0.001, 0.01, 400)

    a = stats.sharpe_ci(returns, np.random.default_rng(11), n_boot=300)
    b = stats.sharpe_ci(returns, np.random.default_rng(11), n_boot=300)

    assert a == b and a.low < a.estimate < a.high


def test_ic_ci_when_strong_signal_then_interval_excludes_zero_and_difference_with_itself_is_zero():
    frame = _panel(1200, _correlated(0.5))
    frame["same"] = frame["pred"]

    interval = stats.ic_ci(frame, 24, np.random.default_rng(0), n_boot=200)
    diff = stats.ic_ci(frame, 24, np.random.default_rng(0), compare="same", n_boot=200)

    assert interval.excludes_zero() and interval.block == 48
    assert diff.low == diff.high == 0.0


# --------------------------------------------------------------------------- Freqtrade's figures


def _freqtrade_report(trades: pd.DataFrame, start: datetime, stop: datetime) -> dict:
    """Freqtrade's own strategy report (``generate_strategy_stats``) of a trade list."""
    from freqtrade.optimize.optimize_reports.optimize_reports import generate_strategy_stats

    config = {"max_open_trades": 3, "dry_run_wallet": 10000, "stake_currency": "USDT",
              "stake_amount": 1000, "timeframe": "1h", "stoploss": -0.1, "minimal_roi": {},
              "use_exit_signal": True, "exit_profit_only": False, "exit_profit_offset": 0,
              "ignore_roi_if_entry_signal": False, "trading_mode": "spot", "margin_mode": ""}
    content = {"results": trades, "config": config, "locks": [], "rejected_signals": 0,
               "timedout_entry_orders": 0, "timedout_exit_orders": 0, "canceled_trade_entries": 0,
               "canceled_entry_orders": 0, "replaced_entry_orders": 0,
               "final_balance": 10000 + trades["profit_abs"].sum(), "backtest_start_time": 0,
               "backtest_end_time": 1}
    return generate_strategy_stats(["BTC/USDT", "ETH/USDT"], "Demo", content, start, stop, 0.0)


def test_trade_figures_when_trade_list_then_equal_to_freqtrades_own_report():
    n = 30
    ratio = np.random.default_rng(0).normal(0.002, 0.02, n)
    opened = pd.date_range("2024-03-01", periods=n, freq="7h", tz="UTC")
    trades = pd.DataFrame({
        "pair": ["BTC/USDT", "ETH/USDT"] * 15, "profit_ratio": ratio, "profit_abs": ratio * 1000,
        "open_date": opened, "close_date": opened + pd.Timedelta(hours=5), "trade_duration": 300,
        "is_short": False, "enter_tag": "x", "exit_reason": "roi", "stake_amount": 1000.0,
        "amount": 1.0, "open_rate": 1.0, "close_rate": 1.0, "fee_open": 0.001, "fee_close": 0.001,
        "leverage": 1.0, "min_rate": 1.0, "max_rate": 1.0, "is_open": False,
        "orders": [[] for _ in range(n)], "funding_fees": 0.0})
    start, stop = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 12, tzinfo=UTC)
    report = _freqtrade_report(trades, start, stop)

    figures = stats.trade_figures(trades, start, stop, 10000.0)

    assert figures["max_drawdown"] == pytest.approx(report["max_drawdown_account"])
    assert figures["profit_total"] == pytest.approx(report["profit_total"])
    assert figures["profit_factor"] == pytest.approx(report["profit_factor"])
    assert figures["calmar"] == pytest.approx(report["calmar"])
    assert figures["sqn"] == pytest.approx(report["sqn"])
    assert figures["trades"] == report["total_trades"]


def test_balance_figures_when_equity_dips_then_freqtrades_drawdown_of_the_peak():
    index = pd.date_range("2024-01-01", periods=5, freq="1D", tz="UTC")
    balance = pd.Series([1000.0, 1100.0, 990.0, 1050.0, 1200.0], index=index)

    figures = stats.balance_figures(balance)

    assert figures["max_drawdown"] == pytest.approx(0.1)       # 1100 -> 990
    assert figures["profit_total"] == pytest.approx(0.2)
