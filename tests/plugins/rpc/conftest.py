"""Fixtures of the plugins.rpc tests: analysed frames with RegimeGatedMoE's columns built on
real candles, and :class:`BotGuard`, a small real implementation of the ``GuardView`` Protocol
with a real DataProvider, a real decision journal and a real Freqtrade database (SQLite in a
temporary folder)."""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from freqtrade.data.dataprovider import DataProvider
from freqtrade.enums import CandleType, RunMode
from freqtrade.misc import deep_merge_dicts
from freqtrade.persistence import PairLocks, Trade, init_db

from plugins.core.clock import FixedClock
from plugins.guard.killswitch import active_kill_switch_locks, lift_kill_switch
from plugins.regime.config import RegimeConfig
from plugins.regime.features import regime_inputs
from plugins.regime.gated import RegimeGatedModel
from plugins.risk.config import StageConfig
from plugins.risk.journal import DecisionJournal, journal_path
from plugins.risk.stages import Stage, StageRecord, StageStore
from plugins.risk.state import RiskDecision, TradingState
from plugins.rpc.llm_hooks import LlmHooks
from plugins.rpc.notify import Outbox
from plugins.rpc.service import SuiteService
from plugins.rpc.view import GuardView
from tests.conftest import REPO_ROOT, bundle_dir

NOW = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
PAIRS = ("BTC/USDT", "ETH/USDT")
REGIME = RegimeConfig.model_validate({
    "detector": {"kind": "hmm", "n_regimes": 3, "hmm_n_init": 1},
    "mixture": {"gate": "soft", "min_regime_samples": 150,
                "expert": {"params": {"n_estimators": 20, "n_jobs": 1}}},
})


