"""``bench/news_value.py``: the IC table of the news features beside its controls on real data
(prediction part only; the backtests are the bench's own, minutes long), and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.altdata.config import AltDataConfig
from plugins.altdata.news.features import FEATURES
from plugins.altdata.news.shipped import import_shared_news
from tests.conftest import REPO_ROOT, bundle_dir


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "news_value.py"), *args],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def news_cache(tmp_path_factory) -> Path:
    import pandas as pd

    cache = tmp_path_factory.mktemp("news_bench")
    import_shared_news(bundle_dir(), AltDataConfig(cache_dir=cache), pd.Timestamp("2026-01-01",
                                                                                   tz="UTC"))
    return cache


def test_bench_when_covered_window_then_ic_of_every_feature_beside_controls(
        candle_datadir, news_cache, tmp_path):
    out = tmp_path / "news.json"

    done = run_bench("--datadir", str(candle_datadir), "--pairs", "BTC/USDT", "ETH/USDT",
                     "--timerange", "20241001-20250101", "--altdata-cache", str(news_cache),
                     "--no-backtest", "--horizons", "1", "24", "--out", str(out))

    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert set(report["ic"]) >= {*FEATURES, "control_random_normal",
                                 "control_shuffled_news_sent_decay"}
    for cells in report["ic"].values():
        assert set(cells) == {"1", "24"}
        assert cells["24"]["offsets"] == 24 and cells["1"]["n_obs"] > 1000
    assert sum(report["coverage"]["candles_per_pair"].values()) <= 2 * 24 * 92
    assert "VERDICT:" in done.stdout and "control_random_normal" in done.stdout


def test_bench_when_window_not_covered_then_exit_2_naming_the_coverage(candle_datadir, news_cache):
    done = run_bench("--datadir", str(candle_datadir), "--pairs", "BTC/USDT", "--timerange",
                     "20230101-20230301", "--altdata-cache", str(news_cache), "--no-backtest")

    assert done.returncode == 2 and "no covered candle" in done.stderr
    assert "Traceback" not in done.stderr


def test_bench_when_cache_has_no_news_then_exit_2_naming_the_option(candle_datadir, tmp_path):
    done = run_bench("--datadir", str(candle_datadir), "--pairs", "BTC/USDT", "--timerange",
                     "20241001-20241101", "--altdata-cache", str(tmp_path), "--no-backtest")

    assert done.returncode == 2 and "--altdata-cache" in done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr
