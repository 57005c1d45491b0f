"""No provider's API key ever appears in an exception or a log line (any level), on any path:
success, unreachable source, 5xx, rejected key, other 4xx - each provider's real client against
a local server speaking its API (the case table), and the live refresher that logs failures."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import traceback
import uuid

import pandas as pd
import pytest

import plugins.altdata.providers as providers_package
from plugins.altdata.config import AltDataConfig
from plugins.altdata.contract import AltDataProvider
from plugins.altdata.errors import AltDataError
from plugins.altdata.features import AltDataFeatures
from plugins.altdata.live import LiveRefresher
from plugins.altdata.providers.coinmetrics import PATH as COINMETRICS_PATH
from tests.plugins.altdata import NEWS_BLACKOUT_MIN, news_cases
from tests.plugins.altdata.provider_cases import ProviderCase, all_cases

KEYED = [c for c in all_cases() if c.make_keyed is not None]
UNREACHABLE = "http://127.0.0.1:9"
FAULTS = ["ok", "unreachable", "http_500", "http_401", "http_404"]


@pytest.fixture(params=KEYED, ids=[c.name for c in KEYED])
def keyed(request) -> ProviderCase:
    return request.param


@pytest.fixture
def key() -> str:
    """A key unique to the test (the redaction registry lives as long as the process)."""
    return f"leak-canary-{uuid.uuid4().hex}"


def formatted(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def echoing(key: str) -> str:
    """An error body that repeats the key, as some APIs and proxies do."""
    return f'{{"error": "invalid api_key={key}", "message": "key {key} refused"}}'


def provider_classes() -> list[type[AltDataProvider]]:
    classes = []
    for info in pkgutil.iter_modules(providers_package.__path__):
        module = importlib.import_module(f"{providers_package.__name__}.{info.name}")
        classes += [c for _, c in inspect.getmembers(module, inspect.isclass)
                    if issubclass(c, AltDataProvider) and c.__module__ == module.__name__]
    return classes


def test_case_table_when_provider_takes_an_api_key_then_it_has_a_keyed_case():
    keyed_classes = {type(c.make_keyed("http://unused", "k" * 16)) for c in KEYED}
    # headline providers have their own table and key-leak tests (test_news_cryptopanic.py)
    keyed_classes.add(type(news_cases.make_keyed("http://unused", "k" * 16)))

    takes_key = {c for c in provider_classes() if "api_key" in inspect.signature(c).parameters}

    assert takes_key and takes_key <= keyed_classes


@pytest.mark.parametrize("fault", FAULTS)
def test_fetch_when_any_outcome_then_key_in_neither_exception_nor_debug_logs(
        keyed, key, fault, httpserver, caplog):
    caplog.set_level(logging.DEBUG)
    if fault == "ok":
        body, content_type = keyed.as_body(keyed.good_payload)
        httpserver.expect_request(keyed.path).respond_with_data(body, content_type=content_type)
    elif fault != "unreachable":
        status = int(fault.split("_")[1])
        httpserver.expect_request(keyed.path).respond_with_data(
            echoing(key), status=status, content_type="application/json")
    url = UNREACHABLE if fault == "unreachable" else httpserver.url_for("").rstrip("/")
    provider = keyed.make_keyed(url, key)

    try:
        frame = provider.fetch(keyed.start, keyed.end)
        raised = None
    except AltDataError as err:
        raised = err

    if fault == "ok":
        assert raised is None and not frame.empty
    else:
        assert raised is not None
        assert key not in formatted(raised)
    assert key not in caplog.text
    assert f"leak-canary-{key[12:20]}" not in caplog.text


def test_fetch_when_coinmetrics_next_page_url_leaves_base_then_error_without_key(
        key, httpserver, caplog):
    case = next(c for c in KEYED if c.name == "coinmetrics")
    httpserver.expect_request(COINMETRICS_PATH).respond_with_json(
        {"data": [], "next_page_url": f"https://elsewhere.example/v4/x?api_key={key}&page=2"})
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AltDataError) as raised:
        case.make_keyed(httpserver.url_for("").rstrip("/"), key).fetch(case.start, case.end)

    assert "next_page_url" in str(raised.value)
    assert key not in formatted(raised.value) and key not in caplog.text


def test_live_refresh_when_keyed_source_fails_then_warning_logged_without_key(
        keyed, key, tmp_path, caplog):
    provider = keyed.make_keyed(UNREACHABLE, key)
    features = AltDataFeatures(AltDataConfig(cache_dir=tmp_path, calendar=False),
                               providers=[provider], **NEWS_BLACKOUT_MIN)
    refresher = LiveRefresher(features, now=lambda: pd.Timestamp("2024-05-01", tz="UTC"))
    caplog.set_level(logging.DEBUG)

    assert refresher.refresh_due() == []

    assert "refresh of" in caplog.text and "failed" in caplog.text
    assert key not in caplog.text and key not in refresher.incidents[provider.name]