def _moe_model_class() -> Any:
    """``freqai_models/RegimeGatedMoE.py`` (FreqAI loads it by path; so do we)."""
    path = REPO_ROOT / "freqai_models" / "RegimeGatedMoE.py"
    spec = importlib.util.spec_from_file_location("RegimeGatedMoE", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RegimeGatedMoE


@functools.cache
def analysed_frame(pair: str) -> pd.DataFrame:
    """The last 30 days before ``NOW`` of real 1h candles of ``pair``, with the regime
    columns RegimeGatedMoE hands the strategy, from a model fitted on the 60 days before."""
    candles = pd.read_feather(bundle_dir() / "crypto/freqtrade_binance_spot"
                              / f"{pair.replace('/', '_')}-1h.feather")
    candles = candles[candles["date"] < pd.Timestamp(NOW)].iloc[-24 * 90:].reset_index(drop=True)
    close = candles["close"]
    features = pd.DataFrame({"ret_1": close.pct_change(), "ret_24": close.pct_change(24),
                             "range": (candles["high"] - candles["low"]) / close})
    target = pd.DataFrame({"&-s_close": close.rolling(24).mean().shift(-24) / close - 1})
    regime = regime_inputs(candles)
    train = slice(0, 24 * 60)
    keep = (features.notna().all(axis=1) & target.notna().all(axis=1)
            & regime.notna().all(axis=1)).iloc[train]
    model = RegimeGatedModel(REGIME).fit(features.iloc[train][keep], target.iloc[train][keep],
                                         regime.iloc[train][keep])
    test = slice(24 * 60, None)
    out = model.predict(features.iloc[test].fillna(0).reset_index(drop=True),
                        regime.iloc[test].reset_index(drop=True))
    identity = SimpleNamespace(label_pipeline=SimpleNamespace(
        inverse_transform=lambda frame: (frame, None, None)))
    columns = _moe_model_class()._regime_columns(model, out, identity)
    return pd.concat([candles.iloc[test].reset_index(drop=True), columns], axis=1)


@pytest.fixture
def freqtrade_db(tmp_path: Path) -> Iterator[str]:
    """Freqtrade's database (SQLite file) as a running bot has it: locks in the database."""
    url = f"sqlite:///{tmp_path / 'tradesv3.dryrun.sqlite'}"
    init_db(url)
    PairLocks.use_db = True
    PairLocks.timeframe = "1h"
    yield url
    Trade.session.remove()
    PairLocks.reset_locks()


#: An environment variable no test sets: the LLM has no API key unless a test sets it.
LLM_KEY_ENV = "SUITE_RPC_TEST_ANTHROPIC_KEY"


def dry_run_config(tmp_path: Path, db_url: str, **extra: Any) -> dict:
    """A dry-run bot's config; everything it writes stays in ``tmp_path`` (the LLM's files,
    an empty data dir) and the LLM has no key (``LLM_KEY_ENV``)."""
    llm = {"api_key_env": LLM_KEY_ENV, "cassette_mode": "off", "output_dir": str(tmp_path / "llm"),
           "ledger_path": str(tmp_path / "llm" / "ledger.sqlite"),
           "cassette_dir": str(tmp_path / "llm" / "cassettes"),
           "journal_path": str(tmp_path / "llm" / "journal.sqlite")}
    base = {"runmode": RunMode.DRY_RUN, "dry_run": True, "db_url": db_url, "timeframe": "1h",
            "user_data_dir": str(tmp_path / "user_data"), "stake_currency": "USDT",
            "candle_type_def": CandleType.SPOT, "datadir": str(tmp_path / "no-candles"),
            "ai_suite": {"llm": llm}}
    return deep_merge_dicts(extra, base)


@dataclass
class BotGuard:
    """A running guard as ``plugins.rpc`` sees it (:class:`~plugins.rpc.view.GuardView`): a
    real DataProvider with the analysed frames cached as Freqtrade caches them, the bot's real
    decision journal, an optional real stage store, and the real kill-switch reset on
    Freqtrade's database."""

    config: dict
    dp: DataProvider
    journal: DecisionJournal
    stage_config: StageConfig
    strategy_name: str = "TestBot"
    timeframe: str = "1h"
    risk_decision: RiskDecision = RiskDecision(TradingState.ACTIVE, ())
    stage_store: StageStore | None = None
    stage_in_memory: StageRecord | None = None
    drift: Any = None
    compiled_from: Any = None
    balance: float | None = None

    def pairs(self) -> list[str]:
        return list(self.dp.current_whitelist())

    def analysed_frames(self) -> dict[str, pd.DataFrame]:
        return {pair: self.dp.get_analyzed_dataframe(pair, self.timeframe)[0]
                for pair in self.pairs()}

    def decision(self) -> RiskDecision:
        return self.risk_decision

    def stage_record(self, now: datetime) -> StageRecord | None:
        if self.stage_store is not None and self.strategy_name in self.stage_store.strategies():
            return self.stage_store.load(self.strategy_name, Stage.SHADOW, now)
        return self.stage_in_memory

    def drift_status(self) -> Mapping[str, Any] | None:
        return None if self.drift is None else self.drift.status()

    def starting_balance(self) -> float | None:
        return self.balance

    def tree(self) -> Any | None:
        return self.compiled_from

    def kill_switch_locked(self, now: datetime) -> bool:
        return bool(active_kill_switch_locks())

    def lift_kill_switch(self, now: datetime, by: str) -> int:
        return lift_kill_switch(journal_path(self.config), now, by)


def running_guard(config: dict, rpc: Any = None, pairs: tuple[str, ...] = PAIRS,
                  decision: RiskDecision | None = None, drift: Any = None,
                  stages: StageConfig | None = None) -> BotGuard:
    """A :class:`BotGuard` of a bot running with ``config`` (RPC manager ``rpc``) on
    ``pairs``."""
    dp = DataProvider(config, None, pairlists=SimpleNamespace(whitelist=list(pairs)), rpc=rpc)
    for pair in pairs:
        dp._set_cached_df(pair, "1h", analysed_frame(pair), CandleType.SPOT)
    guard = BotGuard(config=config, dp=dp, journal=DecisionJournal(journal_path(config)),
                     stage_config=stages or StageConfig(), drift=drift,
                     risk_decision=decision or RiskDecision(TradingState.ACTIVE, ()))
    assert isinstance(guard, GuardView)
    return guard


def service_for(guard: BotGuard, now: datetime = NOW) -> SuiteService:
    return SuiteService(guard, Outbox(), LlmHooks(guard.config), FixedClock(now))


@contextmanager
def bot_loop(service: SuiteService) -> Iterator[None]:
    """A stand-in for Freqtrade's bot thread: runs the calls REST / Telegram handed to the bot
    thread every 10 ms (what ``SuiteRpc.poll`` does once per bot loop)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            service.bot_thread.run_pending()
            stop.wait(0.01)

    thread = threading.Thread(target=loop, name="bot-loop", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
