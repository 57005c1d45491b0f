"""The account read from Freqtrade: a garbage last close is refused at the edge with an
``AccountError`` (open trades cannot be valued), a valid one is used."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest
from freqtrade.data.dataprovider import DataProvider
from freqtrade.enums import CandleType, RunMode

from plugins.guard.account import current_rate
from plugins.risk.account import AccountError


def frame(closes: list[float]) -> pd.DataFrame:
    dates = pd.date_range("2024-03-06 10:00", periods=len(closes), freq="1h", tz="UTC")
    return pd.DataFrame({"date": dates, "open": closes, "high": closes, "low": closes,
                         "close": closes, "volume": 1.0})


def data_provider(closes: list[float]) -> DataProvider:
    config = {"runmode": RunMode.DRY_RUN, "dry_run": True, "timeframe": "1h",
              "candle_type_def": CandleType.SPOT, "stake_currency": "USDT"}
    dp = DataProvider(config, None, pairlists=SimpleNamespace(whitelist=["BTC/USDT"]))
    dp._set_cached_df("BTC/USDT", "1h", frame(closes), CandleType.SPOT)
    return dp


@pytest.mark.parametrize("close", [math.nan, math.inf, 0.0, -1.0])
def test_current_rate_when_last_close_is_garbage_then_account_error_naming_the_pair(close):
    with pytest.raises(AccountError, match="BTC/USDT"):
        current_rate(data_provider([62_000.0, close]), "BTC/USDT", "1h", fallback=60_000.0)


def test_current_rate_when_last_close_is_valid_then_that_close():
    assert current_rate(data_provider([math.nan, 62_000.0]), "BTC/USDT", "1h", 1.0) == 62_000.0
