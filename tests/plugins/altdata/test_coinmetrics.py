"""Coin Metrics provider: pagination, derived netflow, publication time, empty rows."""

from __future__ import annotations

import math

import pandas as pd
from pytest_httpserver import HTTPServer

from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.providers.coinmetrics import PATH, CoinMetricsProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import FAST_HTTP


def shipped_rows(first: str, last: str) -> list[dict]:
    """Real shipped rows dated ``first``..``last`` (inclusive), in the API's wire format."""
    wire = CoinMetricsProvider(api_key="").wire_from_shared(bundle_dir())
    return [row for row in wire["data"] if first <= row["time"][:10] <= last]


def test_fetch_when_answer_has_next_page_url_then_rows_of_all_pages_arrive(httpserver: HTTPServer):
    rows = shipped_rows("2024-01-01", "2024-01-10")
    next_url = httpserver.url_for(PATH) + "?assets=btc&next_page_token=tok2"
    httpserver.expect_ordered_request(PATH).respond_with_json(
        {"data": rows[:6], "next_page_token": "tok2", "next_page_url": next_url})
    httpserver.expect_ordered_request(PATH, query_string={"assets": "btc", "next_page_token": "tok2"}
                                      ).respond_with_json({"data": rows[6:]})
    provider = CoinMetricsProvider(base_url=httpserver.url_for("").rstrip("/"), http=FAST_HTTP,
                                   api_key="")

    frame = provider.fetch("2024-01-01", "2024-01-10")

    assert len(httpserver.log) == 2
    assert list(frame.index.strftime("%Y-%m-%d")) == [r["time"][:10] for r in rows]
    assert len(frame) == 10


def test_fetch_when_api_key_set_then_sent_as_api_key_param(httpserver: HTTPServer):
    httpserver.expect_request(PATH).respond_with_json({"data": shipped_rows("2024-01-01", "2024-01-02")})
    provider = CoinMetricsProvider(base_url=httpserver.url_for("").rstrip("/"), http=FAST_HTTP,
                                   api_key="secret")

    provider.fetch("2024-01-01", "2024-01-02")

    request = httpserver.log[0][0]
    assert request.args["api_key"] == "secret"
    assert request.args["start_time"] == "2024-01-01" and request.args["end_time"] == "2024-01-02"


def test_parse_when_real_rows_then_netflow_is_inflow_minus_outflow():
    rows = shipped_rows("2024-03-01", "2024-04-29")

    frame = CoinMetricsProvider(api_key="").parse({"data": rows})

    expected = [float(r["FlowInExNtv"]) - float(r["FlowOutExNtv"]) for r in rows]
    assert frame["netflow_btc"].tolist() == expected
    assert (frame["netflow_btc"] == frame["flow_in_btc"] - frame["flow_out_btc"]).all()
    assert frame["netflow_btc"].notna().all()


def test_finalize_when_day_d_then_available_at_is_d_plus_1_day_6_hours():
    provider = CoinMetricsProvider(api_key="")
    rows = shipped_rows("2024-03-01", "2024-03-03")

    frame = provider.finalize(provider.parse({"data": rows}))

    assert frame.loc[pd.Timestamp("2024-03-01", tz="UTC"), AVAILABLE_AT] == pd.Timestamp(
        "2024-03-02 06:00", tz="UTC")
    assert (frame[AVAILABLE_AT] - frame.index == pd.Timedelta(days=1, hours=6)).all()


def test_finalize_when_last_row_has_no_metrics_then_nan_not_zero():
    provider = CoinMetricsProvider(api_key="")
    rows = shipped_rows("2026-03-21", "2026-03-23")
    assert rows[-1] == {"asset": "btc", "time": "2026-03-23T00:00:00.000000000Z"}

    frame = provider.finalize(provider.parse({"data": rows}))

    last = frame.loc[pd.Timestamp("2026-03-23", tz="UTC")]
    assert all(math.isnan(last[c]) for c in provider.columns)
    assert frame.loc[pd.Timestamp("2026-03-22", tz="UTC"), list(provider.columns)].notna().all()


def test_parse_when_only_row_has_no_metrics_then_nan_row_not_schema_error():
    provider = CoinMetricsProvider(api_key="")

    frame = provider.finalize(provider.parse({"data": shipped_rows("2026-03-23", "2026-03-23")}))

    assert len(frame) == 1
    assert frame[list(provider.columns)].isna().all().all()
