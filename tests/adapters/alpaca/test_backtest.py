"""Backtests through the adapter on the shipped real equity bars: the compiled tree agrees with
the strategy-tree interpreter (the parity table's equity rows, adapter path), and the CLI
prints the metrics table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.alpaca.__main__ import main
from adapters.alpaca.bars import BarTimeframe, FileBarSource, interpreter_candles
from adapters.alpaca.config import AlpacaConfig, AlpacaRunConfig
from adapters.alpaca.nyse import MarketCalendar
from adapters.alpaca.runner import DEFAULT_DATA_DIR, data_names, run_backtest, strategy_from_tree
from plugins.risk.config import RiskConfig
from tests.conftest import REPO_ROOT

SHIPPED = REPO_ROOT / "strategies" / "trees" / "us_equity_mean_reversion_v1.yaml"
OWN = Path(__file__).parent / "trees" / "us_equity_rsi2_mean_reversion.yaml"
START, END = datetime(2021, 2, 18, tzinfo=UTC), datetime(2026, 2, 14, tzinfo=UTC)
#: Risk settings under which no rule can trip on these runs (the guard must then be invisible).
QUIET = RiskConfig(max_daily_loss_frac=0.5, max_weekly_loss_frac=0.5, max_drawdown_frac=0.5,
                   max_consecutive_losses=1000, cooldown_after_win_min=0, cooldown_after_loss_min=0,
                   blackout_before_min=0, blackout_after_min=0, max_position_frac=0.25)


@pytest.mark.parametrize(("tree_path", "symbol", "risk"), [
    (SHIPPED, "SPY", False), (SHIPPED, "QQQ", False), (OWN, "AAPL", False), (SHIPPED, "SPY", True)])
def test_backtest_when_compiled_tree_on_real_equity_bars_then_same_actions_as_the_interpreter(
        tmp_path, tree_path, symbol, risk):
    # Arrange
    from plugins.strategy_tree.interpreter import evaluate
    from tests.plugins.strategy_tree.compiled import (
        assert_same_actions,
        backtrader_actions,
        interpreter_actions,
    )

    cls, tree = strategy_from_tree(tree_path)
    names = data_names([symbol], tree)
    bars = FileBarSource(DEFAULT_DATA_DIR, MarketCalendar()).bars(symbol, BarTimeframe(1, "Day"), START, END)
    expected = interpreter_actions(evaluate(tree, interpreter_candles(bars, BarTimeframe(1, "Day")),
                                            pair=names[symbol]).frame)
    suite = AlpacaRunConfig(risk=QUIET, alpaca=AlpacaConfig(state_dir=tmp_path))
    # Act: AlpacaData feeds (bars stamped at the NYSE close), the guarded broker, fills at close
    result = run_backtest(cls, [symbol], start=START, end=END, suite=suite, names=names, risk=risk)
    # Assert
    got = backtrader_actions(result.instance.tree_log)
    assert len(expected) > 20
    assert_same_actions(expected, got, f"{tree.name} on {symbol}")
    assert result.rejected == []


def test_cli_backtest_when_hand_written_strategy_on_real_spy_qqq_then_metrics_table(tmp_path, capsys):
    # Arrange
    config = tmp_path / "c.json"
    config.write_text('{"ai_suite": {"alpaca": {"state_dir": "%s"}}}' % (tmp_path / "state"))
    # Act
    code = main(["backtest", "--strategy", "adapters.alpaca.examples:RsiMeanReversion", "--symbols",
                 "SPY", "QQQ", "--start", "2021-02-18", "--end", "2026-02-14", "-c", str(config)])
    # Assert
    out = capsys.readouterr().out
    assert code == 0
    for row in ("Win rate", "Profit factor", "Max drawdown", "Sharpe ratio", "Avg R:R", "Trade count",
                "Recovery time"):
        assert row in out
    assert "red flag(s)" in out and (tmp_path / "state" / "backtest" / "journal.sqlite").is_file()


def test_cli_backtest_when_symbol_has_no_bars_then_exit_1_with_the_folder(tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text('{"ai_suite": {"alpaca": {"state_dir": "%s"}}}' % (tmp_path / "state"))
    code = main(["backtest", "--strategy", "adapters.alpaca.examples:RsiMeanReversion", "--symbols",
                 "ZZZZ", "--start", "2024-01-01", "-c", str(config)])
    assert code == 1 and "ZZZZ" in capsys.readouterr().err
