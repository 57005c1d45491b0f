"""Fixtures of the LLM tests: a local Messages API server (a scripted fake model), clients on
the real ``anthropic`` SDK pointed at it, and a briefing built from the real data bundle."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plugins.llm.briefing import Briefing, build_briefing
from plugins.llm.client import AnthropicLlm
from plugins.llm.config import LlmConfig
from plugins.llm.testing.fake_server import FakeMessagesServer, FakeModel, serving
from tests.plugins.llm.cases import AT, PAIR

API_KEY = "sk-test-local-only"


class Clock:
    """A settable clock (tz-aware)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def _no_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the real API or depend on the caller's key."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_model() -> FakeModel:
    return FakeModel([])


@pytest.fixture
def fake_server(fake_model: FakeModel) -> Iterator[FakeMessagesServer]:
    with serving(fake_model) as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 5, 4, 12, 0, tzinfo=UTC))


@pytest.fixture
def llm_config(tmp_path: Path, fake_server: FakeMessagesServer) -> LlmConfig:
    """Config aimed at the local server: fast retries and timeouts, cassettes off."""
    return LlmConfig(base_url=fake_server.base_url, cassette_mode="off", max_retries=2, timeout_s=5,
                     cassette_dir=tmp_path / "cassettes", ledger_path=tmp_path / "ledger.sqlite",
                     output_dir=tmp_path / "llm", journal_path=tmp_path / "journal.sqlite")


@pytest.fixture
def make_llm(llm_config: LlmConfig, clock: Clock) -> Iterator[Callable[..., AnthropicLlm]]:
    """``make_llm(**config_changes)``: an ``AnthropicLlm`` with a key, on the local server."""
    made: list[AnthropicLlm] = []

    def make(api_key: str | None = API_KEY, **changes) -> AnthropicLlm:
        config = LlmConfig.model_validate({**llm_config.model_dump(), **changes})
        client = AnthropicLlm(config, api_key=api_key, clock=clock)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture(scope="session")
def briefing(candle_datadir: Path, altdata_cache: Path) -> Briefing:
    """The BTC/USDT briefing at 2024-03-15 12:00 UTC from the real bundle."""
    return build_briefing(candle_datadir, altdata_cache, PAIR, AT)


@pytest.fixture(scope="session")
def backtest_results(tmp_path_factory: pytest.TempPathFactory, candle_datadir: Path,
                     altdata_cache: Path) -> Path:
    """A real ``freqtrade backtesting`` of the ``RiskScenario`` test strategy (BTC/ETH, 1h,
    2024-03-01..15) with the entry gates on (RSI <= 50, so some entries are filtered); returns
    its ``backtest_results`` folder, which holds the result and ``journal.backtest.sqlite``."""
    from adapters.replay_exchange import ReplayExchangeConfig
    from adapters.replay_exchange import serving as serving_exchange
    from plugins.core.backtest_results import check_latest
    from tests.conftest import REPO_ROOT
    from tests.e2e.helpers import e2e_configs, run_freqtrade

    tmp = tmp_path_factory.mktemp("llm_backtest")
    quiet = {"max_daily_loss_frac": 0.5, "max_weekly_loss_frac": 0.5, "max_drawdown_frac": 0.5,
             "max_consecutive_losses": 1000, "cooldown_after_win_min": 0, "cooldown_after_loss_min": 0,
             "blackout_before_min": 0, "blackout_after_min": 0,
             "gates": {"enabled": True, "rsi_max": 50, "ema_band_low_frac": -1, "ema_band_high_frac": 10,
                       "momentum_drop_max": 10}}
    started = int(time.time())
    with serving_exchange(ReplayExchangeConfig(datadir=candle_datadir, port=0)) as exchange:
        configs = e2e_configs(tmp, exchange.api_url, candle_datadir, {
            "strategy": "RiskScenario", "freqai": {"enabled": False},
            "exchange": {"pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
            "stake_amount": 1000, "max_open_trades": 2,
            "ai_suite": {"altdata": {"cache_dir": str(altdata_cache)}, "risk": quiet},
        })
        result = run_freqtrade(["backtesting", *configs, "--strategy-path",
                                str(REPO_ROOT / "tests/e2e/strategies"), "--timerange",
                                "20240301-20240315", "--cache", "none"], tmp / "backtest.log", timeout=600)
    assert result.returncode == 0, (tmp / "backtest.log").read_text()[-3000:]
    results = tmp / "user_data" / "backtest_results"
    check_latest(results, not_before_s=started, min_trades=1)
    return results
