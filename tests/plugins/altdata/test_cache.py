"""The parquet cache: atomic, schema-versioned, incremental."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from plugins.altdata.cache import AltDataCache
from plugins.altdata.contract import AVAILABLE_AT, VERSION
from plugins.altdata.errors import ProviderUnavailableError
from plugins.altdata.providers.fear_greed import FearGreedProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import FAST_HTTP

KNOWN = pd.Timestamp("2026-03-02 10:00", tz="UTC")
DAY = pd.Timestamp("2024-03-04", tz="UTC")


@pytest.fixture
def provider() -> FearGreedProvider:
    return FearGreedProvider(base_url="http://127.0.0.1:9")


@pytest.fixture
def shipped(provider) -> pd.DataFrame:
    return provider.finalize(provider.parse(provider.wire_from_shared(bundle_dir())))


def test_write_then_read_returns_the_same_frame(tmp_path, provider, shipped):
    cache = AltDataCache(tmp_path)

    cache.write(provider, shipped)

    pd.testing.assert_frame_equal(cache.read(provider), shipped)
    assert [p.name for p in tmp_path.iterdir()] == ["fear_greed.parquet"]


def test_read_when_schema_version_differs_then_none_so_it_is_rebuilt(tmp_path, provider, shipped):
    cache = AltDataCache(tmp_path)
    pq.write_table(__import__("pyarrow").Table.from_pandas(shipped), cache.path("fear_greed"))

    assert cache.read(provider) is None


def test_update_when_new_rows_overlap_then_revisions_become_new_versions_and_old_rows_stay(
        tmp_path, provider, shipped):
    cache = AltDataCache(tmp_path)
    cache.write(provider, shipped.iloc[:100])
    revised = shipped.iloc[90:120].copy()
    revised["fng_value"] = 100.0 - revised["fng_value"]  # every value differs (none is 50)

    versions = cache.update(provider, revised, known_at=KNOWN)

    assert versions.index.nunique() == 120 and len(versions) == 130
    assert (versions.loc[revised.index[:10]].groupby(level=0)[VERSION].max() == 2).all()
    assert cache.read(provider)["fng_value"].iloc[:100].tolist() == shipped[
        "fng_value"].iloc[:100].tolist()  # read(): each observation's first release


def test_refresh_when_source_fails_then_error_and_cache_untouched(tmp_path, provider, shipped):
    cache = AltDataCache(tmp_path)
    cache.write(provider, shipped)
    before = cache.path("fear_greed").read_bytes()
    provider.client.settings = provider.client.settings.__class__(retries=0, connect_timeout_s=0.5)

    with pytest.raises(ProviderUnavailableError):
        cache.refresh(provider, end=pd.Timestamp("2026-03-01", tz="UTC"))

    assert cache.path("fear_greed").read_bytes() == before


def frame_of(provider, values: dict[str, float]) -> pd.DataFrame:
    """A finalized Fear & Greed frame of ``{day: value}``."""
    index = pd.DatetimeIndex(pd.to_datetime(list(values), utc=True), name="observed_at")
    frame = pd.DataFrame({"fng_value": list(values.values())}, index=index)
    return provider.finalize(frame)


def test_update_when_fear_greed_20_revised_to_80_a_week_later_then_both_versions_kept_with_when_known(
        tmp_path, provider):
    cache = AltDataCache(tmp_path)
    cache.update(provider, frame_of(provider, {"2024-03-03": 30.0, "2024-03-04": 20.0}),
                 known_at=DAY + pd.Timedelta(minutes=20))
    fetched = DAY + pd.Timedelta(days=7, hours=10)

    versions = cache.update(provider, frame_of(provider, {"2024-03-03": 30.0, "2024-03-04": 80.0}),
                            known_at=fetched)

    day = versions.loc[[DAY]]
    assert day[VERSION].tolist() == [1, 2]
    assert day["fng_value"].tolist() == [20.0, 80.0]
    assert day[AVAILABLE_AT].tolist() == [DAY + pd.Timedelta(minutes=15), fetched]
    assert versions.loc[[DAY - pd.Timedelta(days=1)], VERSION].tolist() == [1]  # unchanged
    pd.testing.assert_frame_equal(cache.read_versions(provider), versions)


def test_update_when_refetched_unchanged_then_no_new_version(tmp_path, provider, shipped):
    cache = AltDataCache(tmp_path)
    cache.update(provider, shipped, known_at=KNOWN)

    versions = cache.update(provider, shipped.iloc[-30:], known_at=KNOWN + pd.Timedelta(days=1))

    assert len(versions) == len(shipped) and (versions[VERSION] == 1).all()
    pd.testing.assert_frame_equal(cache.read(provider), shipped)


def test_update_when_revision_fetched_before_the_scheduled_publication_then_known_at_publication(
        tmp_path, provider):
    cache = AltDataCache(tmp_path)
    cache.update(provider, frame_of(provider, {"2024-03-04": 20.0}), known_at=DAY)

    versions = cache.update(provider, frame_of(provider, {"2024-03-04": 21.0}),
                            known_at=DAY + pd.Timedelta(minutes=5))

    assert versions[AVAILABLE_AT].tolist() == [DAY + pd.Timedelta(minutes=15)] * 2


def test_read_when_cache_written_before_versions_then_every_row_loads_as_version_1(
        tmp_path, provider, shipped):
    import json

    import pyarrow as pa

    cache = AltDataCache(tmp_path)
    old = pa.Table.from_pandas(shipped, preserve_index=True)  # schema 1: no version column
    meta = {"schema_version": 1, "provider": "fear_greed", "columns": ["fng_value"]}
    pq.write_table(old.replace_schema_metadata(
        {**old.schema.metadata, b"ai_suite": json.dumps(meta).encode()}), cache.path("fear_greed"))

    versions = cache.read_versions(provider)

    assert (versions[VERSION] == 1).all() and len(versions) == len(shipped)
    pd.testing.assert_frame_equal(cache.read(provider), shipped)
    revised = cache.update(provider, frame_of(provider, {str(shipped.index[-1].date()): 1.0}),
                           known_at=KNOWN)
    assert revised[VERSION].max() == 2  # migrated and written as the current schema


def test_refresh_when_source_revises_a_value_inside_the_overlap_then_known_from_that_refresh(
        tmp_path, httpserver):
    payload = FearGreedProvider().wire_from_shared(bundle_dir())
    payload = {**payload, "data": payload["data"][:40]}  # newest 40 days
    httpserver.expect_oneshot_request("/fng/").respond_with_json(payload)
    revised = {**payload, "data": [dict(row) for row in payload["data"]]}
    revised["data"][3]["value"] = str(100 - int(revised["data"][3]["value"]))
    httpserver.expect_oneshot_request("/fng/").respond_with_json(revised)
    provider = FearGreedProvider(base_url=httpserver.url_for("").rstrip("/"), http=FAST_HTTP)
    newest = pd.Timestamp(int(payload["data"][0]["timestamp"]), unit="s", tz="UTC")
    first, second = newest + pd.Timedelta(hours=1), newest + pd.Timedelta(hours=2)
    cache = AltDataCache(tmp_path, clock=lambda: first)
    cache.refresh(provider, end=first, start=newest - pd.Timedelta(days=60))
    cache.clock = lambda: second

    versions = cache.refresh(provider, end=second)

    changed = pd.Timestamp(int(revised["data"][3]["timestamp"]), unit="s", tz="UTC")
    assert versions.loc[[changed], AVAILABLE_AT].tolist() == [
        changed + provider.publication_lag, second]
    assert len(versions) == 41
