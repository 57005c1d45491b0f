"""The backtest metrics table of seed 000 (stage 5) with its red flags, beside buy-and-hold.

One module for every venue: a Freqtrade backtest (:func:`tables_of_result`, printed after
``freqtrade backtesting`` of a suite strategy and by ``python -m plugins.research metrics``),
the Alpaca/backtrader runner (``adapters/alpaca/metrics.py``) and Telegram's
``/suite_metrics`` all call :func:`compute_metrics` and :func:`render_table`.

| Metric        | What it tells you                 | Red flag                        |
| Win rate      | % of profitable trades            | < 30 % (unless avg R:R >= 3)    |
| Profit factor | gross profit / gross loss         | < 1.5                           |
| Max drawdown  | largest peak-to-trough decline    | > 25 %                          |
| Sharpe ratio  | risk-adjusted return              | < 1.0                           |
| Avg R:R       | average reward vs risk per trade  | < 1.5                           |
| Trade count   | statistical significance          | < 30                            |
| Recovery time | time to recover from max drawdown | > 3 months (91 days) or never   |

Definitions (fractions are fractions; percentages only when printed), each computed with
Freqtrade's own functions (``freqtrade.data.metrics``, Freqtrade 2026.9) so a Freqtrade
backtest's figures equal its own report:

- trades: closed round trips, ``profit_abs`` net of fees (stake currency); win rate =
  winners / trades (a zero-profit trade is not a winner), as Freqtrade's ``winrate``;
- profit factor = sum of winners / |sum of losers| (inf with no loser, NaN with no trade;
  Freqtrade's report prints 0 for "no loser");
- equity curve: the account value over time. For a Freqtrade backtest the wallet curve
  Freqtrade stores beside the result (``<result>_<strategy>_wallet.feather``, marked to market
  at each candle, summed per date as ``generate_wallet_stats`` does); without it, the
  starting balance plus closed trades' profit on a daily grid;
- max drawdown = ``calculate_max_drawdown_from_balance(curve, relative=True)``: the largest
  ``1 - equity / running peak`` (Freqtrade's ``wallet_stats.max_relative_drawdown``);
- Sharpe = ``calculate_sharpe_from_balance(curve)``: mean / std (ddof 0) of daily returns
  x sqrt(365), risk-free rate 0; with ``periods_per_year`` (252 for US equity sessions) it is
  rescaled by sqrt(periods_per_year / 365), so a 252-session year is not annualized as 365;
- avg R:R = average winner / |average loser| (the payoff ratio: a generic strategy declares no
  per-trade risk);
- recovery time = from the peak before the max drawdown (Freqtrade's ``high_date``) to the
  first time equity is back at that peak; "not recovered" when it never is (then measured to
  the end, and flagged).

The no-skill control ("a figure must not lie"): buy-and-hold of the same pairs over the same
window, equal weight (``starting_balance x mean_p(close_p(t) / close_p(t0))``), with the same
curve figures (total return, max drawdown, Sharpe, recovery). Its total return equals
Freqtrade's ``market_change`` (``calculate_market_change``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

FREQTRADE_PERIODS = 365
RECOVERY_LIMIT = timedelta(days=91)


@dataclass(frozen=True)
class CurveFigures:
    """Figures of one equity curve (see the module docstring).

    Attributes:
        max_drawdown_frac: largest peak-to-trough decline (0.2 = 20 %).
        sharpe: annualized Sharpe of daily returns (NaN with under 2 days).
        recovery: peak of the max drawdown to back at the peak (None: no drawdown).
        recovered: equity got back to that peak.
        total_return_frac: last / first - 1.
        start_value, end_value: first and last value (stake currency / USD).
    """

    max_drawdown_frac: float
    sharpe: float
    recovery: timedelta | None
    recovered: bool
    total_return_frac: float
    start_value: float
    end_value: float


@dataclass(frozen=True)
class Metrics:
    """The table's figures: the trades' figures, the strategy's curve and the control's.

    Attributes:
        trades: closed trades.
        win_rate, profit_factor, avg_rr: of the trades (fractions / ratios; NaN: no trade).
        curve: the strategy's :class:`CurveFigures`.
        control: buy-and-hold's :class:`CurveFigures` over the same pairs and window, or None
            when its candles were not available.
        control_label: what the control is (pairs, window) or why it is missing.
    """

    trades: int
    win_rate: float
    profit_factor: float
    avg_rr: float
    curve: CurveFigures
    control: CurveFigures | None = None
    control_label: str = ""

    # the curve's figures, flat (the Alpaca runner and older callers read these)
    @property
    def max_drawdown_frac(self) -> float:
        return self.curve.max_drawdown_frac

    @property
    def sharpe(self) -> float:
        return self.curve.sharpe

    @property
    def recovery(self) -> timedelta | None:
        return self.curve.recovery

    @property
    def recovered(self) -> bool:
        return self.curve.recovered

    @property
    def total_return_frac(self) -> float:
        return self.curve.total_return_frac

    @property
    def start_value(self) -> float:
        return self.curve.start_value

    @property
    def end_value(self) -> float:
        return self.curve.end_value

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (fractions; durations in days; None for NaN/inf)."""
        def num(v: float) -> float | None:
            return None if (v is None or math.isnan(v) or math.isinf(v)) else float(v)

        def curve(c: CurveFigures | None) -> dict[str, Any] | None:
            if c is None:
                return None
            return {"max_drawdown": num(c.max_drawdown_frac), "sharpe": num(c.sharpe),
                    "recovery_days": None if c.recovery is None else c.recovery.total_seconds() / 86400,
                    "recovered": c.recovered, "total_return": num(c.total_return_frac),
                    "start_value": num(c.start_value), "end_value": num(c.end_value)}

        return {"trades": self.trades, "win_rate": num(self.win_rate),
                "profit_factor": num(self.profit_factor), "avg_rr": num(self.avg_rr),
                "curve": curve(self.curve), "buy_and_hold": curve(self.control),
                "buy_and_hold_label": self.control_label,
                "red_flags": sorted(k for k, v in red_flags(self).items() if v)}


