"""Every provider's real HTTP client against a local server that answers in the provider's
documented format, built from the real shipped series - and against its faults."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.errors import ProviderSchemaError, ProviderUnavailableError
from tests.plugins.altdata.provider_cases import ProviderCase, all_cases

CASES = all_cases()


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request) -> ProviderCase:
    return request.param


def serve(httpserver: HTTPServer, case: ProviderCase, payload, status: int = 200,
          headers: dict | None = None) -> None:
    body, content_type = case.as_body(payload)
    httpserver.expect_request(case.path).respond_with_data(
        body, status=status, content_type=content_type, headers=headers)


def fetch(case: ProviderCase, httpserver: HTTPServer) -> pd.DataFrame:
    return case.make(httpserver.url_for("").rstrip("/")).fetch(case.start, case.end)


def test_fetch_when_source_answers_documented_format_then_typed_frame_with_available_at(
        case, httpserver):
    serve(httpserver, case, case.good_payload)

    frame = fetch(case, httpserver)

    assert not frame.empty
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert str(frame.index.tz) == "UTC"
    provider = case.make("http://unused")
    assert list(frame.columns) == [*provider.columns, AVAILABLE_AT]
    assert all(frame[c].dtype == "float64" for c in provider.columns)
    assert (frame[AVAILABLE_AT] >= frame.index).all()


def test_fetch_when_rows_duplicated_and_out_of_order_then_sorted_unique(case, httpserver):
    serve(httpserver, case, case.duplicate_and_shuffle(case.good_payload))

    frame = fetch(case, httpserver)

    expected = fetch_clean(case)
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    pd.testing.assert_frame_equal(frame, expected)


def fetch_clean(case: ProviderCase) -> pd.DataFrame:
    provider = case.make("http://unused")
    return provider.finalize(provider.parse(case.good_payload), pd.Timestamp(case.start, tz="UTC"),
                             pd.Timestamp(case.end, tz="UTC"))


def test_fetch_when_429_with_retry_after_then_waits_and_succeeds(case, httpserver):
    body, content_type = case.as_body(case.good_payload)
    httpserver.expect_ordered_request(case.path).respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"})
    httpserver.expect_ordered_request(case.path).respond_with_data(
        body, content_type=content_type)
    started = time.monotonic()

    frame = fetch(case, httpserver)

    assert not frame.empty
    assert time.monotonic() - started >= 0.9


def test_fetch_when_server_keeps_failing_500_then_unavailable_error(case, httpserver):
    serve(httpserver, case, case.good_payload, status=500)

    with pytest.raises(ProviderUnavailableError, match="500"):
        fetch(case, httpserver)


def test_fetch_when_server_too_slow_then_unavailable_error(case):
    def slow(_: Request) -> Response:
        time.sleep(0.8)
        return Response("{}", content_type="application/json")

    # A server of its own, threaded: the shared session server handles one request at a
    # time, so the slow answers still queued after the client gave up would be served by the
    # next test's handlers (an order-dependent failure).
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        server.expect_request(case.path).respond_with_handler(slow)

        with pytest.raises(ProviderUnavailableError):
            fetch(case, server)
    finally:
        server.clear()
        server.stop()


def test_fetch_when_body_malformed_then_schema_error(case, httpserver):
    httpserver.expect_request(case.path).respond_with_data('{"data": [1, 2', status=200,
                                                           content_type="application/json")

    with pytest.raises(ProviderSchemaError):
        fetch(case, httpserver)


def test_fetch_when_body_empty_then_schema_error_not_empty_frame(case, httpserver):
    httpserver.expect_request(case.path).respond_with_data("", status=200)

    with pytest.raises(ProviderSchemaError, match="empty body"):
        fetch(case, httpserver)


def test_fetch_when_field_renamed_then_schema_error_naming_it(case, httpserver):
    serve(httpserver, case, case.rename_field(case.good_payload))

    with pytest.raises(ProviderSchemaError, match="missing"):
        fetch(case, httpserver)
