"""The CryptoPanic provider's real HTTP client against a local server answering in the API's
documented format (real shipped headlines): paging through ``next``, 429 with ``Retry-After``,
malformed rows, a changed format, missing and rejected keys, and the key never leaking."""

from __future__ import annotations

import logging
import time
import traceback
import uuid

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from plugins.altdata.errors import (
    AltDataError,
    ProviderConfigError,
    ProviderSchemaError,
    ProviderUnavailableError,
)
from plugins.altdata.news.schema import CURRENCIES, HEADLINE_COLUMNS, PUBLISHED_AT, TITLE
from plugins.altdata.providers.cryptopanic import CryptoPanicProvider
from tests.plugins.altdata.news_cases import PATH, make_keyed, page, shipped_posts

START, END = pd.Timestamp("2024-09-01", tz="UTC"), pd.Timestamp("2025-02-08", tz="UTC")


@pytest.fixture
def key() -> str:
    return f"leak-canary-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def posts() -> list[dict]:
    return shipped_posts()


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("").rstrip("/")


def test_fetch_when_three_pages_then_follows_next_with_our_key_and_documented_params(
        httpserver, key, posts):
    p1, p2, p3 = posts[:20], posts[20:40], posts[40:60]
    root = base(httpserver)
    httpserver.expect_ordered_request(PATH, query_string={
        "auth_token": key, "public": "true", "kind": "news", "currencies": "BTC,ETH,XRP"}
    ).respond_with_json(page(p1, f"{root}{PATH}?auth_token=theirs-0000&public=true&page=2", 60))
    httpserver.expect_ordered_request(PATH, query_string={
        "auth_token": key, "public": "true", "kind": "news", "currencies": "BTC,ETH,XRP",
        "page": "2"}).respond_with_json(page(p2, f"{root}{PATH}?page=3", 60))
    httpserver.expect_ordered_request(PATH).respond_with_json(page(p3, None, 60))

    frame = make_keyed(root, key).fetch(START, END)

    assert len(frame) == 60
    assert list(frame.columns) == list(HEADLINE_COLUMNS)
    assert frame[PUBLISHED_AT].is_monotonic_increasing
    assert frame[PUBLISHED_AT].max() == pd.Timestamp(posts[0]["published_at"])
    httpserver.check_assertions()


def test_fetch_when_page_reaches_back_past_start_then_stops_paging(httpserver, key, posts):
    start = pd.Timestamp(posts[15]["published_at"])
    httpserver.expect_ordered_request(PATH).respond_with_json(
        page(posts[:20], f"{base(httpserver)}{PATH}?page=2"))

    frame = make_keyed(base(httpserver), key).fetch(start, END)

    assert len(httpserver.log) == 1  # page 2 never asked for
    assert frame[PUBLISHED_AT].min() >= start


def test_fetch_when_next_points_elsewhere_then_only_its_page_number_is_used(httpserver, key, posts):
    httpserver.expect_ordered_request(PATH).respond_with_json(
        page(posts[:5], "https://elsewhere.example/api/v1/posts/?page=2&auth_token=x"))
    httpserver.expect_ordered_request(PATH, query_string={
        "auth_token": key, "public": "true", "kind": "news", "currencies": "BTC,ETH,XRP",
        "page": "2"}).respond_with_json(page(posts[5:10], None))

    frame = make_keyed(base(httpserver), key).fetch(START, END)

    assert len(frame) == 10
    httpserver.check_assertions()


def test_fetch_when_429_with_retry_after_then_waits_and_succeeds(httpserver, key, posts):
    httpserver.expect_ordered_request(PATH).respond_with_data(
        "rate limited", status=429, headers={"Retry-After": "1"})
    httpserver.expect_ordered_request(PATH).respond_with_json(page(posts[:10], None))
    started = time.monotonic()

    frame = make_keyed(base(httpserver), key).fetch(START, END)

    assert len(frame) == 10 and time.monotonic() - started >= 0.9


def test_fetch_when_429_persists_then_unavailable_naming_the_status(httpserver, key):
    httpserver.expect_request(PATH).respond_with_data("rate limited", status=429,
                                                      headers={"Retry-After": "0"})

    with pytest.raises(ProviderUnavailableError, match="429"):
        make_keyed(base(httpserver), key).fetch(START, END)


