"""Real BTC/USDT 1h candles, their regime inputs and the training windows of the detector tests.

Windows (fixed, so the measured label-agreement figures in ``test_detectors.py`` stay valid):
training A = 2024-01-01 + 60 days, training B = A shifted by 7 days, shared rows = their overlap
(53 days), holdout = the 30 days after A.
"""

from __future__ import annotations

import functools

import pandas as pd

from plugins.regime import DetectorConfig, make_detector, regime_inputs, warmup_candles
from plugins.regime.base import RegimeDetector
from tests.conftest import bundle_dir

KINDS = ("rules", "hmm", "jump")
START = pd.Timestamp("2024-01-01", tz="UTC")
DAY = pd.Timedelta(days=1)


@functools.cache
def btc_1h() -> pd.DataFrame:
    """The bundle's BTC/USDT 1h Freqtrade candles (date, open, high, low, close, volume)."""
    return pd.read_feather(bundle_dir() / "crypto/freqtrade_binance_spot/BTC_USDT-1h.feather")


@functools.cache
def inputs() -> pd.DataFrame:
    """``regime_inputs`` of all BTC/USDT 1h candles, warm-up rows dropped, plus the ``date``."""
    candles = btc_1h()
    X = regime_inputs(candles).iloc[warmup_candles():]
    return X.assign(date=candles["date"].loc[X.index])


def rows(start: pd.Timestamp, days: int) -> pd.DataFrame:
    """Input rows with ``start <= date < start + days``."""
    X = inputs()
    return X[(X["date"] >= start) & (X["date"] < start + days * DAY)]


def train_a() -> pd.DataFrame:
    return rows(START, 60)


def train_b() -> pd.DataFrame:
    return rows(START + 7 * DAY, 60)


def shared() -> pd.DataFrame:
    return rows(START + 7 * DAY, 53)


def holdout() -> pd.DataFrame:
    return rows(START + 60 * DAY, 30)


@functools.cache
def fitted(kind: str, window: str = "a", **overrides) -> RegimeDetector:
    """A detector of ``kind`` fitted on training window ``a`` or ``b`` (cached: do not refit it)."""
    X = train_a() if window == "a" else train_b()
    return make_detector(DetectorConfig(kind=kind, **overrides)).fit(X)
