"""Documented value ranges: an out-of-range (or infinite) provider value is dropped as missing
with a warning naming provider, field and value - never passed on as a signal - and a missing
value makes the provider stale at the candles that would have used it."""

from __future__ import annotations

import copy
import logging
import math

import numpy as np
import pandas as pd
import pytest

from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.merge import merge_point_in_time
from plugins.altdata.providers.fear_greed import FearGreedProvider
from tests.plugins.altdata.provider_cases import FAST_HTTP, ProviderCase, all_cases

CASES = all_cases()
COLUMN_CASES = [(case, column) for case in CASES
                for column in case.make("http://unused").columns]


def parsed(case: ProviderCase) -> pd.DataFrame:
    provider = case.make("http://unused")
    return provider.parse(case.good_payload)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_provider_when_built_then_every_column_has_a_documented_range(case):
    provider = case.make("http://unused")

    assert set(provider.valid_ranges) >= set(provider.columns)
    for low, high in provider.valid_ranges.values():
        assert low < high


@pytest.mark.parametrize(("case", "column"), COLUMN_CASES,
                         ids=[f"{c.name}-{col}" for c, col in COLUMN_CASES])
@pytest.mark.parametrize("bad", ["below", "above", "inf"])
def test_finalize_when_value_out_of_range_then_dropped_as_missing_with_warning(
        case, column, bad, caplog):
    provider = case.make("http://unused")
    low, high = provider.valid_ranges[column]
    value = {"below": low - 1e9 if math.isfinite(low) else -math.inf,
             "above": high + 1e9 if math.isfinite(high) else math.inf, "inf": math.inf}[bad]
    frame = parsed(case)
    frame[column] = frame[column].astype("float64")
    frame.iloc[0, frame.columns.get_loc(column)] = value
    caplog.set_level(logging.WARNING)

    out = provider.finalize(frame)

    day = pd.DatetimeIndex(frame.index)[:1].tz_convert("UTC") if pd.DatetimeIndex(
        frame.index).tz else pd.DatetimeIndex(frame.index)[:1].tz_localize("UTC")
    assert np.isnan(out.loc[day[0], column])
    assert provider.name in caplog.text and column in caplog.text and f"{value:g}" in caplog.text
    others = out.drop(index=day[0])[column].dropna()
    assert ((others >= low) & (others <= high)).all()


def test_finalize_when_values_in_range_then_nothing_dropped_nor_logged(caplog):
    case = next(c for c in CASES if c.name == "fear_greed")
    caplog.set_level(logging.WARNING)

    out = case.make("http://unused").finalize(parsed(case))

    assert out["fng_value"].notna().all() and "range" not in caplog.text


def test_fetch_when_fear_greed_serves_minus_1e9_then_dropped_and_merge_flags_stale(
        httpserver, caplog):
    case = next(c for c in CASES if c.name == "fear_greed")
    payload = copy.deepcopy(case.good_payload)
    payload["data"][0]["value"] = "-1000000000"  # the newest day
    httpserver.expect_request(case.path).respond_with_json(payload)
    provider = FearGreedProvider(base_url=httpserver.url_for("").rstrip("/"), http=FAST_HTTP)
    caplog.set_level(logging.WARNING)

    frame = provider.fetch(case.start, case.end)
    newest = frame.index.max()
    candles = pd.DataFrame({"date": pd.date_range(newest + pd.Timedelta(hours=1), periods=6,
                                                  freq="1h", tz="UTC")})
    merged = merge_point_in_time(candles, frame, timeframe="1h", prefix="fear_greed",
                                 max_staleness=provider.max_staleness)

    assert np.isnan(frame.loc[newest, "fng_value"]) and frame[AVAILABLE_AT].notna().all()
    assert "fear_greed" in caplog.text and "fng_value" in caplog.text and "-1e+09" in caplog.text
    assert merged["fear_greed_stale"].eq(1).all() and merged["fear_greed_fng_value"].isna().all()
