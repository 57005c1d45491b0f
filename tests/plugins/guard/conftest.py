"""A Freqtrade strategy with the risk guard, run in this process as backtesting runs it: the
real ``RiskGuardMixin`` on a real ``IStrategy``, Freqtrade's in-memory trades and locks
(``LocalTrade``, ``PairLocks`` without a database), a real ``DataProvider`` holding the analysed
candles and a real decision journal in a temporary folder. Freqtrade's wallet is stood in for
by :class:`StartingBalance` (the one figure the guard reads of it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from freqtrade.data.dataprovider import DataProvider
from freqtrade.enums import CandleType, RunMode
from freqtrade.persistence import PairLocks, Trade
from freqtrade.persistence.trade_model import LocalTrade
from freqtrade.strategy import IStrategy

from plugins.guard import RiskGuardMixin
from plugins.risk.config import RiskConfig
from plugins.risk.gates import gate_indicators
from plugins.risk.journal import JournalRow
from tests.conftest import bundle_dir

PAIR = "BTC/USDT"
CLOSE = 100.0


class GuardedStrategy(RiskGuardMixin, IStrategy):
    """The smallest strategy: all protection is the guard's."""

    INTERFACE_VERSION = 3
    timeframe = "1h"
    minimal_roi = {"0": 10}
    stoploss = -0.99
    use_exit_signal = True
    startup_candle_count = 0

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        dataframe["enter_long"] = (dataframe["close"] > dataframe["open"]).astype(int)
        return dataframe

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        dataframe["exit_long"] = 0
        return dataframe


@dataclass
class StartingBalance:
    """Freqtrade's ``Wallets`` as the guard reads it: the starting balance (stake currency)."""

    balance: float

    def get_starting_balance(self) -> float:
        return self.balance


def candles(end: datetime, n: int = 48, close: float = CLOSE) -> pd.DataFrame:
    """``n`` flat 1h candles, the last opening one hour before ``end``."""
    dates = pd.date_range(end=pd.Timestamp(end) - pd.Timedelta(hours=1), periods=n, freq="1h")
    return pd.DataFrame({"date": dates, "open": close, "high": close, "low": close,
                         "close": close, "volume": 1.0})


class GuardBot:
    """One guarded strategy in backtesting mode (module docstring)."""

    def __init__(self, tmp_path: Path, risk: dict, stages: dict | None = None,
                 suite: dict | None = None) -> None:
        cache = tmp_path / "altdata"
        shutil.copytree(bundle_dir() / "macro" / "calendar", cache / "calendar")
        self.config = {"runmode": RunMode.BACKTEST, "user_data_dir": str(tmp_path),
                       "timeframe": "1h", "stake_currency": "USDT", "dry_run": True,
                       "candle_type_def": CandleType.SPOT,
                       "ai_suite": {"risk": risk, "stages": stages or {},
                                    "altdata": {"cache_dir": str(cache)}, **(suite or {})}}
        self.strategy = GuardedStrategy(self.config)
        self.strategy.dp = DataProvider(self.config, None)
        self.wallet = StartingBalance(10_000.0)
        self.strategy.wallets = self.wallet
        self.strategy.bot_start()

    @property
    def risk(self) -> RiskConfig:
        return self.strategy.risk_config

    def analysed(self, at: datetime, frame: pd.DataFrame | None = None, pair: str = PAIR) -> None:
        """Cache ``pair``'s analysed candles up to ``at`` (through the guard's own
        ``advise_indicators``, which adds the gate columns)."""
        frame = candles(at) if frame is None else frame
        frame = gate_indicators(frame, self.risk.gates)
        self.strategy.dp._set_cached_df(pair, "1h", frame, CandleType.SPOT)
        self.strategy.dp._set_dataframe_max_index(pair, len(frame))

    def loop(self, at: datetime, equity: float | None = None) -> None:
        """A bot loop at ``at`` with the account worth ``equity`` (closed profits included)."""
        if equity is not None:
            self.wallet.balance = equity - Trade.get_total_closed_profit()
        self.strategy.bot_loop_start(current_time=at)

    def open_trade(self, pair: str, at: datetime) -> LocalTrade:
        """An open trade of 1 unit at :data:`CLOSE`, no fees (worth its stake)."""
        trade = LocalTrade(pair=pair, open_rate=CLOSE, amount=1.0, stake_amount=CLOSE,
                           amount_requested=1.0, open_date=at - timedelta(hours=2), fee_open=0.0,
                           fee_close=0.0, is_open=True, exchange="binance", leverage=1.0)
        LocalTrade.add_bt_trade(trade)
        return trade

    def closed_trade(self, pair: str, closed_at: datetime, profit_abs: float) -> None:
        """A trade of ``pair`` that closed at ``closed_at`` with ``profit_abs``."""
        trade = LocalTrade(pair=pair, open_rate=CLOSE, close_rate=CLOSE + profit_abs, amount=1.0,
                           stake_amount=CLOSE, amount_requested=1.0,
                           open_date=closed_at - timedelta(hours=2), close_date=closed_at,
                           fee_open=0.0, fee_close=0.0, is_open=False, exchange="binance",
                           leverage=1.0, close_profit_abs=profit_abs,
                           close_profit=profit_abs / CLOSE)
        LocalTrade.add_bt_trade(trade)
        LocalTrade.bt_total_profit += profit_abs

    def confirm(self, at: datetime, pair: str = PAIR, stake: float = CLOSE) -> bool:
        """Freqtrade asking to enter ``pair`` at ``at`` (the strategy itself wants it)."""
        return self.strategy.confirm_trade_entry(
            pair=pair, order_type="market", amount=stake / CLOSE, rate=CLOSE,
            time_in_force="GTC", current_time=at, entry_tag=None, side="long")

    def rows(self, kind: str | None = None, since: datetime | None = None) -> list[JournalRow]:
        return self.strategy.risk_journal.query(kind=kind, since=since)


@pytest.fixture
def backtesting() -> Iterator[None]:
    """Freqtrade's backtesting persistence: trades and locks in memory, reset after."""
    before = (Trade.use_db, PairLocks.use_db, PairLocks.timeframe)
    Trade.use_db, PairLocks.use_db, PairLocks.timeframe = False, False, "1h"
    LocalTrade.reset_trades()
    PairLocks.reset_locks()
    yield
    LocalTrade.reset_trades()
    PairLocks.reset_locks()
    Trade.use_db, PairLocks.use_db, PairLocks.timeframe = before


@pytest.fixture
def make_bot(tmp_path, backtesting) -> Iterator[Any]:
    """``make_bot(risk={...}, stages={...}, suite={other ai_suite sections})``: a
    :class:`GuardBot` (journal closed after)."""
    bots: list[GuardBot] = []

    def make(risk: dict | None = None, stages: dict | None = None,
             suite: dict | None = None) -> GuardBot:
        bot = GuardBot(tmp_path / f"bot{len(bots)}", risk or {}, stages, suite)
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        bot.strategy.risk_journal.close()
