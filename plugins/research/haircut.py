"""The live haircut, measured: realized slippage of dry-run/live fills and live vs backtest profit.

Seed 001 tells to cut backtest returns by 15-30 % before deploying; this measures the cut from a
bot's own trades instead. Reads Freqtrade's database (SQLite or PostgreSQL, any SQLAlchemy URL
Freqtrade's ``db_url`` accepts; read only: ``SELECT`` on its ``trades`` and ``orders`` tables)
and the candles of the data dir:

- **slippage** of every filled order against its *signal candle's close* (the last candle of the
  trade's timeframe closed when the order was placed: what the strategy saw), in bps, positive =
  worse: ``(fill / close - 1) x 10 000`` for a buy, ``(1 - fill / close) x 10 000`` for a sell;
  summarized (count, mean, median, 95th percentile) overall and by pair and order type;
- **profit**: the bot's closed trades vs a backtest's trades (Freqtrade's result file) opened
  over the same period on the same pairs, each as a stake-weighted return
  ``sum(profit_abs) / sum(stake_amount)``; ``ratio = live / backtest`` and the measured haircut
  ``1 - ratio`` (clipped to [0, 0.999]; undefined when the backtest did not make money or there
  are fewer than ``min_trades`` live trades).

:func:`measured_haircut` returns the haircut in the shape of the promotion gate's evidence file
(``plugins.research.evidence.Haircut``); ``python -m plugins.research haircut ... --evidence F``
writes it there, and ``promote`` uses it instead of the configured ``ai_suite.research.haircut``.

Replay-mode dry-runs (``make dryrun``) serve the recorded candles shifted by whole days: pass
that shift (``--shift-days``) so each order finds its recorded candle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Seed 001's canary stage: "run until you have 20-30 completed trades".
DEFAULT_MIN_TRADES = 20
#: The evidence schema keeps a haircut below 1 (plugins.research.evidence.Haircut).
MAX_HAIRCUT = 0.999
NO_SHIFT = pd.Timedelta(0)
FILL_COLUMNS = ["trade_id", "pair", "side", "order_type", "tag", "placed_at", "fill", "amount",
                "signal_candle", "signal_close", "slippage_bps"]


class HaircutError(ValueError):
    """The database or the candles cannot be read (the message names which and the fix);
    the CLI prints it and exits 2."""


@dataclass(frozen=True)
class ProfitComparison:
    """Live (dry-run or live) vs backtest profit over the live period.

    Attributes:
        start, end: the live period (first open, last close of a closed trade; UTC).
        live_trades, backtest_trades: closed trades in it.
        live_return, backtest_return: ``sum(profit_abs) / sum(stake_amount)`` (fractions).
        ratio: ``live_return / backtest_return`` (None when the backtest return is <= 0).
    """

    start: pd.Timestamp
    end: pd.Timestamp
    live_trades: int
    backtest_trades: int
    live_return: float
    backtest_return: float | None
    ratio: float | None


@dataclass(frozen=True)
class HaircutReport:
    """Everything ``python -m plugins.research haircut`` prints.

    Attributes:
        fills: one row per filled order (:data:`FILL_COLUMNS`; ``slippage_bps`` NaN when the
            signal candle is missing from the data dir).
        slippage: summary rows ``pair``, ``order_type`` (``all`` = every fill), ``fills``,
            ``mean_bps``, ``median_bps``, ``p95_bps``.
        profit: :class:`ProfitComparison`, None without a backtest.
        haircut_frac: the measured haircut, None when undefined (``reason`` says why).
    """

    fills: pd.DataFrame
    slippage: pd.DataFrame
    profit: ProfitComparison | None
    haircut_frac: float | None
    reason: str
    closed_trades: int
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as text: haircut first, then slippage and profit."""
        out = [f"measured haircut: {_pct(self.haircut_frac)}" + (
            f" ({self.reason})" if self.reason else ""), ""]
        out.append("realized slippage vs the signal candle's close (bps, + = worse)")
        out.append(f"{'pair':<12}{'order type':<12}{'fills':>7}{'mean':>9}{'median':>9}{'p95':>9}")
        for row in self.slippage.itertuples():
            out.append(f"{row.pair:<12}{row.order_type:<12}{row.fills:>7}{row.mean_bps:>9.2f}"
                       f"{row.median_bps:>9.2f}{row.p95_bps:>9.2f}")
        if self.profit is not None:
            p = self.profit
            out += ["", f"profit {p.start:%Y-%m-%d %H:%M} .. {p.end:%Y-%m-%d %H:%M} UTC "
                        "(sum profit / sum stake)",
                    f"  live     {p.live_trades:>5} trades  {p.live_return:+.4%}",
                    f"  backtest {p.backtest_trades:>5} trades  "
                    + ("-" if p.backtest_return is None else f"{p.backtest_return:+.4%}"),
                    f"  live / backtest: {'-' if p.ratio is None else f'{p.ratio:.3f}'}"]
        out += [f"note: {n}" for n in self.notes]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``haircut_frac``, ``reason``, ``slippage`` (records), ``profit``."""
        profit = None
        if self.profit is not None:
            profit = {k: (v.isoformat() if isinstance(v, pd.Timestamp) else v)
                      for k, v in self.profit.__dict__.items()}
        return {"haircut_frac": self.haircut_frac, "reason": self.reason,
                "closed_trades": self.closed_trades,
                "slippage": self.slippage.to_dict(orient="records"), "profit": profit,
                "notes": self.notes}


def _pct(value: float | None) -> str:
    return "none" if value is None else f"{value:.1%}"


# --------------------------------------------------------------------------- reading


def read_database(db_url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trades, orders) of a Freqtrade database, read only.

    Returns:
        trades: ``id``, ``pair``, ``is_open``, ``open_date``, ``close_date`` (UTC),
            ``stake_amount``, ``close_profit`` (fraction), ``close_profit_abs`` (quote),
            ``timeframe`` (minutes), ``strategy``.
        orders: ``trade_id``, ``pair``, ``side`` (buy/sell), ``order_type``, ``status``,
            ``tag``, ``placed_at``, ``filled_at`` (UTC), ``fill`` (average price, quote),
            ``amount`` (filled, base).

    Raises:
        HaircutError: the URL cannot be opened or holds no Freqtrade tables.
    """
    from freqtrade.persistence.trade_model import Order, Trade
    from sqlalchemy import create_engine, select
    from sqlalchemy.exc import SQLAlchemyError

    t, o = Trade.__table__.c, Order.__table__.c
    try:
        engine = create_engine(db_url)
    except (SQLAlchemyError, ValueError) as err:
        raise HaircutError(f"--db {_safe_url(db_url)}: not a database URL Freqtrade accepts "
                           f"(e.g. sqlite:///user_data/tradesv3.sqlite): {err}") from err
    try:
        with engine.connect() as conn:
            trades = pd.read_sql(select(t.id, t.pair, t.is_open, t.open_date, t.close_date,
                                        t.stake_amount, t.close_profit, t.close_profit_abs,
                                        t.timeframe, t.strategy), conn)
            orders = pd.read_sql(select(o.ft_trade_id.label("trade_id"), o.ft_pair.label("pair"),
                                        o.ft_order_side.label("side"), o.order_type, o.status,
                                        o.ft_order_tag.label("tag"),
                                        o.order_date.label("placed_at"),
                                        o.order_filled_date.label("filled_at"), o.average,
                                        o.price, o.filled), conn)
    except SQLAlchemyError as err:
        raise HaircutError(f"--db {_safe_url(db_url)}: cannot read Freqtrade's trades/orders "
                           f"tables ({type(err).__name__}); is it a bot's database?") from err
    finally:
        engine.dispose()
    for frame, columns in ((trades, ("open_date", "close_date")),
                           (orders, ("placed_at", "filled_at"))):
        for column in columns:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    orders["fill"] = orders["average"].where(orders["average"] > 0, orders["price"])
    orders["amount"] = orders["filled"]
    return trades, orders.drop(columns=["average", "price", "filled"])