def _balance_frame(equity: pd.Series) -> pd.DataFrame:
    equity = equity.sort_index()
    index = pd.DatetimeIndex(equity.index)
    if index.tz is None:
        index = index.tz_localize("UTC")
    return pd.DataFrame({"date": index, "total_quote": equity.to_numpy(dtype=float)})


def curve_figures(equity: pd.Series, periods_per_year: int = FREQTRADE_PERIODS) -> CurveFigures:
    """Max drawdown, Sharpe, recovery and return of an equity curve, by Freqtrade's functions.

    Args:
        equity: account value (stake currency / USD), indexed by UTC time (tz-aware or naive
            UTC), any sampling (candles, bars, days).
        periods_per_year: trading days a year for the Sharpe's annualization (365 crypto,
            Freqtrade's; 252 US equities).

    Returns NaN figures for an empty curve; no drawdown (0, recovery None) for a curve that
    never falls.
    """
    from freqtrade.data.metrics import (
        calculate_max_drawdown_from_balance,
        calculate_sharpe_from_balance,
    )

    frame = _balance_frame(equity.dropna())
    values = frame["total_quote"].to_numpy(dtype=float)
    if len(values) == 0:
        return CurveFigures(math.nan, math.nan, None, True, math.nan, math.nan, math.nan)
    start, end = float(values[0]), float(values[-1])
    days = frame["date"].dt.floor("D").nunique()
    sharpe = (calculate_sharpe_from_balance(frame) * math.sqrt(periods_per_year / FREQTRADE_PERIODS)
              if days > 1 else math.nan)
    if sharpe == -100.0:  # Freqtrade's "no variance" marker: undefined, not -100
        sharpe = math.nan
    max_dd, recovery, recovered = 0.0, None, True
    if len(values) >= 2:
        dd = calculate_max_drawdown_from_balance(frame, relative=True)
        max_dd = float(dd.relative_account_drawdown)
        if max_dd > 0:
            peak_value = start + float(dd.high_value)
            after = frame[(frame["date"] >= dd.low_date) & (frame["total_quote"] >= peak_value - 1e-9)]
            recovered = not after.empty
            back_at = after["date"].iloc[0] if recovered else frame["date"].iloc[-1]
            recovery = (back_at - dd.high_date).to_pytimedelta()
    return CurveFigures(max_dd, float(sharpe), recovery, recovered, end / start - 1 if start else math.nan,
                        start, end)


