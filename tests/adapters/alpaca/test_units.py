"""Config, credentials, live-trading confirmation, parsing at the boundary, and the metrics."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import msgpack
import pandas as pd
import pytest

from adapters.alpaca.config import AlpacaConfig, AlpacaCredentials, AlpacaRunConfig
from adapters.alpaca.errors import AlpacaConfigError, AlpacaProtocolError
from adapters.alpaca.metrics import ClosedTradeRecord, compute_metrics, red_flags, render_table
from adapters.alpaca.parsing import order_update, stream_bar
from adapters.alpaca.state import StatePaths
from adapters.alpaca.store import AlpacaStore
from plugins.core.config import SuiteConfigError

T0 = datetime(2024, 1, 2, 21, tzinfo=UTC)


def test_suite_config_when_alpaca_section_then_validated_and_unknown_keys_rejected():
    suite = AlpacaRunConfig.load({"ai_suite": {"alpaca": {"feed": "sip", "pdt_min_equity_usd": 30000}}})
    assert suite.alpaca.feed == "sip" and suite.alpaca.adjustment == "all"
    with pytest.raises(SuiteConfigError, match="ai_suite.alpaca.api_key"):
        AlpacaRunConfig.load({"ai_suite": {"alpaca": {"api_key": "PK..."}}})


def test_credentials_when_env_missing_then_error_names_both_variables():
    with pytest.raises(AlpacaConfigError, match="APCA_API_KEY_ID and APCA_API_SECRET_KEY"):
        AlpacaCredentials.from_env({})


def test_credentials_when_printed_then_secret_hidden():
    creds = AlpacaCredentials.from_env({"APCA_API_KEY_ID": "PKABCDEFGH1234", "APCA_API_SECRET_KEY": "s3cr3t"})
    assert "s3cr3t" not in repr(creds) and "PKABCDEFGH" not in str(creds) and "1234" in repr(creds)


def test_connect_when_live_not_confirmed_then_refused_before_anything_is_sent(capsys, tmp_path):
    config = AlpacaConfig(state_dir=tmp_path)
    creds = AlpacaCredentials("PKLIVE0001", "secret")
    with pytest.raises(AlpacaConfigError, match="Live trading not confirmed"):
        AlpacaStore.connect(config, live=True, confirm=lambda banner: False, credentials=creds)
    assert "LIVE TRADING" in capsys.readouterr().err


def test_connect_when_live_confirmed_then_live_mode_and_its_own_state_folder(tmp_path):
    config = AlpacaConfig(state_dir=tmp_path)
    creds = AlpacaCredentials("PKLIVE0001", "secret")
    store = AlpacaStore.connect(config, live=True, confirm=lambda banner: True, credentials=creds)
    paper = AlpacaStore.connect(config, credentials=creds)
    assert store.mode == "live" and store.rest.trading._base_url == "https://api.alpaca.markets"
    assert paper.mode == "paper" and paper.rest.trading._base_url == "https://paper-api.alpaca.markets"
    live_paths, paper_paths = StatePaths.for_mode(config, "live"), StatePaths.for_mode(config, "paper")
    assert {live_paths.ledger, live_paths.journal, live_paths.order_log, live_paths.log_file}.isdisjoint(
        {paper_paths.ledger, paper_paths.journal, paper_paths.order_log, paper_paths.log_file})


@pytest.mark.parametrize("message", [
    b"not json", {"stream": "listening", "data": {}}, {"stream": "trade_updates", "data": {"event": "fill"}},
])
def test_order_update_when_malformed_then_protocol_error(message):
    with pytest.raises(AlpacaProtocolError):
        order_update(message)


def test_stream_bar_when_msgpack_timestamp_then_utc_start():
    start = datetime(2024, 3, 6, 15, 31, tzinfo=UTC)
    raw = msgpack.unpackb(msgpack.packb({"T": "b", "S": "SPY", "o": 1, "h": 2, "l": 0.5, "c": 1.5,
                                         "v": 100, "t": msgpack.Timestamp.from_datetime(start)}))
    bar = stream_bar(raw)
    assert bar.start == start and bar.close == 1.5 and bar.vwap is None


def _equity(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range(T0, periods=len(values), freq="D"))


def test_metrics_when_known_trades_and_curve_then_each_figure_as_defined():
    # Arrange: 3 winners (+100 each), 1 loser (-150); a 20 % drawdown recovered after 4 days
    trades = [ClosedTradeRecord("SPY", T0, T0, p) for p in (100.0, 100.0, 100.0, -150.0)]
    equity = _equity([100.0, 110.0, 88.0, 99.0, 105.0, 111.0, 112.0])
    # Act
    m = compute_metrics(trades, equity)
    # Assert
    assert m.win_rate == 0.75 and m.profit_factor == pytest.approx(2.0)
    assert m.avg_rr == pytest.approx(100 / 150) and m.trades == 4
    assert m.max_drawdown_frac == pytest.approx(0.2)
    assert m.recovered and m.recovery == timedelta(days=4)
    returns = equity.pct_change().dropna()
    # Freqtrade's calculate_sharpe_from_balance (daily returns, std ddof 0), 252 sessions a year
    assert m.sharpe == pytest.approx(returns.mean() / returns.std(ddof=0) * math.sqrt(252))
    flags = red_flags(m)
    assert flags["avg_rr"] and flags["trade_count"] and not flags["win_rate"] and not flags["max_drawdown"]


def test_metrics_when_never_back_at_the_peak_then_not_recovered_and_flagged():
    m = compute_metrics([], _equity([100.0, 90.0, 95.0]))
    assert not m.recovered and m.recovery == timedelta(days=2)
    assert red_flags(m)["recovery_time"] and math.isnan(m.win_rate)
    table = render_table(m, "t")
    assert "(not recovered)" in table and "n/a" in table and "RED FLAG" in table


def test_win_rate_when_low_but_payoff_very_high_then_not_flagged():
    trades = [ClosedTradeRecord("SPY", T0, T0, p) for p in (400.0, -100.0, -100.0, -100.0, -100.0)]
    m = compute_metrics(trades, _equity([100.0, 101.0]))
    assert m.win_rate == pytest.approx(0.2) and m.avg_rr == pytest.approx(4.0)
    assert not red_flags(m)["win_rate"]
