"""Backtest and paper-trading sessions: cerebro wired with the adapter's roles and the guard.

- ``run_backtest``: bars from files (``bars.FileBarSource``, Alpaca-style daily files first),
  backtrader's simulated broker with the risk guard (``guard.GuardedBackBroker``), a fresh
  decision journal, the metrics table. Fills: ``close`` (default) fills market orders at the
  close of the bar they were placed on (backtrader's cheat-on-close), which is the strategy-tree
  interpreter's rule ("acted on at its close"); ``open`` fills at the next bar's open.
- ``run_paper``: ``AlpacaStore`` roles against Alpaca's paper API (or live, confirmed):
  history then live bars, orders on Alpaca, reconciliation, journal, order log, log file, all
  in the mode's own state folder.

Strategies: ``strategy_from_tree`` compiles a strategy tree with
``plugins.strategy_tree.compilers.build_backtrader_strategy`` (the suite's
deterministic compiler); ``strategy_from_spec`` loads ``module:Class`` (a hand-written
``bt.Strategy``, e.g. ``adapters.alpaca.examples:RsiMeanReversion``).
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd

from adapters.alpaca.bars import BarTimeframe, FileBarSource, feed_plan
from adapters.alpaca.config import AlpacaConfig, AlpacaRunConfig
from adapters.alpaca.feed import AlpacaData
from adapters.alpaca.guard import GuardedBackBroker, bar_clock
from adapters.alpaca.metrics import (
    ClosedTradeRecord,
    EquityRecorder,
    Metrics,
    TradeRecorder,
    compute_metrics,
    render_table,
    strategy_closes,
)
from adapters.alpaca.nyse import MarketCalendar
from adapters.alpaca.pdt import DayTradeCounter
from adapters.alpaca.reconcile import AttributionLedger, ReconciliationReport
from adapters.alpaca.risk import DAY_TRADES_KEY, PdtSettings, RiskGuard
from adapters.alpaca.state import LOGGER_NAME, OrderLog, StatePaths, attach_log_file
from plugins.altdata.calendar import EventCalendar
from plugins.core.errors import DataNotFoundError
from plugins.risk.journal import DecisionJournal

logger = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parents[2]
#: The shipped real bars (``../shared/data``, or ``$SUITE_DATA_DIR``).
BUNDLE = Path(os.environ.get("SUITE_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
DEFAULT_DATA_DIR = BUNDLE / "equities" / "alpaca_style_daily_2021_2026"
BUNDLE_CALENDAR = BUNDLE / "macro" / "calendar"


def load_config_files(paths: Sequence[Path]) -> dict:
    """Freqtrade-style JSON configs merged left to right (nested dicts merged, the rest replaced).

    Raises:
        DataNotFoundError: a file is missing. ValueError: a file is not JSON.
    """
    def merge(base: dict, extra: dict) -> dict:
        out = dict(base)
        for key, value in extra.items():
            nested = isinstance(value, dict) and isinstance(out.get(key), dict)
            out[key] = merge(out[key], value) if nested else value
        return out

    merged: dict = {}
    for path in paths:
        if not Path(path).is_file():
            raise DataNotFoundError(f"Config file {path} not found")
        merged = merge(merged, json.loads(Path(path).read_text(encoding="utf-8")))
    return merged


def strategy_from_spec(spec: str) -> type[bt.Strategy]:
    """``module:Class`` -> the backtrader strategy class.

    Raises:
        ValueError: not ``module:Class``, the module cannot be imported, it has no such class,
            or the class is not a ``bt.Strategy`` subclass (each message names the spec).
    """
    example = "e.g. adapters.alpaca.examples:RsiMeanReversion"
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"--strategy {spec!r} is not module:Class ({example})")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"--strategy {spec!r}: module {module_name!r} cannot be imported ({err}); "
                         f"give an importable module:Class ({example}, run from the repository "
                         "root)") from err
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ValueError(f"--strategy {spec!r}: module {module_name!r} has no class {class_name!r}; "
                         f"give module:Class ({example})")
    if not (isinstance(cls, type) and issubclass(cls, bt.Strategy)):
        raise ValueError(f"--strategy {spec!r} is not a backtrader Strategy class; give the "
                         f"module:Class of a bt.Strategy subclass ({example})")
    return cls


def strategy_from_tree(path: Path) -> tuple[type[bt.Strategy], Any]:
    """Compile the tree at ``path`` into a backtrader strategy (the suite's compiler).

    Raises:
        TreeValidationError: the tree is invalid.
    """
    from plugins.strategy_tree.compilers import build_backtrader_strategy
    from plugins.strategy_tree.io import load_tree

    tree = load_tree(path)
    return build_backtrader_strategy(tree), tree


def data_names(symbols: Sequence[str], tree: Any | None) -> dict[str, str]:
    """The name of each symbol's feed: the tree's asset with that base (``SPY/USD``), else the
    symbol itself. Feeds keep ``symbol`` (``SPY``) for Alpaca either way."""
    names = {}
    for symbol in symbols:
        assets = list(getattr(tree, "assets", ()) or ())
        names[symbol] = next((a for a in assets if a.split("/")[0] == symbol.upper()), symbol)
    return names


def event_calendar(suite: AlpacaRunConfig) -> EventCalendar | None:
    """The FOMC/CPI calendar when a blackout is configured (None when both windows are 0).

    Read from ``<altdata cache_dir>/calendar``, else from the bundle's ``macro/calendar``.

    Raises:
        DataNotFoundError: a blackout is configured and neither folder has the calendar
            (fail closed: the run does not start without it).
    """
    risk = suite.risk
    if not (risk.blackout_before_min or risk.blackout_after_min):
        return None
    for folder in (Path(suite.altdata.cache_dir) / "calendar", BUNDLE_CALENDAR):
        try:
            return EventCalendar.from_dir(folder)
        except FileNotFoundError:
            continue
    raise DataNotFoundError(
        f"The news blackout needs the FOMC/CPI calendar in {Path(suite.altdata.cache_dir) / 'calendar'} "
        "(run `python -m plugins.altdata import-shared`), or set ai_suite.risk.blackout_before_min "
        "and blackout_after_min to 0.")


def make_guard(suite: AlpacaRunConfig, journal: DecisionJournal, calendar: MarketCalendar) -> RiskGuard:
    """The risk guard of a run, from ``ai_suite.risk`` and ``ai_suite.alpaca``."""
    cfg = suite.alpaca
    day_trades = (DayTradeCounter(calendar, journal.get_state(DAY_TRADES_KEY)) if cfg.pdt_guard else None)
    return RiskGuard(suite.risk, journal, events=event_calendar(suite), day_trades=day_trades,
                     pdt=PdtSettings.from_config(cfg))


@dataclass(frozen=True)
class RunResult:
    """What a run leaves: its metrics, table, trades, equity curve, where it journaled, the
    orders rejected ``(symbol, reason)``, and the strategy instance that ran (a compiled
    tree's ``tree_log`` lists its fills)."""

    strategy: str
    metrics: Metrics
    table: str
    trades: list[ClosedTradeRecord]
    equity: pd.Series
    journal: Path | None
    rejected: list[tuple[str, str]]
    reconciliation: ReconciliationReport | None = None
    orders: list[dict] | None = None
    instance: Any = None


class _RejectRecorder(bt.Analyzer):
    """Rejected orders and their reasons: ``[(symbol, reason), ...]``."""

    def start(self) -> None:
        self.rejected: list[tuple[str, str]] = []

    def notify_order(self, order: bt.Order) -> None:
        if order.status == bt.Order.Rejected:
            self.rejected.append((str(getattr(order.data, "symbol", order.data._name)),
                                  str(order.info.get("reject_reason", ""))))

    def get_analysis(self) -> list[tuple[str, str]]:
        return self.rejected


def _add_feeds(cerebro: bt.Cerebro, feeds: dict[str, AlpacaData], names: dict[str, str],
               resample: BarTimeframe | None) -> None:
    for symbol, feed in feeds.items():
        if resample is None:
            cerebro.adddata(feed, name=names[symbol])
        else:
            timeframe, compression = resample.backtrader()
            cerebro.resampledata(feed, name=names[symbol], timeframe=timeframe, compression=compression)


def _finish(cerebro: bt.Cerebro, strategy_cls: type, journal: Path | None, title: str) -> RunResult:
    strat = cerebro.run(runonce=False)[0]
    trades = strat.analyzers.trades.get_analysis()
    equity = strat.analyzers.equity.get_analysis()
    metrics = compute_metrics(trades, equity, strategy_closes(strat))
    return RunResult(strategy=strategy_cls.__name__, metrics=metrics, table=render_table(metrics, title),
                     trades=trades, equity=equity, journal=journal,
                     rejected=strat.analyzers.rejected.get_analysis(), instance=strat)


def _analyzers(cerebro: bt.Cerebro) -> None:
    cerebro.addanalyzer(TradeRecorder, _name="trades")
    cerebro.addanalyzer(EquityRecorder, _name="equity")
    cerebro.addanalyzer(_RejectRecorder, _name="rejected")


def run_backtest(strategy_cls: type[bt.Strategy], symbols: Sequence[str], *, start: datetime,
                 end: datetime | None, suite: AlpacaRunConfig, data_dir: Path = DEFAULT_DATA_DIR,
                 timeframe: str = "1d", cash: float = 100_000.0, fill: str = "close",
                 commission_frac: float = 0.0, risk: bool = True, journal: Path | None = None,
                 names: dict[str, str] | None = None,
                 strategy_kwargs: dict[str, Any] | None = None) -> RunResult:
    """Backtest ``strategy_cls`` on real bars from ``data_dir`` (module docstring).

    Args:
        symbols: e.g. ``["SPY", "QQQ"]``.
        start / end: tz-aware UTC bounds on bar starts (``end`` exclusive; None = all).
        suite: the suite config (``ai_suite.risk`` and ``ai_suite.alpaca`` are read).
        timeframe: bar timeframe; other than ``1d`` is resampled from daily files.
        cash: starting cash (USD).
        fill: ``close`` (cheat-on-close) or ``open`` (next bar's open).
        commission_frac: commission per fill as a fraction of its value (Alpaca: 0).
        risk: enforce the risk guard (off: for comparing with the tree interpreter).
        journal: the decision journal file (default ``<state_dir>/backtest/journal.sqlite``),
            started afresh: a backtest's journal describes that run only.
        names: feed name per symbol (``data_names``).

    Raises:
        ValueError: ``start`` not before ``end``, ``cash`` not a positive finite amount,
            ``commission_frac`` outside [0, 1), ``fill`` not close/open.
        DataNotFoundError: a symbol's file is missing, or the blackout calendar is.
    """
    if fill not in ("close", "open"):
        raise ValueError(f"fill must be close or open, not {fill!r}")
    if end is not None and start >= end:
        raise ValueError(f"start {start.isoformat()} is not before end {end.isoformat()}")
    if not (math.isfinite(cash) and cash > 0):
        raise ValueError(f"cash {cash!r} must be a positive amount of USD")
    if not 0 <= commission_frac < 1:
        raise ValueError(f"commission_frac {commission_frac!r} must be in [0, 1)")
    calendar = MarketCalendar(suite.alpaca.exchange_calendar)
    base, resample = feed_plan(BarTimeframe.parse(timeframe))
    source = FileBarSource(data_dir, calendar)
    cerebro = bt.Cerebro(stdstats=False)
    broker = GuardedBackBroker()
    broker.setcash(cash)
    broker.set_coc(fill == "close")
    broker.setcommission(commission=commission_frac)
    cerebro.setbroker(broker)
    feeds = {s: AlpacaData(dataname=s, bar_timeframe=base.label, start=start, end=end, source=source,
                           market_calendar=calendar) for s in symbols}
    _add_feeds(cerebro, feeds, names or {s: s for s in symbols}, resample)
    journal_file = None
    if risk:
        journal_file = journal or suite.alpaca.state_dir / "backtest" / "journal.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{journal_file}{suffix}").unlink(missing_ok=True)
        broker.attach_guard(make_guard(suite, DecisionJournal(journal_file), calendar),
                            bar_clock(cerebro.datas))
    cerebro.addstrategy(strategy_cls, **(strategy_kwargs or {}))
    _analyzers(cerebro)
    period = f"{start.date()} .. {end.date() if end else 'end'}"
    title = (f"{strategy_cls.__name__} on {', '.join(symbols)} {timeframe} {period} "
             f"(fill at {fill}, risk guard {'on' if risk else 'off'})")
    result = _finish(cerebro, strategy_cls, journal_file, title)
    if risk:
        broker.guard.journal.close()
    return result


def run_paper(strategy_cls: type[bt.Strategy], symbols: Sequence[str], *, store, suite: AlpacaRunConfig,
              strategy_id: str, timeframe: str = "1m", history: timedelta = timedelta(days=3),
              max_bars: int = 0, duration_s: float | None = None,
              clock: Callable[[], datetime] | None = None, names: dict[str, str] | None = None,
              strategy_kwargs: dict[str, Any] | None = None, qcheck_s: float = 0.5) -> RunResult:
    """Trade ``strategy_cls`` on Alpaca's paper API (or live, per the store) until every feed
    ends (``max_bars`` live bars each, or ``duration_s`` elapsed).

    Everything is written under the store mode's own state folder (``state``): journal,
    ledger, order log, log file.

    Raises:
        AlpacaError: the account cannot be read at start (bad keys, no connection).
    """
    cfg: AlpacaConfig = suite.alpaca
    clock = clock or (lambda: datetime.now(UTC))
    paths = StatePaths.for_mode(cfg, store.mode)
    handler = attach_log_file(paths)
    journal = DecisionJournal(paths.journal)
    order_log = OrderLog(paths.order_log)
    timer: threading.Timer | None = None
    try:
        broker = store.getbroker(strategy_id=strategy_id, ledger=AttributionLedger(paths.ledger),
                                 order_log=order_log, clock=clock)
        broker.attach_guard(make_guard(suite, journal, store.calendar), clock)
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.setbroker(broker)
        base, resample = feed_plan(BarTimeframe.parse(timeframe))
        feeds = {s: store.getdata(dataname=s, bar_timeframe=base.label, start=clock() - history,
                                  live=True, max_bars=max_bars, clock=clock, qcheck=qcheck_s)
                 for s in symbols}
        _add_feeds(cerebro, feeds, names or {s: s for s in symbols}, resample)
        cerebro.addstrategy(strategy_cls, **(strategy_kwargs or {}))
        _analyzers(cerebro)
        if duration_s:
            timer = threading.Timer(duration_s, lambda: [f.finish() for f in feeds.values()])
            timer.daemon = True
            timer.start()
        logger.info("%s session of %s on %s (%s bars) started", store.mode, strategy_id,
                    ", ".join(symbols), timeframe)
        title = f"{strategy_cls.__name__} {store.mode} session on {', '.join(symbols)} {timeframe}"
        result = _finish(cerebro, strategy_cls, paths.journal, title)
        return replace(result, reconciliation=broker.last_reconciliation, orders=order_log.read())
    finally:
        if timer is not None:
            timer.cancel()
        store.stop()
        journal.close()
        logging.getLogger(LOGGER_NAME).removeHandler(handler)
        handler.close()
