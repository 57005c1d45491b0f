"""Bad input gets a clear, typed error naming the input and the fix - never a traceback:
out-of-range timestamps from a source, a cache file that is corrupt or not in the cache's
layout, a bad date on the command line."""

from __future__ import annotations

import copy
import json
import logging

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from plugins.altdata.cache import AltDataCache
from plugins.altdata.config import AltDataConfig
from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.errors import CacheCorruptError, ProviderSchemaError
from plugins.altdata.features import ANY_STALE, AltDataFeatures
from plugins.altdata.providers.fear_greed import FearGreedProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata import NEWS_BLACKOUT_MIN
from tests.plugins.altdata.provider_cases import all_cases
from tests.plugins.altdata.test_cli import run_cli

CASES = {c.name: c for c in all_cases()}
HUGE_S, HUGE_MS = 10**15, 10**20


def _set(path: list, value):
    def mutate(payload):
        node = payload
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return payload
    return mutate


#: (provider case, field, payload mutation putting an out-of-range epoch time in that field)
EPOCH_FIELDS = [
    ("fear_greed", "timestamp", _set(["data", 0, "timestamp"], str(HUGE_S))),
    ("fear_greed", "timestamp", _set(["data", 0, "timestamp"], "-99999999999999")),
    ("fear_greed", "timestamp", _set(["data", 0, "timestamp"], str(10**30))),
    ("stablecoins", "date", _set([0, "date"], str(HUGE_S))),
    ("dxy", "timestamp", _set(["chart", "result", 0, "timestamp", 0], HUGE_S)),
    ("glassnode", "t", _set([0, "t"], HUGE_S)),
    ("funding", "fundingTime", _set([0, "fundingTime"], HUGE_MS)),
]


@pytest.mark.parametrize(("name", "field", "mutate"), EPOCH_FIELDS,
                         ids=[f"{n}-{f}-{i}" for i, (n, f, _) in enumerate(EPOCH_FIELDS)])
def test_parse_when_epoch_time_out_of_range_then_provider_schema_error_naming_field(
        name, field, mutate):
    case = CASES[name]
    provider = case.make("http://unused")
    payload = mutate(copy.deepcopy(case.good_payload))

    with pytest.raises(ProviderSchemaError, match=repr(field)) as raised:
        provider.finalize(provider.parse(payload))

    assert provider.name in str(raised.value) and "out of range" in str(raised.value)


def test_fetch_when_fear_greed_timestamp_out_of_range_then_typed_error_not_out_of_bounds(
        httpserver):
    case = CASES["fear_greed"]
    httpserver.expect_request(case.path).respond_with_json(
        _set(["data", 0, "timestamp"], str(HUGE_S))(copy.deepcopy(case.good_payload)))

    with pytest.raises(ProviderSchemaError, match="timestamp"):
        case.make(httpserver.url_for("").rstrip("/")).fetch(case.start, case.end)


# ------------------------------------------------------------------------------ the cache
@pytest.fixture
def provider() -> FearGreedProvider:
    return FearGreedProvider(base_url="http://127.0.0.1:9")


@pytest.fixture
def shipped(provider) -> pd.DataFrame:
    return provider.finalize(provider.parse(provider.wire_from_shared(bundle_dir())))


def write_raw(cache: AltDataCache, frame: pd.DataFrame, meta: bytes | None) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=True)
    metadata = dict(table.schema.metadata or {})
    if meta is not None:
        metadata[b"ai_suite"] = meta
    pq.write_table(table.replace_schema_metadata(metadata), cache.path("fear_greed"))


META = json.dumps({"schema_version": 2, "provider": "fear_greed", "columns": ["fng_value"]}).encode()


def assert_names_file_and_fix(err: CacheCorruptError, cache: AltDataCache) -> None:
    text = str(err)
    assert str(cache.path("fear_greed")) in text
    assert "delete" in text and "import-shared" in text and "download" in text


def test_read_when_metadata_is_not_json_then_clear_error_naming_file_and_fix(tmp_path, provider,
                                                                              shipped):
    cache = AltDataCache(tmp_path)
    write_raw(cache, shipped.assign(version=1), b"{not json")

    with pytest.raises(CacheCorruptError, match="metadata") as raised:
        cache.read_versions(provider)

    assert_names_file_and_fix(raised.value, cache)


@pytest.mark.parametrize(("problem", "damage"), [
    ("available_at", lambda f: f.drop(columns=[AVAILABLE_AT])),
    ("available_at", lambda f: f.assign(**{AVAILABLE_AT: f[AVAILABLE_AT].astype(str)})),
    ("available_at", lambda f: f.assign(**{AVAILABLE_AT: f[AVAILABLE_AT].dt.tz_localize(None)})),
    ("available_at", lambda f: f.assign(**{AVAILABLE_AT: f[AVAILABLE_AT].where(
        f.index != f.index[3])})),
    ("fng_value", lambda f: f.assign(fng_value=f["fng_value"].astype(str))),
    ("fng_value", lambda f: f.drop(columns=["fng_value"])),
    ("version", lambda f: f.assign(version=f["version"].astype(float))),
    ("version", lambda f: f.assign(version=0)),
    ("observed_at", lambda f: f.reset_index(drop=True)),
    ("observed_at", lambda f: f.set_axis(f.index.tz_localize(None))),
])
def test_read_when_cache_file_lacks_a_column_or_has_wrong_dtypes_then_rejected_naming_file_and_fix(
        tmp_path, provider, shipped, problem, damage):
    cache = AltDataCache(tmp_path)
    write_raw(cache, damage(shipped.assign(version=1)), META)

    with pytest.raises(CacheCorruptError, match=problem) as raised:
        cache.read_versions(provider)

    assert_names_file_and_fix(raised.value, cache)


def test_read_when_file_is_not_parquet_then_clear_error_naming_file_and_fix(tmp_path, provider):
    cache = AltDataCache(tmp_path)
    cache.path("fear_greed").write_bytes(b"not parquet")

    with pytest.raises(CacheCorruptError) as raised:
        cache.read(provider)

    assert_names_file_and_fix(raised.value, cache)


def test_features_when_a_cache_file_is_corrupt_then_error_logged_and_provider_stale_not_a_crash(
        tmp_path, provider, caplog):
    AltDataCache(tmp_path).path("fear_greed").write_bytes(b"not parquet")
    caplog.set_level(logging.ERROR)

    features = AltDataFeatures(AltDataConfig(cache_dir=tmp_path, calendar=False,
                                             feature_providers=("fear_greed",)),
                               providers=[provider], **NEWS_BLACKOUT_MIN)
    candles = pd.DataFrame({"date": pd.date_range("2024-03-01", periods=5, freq="1h", tz="UTC")})
    out = features.add_features(candles, "1h")

    assert out[ANY_STALE].eq(1).all()
    assert "fear_greed.parquet" in caplog.text and "delete" in caplog.text


# -------------------------------------------------------------------------------- the CLI
@pytest.mark.parametrize(("option", "value"), [("--start", "notadate"), ("--end", "2024-13-45"),
                                               ("--start", "")])
def test_download_when_date_is_not_a_date_then_clear_error_nonzero_exit_no_traceback(
        tmp_path, option, value):
    result = run_cli(tmp_path, {"altdata": {"cache_dir": str(tmp_path / "cache")}},
                     "download", "--providers", "fear_greed", option, value)

    assert result.returncode != 0
    assert option in result.stderr and repr(value) in result.stderr
    assert "YYYY-MM-DD" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "cache").exists()  # nothing fetched, nothing written