def _safe_url(db_url: str) -> str:
    """The URL without its password (secrets never in messages)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown by its scheme only
        return db_url.split(":", 1)[0] + ":..."


# --------------------------------------------------------------------------- measuring


def minutes_to_timeframe(minutes: int) -> str:
    """Freqtrade's timeframe name of a candle length (``60`` -> ``1h``, ``1440`` -> ``1d``)."""
    for unit, size in (("w", 10080), ("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def fill_slippage(orders: pd.DataFrame, trades: pd.DataFrame, candles_of,
                  shift: pd.Timedelta = NO_SHIFT) -> pd.DataFrame:
    """Each filled order's slippage against its signal candle's close.

    Args:
        orders, trades: :func:`read_database`.
        candles_of: ``(pair, timeframe) -> DataFrame`` of candles (``date``, ``close``), e.g.
            Freqtrade's ``load_pair_history`` on the data dir.
        shift: how much later the bot saw the candles than they were recorded (replay mode).

    Returns:
        :data:`FILL_COLUMNS`, one row per closed order with a fill, in time order.
    """
    filled = orders[(orders["status"] == "closed") & (orders["amount"] > 0)
                    & (orders["fill"] > 0)].copy()
    minutes = trades.set_index("id")["timeframe"]
    rows = []
    cache: dict[tuple[str, str], pd.Series] = {}
    for order in filled.sort_values("placed_at").itertuples():
        candle_minutes = int(minutes.get(order.trade_id) or 60)
        timeframe = minutes_to_timeframe(candle_minutes)
        key = (order.pair, timeframe)
        if key not in cache:
            candles = candles_of(order.pair, timeframe)
            cache[key] = pd.Series(candles["close"].to_numpy(),
                                   index=pd.DatetimeIndex(candles["date"]))
        closes = cache[key]
        candle_len = pd.Timedelta(minutes=candle_minutes)
        cutoff = order.placed_at - shift - candle_len
        i = int(closes.index.searchsorted(cutoff, side="right")) - 1
        close, signal = (float(closes.iloc[i]), closes.index[i]) if i >= 0 else (math.nan, pd.NaT)
        if i >= 0 and signal < cutoff - candle_len:
            close, signal = math.nan, pd.NaT  # the signal candle itself is not in the data
        sign = 1.0 if order.side == "buy" else -1.0
        rows.append({"trade_id": order.trade_id, "pair": order.pair, "side": order.side,
                     "order_type": order.order_type, "tag": order.tag,
                     "placed_at": order.placed_at, "fill": order.fill, "amount": order.amount,
                     "signal_candle": signal, "signal_close": close,
                     "slippage_bps": sign * (order.fill / close - 1) * 1e4})
    return pd.DataFrame(rows, columns=FILL_COLUMNS)


def summarize_slippage(fills: pd.DataFrame) -> pd.DataFrame:
    """Count, mean, median and 95th percentile of ``slippage_bps`` overall (``all``/``all``),
    per pair over all order types, and per pair and order type."""
    valid = fills.dropna(subset=["slippage_bps"])
    groups = [("all", "all", valid)]
    for pair, by_pair in valid.groupby("pair", sort=True):
        groups.append((pair, "all", by_pair))
        groups += [(pair, kind, rows) for kind, rows in by_pair.groupby("order_type", sort=True)]
    return pd.DataFrame([{
        "pair": pair, "order_type": kind, "fills": len(rows),
        "mean_bps": float(rows["slippage_bps"].mean()) if len(rows) else math.nan,
        "median_bps": float(rows["slippage_bps"].median()) if len(rows) else math.nan,
        "p95_bps": float(np.percentile(rows["slippage_bps"], 95)) if len(rows) else math.nan,
    } for pair, kind, rows in groups])


def _stake_return(profit_abs: pd.Series, stake: pd.Series) -> float:
    total = float(stake.sum())
    return float(profit_abs.sum()) / total if total > 0 else math.nan


def compare_profit(trades: pd.DataFrame, backtest: pd.DataFrame,
                   shift: pd.Timedelta = NO_SHIFT) -> ProfitComparison | None:
    """Closed live trades vs the backtest's trades opened in the same period on the same pairs.

    Args:
        trades: :func:`read_database` trades.
        backtest: Freqtrade's backtest trades (``load_backtest_data``: ``pair``, ``open_date``,
            ``profit_abs``, ``stake_amount``).
        shift: replay shift (the live dates are moved back by it).

    Returns:
        None when no live trade is closed.
    """
    closed = trades[~trades["is_open"].astype(bool) & trades["close_date"].notna()]
    if closed.empty:
        return None
    start = closed["open_date"].min() - shift
    end = closed["close_date"].max() - shift
    live_return = _stake_return(closed["close_profit_abs"], closed["stake_amount"])
    opened = pd.to_datetime(backtest["open_date"], utc=True) if not backtest.empty else None
    if opened is None:
        same = backtest
    else:
        same = backtest[(opened >= start) & (opened <= end)
                        & backtest["pair"].isin(set(closed["pair"]))]
    bt_return = _stake_return(same["profit_abs"], same["stake_amount"]) if len(same) else None
    if bt_return is not None and not math.isfinite(bt_return):
        bt_return = None
    ratio = live_return / bt_return if bt_return is not None and bt_return > 0 else None
    return ProfitComparison(start=start, end=end, live_trades=len(closed),
                            backtest_trades=len(same), live_return=live_return,
                            backtest_return=bt_return, ratio=ratio)


def haircut_report(db_url: str, datadir: Path, backtest: pd.DataFrame | None = None,
                   shift_days: int = 0, min_trades: int = DEFAULT_MIN_TRADES,
                   data_format: str = "feather") -> HaircutReport:
    """Measure slippage and, with a backtest, the haircut (module docstring).

    Args:
        db_url: the bot's ``db_url`` (``sqlite:///...`` or ``postgresql+psycopg://...``).
        datadir: Freqtrade data dir with the pairs' candles at the trades' timeframe.
        backtest: Freqtrade's backtest trades of the same strategy (None: slippage only).
        shift_days: replay shift in whole days (``make dryrun`` logs it), 0 otherwise.
        min_trades: closed live trades needed for a haircut.

    Raises:
        HaircutError: unreadable database, or candles missing for a traded pair.
    """
    from freqtrade.data.history import load_pair_history

    trades, orders = read_database(db_url)
    shift = pd.Timedelta(days=shift_days)

    def candles_of(pair: str, timeframe: str) -> pd.DataFrame:
        candles = load_pair_history(pair, timeframe, Path(datadir), data_format=data_format)
        if candles.empty:
            raise HaircutError(f"no {timeframe} candles of {pair} in {datadir}: the signal "
                               "closes come from there (make data, or --datadir)")
        return candles

    fills = fill_slippage(orders, trades, candles_of, shift)
    notes = []
    missing = int(fills["slippage_bps"].isna().sum())
    if missing:
        notes.append(f"{missing} fills have no signal candle in {datadir} (wrong --shift-days?)")
    closed = int((~trades["is_open"].astype(bool)).sum())
    profit = compare_profit(trades, backtest, shift) if backtest is not None else None
    haircut, reason = None, ""
    if backtest is None:
        reason = "no backtest given (--backtest): slippage only"
    elif closed < min_trades:
        reason = f"{closed} closed trades, fewer than the {min_trades} needed"
    elif profit is None or profit.ratio is None:
        reason = "the backtest made no profit over the live period: no ratio to measure"
    else:
        haircut = min(max(1.0 - profit.ratio, 0.0), MAX_HAIRCUT)
        reason = f"1 - live/backtest = 1 - {profit.ratio:.3f}"
    return HaircutReport(fills=fills, slippage=summarize_slippage(fills), profit=profit,
                         haircut_frac=haircut, reason=reason, closed_trades=closed, notes=notes)


def measured_haircut(db_url: str, datadir: Path, backtest: pd.DataFrame, shift_days: int = 0,
                     min_trades: int = DEFAULT_MIN_TRADES) -> dict[str, Any] | None:
    """The measured haircut for the promotion gate, or None when it cannot be measured yet.

    Returns:
        ``{"measured_frac": float in [0, 0.999], "source": str, "trades": int}`` - the
        ``haircut`` object of an evidence file (``plugins.research.evidence.Haircut``) - or
        None (too few closed trades, no profitable backtest): the gate then uses the configured
        ``ai_suite.research.haircut``.

    Raises:
        HaircutError: as :func:`haircut_report`.
    """
    report = haircut_report(db_url, datadir, backtest, shift_days, min_trades)
    if report.haircut_frac is None:
        return None
    return {"measured_frac": report.haircut_frac,
            "source": f"python -m plugins.research haircut --db {_safe_url(db_url)}",
            "trades": report.closed_trades}


def write_evidence_haircut(path: Path, report: HaircutReport, db_url: str) -> str:
    """Put ``report``'s measured haircut into the evidence file at ``path`` (atomically,
    validated against its schema); returns what was done, as one line.

    Raises:
        EvidenceError: the file is unreadable or would break the schema.
    """
    import json

    from plugins.core.atomic import atomic_write
    from plugins.research.evidence import Evidence, EvidenceError, load_evidence

    load_evidence(path)  # readable and valid before we touch it
    if report.haircut_frac is None:
        return f"{path}: unchanged (no measured haircut: {report.reason})"
    raw = json.loads(Path(path).read_text())
    raw["haircut"] = {"measured_frac": report.haircut_frac,
                      "source": f"python -m plugins.research haircut --db {_safe_url(db_url)}",
                      "trades": report.closed_trades}
    try:
        Evidence.model_validate(raw)
    except ValueError as err:
        raise EvidenceError(f"evidence file {path}: the haircut would break it: {err}") from err
    atomic_write(Path(path), lambda tmp: tmp.write_text(json.dumps(raw, indent=2)))
    return f"{path}: haircut {report.haircut_frac:.1%} measured over {report.closed_trades} trades"
