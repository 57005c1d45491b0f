"""``python -m plugins.altdata sync`` (what ``make data`` runs): the bundle when there is one,
else - a plain clone - the repo's FOMC/CPI calendar and every provider's real API, keyless
(local servers speaking each API here: ``local_apis``). A failing feature provider fails the
step; a failing source the features do not read by default (funding, headlines) only warns."""

from __future__ import annotations

import json
import logging

import pytest

from plugins.altdata.__main__ import find_bundle, main
from plugins.altdata.cache import AltDataCache
from plugins.altdata.calendar import FOMC_FILE
from plugins.altdata.config import AltDataConfig
from plugins.altdata.registry import build_providers
from tests.plugins.altdata.local_apis import serve_keyless_apis

KEYS = ("FRED_API_KEY", "COINMETRICS_API_KEY", "CRYPTOPANIC_API_KEY", "GLASSNODE_API_KEY",
        "CRYPTOQUANT_API_KEY")


@pytest.fixture
def plain_clone(monkeypatch):
    """No key set; call it to hide the bundle (after the payloads were read from it)."""
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    return lambda: monkeypatch.setenv("SUITE_DATA_DIR", "none")


def _config(tmp_path, altdata: dict):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"ai_suite": {"altdata": {**altdata,
                                                          "cache_dir": str(tmp_path / "cache")}}}))
    return path


def test_find_bundle_when_suite_data_dir_is_none_then_no_bundle(monkeypatch, tmp_path):
    monkeypatch.setenv("SUITE_DATA_DIR", "none")
    assert find_bundle(None) is None
    monkeypatch.setenv("SUITE_DATA_DIR", str(tmp_path))
    assert find_bundle(None) == tmp_path
    assert find_bundle(tmp_path / "given") == tmp_path / "given"


def test_sync_when_no_bundle_then_calendar_and_every_provider_downloaded_keyless(
        tmp_path, httpserver, plain_clone, capsys):
    config = _config(tmp_path, serve_keyless_apis(httpserver))
    plain_clone()

    assert main(["-c", str(config), "sync", "--start", "2024-01-01"]) == 0

    assert "No data bundle" in capsys.readouterr().out
    cache = AltDataCache(tmp_path / "cache")
    for provider in build_providers(AltDataConfig(cache_dir=tmp_path / "cache")):
        assert cache.read(provider) is not None, provider.name
    assert (tmp_path / "cache" / "calendar" / FOMC_FILE).is_file()


def test_sync_when_funding_is_blocked_then_warning_and_exit_0(tmp_path, httpserver, plain_clone,
                                                              caplog):
    altdata = serve_keyless_apis(httpserver, skip=frozenset({"funding"}))
    httpserver.expect_request("/fapi/v1/fundingRate").respond_with_json(
        {"code": 0, "msg": "Service unavailable from a restricted location"}, status=451)
    caplog.set_level(logging.WARNING)
    plain_clone()

    assert main(["-c", str(_config(tmp_path, altdata)), "sync", "--start", "2024-01-01"]) == 0

    assert "funding_btc" in caplog.text and "left stale" in caplog.text


def test_sync_when_a_feature_provider_fails_then_exit_1_naming_it(tmp_path, httpserver,
                                                                  plain_clone, capsys):
    altdata = serve_keyless_apis(httpserver, skip=frozenset({"fear_greed"}))
    httpserver.expect_request("/fng/").respond_with_data("maintenance", status=404)
    plain_clone()

    assert main(["-c", str(_config(tmp_path, altdata)), "sync", "--start", "2024-01-01"]) == 1

    err = capsys.readouterr().err
    assert "fear_greed" in err and "Traceback" not in err
