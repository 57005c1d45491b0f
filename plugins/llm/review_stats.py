"""The deterministic half of the review: trade statistics, signal funnel and the equity curve.

Inputs are Freqtrade's own: closed trades from a backtest result
(``freqtrade.data.btanalysis.load_backtest_data``) or the trades database
(``load_trades_from_db``), and the decision journal (``plugins.risk.journal``). Figures:

- trades closed in ``[since, until)``, wins / losses / draws (``profit_abs`` > / < / = 0), win
  rate, net P&L (stake currency, and as a fraction of the starting balance), the maximum
  drawdown of the closed-trade equity curve (start + cumulative ``profit_abs`` at close times)
  from its running peak, mean time in position, per-pair and exit-reason counts;
- the signal funnel from the journal: entry signals generated (``signal``/``enter`` rows),
  entry attempts that reached the gates (distinct (ts, pair) of ``gate`` rows, the council's
  own rows excluded), attempts filtered (any gate denied) with the denials per gate, entries
  taken (trades opened in the period), breaker trips, council verdicts.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict

from plugins.core.atomic import atomic_write
from plugins.core.errors import DataNotFoundError
from plugins.risk.journal import JournalRow


class ReviewStats(BaseModel):
    """Figures of one review period (see the module docstring). Money in the stake currency,
    ``*_frac`` fractions (0.042 = 4.2 %), durations in hours; ``since`` / ``until`` the period
    asked for (None = open), ``first_open`` / ``last_close`` the span its trades cover."""

    model_config = ConfigDict(frozen=True)

    strategy: str
    since: datetime | None
    until: datetime | None
    first_open: datetime | None
    last_close: datetime | None
    trades: int
    wins: int
    losses: int
    draws: int
    win_rate_frac: float | None
    pnl_abs: float
    starting_balance: float | None
    pnl_frac: float | None
    max_drawdown_abs: float
    max_drawdown_frac: float | None
    avg_hours_in_position: float | None
    per_pair: dict[str, dict[str, float]]
    exit_reasons: dict[str, int]
    signals_generated: int
    entry_attempts: int
    attempts_filtered: int
    filtered_by_gate: dict[str, int]
    entries_taken: int
    breaker_trips: dict[str, int]
    council_verdicts: int


def load_trades(backtest: Path | None = None, db_url: str | None = None,
                strategy: str | None = None) -> tuple[pd.DataFrame, str, float | None]:
    """Closed trades, the strategy name and the starting balance (backtests only).

    Args:
        backtest: a backtest result file or ``backtest_results`` folder (its latest result).
        db_url: a trades database (``sqlite:///tradesv3.dryrun.sqlite``).
        strategy: which strategy (required when a result holds several).

    Raises:
        DataNotFoundError: neither source given, no result, or no such strategy.
    """
    from freqtrade.data.btanalysis import load_backtest_data, load_backtest_stats, load_trades_from_db

    if backtest is not None:
        try:
            stats = load_backtest_stats(backtest)
        except (ValueError, OSError) as err:
            raise DataNotFoundError(f"No backtest result at {backtest}: {err}") from err
        names = list(stats["strategy"])
        name = strategy or (names[0] if len(names) == 1 else None)
        if name not in names:
            raise DataNotFoundError(f"Backtest result {backtest} holds strategies {names}; pass "
                                    "--strategy with one of them")
        trades = load_backtest_data(backtest, name)
        return trades, name, float(stats["strategy"][name]["starting_balance"])
    if db_url is not None:
        trades = load_trades_from_db(db_url, strategy)
        return trades, strategy or "all strategies", None
    raise DataNotFoundError("No trades source: pass --backtest RESULT_DIR_OR_FILE or --db-url URL")


def _in_period(times: pd.Series, since: datetime | None, until: datetime | None) -> pd.Series:
    mask = pd.Series(True, index=times.index)
    if since is not None:
        mask &= times >= pd.Timestamp(since)
    if until is not None:
        mask &= times < pd.Timestamp(until)
    return mask


def normalised(trades: pd.DataFrame) -> pd.DataFrame:
    """``trades`` with UTC ``open_date`` / ``close_date`` (an empty database gives object
    columns) and float ``profit_abs``."""
    out = trades.copy()
    for column in ("open_date", "close_date"):
        out[column] = pd.to_datetime(out[column], utc=True)
    out["profit_abs"] = out["profit_abs"].astype("float64")
    return out


def _closed(trades: pd.DataFrame) -> pd.DataFrame:
    trades = normalised(trades)
    return trades[~trades["is_open"].astype(bool)] if "is_open" in trades else trades


def equity_curve(trades: pd.DataFrame, starting_balance: float | None) -> pd.Series:
    """Closed-trade equity by close time (starting at ``starting_balance`` or 0)."""
    closed = normalised(trades).sort_values("close_date")
    start = starting_balance or 0.0
    return start + closed.set_index("close_date")["profit_abs"].astype("float64").cumsum()


def compute_stats(trades: pd.DataFrame, journal: list[JournalRow], strategy: str,
                  starting_balance: float | None, since: datetime | None = None,
                  until: datetime | None = None) -> ReviewStats:
    """The period's figures (see the module docstring)."""
    closed = _closed(trades)
    closed = closed[_in_period(closed["close_date"], since, until)]
    trades = normalised(trades)
    opened = trades[_in_period(trades["open_date"], since, until)]
    profit = closed["profit_abs"].astype("float64")
    equity = equity_curve(closed, starting_balance)
    start = starting_balance or 0.0
    peaks = pd.concat([pd.Series([start]), equity.reset_index(drop=True)]).cummax().iloc[1:]
    drawdowns = peaks.to_numpy() - equity.to_numpy()
    dd_abs = float(drawdowns.max()) if len(drawdowns) else 0.0
    dd_frac = None
    if len(drawdowns) and starting_balance:
        dd_frac = float((drawdowns / peaks.to_numpy()).max())
    hours = ((closed["close_date"] - closed["open_date"]).dt.total_seconds() / 3600)
    per_pair = {pair: {"trades": int(len(g)), "pnl_abs": round(float(g["profit_abs"].sum()), 6)}
                for pair, g in closed.groupby("pair")}
    rows = [r for r in journal if (since is None or r.ts >= since) and (until is None or r.ts < until)]
    attempts: dict[tuple, list[JournalRow]] = {}
    for r in rows:
        if r.kind == "gate" and r.reason != "council":
            attempts.setdefault((r.ts, r.pair), []).append(r)
    denials = Counter(r.reason for group in attempts.values() for r in group if r.decision == "deny")
    filtered = sum(1 for group in attempts.values() if any(r.decision == "deny" for r in group))
    n = len(closed)
    return ReviewStats(
        strategy=strategy, since=since, until=until,
        first_open=closed["open_date"].min().to_pydatetime() if n else None,
        last_close=closed["close_date"].max().to_pydatetime() if n else None,
        trades=n, wins=int((profit > 0).sum()),
        losses=int((profit < 0).sum()), draws=int((profit == 0).sum()),
        win_rate_frac=round(float((profit > 0).mean()), 6) if n else None,
        pnl_abs=round(float(profit.sum()), 6), starting_balance=starting_balance,
        pnl_frac=round(float(profit.sum()) / starting_balance, 6) if starting_balance else None,
        max_drawdown_abs=round(dd_abs, 6),
        max_drawdown_frac=None if dd_frac is None else round(dd_frac, 6),
        avg_hours_in_position=round(float(hours.mean()), 3) if n else None,
        per_pair=per_pair, exit_reasons=dict(Counter(map(str, closed["exit_reason"]))),
        signals_generated=sum(1 for r in rows if r.kind == "signal" and r.decision == "enter"),
        entry_attempts=len(attempts), attempts_filtered=filtered,
        filtered_by_gate=dict(sorted(denials.items())), entries_taken=int(len(opened)),
        breaker_trips=dict(Counter(r.reason for r in rows if r.kind == "breaker")),
        council_verdicts=sum(1 for r in rows if r.kind == "gate" and r.reason == "council"))


def plot_equity(trades: pd.DataFrame, starting_balance: float | None, path: Path, title: str) -> Path:
    """The closed-trade equity curve as a PNG (atomic write); returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    equity = equity_curve(_closed(trades), starting_balance)
    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=100)
    try:
        if len(equity):
            ax.step(equity.index, equity.to_numpy(), where="post", color="tab:blue")
        ax.set_title(title)
        ax.set_ylabel("equity (stake currency)" if starting_balance else "cumulative P&L")
        ax.grid(alpha=0.3)
        fig.autofmt_xdate()
        fig.tight_layout()
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", metadata={"Software": None}))
    finally:
        plt.close(fig)
    return path


def render_stats(s: ReviewStats) -> list[str]:
    """Markdown lines of the Stats and Signal Analysis sections."""
    def pct(frac: float | None) -> str:
        return "n/a" if frac is None else f"{frac * 100:+.2f}%"
    gates = ", ".join(f"{k} {v}" for k, v in s.filtered_by_gate.items()) or "none"
    trips = ", ".join(f"{k} {v}" for k, v in s.breaker_trips.items()) or "none"
    win = "n/a" if s.win_rate_frac is None else f"{s.win_rate_frac * 100:.1f}%"
    hours = "n/a" if s.avg_hours_in_position is None else f"{s.avg_hours_in_position:.1f} h"
    dd = "n/a" if s.max_drawdown_frac is None else f"-{s.max_drawdown_frac * 100:.2f}%"
    return ["### Stats", f"- Trades executed: {s.trades}",
            f"- Win rate: {win} ({s.wins}W/{s.losses}L/{s.draws}D)",
            f"- Net P&L: {pct(s.pnl_frac)} ({s.pnl_abs:+,.2f})",
            f"- Max drawdown (closed trades): {dd} ({s.max_drawdown_abs:,.2f})",
            f"- Avg time in position: {hours}",
            "- Per pair: " + (", ".join(f"{p} {v['trades']:.0f} trades {v['pnl_abs']:+,.2f}"
                                        for p, v in s.per_pair.items()) or "none"),
            "- Exit reasons: " + (", ".join(f"{k} {v}" for k, v in s.exit_reasons.items()) or "none"),
            "", "### Signal Analysis", f"- Entry signals generated: {s.signals_generated}",
            f"- Entry attempts checked by the gates: {s.entry_attempts}",
            f"- Entries taken: {s.entries_taken} ({s.attempts_filtered} attempts filtered by gates: "
            f"{gates})", f"- Breaker trips: {trips}", f"- Council verdicts journaled: {s.council_verdicts}"]
