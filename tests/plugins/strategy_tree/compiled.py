"""Helpers of the compiler tests: load and run compiled strategies, compare them with the
interpreter (shared by ``test_compilers.py`` and ``tests/e2e/test_tree_parity.py``)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import backtrader as bt
import pandas as pd

from plugins.strategy_tree.compilers import build_backtrader_strategy
from plugins.strategy_tree.schema import StrategyTree

_COUNTER = itertools.count()
STOPS = ("stop_loss", "trailing_stop")


def import_file(path: Path):
    """Import the Python file ``path`` as a fresh module (a unique name per call)."""
    name = f"compiled_tree_{path.stem}_{next(_COUNTER)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def freqtrade_frame(strategy_cls, candles: pd.DataFrame, pair: str, **attributes) -> pd.DataFrame:
    """``populate_indicators`` -> ``populate_entry_trend`` -> ``populate_exit_trend`` of a
    compiled Freqtrade strategy on ``candles`` (in process; ``attributes`` such as
    ``tree_altdata``, ``tree_calendar``, ``tree_start`` stand in for ``bot_start``)."""
    strategy = strategy_cls({"stake_currency": pair.split("/")[1], "timeframe": strategy_cls.timeframe})
    for key, value in attributes.items():
        setattr(strategy, key, value)
    frame = candles.copy()
    frame = strategy.populate_indicators(frame, {"pair": pair})
    frame = strategy.populate_entry_trend(frame, {"pair": pair})
    return strategy.populate_exit_trend(frame, {"pair": pair})


def feed(candles: pd.DataFrame) -> bt.feeds.PandasData:
    """A backtrader feed of a candle frame (naive UTC dates, as backtrader keeps them)."""
    bars = candles.assign(date=candles["date"].dt.tz_convert("UTC").dt.tz_localize(None))
    return bt.feeds.PandasData(dataname=bars.set_index("date")[["open", "high", "low", "close",
                                                                  "volume"]])


def run_backtrader(tree: StrategyTree, frames: dict[str, pd.DataFrame], coc: bool = True,
                   cash: float = 1_000_000.0, **params):
    """Run the compiled backtrader strategy on one named feed per pair; returns the strategy
    (its ``tree_log`` holds the fills)."""
    cerebro = bt.Cerebro(stdstats=False)
    for pair, candles in frames.items():
        cerebro.adddata(feed(candles), name=pair)
    cerebro.addstrategy(build_backtrader_strategy(tree), **params)
    cerebro.broker.set_coc(coc)
    cerebro.broker.setcash(cash)
    return cerebro.run()[0]


MARKET = ("enter", "add", "exit_signal")


def interpreter_actions(frame: pd.DataFrame) -> list[tuple[pd.Timestamp, str]]:
    """``(candle date, action)`` of an interpreter ``Signals.frame``, one per action
    (``take_profit_1+exit_signal`` gives two). Market actions of the last candle are left out:
    an engine fills them after that candle, and there is none."""
    last = frame["date"].iloc[-1]
    return [(date, part) for date, action in zip(frame["date"], frame["action"], strict=True)
            if action for part in action.split("+") if not (date == last and part in MARKET)]


def backtrader_actions(log: list[dict], pair: str | None = None) -> list[tuple[pd.Timestamp, str]]:
    """``(date, action)`` of a compiled backtrader strategy's ``tree_log`` (one pair)."""
    return [(row["date"], row["action"]) for row in log if pair is None or row["pair"] == pair]


def first_difference(expected: list, got: list) -> int | None:
    """Index of the first differing element (or of the shorter list's end); None if equal."""
    for i, (a, b) in enumerate(zip(expected, got, strict=False)):
        if a != b:
            return i
    return None if len(expected) == len(got) else min(len(expected), len(got))


def assert_same_actions(expected: list, got: list, what: str) -> None:
    """``got`` equals ``expected``, except for the one documented backtrader difference: where
    the interpreter fills two take-profit stages on one candle, backtrader fills one per bar
    (the sequences may part there, and only there)."""
    i = first_difference(expected, got)
    if i is None:
        return
    documented = (0 < i < len(expected) and expected[i - 1][0] == expected[i][0]
                  and expected[i - 1][1].startswith("take_profit_")
                  and expected[i][1].startswith("take_profit_"))
    context = f"expected {expected[max(0, i - 2):i + 3]}, got {got[max(0, i - 2):i + 3]}"
    assert documented, f"{what}: first difference at action {i}: {context}"
