"""The parquet cache: atomic, schema-versioned, incremental."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from plugins.altdata.cache import AltDataCache
from plugins.altdata.errors import ProviderUnavailableError
from plugins.altdata.providers.fear_greed import FearGreedProvider
from tests.conftest import bundle_dir


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


def test_read_when_file_is_garbage_then_none(tmp_path, provider):
    cache = AltDataCache(tmp_path)
    cache.path("fear_greed").write_bytes(b"not parquet")

    assert cache.read(provider) is None


def test_update_when_new_rows_overlap_then_new_values_win_and_old_rows_stay(tmp_path, provider,
                                                                          shipped):
    cache = AltDataCache(tmp_path)
    cache.write(provider, shipped.iloc[:100])
    revised = shipped.iloc[90:120].copy()
    revised["fng_value"] = -1.0

    merged = cache.update(provider, revised)

    assert len(merged) == 120
    assert (merged["fng_value"].iloc[90:] == -1.0).all()
    assert merged.index.is_monotonic_increasing


def test_refresh_when_source_fails_then_error_and_cache_untouched(tmp_path, provider, shipped):
    cache = AltDataCache(tmp_path)
    cache.write(provider, shipped)
    before = cache.path("fear_greed").read_bytes()
    provider.client.settings = provider.client.settings.__class__(retries=0, connect_timeout_s=0.5)

    with pytest.raises(ProviderUnavailableError):
        cache.refresh(provider, end=pd.Timestamp("2026-03-01", tz="UTC"))

    assert cache.path("fear_greed").read_bytes() == before