def trade_figures(profits: Sequence[float] | np.ndarray | pd.Series) -> tuple[int, float, float, float]:
    """(trades, win rate, profit factor, avg R:R) of closed trades' net profits (any currency)."""
    p = np.asarray(profits, dtype=float)
    wins, losses = p[p > 0], p[p < 0]
    win_rate = float(len(wins) / len(p)) if len(p) else math.nan
    gross_loss = float(-losses.sum())
    profit_factor = (float(wins.sum()) / gross_loss if gross_loss > 0
                     else (math.inf if len(wins) else math.nan))
    avg_rr = (float(wins.mean()) / float(-losses.mean()) if len(wins) and len(losses)
              else (math.inf if len(wins) else math.nan))
    return len(p), win_rate, profit_factor, avg_rr


def buy_and_hold_curve(closes: Mapping[str, pd.Series], start: datetime, end: datetime,
                       starting_balance: float) -> pd.Series:
    """Equal-weight buy-and-hold of ``closes`` (pair -> close price Series, UTC index) bought at
    the first close at or after ``start`` and held to ``end`` (inclusive): ``starting_balance x
    mean_p(close_p(t) / close_p(t0))``; a pair enters the mean once it has a price. Empty when
    no pair has a candle in the window."""
    legs = []
    for pair, series in closes.items():
        s = series.dropna().sort_index()
        s = s[(s.index >= start) & (s.index <= end)]
        if s.empty:
            logger.warning("Buy-and-hold: %s has no candle in %s .. %s", pair, start, end)
            continue
        legs.append((s / float(s.iloc[0])).rename(pair))
    if not legs:
        return pd.Series(dtype=float)
    growth = pd.concat(legs, axis=1).ffill().mean(axis=1)
    return growth * starting_balance


def compute_metrics(profits: Sequence[float] | np.ndarray | pd.Series, equity: pd.Series, *,
                    periods_per_year: int = FREQTRADE_PERIODS,
                    control: pd.Series | None = None, control_label: str = "") -> Metrics:
    """The table's figures of a run.

    Args:
        profits: closed trades' net profit (stake currency / USD), fees included.
        equity: the account value curve (see :func:`curve_figures`).
        periods_per_year: 365 (crypto, Freqtrade) or 252 (US equity sessions).
        control: the buy-and-hold curve over the same pairs and window
            (:func:`buy_and_hold_curve`), or None when unavailable.
        control_label: what the control is, or why it is missing (printed).
    """
    trades, win_rate, pf, rr = trade_figures(profits)
    ctrl = (curve_figures(control, periods_per_year)
            if control is not None and len(control) else None)
    return Metrics(trades, win_rate, pf, rr, curve_figures(equity, periods_per_year), ctrl,
                   control_label)


def red_flags(m: Metrics) -> dict[str, bool]:
    """Which metrics raise the seed's red flag (NaN counts as a flag: nothing to trust)."""
    def bad(value: float, test) -> bool:
        return math.isnan(value) or test(value)

    return {
        "win_rate": bad(m.win_rate, lambda v: v < 0.30 and not (m.avg_rr >= 3)),
        "profit_factor": bad(m.profit_factor, lambda v: v < 1.5),
        "max_drawdown": bad(m.max_drawdown_frac, lambda v: v > 0.25),
        "sharpe": bad(m.sharpe, lambda v: v < 1.0),
        "avg_rr": bad(m.avg_rr, lambda v: v < 1.5),
        "trade_count": m.trades < 30,
        "recovery_time": (not m.recovered) or (m.recovery is not None and m.recovery > RECOVERY_LIMIT),
    }


def _num(value: float, fmt: str) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf"
    return format(value, fmt)


def _pct(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value * 100:.1f} %"


def _recovery(c: CurveFigures | None) -> str:
    if c is None:
        return "n/a"
    if c.recovery is None:
        return "no drawdown"
    return f"{c.recovery.days} days" + ("" if c.recovered else " (not recovered)")


