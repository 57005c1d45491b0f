"""FRED provider: parsing of the real shipped series, the API key, and publication times."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.errors import ProviderConfigError, ProviderSchemaError, ProviderUnavailableError
from plugins.altdata.providers.fred import (
    CPI_CALENDAR_FILE,
    FRED_SERIES,
    GRAPH_BASE_URL,
    GRAPH_PATH,
    FredProvider,
)
from tests.conftest import bundle_dir
from tests.plugins.altdata.cases_fred import DUMMY_KEY
from tests.plugins.altdata.provider_cases import FAST_HTTP

NEW_YORK = "America/New_York"


def provider(series_id: str, **kwargs) -> FredProvider:
    return FredProvider(series_id, api_key=DUMMY_KEY, cpi_calendar=bundle_dir() / CPI_CALENDAR_FILE,
                        **kwargs)


def release_of(series_id: str, day: str) -> pd.Timestamp:
    return provider(series_id).available_at(pd.DatetimeIndex([day], tz="UTC"))[0]


def ny(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=NEW_YORK).tz_convert("UTC")


def test_parse_when_value_is_dot_then_nan_and_other_values_numeric():
    fred = provider("DGS10")
    payload = fred.wire_from_shared(bundle_dir())
    by_date = {row["date"]: row["value"] for row in payload["observations"]}
    assert by_date["2024-01-15"] == "."  # Martin Luther King Jr. Day, no Treasury quotes

    frame = fred.finalize(fred.parse(payload))

    assert np.isnan(frame.loc["2024-01-15", "value"].item())
    assert frame.loc["2024-01-16", "value"].item() == float(by_date["2024-01-16"])
    assert frame["value"].dtype == "float64"


def graph_csv(series_id: str, first: str, last: str, header: str = "observation_date") -> str:
    """FRED's keyless ``fredgraph.csv`` of the shipped series (missing values empty, as FRED
    writes them today)."""
    rows = provider(series_id).wire_from_shared(bundle_dir())["observations"]
    lines = [f"{header},{series_id}"] + [
        f"{r['date']},{'' if r['value'] == '.' else r['value']}" for r in rows
        if first <= r["date"] <= last]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("header", ["observation_date", "DATE"])
def test_download_when_no_key_then_keyless_fredgraph_csv_gives_the_same_series(
        monkeypatch, httpserver, header):
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    httpserver.expect_request(GRAPH_PATH, query_string={
        "id": "DGS10", "cosd": "2024-01-01", "coed": "2024-01-31"}).respond_with_data(
        graph_csv("DGS10", "2024-01-01", "2024-01-31", header), content_type="text/csv")
    keyless = FredProvider("DGS10", base_url=httpserver.url_for("").rstrip("/"), http=FAST_HTTP,
                           cpi_calendar=bundle_dir() / CPI_CALENDAR_FILE)

    frame = keyless.fetch("2024-01-01", "2024-01-31")

    keyed = provider("DGS10")
    expected = keyed.finalize(keyed.parse(keyed.wire_from_shared(bundle_dir())))
    expected = expected.loc["2024-01-01":"2024-01-31"]
    pd.testing.assert_frame_equal(frame, expected, check_freq=False)
    assert np.isnan(frame.loc["2024-01-15", "value"].item())  # holiday: empty in the CSV


def test_download_when_no_key_then_the_graph_host_is_freds_own():
    assert FredProvider("DGS10").graph_client.base_url == GRAPH_BASE_URL


def test_download_when_keyless_answer_is_not_the_series_csv_then_schema_error(monkeypatch,
                                                                                 httpserver):
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    httpserver.expect_request(GRAPH_PATH).respond_with_data("<html>maintenance</html>")
    fred = FredProvider("DGS10", base_url=httpserver.url_for("").rstrip("/"), http=FAST_HTTP)

    with pytest.raises(ProviderSchemaError, match="observation_date,DGS10"):
        fred.fetch("2024-01-01", "2024-01-31")


def test_download_when_key_only_in_env_then_sent_as_query_parameter(monkeypatch, httpserver):
    monkeypatch.setenv("FRED_API_KEY", DUMMY_KEY)
    httpserver.expect_request("/fred/series/observations", query_string={
        "series_id": "WALCL", "api_key": DUMMY_KEY, "file_type": "json",
        "observation_start": "2024-01-01", "observation_end": "2024-01-31"}).respond_with_json(
        {"observations": [{"date": "2024-01-03", "value": "7713908"}]})
    fred = FredProvider("WALCL", base_url=httpserver.url_for("").rstrip("/"), http=FAST_HTTP)

    frame = fred.fetch("2024-01-01", "2024-01-31")

    assert frame["value"].tolist() == [7713908.0]


def test_download_when_source_unreachable_then_key_in_neither_error_nor_logs(caplog):
    fred = provider("DGS10", base_url="http://127.0.0.1:9", http=FAST_HTTP)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ProviderUnavailableError) as raised:
        fred.fetch("2024-01-01", "2024-01-31")

    assert DUMMY_KEY not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert "api_key=***" in caplog.text and DUMMY_KEY not in caplog.text


def test_download_when_fred_rejects_key_then_config_error_without_the_key(httpserver):
    httpserver.expect_request("/fred/series/observations").respond_with_json(
        {"error_code": 400, "error_message": "Bad Request.  The value for variable api_key is not "
                                             "registered."}, status=400)
    fred = provider("DGS10", base_url=httpserver.url_for("").rstrip("/"), http=FAST_HTTP)

    with pytest.raises(ProviderConfigError, match="FRED_API_KEY") as raised:
        fred.fetch("2024-01-01", "2024-01-31")

    assert DUMMY_KEY not in str(raised.value)


def test_init_when_series_has_no_documented_schedule_then_config_error():
    with pytest.raises(ProviderConfigError, match="M2SL"):
        FredProvider("M2SL", api_key=DUMMY_KEY)


def test_available_at_when_cpi_december_2023_then_bls_release_day_0830_new_york():
    calendar = pd.read_csv(bundle_dir() / CPI_CALENDAR_FILE)
    released = calendar.loc[calendar["reference_month"] == "December 2023", "release_date"]
    assert released.tolist() == ["2024-01-11"]

    available = release_of("CPIAUCSL", "2023-12-01")

    assert available == ny("2024-01-11 08:30") == pd.Timestamp("2024-01-11 13:30", tz="UTC")


def test_available_at_when_cpi_month_not_in_calendar_then_month_end_plus_45_days_logged(caplog):
    fred = provider("CPIAUCSL")  # October 2025 was never published (2025 shutdown)

    with caplog.at_level(logging.WARNING):
        available = fred.available_at(pd.DatetimeIndex(["2025-10-01"], tz="UTC"))[0]

    assert available == ny("2025-12-15 08:30")  # 2025-10-31 + 45 days
    assert "not in the CPI release calendar" in caplog.text


@pytest.mark.parametrize(("wednesday", "release"), [
    ("2024-01-10", "2024-01-11 16:30"),  # EST: 21:30 UTC
    ("2024-07-10", "2024-07-11 16:30"),  # EDT: 20:30 UTC
    ("2023-11-22", "2023-11-24 16:30"),  # Thanksgiving Thursday: next business day
])
def test_available_at_when_walcl_wednesday_then_next_thursday_1630_new_york(wednesday, release):
    available = release_of("WALCL", wednesday)

    assert available == ny(release)


@pytest.mark.parametrize(("day", "monday"), [
    *[(d, "2024-03-11 16:15") for d in ("2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07",
                                        "2024-03-08")],  # release on the first EDT Monday
    ("2024-01-12", "2024-01-16 16:15"),  # Monday 15th is MLK Day: H.10 came out on Tuesday
])
def test_available_at_when_dtwexbgs_weekday_then_following_monday_1615_new_york(day, monday):
    available = release_of("DTWEXBGS", day)

    assert available == ny(monday)


@pytest.mark.parametrize(("day", "release"), [
    ("2024-03-07", "2024-03-08 16:15"),  # Thursday -> Friday
    ("2024-03-08", "2024-03-11 16:15"),  # Friday -> Monday, across the DST change
    ("2024-01-12", "2024-01-16 16:15"),  # Friday before MLK Day -> Tuesday
])
def test_available_at_when_daily_h15_rate_then_next_business_day_1615_new_york(day, release):
    available = release_of("DGS10", day)

    assert available == ny(release)


@pytest.mark.parametrize("series_id", FRED_SERIES)
def test_available_at_when_real_series_then_after_end_of_each_observation_period(series_id):
    fred = provider(series_id)
    monthly = series_id in ("CPIAUCSL", "FEDFUNDS")
    period = pd.DateOffset(months=1) if monthly else pd.Timedelta(days=1)

    frame = fred.finalize(fred.parse(fred.wire_from_shared(bundle_dir())))

    period_end = frame.index + period
    assert len(frame) > 500
    assert (frame[AVAILABLE_AT] > period_end).all()  # never visible during its own period
    assert (frame[AVAILABLE_AT] - period_end).max() < pd.Timedelta(days=50)
