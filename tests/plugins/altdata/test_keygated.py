"""Key-gated on-chain providers (Glassnode, CryptoQuant): the API key, request shapes, merging."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.errors import ProviderConfigError, ProviderSchemaError, ProviderUnavailableError
from plugins.altdata.providers.cryptoquant import PATH, CryptoQuantProvider
from plugins.altdata.providers.glassnode import PATH_PREFIX, GlassnodeProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata import cases_cryptoquant, cases_glassnode
from tests.plugins.altdata.cases_glassnode import NETFLOW_METRIC, SOPR_METRIC, coinmetrics_points
from tests.plugins.altdata.provider_cases import FAST_HTTP

PROVIDERS = [(GlassnodeProvider, cases_glassnode.DUMMY_KEY, "GLASSNODE_API_KEY"),
             (CryptoQuantProvider, cases_cryptoquant.DUMMY_KEY, "CRYPTOQUANT_API_KEY")]
IDS = ["glassnode", "cryptoquant"]


def url_of(httpserver) -> str:
    return httpserver.url_for("").rstrip("/")


@pytest.mark.parametrize(("cls", "key", "env"), PROVIDERS, ids=IDS)
def test_download_when_no_key_anywhere_then_config_error_naming_env_var(monkeypatch, cls, key, env):
    monkeypatch.delenv(env, raising=False)
    provider = cls(base_url="http://127.0.0.1:9", http=FAST_HTTP)

    with pytest.raises(ProviderConfigError, match=env):
        provider.fetch("2024-01-01", "2024-01-31")

    assert cls.api_key_env == env


@pytest.mark.parametrize(("cls", "key", "env"), PROVIDERS, ids=IDS)
def test_download_when_source_unreachable_then_key_in_neither_error_nor_logs(caplog, cls, key, env):
    provider = cls(base_url="http://127.0.0.1:9", http=FAST_HTTP, api_key=key)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ProviderUnavailableError) as raised:
        provider.fetch("2024-01-01", "2024-01-31")

    assert key not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert key not in caplog.text


@pytest.mark.parametrize(("cls", "key", "env"), PROVIDERS, ids=IDS)
def test_download_when_key_rejected_then_config_error_naming_env_var_without_key(
        httpserver, cls, key, env):
    httpserver.expect_request("", method="GET").respond_with_json(  # "": any path
        {"message": f"invalid key {key}"}, status=401)
    provider = cls(base_url=url_of(httpserver), http=FAST_HTTP, api_key=key)

    with pytest.raises(ProviderConfigError, match=env) as raised:
        provider.fetch("2024-01-01", "2024-01-31")

    assert key not in str(raised.value)


def test_download_when_cryptoquant_key_in_env_then_sent_as_bearer_header(monkeypatch, httpserver):
    key = cases_cryptoquant.DUMMY_KEY
    monkeypatch.setenv("CRYPTOQUANT_API_KEY", key)
    payload = cases_cryptoquant.coinmetrics_payload("2024-01-01", "2024-01-31")
    httpserver.expect_request(PATH, headers={"Authorization": f"Bearer {key}"}, query_string={
        "exchange": "all_exchange", "window": "day", "from": "20240101", "to": "20240131",
        "limit": "100000"}).respond_with_json(payload)
    provider = CryptoQuantProvider(base_url=url_of(httpserver), http=FAST_HTTP)

    frame = provider.fetch("2024-01-01", "2024-01-31")

    newest = payload["result"]["data"][0]
    assert len(frame) == 31 and frame.index[-1] == pd.Timestamp(newest["date"], tz="UTC")
    assert frame["exchange_netflow_btc"].iloc[-1] == newest["netflow_total"]


def test_fetch_when_cryptoquant_status_not_200_then_schema_error_with_its_message(httpserver):
    httpserver.expect_request(PATH).respond_with_json(
        {"status": {"code": 400, "message": "invalid window"}, "result": {}})
    provider = CryptoQuantProvider(base_url=url_of(httpserver), http=FAST_HTTP,
                                   api_key=cases_cryptoquant.DUMMY_KEY)

    with pytest.raises(ProviderSchemaError, match="invalid window"):
        provider.fetch("2024-01-01", "2024-01-31")


def test_fetch_when_glassnode_two_metrics_then_merged_on_t_into_two_columns(monkeypatch, httpserver):
    key = cases_glassnode.DUMMY_KEY
    monkeypatch.setenv("GLASSNODE_API_KEY", key)
    netflow = coinmetrics_points("netflow", "2024-01-01", "2024-01-31")
    sopr = coinmetrics_points("CapMVRVCur", "2024-01-01", "2024-01-31")[:-1]  # one day short
    query = {"a": "BTC", "i": "24h", "s": "1704067200", "u": "1706659200", "api_key": key}
    httpserver.expect_request(f"{PATH_PREFIX}/{NETFLOW_METRIC}", query_string=query) \
        .respond_with_json(netflow)
    httpserver.expect_request(f"{PATH_PREFIX}/{SOPR_METRIC}", query_string=query) \
        .respond_with_json(sopr)
    provider = GlassnodeProvider(base_url=url_of(httpserver), http=FAST_HTTP)

    frame = provider.fetch("2024-01-01", "2024-01-31")

    assert list(frame.columns) == ["exchange_netflow_btc", "sopr", AVAILABLE_AT]
    assert len(frame) == 31
    assert frame["exchange_netflow_btc"].tolist() == [p["v"] for p in netflow]
    assert frame["sopr"].iloc[:-1].tolist() == [p["v"] for p in sopr]
    assert np.isnan(frame["sopr"].iloc[-1])


@pytest.mark.parametrize(("cls", "key", "env"), PROVIDERS, ids=IDS)
def test_available_at_when_day_d_then_next_day_0200_utc(cls, key, env):
    provider = cls(api_key=key)

    available = provider.available_at(pd.DatetimeIndex(["2024-01-01"], tz="UTC"))

    assert available[0] == pd.Timestamp("2024-01-02 02:00", tz="UTC")
    assert provider.max_staleness == pd.Timedelta(days=3)


@pytest.mark.parametrize(("cls", "key", "env"), PROVIDERS, ids=IDS)
def test_wire_from_shared_when_called_then_file_not_found_saying_nothing_shipped(cls, key, env):
    with pytest.raises(FileNotFoundError, match="shipped"):
        cls(api_key=key).wire_from_shared(bundle_dir())


def test_registry_when_key_unset_then_key_gated_providers_disabled(monkeypatch):
    from plugins.altdata.config import AltDataConfig
    from plugins.altdata.registry import build_providers

    monkeypatch.delenv("GLASSNODE_API_KEY", raising=False)
    monkeypatch.setenv("CRYPTOQUANT_API_KEY", "dummy")

    names = [p.name for p in build_providers(AltDataConfig())]

    assert "glassnode" not in names and "cryptoquant" in names