def render_table(m: Metrics, title: str = "") -> str:
    """The metrics table as text: one row per metric with its value, buy-and-hold's value over
    the same pairs and window (curve figures; "-" for trade figures), the red-flag rule and
    the verdict; then total returns and the flag count."""
    flags = red_flags(m)
    c = m.control
    dash = "-"
    rows = [("Win rate", _pct(m.win_rate), dash, "< 30 % (unless R:R >= 3)", "win_rate"),
            ("Profit factor", _num(m.profit_factor, ".2f"), dash, "< 1.5", "profit_factor"),
            ("Max drawdown", _pct(m.max_drawdown_frac),
             _pct(c.max_drawdown_frac) if c else "n/a", "> 25 %", "max_drawdown"),
            ("Sharpe ratio", _num(m.sharpe, ".2f"), _num(c.sharpe, ".2f") if c else "n/a",
             "< 1.0", "sharpe"),
            ("Avg R:R", _num(m.avg_rr, ".2f"), dash, "< 1.5", "avg_rr"),
            ("Trade count", str(m.trades), dash, "< 30", "trade_count"),
            ("Recovery time", _recovery(m.curve), _recovery(c), "> 3 months", "recovery_time")]
    lines = [title] if title else []
    lines.append(f"{'Metric':<15}{'Strategy':>26}{'Buy & hold':>26}   {'Red flag if':<26}Verdict")
    lines.append("-" * 104)
    for name, value, control, rule, key in rows:
        lines.append(f"{name:<15}{value:>26}{control:>26}   {rule:<26}"
                     f"{'RED FLAG' if flags[key] else 'ok'}")
    lines.append("-" * 104)
    lines.append(f"Total return {_pct(m.total_return_frac)} "
                 f"({_num(m.start_value, ',.2f')} -> {_num(m.end_value, ',.2f')}); "
                 f"buy & hold {_pct(c.total_return_frac) if c else 'n/a'}"
                 f"{f' ({m.control_label})' if m.control_label else ''}; "
                 f"{sum(flags.values())} red flag(s)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- Freqtrade results


def _wallet_curve(file: Path, strategy: str) -> pd.Series | None:
    """Freqtrade's stored wallet curve (marked to market), summed per date, or None."""
    from freqtrade.data.btanalysis import get_backtest_wallet_change

    try:
        wallet = get_backtest_wallet_change(file, strategy)
    except (KeyError, OSError, ValueError) as err:
        logger.info("No wallet curve for %s in %s (%s): using closed trades", strategy, file.name, err)
        return None
    if wallet is None or wallet.empty:
        return None
    total = (wallet["rate"] * wallet["balance"]).groupby(wallet["date"]).sum()
    return total.sort_index()


def realized_curve(trades: pd.DataFrame, start: datetime, end: datetime,
                   starting_balance: float) -> pd.Series:
    """Starting balance plus closed trades' ``profit_abs`` at their ``close_date``, on a daily
    UTC grid from ``start`` to ``end`` (the curve without a stored wallet)."""
    grid = pd.date_range(pd.Timestamp(start).floor("D"), pd.Timestamp(end).ceil("D"), freq="D",
                         tz="UTC" if pd.Timestamp(start).tzinfo is None else None)
    if trades.empty:
        return pd.Series(starting_balance, index=grid, dtype=float)
    daily = trades.groupby(trades["close_date"].dt.ceil("D"))["profit_abs"].sum()
    return starting_balance + daily.reindex(grid.union(daily.index), fill_value=0.0).cumsum()


def _candle_closes(config: Mapping[str, Any], pairs: Sequence[str], timeframe: str,
                   start: datetime, end: datetime) -> dict[str, pd.Series]:
    from freqtrade.configuration import TimeRange
    from freqtrade.data.history import load_pair_history
    from freqtrade.enums import CandleType

    datadir = Path(config.get("datadir") or Path(config.get("user_data_dir", "user_data")) / "data"
                   / config.get("exchange", {}).get("name", "binance"))
    candle_type = CandleType.get_default(config.get("trading_mode", "spot"))
    timerange = TimeRange("date", "date", int(pd.Timestamp(start).timestamp()),
                          int(pd.Timestamp(end).timestamp()))
    closes = {}
    for pair in pairs:
        frame = load_pair_history(pair, timeframe, datadir, timerange=timerange,
                                  data_format=config.get("dataformat_ohlcv"), candle_type=candle_type)
        if not frame.empty:
            closes[pair] = frame.set_index("date")["close"]
    return closes


@dataclass(frozen=True)
class StrategyTable:
    """One strategy of a backtest result: its figures, the printed table, and Freqtrade's own
    report figures it was checked against (``report``: ``sharpe``, ``max_relative_drawdown``
    of ``wallet_stats`` when stored, ``profit_factor``, ``market_change``)."""

    strategy: str
    metrics: Metrics
    table: str
    report: dict[str, float]


def tables_of_result(file: Path, strategy: str | None = None,
                     config: Mapping[str, Any] | None = None) -> list[StrategyTable]:
    """The metrics table of every strategy (or ``strategy``) of a Freqtrade result file.

    Args:
        file: a result ``.zip`` (or ``.json``), or a ``backtest_results`` folder (its latest
            result, ``.last_result.json``).
        strategy: only this strategy.
        config: where the buy-and-hold candles are (``datadir``, ``dataformat_ohlcv``,
            ``trading_mode``); default: the config stored in the result.

    Raises:
        ValueError: no readable result, or ``strategy`` is not in it (the message names it).
    """
    from freqtrade.data.btanalysis import (
        get_latest_backtest_filename,
        load_backtest_data,
        load_backtest_stats,
    )

    file = Path(file)
    if file.is_dir():
        file = file / get_latest_backtest_filename(file)
    stats = load_backtest_stats(file)
    names = list(stats["strategy"])
    if strategy is not None:
        if strategy not in names:
            raise ValueError(f"strategy {strategy!r} is not in {file.name} (it has {names})")
        names = [strategy]
    stored_config = _stored_config(file)
    config = config if config is not None else stored_config
    out = []
    for name in names:
        s = stats["strategy"][name]
        trades = load_backtest_data(file, name)
        start = pd.Timestamp(s["backtest_start"], tz="UTC")
        end = pd.Timestamp(s["backtest_end"], tz="UTC")
        balance = float(s["starting_balance"])
        curve = _wallet_curve(file, name) if file.suffix == ".zip" else None
        if curve is None:
            curve = realized_curve(trades, start, end, balance)
        pairs = list(s.get("pairlist") or [])
        timeframe = s.get("timeframe") or stored_config.get("timeframe")
        control, label = None, f"{len(pairs)} pair(s) equal weight, same window"
        try:
            closes = _candle_closes(config or {}, pairs, timeframe, start, end)
            control = buy_and_hold_curve(closes, start, end, balance)
            if len(closes) < len(pairs):
                label += f"; candles missing for {len(pairs) - len(closes)} pair(s)"
        except Exception as err:  # noqa: BLE001 - the control is missing, said in the table
            label = f"candles unavailable: {type(err).__name__}: {err}"
        metrics = compute_metrics(trades["profit_abs"] if len(trades) else [], curve,
                                  control=control, control_label=label)
        wallet = s.get("wallet_stats") or {}
        report = {"sharpe": float(wallet.get("sharpe", s.get("sharpe", math.nan))),
                  "max_relative_drawdown": float(wallet.get("max_relative_drawdown",
                                                            s.get("max_relative_drawdown", math.nan))),
                  "profit_factor": float(s.get("profit_factor", math.nan)),
                  "market_change": float(s.get("market_change", math.nan))}
        title = (f"{name}: seed 000 metrics ({s['backtest_start']} .. {s['backtest_end']} UTC, "
                 f"{timeframe}, {file.name})")
        out.append(StrategyTable(name, metrics, render_table(metrics, title), report))
    return out


def _stored_config(file: Path) -> dict[str, Any]:
    import json
    import zipfile

    if file.suffix != ".zip":
        return {}
    try:
        with zipfile.ZipFile(file) as zf:
            return json.loads(zf.read(f"{file.stem}_config.json"))
    except (KeyError, OSError, ValueError, zipfile.BadZipFile):
        return {}
