"""``bench/harness.py``: the parts every backtest-driving benchmark shares (timing from the
log, corr pairs, the one JSON conversion)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT, load_bench

harness = load_bench("harness")


def test_timing_from_log_when_lines_present_then_sums_and_per_candle_time():
    log = "\n".join([
        "2026 - TimedX - WARNING - BENCH_TIMING fit BTC/USDT 500 2.0",
        "2026 - TimedX - WARNING - BENCH_TIMING fit ETH/USDT 500 3.0",
        "2026 - TimedX - WARNING - BENCH_TIMING predict BTC/USDT 100 0.01",
        "2026 - TimedX - WARNING - BENCH_TIMING predict ETH/USDT 300 0.03",
        "2026 - freqai - WARNING - Training ETH/USDT raised exception ValueError. Message: x",
    ])

    timing = harness.timing_from_log(log)

    assert timing["train_seconds"] == pytest.approx(5.0) and timing["fit_calls"] == 2
    assert timing["inference_us_per_candle"] == pytest.approx(100.0)
    assert timing["failed_trainings"] == 1


def test_corr_pairs_when_no_configured_pair_given_then_first_given_pair():
    assert harness.corr_pairs(["BTC/USDT", "ETH/USDT"], ["ETH/USDT", "SOL/USDT"]) == ["ETH/USDT"]
    assert harness.corr_pairs(["BTC/USDT", "ETH/USDT"], ["SOL/USDT", "ADA/USDT"]) == ["SOL/USDT"]


def test_jsonable_when_nan_numpy_and_paths_then_plain_json():
    import numpy as np

    out = harness.jsonable({"a": math.nan, "b": np.float64(1.5), "c": [np.int64(2)],
                            "d": REPO_ROOT})

    assert json.loads(json.dumps(out)) == {"a": None, "b": 1.5, "c": [2], "d": str(REPO_ROOT)}


def test_jsonable_when_timestamps_and_datetimes_then_iso_8601():
    out = harness.jsonable({"ts": pd.Timestamp("2024-03-01", tz="UTC"),
                            "dt": datetime(2024, 3, 1, 12, tzinfo=UTC)})

    assert out == {"ts": "2024-03-01T00:00:00+00:00", "dt": "2024-03-01T12:00:00+00:00"}
