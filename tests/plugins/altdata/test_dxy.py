"""DXY provider: the real shipped closes through Yahoo's chart format, and publication times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plugins.altdata.errors import ProviderSchemaError
from plugins.altdata.providers.dxy import SHARED_FILE, DxyProvider
from tests.conftest import bundle_dir

NEW_YORK = "America/New_York"


def chart(timestamps: list[int], closes: list) -> dict:
    return {"chart": {"result": [{"meta": {"symbol": "DX-Y.NYB"}, "timestamp": timestamps,
                                  "indicators": {"quote": [{"close": closes}]}}], "error": None}}


def unix(text: str) -> int:
    return int(pd.Timestamp(text, tz=NEW_YORK).timestamp())


@pytest.mark.parametrize("day", ["2015-01-02", "2020-03-19", "2024-03-08", "2024-03-11", "2026-02-12"])
def test_parse_when_shipped_series_rendered_as_chart_then_close_equals_csv(day):
    shipped = pd.read_csv(bundle_dir() / SHARED_FILE, index_col="date")["dxy"]
    dxy = DxyProvider()

    frame = dxy.finalize(dxy.parse(dxy.wire_from_shared(bundle_dir())))

    assert frame.loc[pd.Timestamp(day, tz="UTC"), "dxy"] == pytest.approx(shipped[day], abs=1e-9)


def test_parse_when_shipped_day_is_blank_then_no_row_for_it():
    dxy = DxyProvider()

    frame = dxy.finalize(dxy.parse(dxy.wire_from_shared(bundle_dir())))

    assert pd.Timestamp("2024-03-10", tz="UTC") not in frame.index  # a Sunday, blank in the CSV
    assert not frame["dxy"].isna().any()


@pytest.mark.parametrize(("day", "expected_utc"), [
    ("2024-03-08", "2024-03-08 23:00"),  # Friday, EST: 17:00 -05:00 + 1 h
    ("2024-03-11", "2024-03-11 22:00"),  # Monday after the spring change, EDT: 17:00 -04:00 + 1 h
    ("2024-11-01", "2024-11-01 22:00"),  # Friday, still EDT
    ("2024-11-04", "2024-11-04 23:00"),  # Monday after the autumn change, EST
])
def test_available_at_when_dst_changes_then_settle_1700_new_york_plus_one_hour(day, expected_utc):
    dxy = DxyProvider()

    available = dxy.available_at(pd.DatetimeIndex([day], tz="UTC"))[0]

    assert available == pd.Timestamp(expected_utc, tz="UTC")


def test_parse_when_bars_open_at_new_york_time_then_indexed_at_utc_midnight_of_that_date():
    payload = chart([unix("2024-03-08 00:00"), unix("2024-03-11 00:00"), unix("2024-03-12 09:30")],
                    [102.74, 102.87, None])

    frame = DxyProvider().parse(payload)

    assert list(frame.index) == [pd.Timestamp(d, tz="UTC") for d in ("2024-03-08", "2024-03-11",
                                                                     "2024-03-12")]
    assert frame["dxy"].iloc[:2].tolist() == [102.74, 102.87]
    assert np.isnan(frame["dxy"].iloc[2])  # null close = missing


def test_parse_when_chart_error_set_then_schema_error_with_its_description():
    payload = {"chart": {"result": None, "error": {"code": "Not Found",
                                                   "description": "No data found, symbol may be delisted"}}}

    with pytest.raises(ProviderSchemaError, match="symbol may be delisted"):
        DxyProvider().parse(payload)


def test_parse_when_close_array_renamed_then_schema_error_naming_close():
    payload = chart([unix("2024-03-08 00:00")], [102.74])
    quote = payload["chart"]["result"][0]["indicators"]["quote"][0]
    quote["adjclose"] = quote.pop("close")

    with pytest.raises(ProviderSchemaError, match="'close' missing"):
        DxyProvider().parse(payload)


def test_fetch_when_range_has_no_bars_then_empty_frame(httpserver):
    payload = {"chart": {"result": [{"meta": {"symbol": "DX-Y.NYB"}, "indicators": {"quote": [{}]}}],
                         "error": None}}
    httpserver.expect_request("/v8/finance/chart/DX-Y.NYB").respond_with_json(payload)

    frame = DxyProvider(base_url=httpserver.url_for("").rstrip("/")).fetch("2024-03-09", "2024-03-10")

    assert frame.empty and list(frame.columns) == ["dxy", "available_at"]
