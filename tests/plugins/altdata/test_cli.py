"""``python -m plugins.altdata``: import-shared and download, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from plugins.altdata.cache import AltDataCache
from plugins.altdata.providers.fear_greed import FearGreedProvider
from tests.conftest import REPO_ROOT, bundle_dir


def run_cli(tmp_path, ai_suite: dict, *args: str) -> subprocess.CompletedProcess:
    config = tmp_path / "suite.json"
    config.write_text(json.dumps({"ai_suite": ai_suite}))
    return subprocess.run(
        [sys.executable, "-m", "plugins.altdata", "-c", str(REPO_ROOT / "config/base.json"),
         "-c", str(config), *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_import_shared_then_every_shipped_series_and_calendar_cached(tmp_path):
    result = run_cli(tmp_path, {"altdata": {"cache_dir": str(tmp_path / "cache")}},
                     "import-shared", str(bundle_dir()))

    assert result.returncode == 0, result.stderr
    cached = sorted(p.stem for p in (tmp_path / "cache").glob("*.parquet"))
    assert {"coinmetrics", "stablecoins", "fear_greed", "funding_btc", "dxy",
            "fred_dgs10", "fred_cpiaucsl"} <= set(cached)
    assert (tmp_path / "cache/calendar/fomc_dates.csv").is_file()


def test_download_when_provider_answers_then_cached_incrementally(tmp_path, httpserver):
    payload = FearGreedProvider().wire_from_shared(bundle_dir())
    httpserver.expect_request("/fng/").respond_with_json(payload)
    suite = {"altdata": {"cache_dir": str(tmp_path / "cache"),
                         "providers": {"fear_greed": {"base_url": httpserver.url_for("")}}}}

    result = run_cli(tmp_path, suite, "download", "--providers", "fear_greed",
                     "--start", "2024-01-01", "--end", "2024-02-01")

    assert result.returncode == 0, result.stderr
    frame = AltDataCache(tmp_path / "cache").read(FearGreedProvider())
    assert frame.index.min() == pd.Timestamp("2024-01-01", tz="UTC")
    assert frame.index.max() == pd.Timestamp("2024-02-01", tz="UTC")


def test_download_when_provider_down_then_exit_1_with_reason_and_no_traceback(tmp_path):
    suite = {"altdata": {"cache_dir": str(tmp_path / "cache"),
                         "providers": {"fear_greed": {"base_url": "http://127.0.0.1:9"}}}}

    result = run_cli(tmp_path, suite, "download", "--providers", "fear_greed")

    assert result.returncode == 1
    assert "fear_greed" in result.stderr and "unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_provider_then_exit_1_listing_known_ones(tmp_path):
    result = run_cli(tmp_path, {"altdata": {"cache_dir": str(tmp_path)}}, "download",
                     "--providers", "santiment")

    assert result.returncode == 1
    assert "santiment" in result.stderr and "coinmetrics" in result.stderr