def test_fetch_when_some_rows_malformed_then_dropped_with_one_warning(httpserver, key, posts,
                                                                       caplog):
    rows = [dict(p) for p in posts[:10]]
    rows[1]["published_at"] = "not a time"
    rows[2].pop("title")
    rows[3] = "not an object"
    rows[4]["currencies"] = "BTC"  # not a list: tags ignored, row kept
    httpserver.expect_request(PATH).respond_with_json(page(rows, None))
    caplog.set_level(logging.WARNING)

    frame = make_keyed(base(httpserver), key).fetch(START, END)

    assert len(frame) == 7
    assert "3 malformed row(s) dropped" in caplog.text
    assert posts[4]["title"] in set(frame[TITLE])


def test_fetch_when_source_tags_currencies_then_kept_beside_title_matches(httpserver, key, posts):
    row = dict(posts[0], title="Markets steady", currencies=[{"code": "xrp", "title": "XRP"}])
    httpserver.expect_request(PATH).respond_with_json(page([row], None))

    frame = make_keyed(base(httpserver), key).fetch(START, END)

    assert frame[CURRENCIES].tolist() == ["XRP"]


@pytest.mark.parametrize("payload", [{"detail": "changed"}, {"results": "x"}, [1, 2],
                                     {"results": [{"id": 1}, {"id": 2}]}])
def test_fetch_when_format_changed_then_schema_error_naming_the_field(httpserver, key, payload):
    httpserver.expect_request(PATH).respond_with_json(payload)

    with pytest.raises(ProviderSchemaError, match="results|published_at"):
        make_keyed(base(httpserver), key).fetch(START, END)


def test_fetch_when_no_posts_then_empty_frame_not_an_error(httpserver, key):
    httpserver.expect_request(PATH).respond_with_json(page([], None))

    frame = make_keyed(base(httpserver), key).fetch(START, END)

    assert frame.empty and list(frame.columns) == list(HEADLINE_COLUMNS)


def test_download_when_no_key_then_config_error_naming_the_variable(monkeypatch):
    monkeypatch.delenv("CRYPTOPANIC_API_KEY", raising=False)

    with pytest.raises(ProviderConfigError, match="CRYPTOPANIC_API_KEY"):
        CryptoPanicProvider(base_url="http://127.0.0.1:9").fetch(START, END)


def test_download_when_key_in_environment_then_used(httpserver, key, posts, monkeypatch):
    monkeypatch.setenv("CRYPTOPANIC_API_KEY", key)
    httpserver.expect_request(PATH, query_string={
        "auth_token": key, "public": "true", "kind": "news", "currencies": "BTC,ETH,XRP"}
    ).respond_with_json(page(posts[:3], None))

    frame = CryptoPanicProvider(base_url=f"{base(httpserver)}/api/v1").fetch(START, END)

    assert len(frame) == 3


@pytest.mark.parametrize("fault", ["ok", "unreachable", "http_500", "http_401", "http_404"])
def test_fetch_when_any_outcome_then_key_in_neither_exception_nor_debug_logs(
        httpserver, key, posts, fault, caplog):
    caplog.set_level(logging.DEBUG)
    echo = f'{{"detail": "auth_token={key} refused", "token": "{key}"}}'
    if fault == "ok":
        httpserver.expect_request(PATH).respond_with_json(
            page(posts[:3], f"{base(httpserver)}{PATH}?auth_token={key}&page=2"))
        httpserver.expect_request(PATH, query_string={"page": "2"}).respond_with_json(
            page([], None))
    elif fault != "unreachable":
        httpserver.expect_request(PATH).respond_with_data(
            echo, status=int(fault.split("_")[1]), content_type="application/json")
    url = "http://127.0.0.1:9" if fault == "unreachable" else base(httpserver)

    try:
        make_keyed(url, key).fetch(START, END)
        raised = None
    except AltDataError as err:
        raised = err

    assert (raised is None) == (fault == "ok")
    if raised is not None:
        assert key not in "".join(traceback.format_exception(raised))
    if fault == "http_401":
        assert isinstance(raised, ProviderConfigError) and "CRYPTOPANIC_API_KEY" in str(raised)
    assert key not in caplog.text
