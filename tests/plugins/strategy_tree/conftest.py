"""Fixtures of the strategy-tree tests: real candles, alt data and the FOMC/CPI calendar."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from plugins.altdata.calendar import EventCalendar
from plugins.strategy_tree.inputs import altdata_frame
from tests.plugins.strategy_tree.trees import candles


@pytest.fixture(scope="session")
def candles_1h() -> pd.DataFrame:
    """BTC/USDT 1h, 2021-01-01 .. 2023-01-01 (17.5k real candles, gaps included)."""
    return candles("1h", "2021-01-01", "2023-01-01")


@pytest.fixture(scope="session")
def candles_1d() -> pd.DataFrame:
    """BTC/USDT 1d, the whole bundle (2020-09-20 .. 2025-09-18)."""
    return candles("1d")


@pytest.fixture(scope="session")
def altdata(altdata_cache: Path) -> pd.DataFrame:
    """Every cached provider series, stacked (``inputs.altdata_frame``)."""
    return altdata_frame(altdata_cache)


@pytest.fixture(scope="session")
def calendar(altdata_cache: Path) -> EventCalendar:
    return EventCalendar.from_dir(altdata_cache / "calendar")
