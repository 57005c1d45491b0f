"""Shared tree builders and real-data loaders of the strategy-tree tests."""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd

from plugins.strategy_tree.schema import StrategyTree
from plugins.strategy_tree.validation import validate_tree
from tests.conftest import REPO_ROOT, bundle_dir

SEED_TREE = REPO_ROOT / "strategies" / "trees" / "btc_fear_accumulation_v1.yaml"
SEED_ARTICLE = REPO_ROOT.parent / "shared" / "seeds" / "000_ff4ef9c9c86d4137.txt"

#: A valid tree in canonical plain-data form (no alt data, no calendar): the mutation base.
BASE: dict[str, Any] = {
    "name": "test_tree",
    "assets": ["BTC/USDT"],
    "timeframe": "1h",
    "entry": {"conditions": ["RSI(BTC, 1D) < 30"], "logic": "ALL"},
    "position": {"type": "scaled_entry", "batches": 3, "size_per_batch": "3%", "interval": "4h",
                 "max_total_exposure": "10%"},
    "risk": {"stop_loss": {"type": "percentage", "value": "8%",
                           "reference": "average_entry_price"}},
    "take_profit": [{"level": "15%", "action": "close_50%"},
                    {"level": "30%", "action": "close_remaining"}],
}


def tree_dict(**changes: Any) -> dict[str, Any]:
    """``BASE`` with top-level keys replaced (a value of None deletes the key)."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def make_tree(conditions: list[str] | None = None, logic: str = "ALL", **changes: Any) -> StrategyTree:
    """A validated tree: ``BASE`` with these entry conditions and top-level changes."""
    data = tree_dict(**changes)
    if conditions is not None:
        data["entry"] = {"conditions": conditions, "logic": logic}
    return validate_tree({"strategy": data})


def candles(timeframe: str, start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """Real Binance BTC/USDT spot candles from the bundle, ``[start, end)``."""
    frame = pd.read_feather(bundle_dir() / f"crypto/freqtrade_binance_spot/BTC_USDT-{timeframe}.feather")
    if start is not None:
        frame = frame[frame["date"] >= pd.Timestamp(start, tz="UTC")]
    if end is not None:
        frame = frame[frame["date"] < pd.Timestamp(end, tz="UTC")]
    return frame.reset_index(drop=True)
