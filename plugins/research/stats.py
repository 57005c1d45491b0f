"""Evaluation statistics that cannot flatter a model: pure functions, each citing its source.

Units and conventions:

- A *prediction frame* has one row per (pair, candle): ``pair`` (str), ``date`` (tz-aware UTC,
  the candle's open time, Freqtrade's convention), ``pred`` (the model's output, any units)
  and ``real`` (the realized label the model predicts, e.g. the mean close of the next ``h``
  candles / close - 1, a fraction). Rows with a NaN in ``pred`` or ``real`` are dropped.
- Returns are fractions per period (0.01 = 1 %); a *daily* Sharpe ratio is per day unless a
  name says ``annualized`` (then multiplied by ``sqrt(periods_per_year)``, 365 for crypto).
- Drawdowns are fractions of the account (Freqtrade's ``max_drawdown_account``).

Why non-overlapping samples: a label over the next ``h`` candles shares ``h - 1`` candles with
its neighbour's, so neighbouring rows are nearly the same observation. Counted as independent
they inflate every t-statistic about ``sqrt(h)``-fold, and grouped within one day they let a
predictor known at prediction time (``-close``) "predict" the labels' within-day order (the
old per-pair-day rank IC of ``bench/moe_vs_baseline.py`` scored +0.76 for ``-close``).
Here every statistic on labels uses every ``h``-th candle only (all ``h`` offsets averaged) and
a HAC standard error for what dependence remains.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

#: Euler-Mascheroni constant (the expected-maximum approximation of the DSR).
EULER_GAMMA = 0.5772156649015329
#: Crypto trades every day of the year.
DAYS_PER_YEAR = 365


class StatsInputError(ValueError):
    """An input a statistic cannot be computed from (the message names the field)."""


# --------------------------------------------------------------------------- helpers


def newey_west_lags(n_periods: int) -> int:
    """Bandwidth of the Bartlett kernel by the Newey & West (1994) rule of thumb,
    ``floor(4 * (T / 100) ** (2 / 9))`` (the default of ``statsmodels``' HAC estimators).

    Newey, W. K. & West, K. D. (1994), "Automatic Lag Selection in Covariance Matrix
    Estimation", Review of Economic Studies 61(4).
    """
    return int(math.floor(4 * (max(n_periods, 1) / 100) ** (2 / 9)))


def _timeframe(timeframe: str | pd.Timedelta) -> pd.Timedelta:
    if isinstance(timeframe, pd.Timedelta):
        return timeframe
    from freqtrade.exchange import timeframe_to_seconds

    return pd.Timedelta(seconds=timeframe_to_seconds(timeframe))


def _candle_numbers(dates: pd.Series, timeframe: pd.Timedelta) -> np.ndarray:
    """Candle number of each open time since the epoch (int64): the grid offsets are taken on."""
    since_epoch = pd.Series(pd.to_datetime(dates, utc=True)) - pd.Timestamp(0, tz="UTC")
    return (since_epoch // timeframe).to_numpy(dtype="int64")


def _clean(frame: pd.DataFrame, pred: str, real: str) -> pd.DataFrame:
    for column in ("pair", "date", pred, real):
        if column not in frame.columns:
            raise StatsInputError(f"prediction frame has no {column!r} column (needs pair, date, "
                                  f"{pred}, {real})")
    out = frame[["pair", "date", pred, real]].rename(columns={pred: "pred", real: "real"})
    out = out.astype({"pred": "float64", "real": "float64"})
    return out[np.isfinite(out["pred"]) & np.isfinite(out["real"])].reset_index(drop=True)


def _ranks(values: np.ndarray) -> np.ndarray:
    return sps.rankdata(values, method="average")


def _zscore(values: np.ndarray) -> np.ndarray:
    std = values.std()
    return (values - values.mean()) / std if std > 0 else np.full(values.shape, np.nan)


def _hac_slope_t(y: np.ndarray, x: np.ndarray, time_codes: np.ndarray,
                 maxlags: int | None) -> tuple[float, float]:
    """OLS slope of ``y`` on ``x`` (with a constant) and its t-statistic with the
    Driscoll & Kraay (1998) covariance: scores summed per time period, then Newey-West over
    periods (``statsmodels`` ``cov_type="hac-groupsum"``); with one row per period it is the
    Newey & West (1987) estimator. NaN for fewer than 10 periods or a constant side."""
    import statsmodels.api as sm

    n_periods = int(time_codes.max()) + 1 if time_codes.size else 0
    if n_periods < 10 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return math.nan, math.nan
    lags = newey_west_lags(n_periods) if maxlags is None else maxlags
    fit = sm.OLS(y, sm.add_constant(x, has_constant="add")).fit(
        cov_type="hac-groupsum", cov_kwds={"time": time_codes, "maxlags": lags})
    return float(fit.params[1]), float(fit.tvalues[1])


def _hac_mean_t(values: np.ndarray, maxlags: int | None) -> float:
    """t-statistic of the mean of a series with the Newey & West (1987) standard error
    (``statsmodels`` OLS on a constant, ``cov_type="HAC"``); NaN below 10 values or zero
    variance."""
    import statsmodels.api as sm

    values = values[np.isfinite(values)]
    if values.size < 10 or np.ptp(values) == 0:
        return math.nan
    lags = newey_west_lags(values.size) if maxlags is None else maxlags
    fit = sm.OLS(values, np.ones((values.size, 1))).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    return float(fit.tvalues[0])


# --------------------------------------------------------------------------- information coefficient


@dataclass(frozen=True)
class ICResult:
    """An information coefficient on non-overlapping samples.

    Attributes:
        ic: mean over the ``offsets`` of each offset's IC (a correlation, -1..1).
        t_stat: mean over the offsets of each offset's HAC t-statistic. The offsets are not
            independent samples, so no ``sqrt(h)`` gain is claimed: this is the t-statistic of
            one non-overlapping sample, averaged over where that sample starts.
        n_obs: rows per offset (mean): pooled rows, or timestamps for the cross-sectional IC.
        n_periods: distinct timestamps per offset (mean).
        offsets: offsets averaged (``h`` for an ``h``-candle label; fewer when some are empty).
        ic_per_offset: each offset's IC.
        method: ``"spearman"`` (rank IC) or ``"pearson"``.
    """

    ic: float
    t_stat: float
    n_obs: float
    n_periods: float
    offsets: int
    ic_per_offset: tuple[float, ...] = field(repr=False)
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"ic": self.ic, "t_stat": self.t_stat, "n_obs": self.n_obs,
                "n_periods": self.n_periods, "offsets": self.offsets, "method": self.method}


def information_coefficient(frame: pd.DataFrame, horizon: int, timeframe: str | pd.Timedelta, *,
                            pred: str = "pred", real: str = "real",
                            method: Literal["spearman", "pearson"] = "spearman",
                            maxlags: int | None = None) -> ICResult:
    """IC of ``pred`` vs ``real`` pooled over pairs and time on non-overlapping samples.

    For an ``horizon``-candle label, offset ``o`` keeps the rows whose candle number (open time
    since the epoch / ``timeframe``) is ``o`` modulo ``horizon``: no two kept labels of a pair
    share a candle. On each such sample: the correlation of ``pred`` and ``real`` (Spearman =
    Pearson of average ranks; Grinold & Kahn 2000, "Active Portfolio Management", ch. 6), as
    the slope of the standardized ``real`` on the standardized ``pred``, and its t-statistic
    with the Driscoll & Kraay (1998) HAC covariance (rows of one timestamp summed, then
    Newey-West over timestamps with :func:`newey_west_lags` lags; Newey & West 1987,
    "A Simple, Positive Semi-Definite, Heteroskedasticity and Autocorrelation Consistent
    Covariance Matrix", Econometrica 55(3); Driscoll & Kraay 1998, Review of Economics and
    Statistics 80(4)). The ``horizon`` offsets' ICs and t-statistics are averaged.

    Args:
        frame: prediction frame (module docstring).
        horizon: label length in candles (>= 1); 1 = labels do not overlap.
        timeframe: candle length, Freqtrade string (``"1h"``) or ``pd.Timedelta``.
        maxlags: HAC bandwidth; None = Newey-West rule per offset.

    Returns:
        :class:`ICResult`; ``ic`` and ``t_stat`` NaN when no offset has two distinct values
        on both sides (``t_stat`` also NaN below 10 timestamps per offset).

    Raises:
        StatsInputError: a column is missing or ``horizon`` < 1.
    """
    if horizon < 1:
        raise StatsInputError(f"horizon must be >= 1 candle, got {horizon}")
    rows = _clean(frame, pred, real)
    candle = _candle_numbers(rows["date"], _timeframe(timeframe))
    ics, ts, ns, periods = [], [], [], []
    for offset in range(horizon):
        keep = (candle % horizon) == offset
        if keep.sum() < 3:
            continue
        x, y = rows["pred"].to_numpy()[keep], rows["real"].to_numpy()[keep]
        if method == "spearman":
            x, y = _ranks(x), _ranks(y)
        zx, zy = _zscore(x), _zscore(y)
        if not (np.isfinite(zx).all() and np.isfinite(zy).all()):
            continue
        codes = pd.factorize(candle[keep], sort=True)[0]
        order = np.argsort(codes, kind="stable")
        ic = float(np.mean(zx * zy))
        _, t = _hac_slope_t(zy[order], zx[order], codes[order], maxlags)
        ics.append(ic)
        ts.append(t)
        ns.append(int(keep.sum()))
        periods.append(int(codes.max()) + 1)
    if not ics:
        return ICResult(math.nan, math.nan, 0.0, 0.0, 0, (), method)
    finite_t = [t for t in ts if math.isfinite(t)]
    return ICResult(ic=float(np.mean(ics)),
                    t_stat=float(np.mean(finite_t)) if finite_t else math.nan,
                    n_obs=float(np.mean(ns)), n_periods=float(np.mean(periods)),
                    offsets=len(ics), ic_per_offset=tuple(ics), method=method)


def cross_sectional_ic_series(frame: pd.DataFrame, *, pred: str = "pred", real: str = "real",
                              min_pairs: int = 3) -> pd.Series:
    """Spearman correlation across pairs at each timestamp with at least ``min_pairs`` pairs
    (and two distinct values on both sides): float series indexed by ``date`` (UTC)."""
    rows = _clean(frame, pred, real)
    counts = rows.groupby("date")["pair"].transform("size")
    rows = rows[counts >= min_pairs]
    if rows.empty:
        return pd.Series(dtype="float64")
    by = rows.groupby("date", sort=True)
    rx = by["pred"].rank(method="average")
    ry = by["real"].rank(method="average")
    dx = rx - rx.groupby(rows["date"]).transform("mean")
    dy = ry - ry.groupby(rows["date"]).transform("mean")
    parts = pd.DataFrame({"date": rows["date"], "xy": dx * dy, "xx": dx * dx, "yy": dy * dy})
    sums = parts.groupby("date", sort=True)[["xy", "xx", "yy"]].sum()
    denom = np.sqrt(sums["xx"] * sums["yy"])
    return (sums["xy"] / denom.where(denom > 0)).dropna()


def cross_sectional_ic(frame: pd.DataFrame, horizon: int, timeframe: str | pd.Timedelta, *,
                       pred: str = "pred", real: str = "real", min_pairs: int = 3,
                       maxlags: int | None = None) -> ICResult | None:
    """Mean cross-sectional rank IC (does the model rank the pairs right at one time?).

    The Spearman correlation across pairs at each timestamp with >= ``min_pairs`` pairs
    (:func:`cross_sectional_ic_series`), averaged over time as in Fama & MacBeth (1973, J.
    Political Economy 81(3)); on non-overlapping timestamps (every ``horizon``-th candle, all
    offsets averaged) with a Newey-West t-statistic of each offset's mean (see
    :func:`information_coefficient` for the averaging).

    Returns:
        :class:`ICResult` (``n_obs`` = timestamps per offset), or None when no timestamp has
        ``min_pairs`` pairs (e.g. fewer than 3 pairs were run).

    Raises:
        StatsInputError: a column is missing or ``horizon`` < 1.
    """
    if horizon < 1:
        raise StatsInputError(f"horizon must be >= 1 candle, got {horizon}")
    series = cross_sectional_ic_series(frame, pred=pred, real=real, min_pairs=min_pairs)
    if series.empty:
        return None
    candle = _candle_numbers(pd.Series(series.index), _timeframe(timeframe))
    ics, ts, ns = [], [], []
    for offset in range(horizon):
        values = series.to_numpy()[(candle % horizon) == offset]
        if values.size == 0:
            continue
        ics.append(float(values.mean()))
        ts.append(_hac_mean_t(values, maxlags))
        ns.append(values.size)
    finite_t = [t for t in ts if math.isfinite(t)]
    return ICResult(ic=float(np.mean(ics)),
                    t_stat=float(np.mean(finite_t)) if finite_t else math.nan,
                    n_obs=float(np.mean(ns)), n_periods=float(np.mean(ns)), offsets=len(ics),
                    ic_per_offset=tuple(ics), method="spearman")


def directional_accuracy(pred: Any, real: Any) -> float:
    """Share (0-1) of rows where ``sign(pred) == sign(real)``; NaN for no rows. Overlapping
    labels make it as serially dependent as the IC: read it beside a control."""
    p, r = np.asarray(pred, dtype=float), np.asarray(real, dtype=float)
    return float(np.mean(np.sign(p) == np.sign(r))) if p.size else math.nan


# --------------------------------------------------------------------------- Sharpe, PSR, DSR


def daily_returns(trades: pd.DataFrame, start: datetime | pd.Timestamp,
                  stop: datetime | pd.Timestamp, starting_balance: float) -> pd.Series:
    """Daily returns of a backtest, net of fees, from its closed trades.

    ``profit_abs`` (Freqtrade's trade profit in stake currency, fees included) summed by UTC
    close day, 0 on days without a close, over every UTC day from ``start``'s day to the day
    before ``stop`` (exclusive end; widened to cover any close outside), divided by
    ``starting_balance`` (not compounded). Realized P&L: an open position's swings show on
    its close day.

    Returns:
        float series indexed by UTC midnight, one row per day.

    Raises:
        StatsInputError: ``starting_balance`` <= 0 or a column is missing.
    """
    if starting_balance <= 0:
        raise StatsInputError(f"starting_balance must be > 0, got {starting_balance}")
    first = pd.Timestamp(start).tz_convert("UTC").floor("D")
    last = (pd.Timestamp(stop).tz_convert("UTC") - pd.Timedelta(microseconds=1)).floor("D")
    pnl = pd.Series(dtype="float64")
    if len(trades):
        missing = {"close_date", "profit_abs"} - set(trades.columns)
        if missing:
            raise StatsInputError(f"trades lack columns {sorted(missing)}")
        close_day = pd.to_datetime(trades["close_date"], utc=True).dt.floor("D")
        pnl = trades["profit_abs"].astype(float).groupby(close_day).sum()
        first, last = min(first, pnl.index.min()), max(last, pnl.index.max())
    days = pd.date_range(first, last, freq="D")
    return pnl.reindex(days, fill_value=0.0).fillna(0.0) / starting_balance


def balance_returns(balance: pd.Series, starting_balance: float | None = None) -> pd.Series:
    """Daily returns of an equity curve on the same footing as :func:`daily_returns`: the
    change of the last balance of each UTC day / the starting balance (first value unless
    given), not compounded. ``balance``: stake currency, indexed by tz-aware UTC time."""
    daily = balance.sort_index().resample("1D").last().ffill()
    base = float(balance.iloc[0]) if starting_balance is None else starting_balance
    previous = daily.shift(1)
    previous.iloc[0] = base
    return (daily - previous) / base


def sharpe_ratio(returns: Any) -> float:
    """Per-period Sharpe ratio ``mean(r) / std(r, ddof=1)`` (benchmark 0; Sharpe 1994, "The
    Sharpe Ratio", J. Portfolio Management 21(1)); NaN below 2 returns or zero deviation."""
    r = np.asarray(returns, dtype=float)
    if r.size < 2:
        return math.nan
    std = r.std(ddof=1)
    return float(r.mean() / std) if std > 0 else math.nan


def annualized_sharpe(returns: Any, periods_per_year: int = DAYS_PER_YEAR) -> float:
    """:func:`sharpe_ratio` * ``sqrt(periods_per_year)`` (i.i.d. scaling, Lo 2002, "The
    Statistics of Sharpe Ratios", Financial Analysts Journal 58(4))."""
    return sharpe_ratio(returns) * math.sqrt(periods_per_year)


def probabilistic_sharpe_ratio(sr: float, n_obs: int, skew: float, kurtosis: float,
                               sr_benchmark: float = 0.0) -> float:
    """Probability that the true Sharpe ratio exceeds ``sr_benchmark`` (PSR, 0-1).

    ``PSR = Phi((SR - SR*) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2))``
    (Bailey & López de Prado 2012, "The Sharpe Ratio Efficient Frontier", J. of Risk 15(2),
    eq. 10). ``sr`` and ``sr_benchmark`` per period (not annualized), ``T`` = ``n_obs``
    returns, ``g3`` = skewness, ``g4`` = kurtosis (non-excess: 3 for a normal).

    Returns:
        PSR; NaN when ``sr`` is NaN, ``n_obs`` < 2 or the variance term is not positive.
    """
    if not math.isfinite(sr) or n_obs < 2:
        return math.nan
    variance = 1 - skew * sr + (kurtosis - 1) / 4 * sr ** 2
    if not variance > 0:
        return math.nan
    return float(sps.norm.cdf((sr - sr_benchmark) * math.sqrt(n_obs - 1) / math.sqrt(variance)))


def return_moments(returns: Any) -> tuple[float, int, float, float]:
    """(per-period Sharpe, T, skewness, kurtosis (non-excess)) of a return series, with
    ``scipy.stats``' moment estimators (``bias=True``, as in Bailey & López de Prado 2012)."""
    r = np.asarray(returns, dtype=float)
    if r.size < 3 or np.ptp(r) == 0:
        return sharpe_ratio(r), int(r.size), math.nan, math.nan
    return (sharpe_ratio(r), int(r.size), float(sps.skew(r)),
            float(sps.kurtosis(r, fisher=False)))


def psr_from_returns(returns: Any, sr_benchmark: float = 0.0) -> float:
    """:func:`probabilistic_sharpe_ratio` of a return series against ``sr_benchmark``
    (per period); NaN below 3 returns or constant returns."""
    sr, n, skew, kurt = return_moments(returns)
    if not (math.isfinite(skew) and math.isfinite(kurt)):
        return math.nan
    return probabilistic_sharpe_ratio(sr, n, skew, kurt, sr_benchmark)


def expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """``SR0``: the Sharpe ratio (per period) the best of ``n_trials`` skill-less trials is
    expected to reach, ``sqrt(V) * ((1 - g) * Z(1 - 1/N) + g * Z(1 - 1/(N e)))`` with ``g``
    the Euler-Mascheroni constant and ``Z`` the standard normal quantile (Bailey & López de
    Prado 2014, "The Deflated Sharpe Ratio", J. Portfolio Management 40(5), eq. 2). ``V`` =
    variance of the trials' per-period Sharpe ratios. 0 for a single trial.

    Raises:
        StatsInputError: ``n_trials`` < 1 or ``sr_variance`` < 0.
    """
    if n_trials < 1:
        raise StatsInputError(f"n_trials must be >= 1, got {n_trials}")
    if sr_variance < 0:
        raise StatsInputError(f"sr_variance must be >= 0, got {sr_variance}")
    if n_trials == 1:
        return 0.0
    z1 = sps.norm.ppf(1 - 1 / n_trials)
    z2 = sps.norm.ppf(1 - 1 / (n_trials * math.e))
    return float(math.sqrt(sr_variance) * ((1 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


@dataclass(frozen=True)
class DeflatedSharpe:
    """The Deflated Sharpe Ratio of one selected trial (all Sharpe ratios per period).

    Attributes:
        dsr: probability (0-1) that the true Sharpe ratio exceeds ``sr0``.
        sr: the trial's per-period Sharpe ratio.
        sr0: :func:`expected_max_sharpe` of ``n_trials`` with ``sr_variance``.
        n_obs, skew, kurtosis: the trial's returns' count and moments (kurtosis non-excess).
        n_trials: trials run (all of them, not only those kept).
        sr_variance: variance of the trials' per-period Sharpe ratios.
    """

    dsr: float
    sr: float
    sr0: float
    n_obs: int
    skew: float
    kurtosis: float
    n_trials: int
    sr_variance: float


def deflated_sharpe(sr: float, n_obs: int, skew: float, kurtosis: float, n_trials: int,
                    sr_variance: float) -> DeflatedSharpe:
    """DSR = PSR against ``SR0`` (Bailey & López de Prado 2014, eq. 2): the probability that
    the selected trial's Sharpe ratio beats what the best of ``n_trials`` skill-less trials
    would show. Per-period Sharpe ratios; see :func:`probabilistic_sharpe_ratio`.

    Raises:
        StatsInputError: from :func:`expected_max_sharpe`.
    """
    sr0 = expected_max_sharpe(n_trials, sr_variance)
    dsr = probabilistic_sharpe_ratio(sr, n_obs, skew, kurtosis, sr0)
    return DeflatedSharpe(dsr, sr, sr0, n_obs, skew, kurtosis, n_trials, sr_variance)


def deflated_sharpe_from_returns(returns: Any, n_trials: int,
                                 trial_sharpes: Any) -> DeflatedSharpe:
    """:func:`deflated_sharpe` of the selected trial's ``returns`` (per period), ``V`` from
    the per-period Sharpe ratios of the trials (``trial_sharpes``, >= 2 finite values,
    ``ddof=1``), ``n_trials`` the number of trials actually run (>= the ratios given).

    Raises:
        StatsInputError: fewer than 2 finite trial Sharpe ratios, or ``n_trials`` below them.
    """
    sharpes = np.asarray(trial_sharpes, dtype=float)
    sharpes = sharpes[np.isfinite(sharpes)]
    if sharpes.size < 2:
        raise StatsInputError("the DSR needs the Sharpe ratios of at least 2 trials for their "
                              f"variance, got {sharpes.size}")
    if n_trials < sharpes.size:
        raise StatsInputError(f"n_trials ({n_trials}) is below the {sharpes.size} trials given")
    sr, n, skew, kurt = return_moments(returns)
    return deflated_sharpe(sr, n, skew, kurt, n_trials, float(sharpes.var(ddof=1)))


# --------------------------------------------------------------------------- PBO (CSCV)


@dataclass(frozen=True)
class PBOResult:
    """Probability of Backtest Overfitting by CSCV.

    Attributes:
        pbo: share (0-1) of the splits where the in-sample best variant ranks at or below
            the out-of-sample median (logit <= 0).
        logits: ``ln(w / (1 - w))`` per split, ``w`` = out-of-sample relative rank of the
            in-sample best in ``(0, 1)``.
        n_splits: ``C(S, S/2)`` combinations evaluated.
        n_groups: ``S`` groups the periods were cut into.
        n_variants: variants compared.
        prob_oos_loss: share of the splits where the in-sample best has out-of-sample
            performance below 0.
        metric: ``"sharpe"`` or ``"mean"`` (performance of a variant over a set of periods).
    """

    pbo: float
    logits: np.ndarray = field(repr=False)
    n_splits: int
    n_groups: int
    n_variants: int
    prob_oos_loss: float
    metric: str


def probability_of_backtest_overfitting(matrix: pd.DataFrame | np.ndarray, n_groups: int = 16,
                                        metric: Literal["sharpe", "mean"] = "sharpe") -> PBOResult:
    """PBO by combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado &
    Zhu 2015, "The Probability of Backtest Overfitting", J. Computational Finance 20(4), §3).

    The periods (columns) are cut in time order into ``S`` equal groups (the first ``T mod S``
    periods dropped); for every choice of ``S/2`` groups as in-sample (the rest out-of-sample):
    the variant with the best in-sample performance is found, its out-of-sample rank among all
    variants ``r`` (1 = worst, ties averaged) gives ``w = r / (N + 1)`` and the logit
    ``ln(w / (1 - w))``. PBO = share of logits <= 0. Pure noise gives ~0.5; a variant that
    truly dominates gives ~0.

    Args:
        matrix: variants x periods (rows = variants, columns = periods in time order) of
            per-period results, e.g. daily returns (fractions) or per-window returns.
        n_groups: ``S``, even, >= 2; lowered to the largest even number <= the periods
            (a group needs 2 periods for ``metric="sharpe"``).
        metric: performance of a variant on a set of periods: its Sharpe ratio
            (``mean / std``, ddof=1; the paper's choice) or its mean.

    Raises:
        StatsInputError: fewer than 2 variants, too few periods for 2 groups, NaN values, or
            an odd ``n_groups``.
    """
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2 or values.shape[0] < 2:
        raise StatsInputError(f"PBO needs a variants x periods matrix with >= 2 variants, got "
                              f"shape {values.shape}")
    if not np.isfinite(values).all():
        raise StatsInputError("PBO matrix has NaN or infinite values; fill a failed trial's "
                              "period with its actual result (e.g. 0 return), never leave it out")
    if n_groups < 2 or n_groups % 2:
        raise StatsInputError(f"n_groups must be even and >= 2, got {n_groups}")
    n_variants, n_periods = values.shape
    per_group_min = 2 if metric == "sharpe" else 1
    groups = min(n_groups, n_periods // per_group_min)
    groups -= groups % 2
    if groups < 2:
        raise StatsInputError(f"PBO needs at least {2 * per_group_min} periods for 2 groups, got "
                              f"{n_periods}")
    size = n_periods // groups
    data = values[:, n_periods - size * groups:].reshape(n_variants, groups, size)
    sums, sumsq = data.sum(axis=2).T, (data ** 2).sum(axis=2).T          # (S, N)
    combos = np.array([c for c in combinations(range(groups), groups // 2)])
    mask = np.zeros((len(combos), groups))
    mask[np.arange(len(combos))[:, None], combos] = 1.0

    def performance(m: np.ndarray) -> np.ndarray:
        n = m.sum(axis=1, keepdims=True) * size
        total, total_sq = m @ sums, m @ sumsq
        mean = total / n
        if metric == "mean":
            return mean
        var = (total_sq - n * mean ** 2) / (n - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(var > 0, mean / np.sqrt(np.maximum(var, 0)), 0.0)

    is_perf, oos_perf = performance(mask), performance(1.0 - mask)       # (C, N)
    best = is_perf.argmax(axis=1)
    ranks = np.apply_along_axis(lambda row: sps.rankdata(row, method="average"), 1, oos_perf)
    w = ranks[np.arange(len(best)), best] / (n_variants + 1)
    logits = np.log(w / (1 - w))
    oos_best = oos_perf[np.arange(len(best)), best]
    return PBOResult(pbo=float(np.mean(logits <= 0)), logits=logits, n_splits=len(combos),
                     n_groups=groups, n_variants=n_variants,
                     prob_oos_loss=float(np.mean(oos_best < 0)), metric=metric)


# --------------------------------------------------------------------------- block bootstrap


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap interval: ``low``, ``high`` at ``level`` (0.95 = 95 %), from
    ``n_boot`` resamples of blocks of ``block`` periods; ``estimate`` = the statistic on the
    data as observed."""

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int
    block: int

    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly above or below 0."""
        return bool(self.low > 0 or self.high < 0)

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high,
                "level": self.level, "n_boot": self.n_boot, "block": self.block}


def default_block(n_periods: int, minimum: int = 1) -> int:
    """Block length ``ceil(n ** (1/3))`` (the optimal order for variance and distribution
    estimates; Hall, Horowitz & Jing 1995, Biometrika 82(3)), at least ``minimum``."""
    return max(minimum, int(math.ceil(max(n_periods, 1) ** (1 / 3))))


def circular_block_indices(n: int, block: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_boot, n)`` int64 positions of circular block-bootstrap resamples of ``0..n-1``:
    blocks of ``block`` consecutive positions starting anywhere, wrapping at the end (Politis &
    Romano 1992, "A Circular Block-Resampling Procedure for Stationary Data"; Künsch 1989,
    Annals of Statistics 17(3)), drawn from ``rng``."""
    if n < 1 or block < 1 or n_boot < 1:
        raise StatsInputError(f"n, block and n_boot must be >= 1, got {n}, {block}, {n_boot}")
    block = min(block, n)
    n_blocks = -(-n // block)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]) % n
    return idx.reshape(n_boot, n_blocks * block)[:, :n]


def block_bootstrap_ci(n: int, statistic: Callable[[np.ndarray], float],
                       rng: np.random.Generator, *, n_boot: int = 1000, block: int | None = None,
                       level: float = 0.95) -> Interval:
    """Percentile interval of ``statistic`` under the circular block bootstrap.

    Args:
        n: periods (positions ``0..n-1``) to resample.
        statistic: maps positions (int array, length ``n``, possibly repeated) to a float;
            called once with ``arange(n)`` for the estimate and once per resample.
        rng: the source of randomness (inject a seeded ``numpy.random.Generator``).
        block: block length; None = :func:`default_block`.
        level: coverage (0.95 = the 2.5 % and 97.5 % percentiles).

    Non-finite resample values are left out of the percentiles.
    """
    block = default_block(n) if block is None else block
    estimate = float(statistic(np.arange(n)))
    draws = np.array([statistic(idx) for idx in circular_block_indices(n, block, n_boot, rng)],
                     dtype=float)
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return Interval(estimate, math.nan, math.nan, level, n_boot, block)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(estimate, float(low), float(high), level, n_boot, block)


def sharpe_ci(returns: Any, rng: np.random.Generator, *, periods_per_year: int = DAYS_PER_YEAR,
              n_boot: int = 1000, block: int | None = None, level: float = 0.95) -> Interval:
    """Block-bootstrap interval of the annualized Sharpe ratio of daily ``returns``."""
    r = np.asarray(returns, dtype=float)
    return block_bootstrap_ci(r.size, lambda idx: annualized_sharpe(r[idx], periods_per_year),
                              rng, n_boot=n_boot, block=block, level=level)


def sharpe_difference_ci(returns_a: pd.Series, returns_b: pd.Series, rng: np.random.Generator, *,
                         periods_per_year: int = DAYS_PER_YEAR, n_boot: int = 1000,
                         block: int | None = None, level: float = 0.95) -> Interval:
    """Interval of ``Sharpe(a) - Sharpe(b)`` (annualized) with the same days resampled for
    both (paired): the days both series have (inner join on the index)."""
    joined = pd.concat([returns_a, returns_b], axis=1, join="inner").to_numpy(dtype=float)

    def diff(idx: np.ndarray) -> float:
        return (annualized_sharpe(joined[idx, 0], periods_per_year)
                - annualized_sharpe(joined[idx, 1], periods_per_year))

    return block_bootstrap_ci(len(joined), diff, rng, n_boot=n_boot, block=block, level=level)


def _by_timestamp(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = rows.sort_values("date", kind="stable")
    codes, _ = pd.factorize(rows["date"], sort=True)
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return rows.index.to_numpy(), starts, counts


def _rows_of(positions: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    c = counts[positions]
    first = np.repeat(starts[positions], c)
    within = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
    return first + within


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 3:
        return math.nan
    rx, ry = _ranks(x), _ranks(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def ic_ci(frame: pd.DataFrame, horizon: int, rng: np.random.Generator, *, pred: str = "pred",
          real: str = "real", compare: str | None = None, n_boot: int = 1000,
          block: int | None = None, level: float = 0.95) -> Interval:
    """Block-bootstrap interval of the pooled rank IC (or of ``IC(pred) - IC(compare)``).

    Timestamps are resampled in circular blocks with all pairs of a timestamp kept together;
    the block is at least ``2 * horizon`` candles so that the labels' overlap stays inside
    blocks (Lahiri 2003, "Resampling Methods for Dependent Data", ch. 2). The statistic is
    the Spearman correlation over all rows of a resample; its estimate is close to (not the
    same as) :func:`information_coefficient`, the figure to report beside the interval.

    Raises:
        StatsInputError: a column is missing.
    """
    columns = [pred] + ([compare] if compare else [])
    for column in ("pair", "date", real, *columns):
        if column not in frame.columns:
            raise StatsInputError(f"prediction frame has no {column!r} column")
    rows = frame[["date", real, *columns]].dropna().reset_index(drop=True)
    order, starts, counts = _by_timestamp(rows)
    y = rows[real].to_numpy(dtype=float)[order]
    xs = [rows[c].to_numpy(dtype=float)[order] for c in columns]

    def statistic(positions: np.ndarray) -> float:
        sel = _rows_of(positions, starts, counts)
        value = _spearman(xs[0][sel], y[sel])
        return value - _spearman(xs[1][sel], y[sel]) if compare else value

    n = len(counts)
    block = default_block(n, minimum=2 * horizon) if block is None else block
    return block_bootstrap_ci(n, statistic, rng, n_boot=n_boot, block=block, level=level)


# --------------------------------------------------------------------------- Freqtrade's figures


def trade_figures(trades: pd.DataFrame, min_date: datetime, max_date: datetime,
                  starting_balance: float) -> dict[str, float | int]:
    """Freqtrade's own account figures of a closed-trade list, so they equal its report.

    Uses ``freqtrade.data.metrics`` exactly as ``generate_strategy_stats`` does:
    ``max_drawdown`` = ``calculate_max_drawdown(...).relative_account_drawdown`` (Freqtrade's
    ``max_drawdown_account``, a fraction), ``calmar`` = ``calculate_calmar``, ``cagr``,
    ``expectancy`` / ``expectancy_ratio``, ``sqn``; ``profit_total`` = sum of ``profit_abs``
    / ``starting_balance`` and ``profit_factor`` = gross profit / |gross loss| (0 without a
    loss), both as in ``freqtrade/optimize/optimize_reports/optimize_reports.py``.

    Args:
        trades: Freqtrade's trade frame (``load_backtest_data``): ``profit_abs`` (stake
            currency, fees included), ``close_date`` (UTC), ``open_date``.
        min_date, max_date: the backtest's start and end (UTC).
        starting_balance: stake currency.
    """
    from freqtrade.data.metrics import (
        calculate_cagr,
        calculate_calmar,
        calculate_expectancy,
        calculate_max_drawdown,
        calculate_sqn,
    )

    profit = trades["profit_abs"].astype(float) if len(trades) else pd.Series(dtype=float)
    winning, losing = profit[profit > 0].sum(), profit[profit < 0].sum()
    try:
        drawdown = calculate_max_drawdown(trades, value_col="profit_abs",
                                          starting_balance=starting_balance).relative_account_drawdown
    except ValueError:                       # Freqtrade's own answer for no trades
        drawdown = 0.0
    expectancy, expectancy_ratio = calculate_expectancy(trades)
    days = (max_date - min_date).days or 1
    return {
        "trades": int(len(trades)),
        "profit_total": float(profit.sum() / starting_balance),
        "max_drawdown": float(drawdown),
        "profit_factor": float(winning / abs(losing)) if losing else 0.0,
        "calmar": float(calculate_calmar(trades, min_date, max_date, starting_balance)),
        "cagr": float(calculate_cagr(days, starting_balance, starting_balance + profit.sum())),
        "expectancy": float(expectancy),
        "expectancy_ratio": float(expectancy_ratio),
        "sqn": float(calculate_sqn(trades, starting_balance)),
    }


def balance_figures(balance: pd.Series) -> dict[str, float]:
    """Freqtrade's figures of an equity curve (``calculate_max_drawdown_from_balance``,
    ``calculate_calmar_from_balance``): ``max_drawdown`` (fraction of the running peak
    balance), ``calmar``, ``profit_total`` (last / first - 1). ``balance``: stake currency
    indexed by tz-aware UTC time, >= 2 values."""
    from freqtrade.data.metrics import (
        calculate_calmar_from_balance,
        calculate_max_drawdown_from_balance,
    )

    frame = pd.DataFrame({"date": balance.index, "total_quote": balance.to_numpy(dtype=float)})
    drawdown = calculate_max_drawdown_from_balance(frame).relative_account_drawdown
    return {"max_drawdown": float(drawdown),
            "calmar": float(calculate_calmar_from_balance(frame)),
            "profit_total": float(balance.iloc[-1] / balance.iloc[0] - 1)}
