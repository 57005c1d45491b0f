"""Live refresh (off the bot loop, failures logged once) and the drift monitor."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

from plugins.altdata.config import AltDataConfig, ProviderSettings
from plugins.altdata.drift import DriftMonitor
from plugins.altdata.features import AltDataFeatures
from plugins.altdata.live import LiveRefresher
from plugins.altdata.providers.fear_greed import FearGreedProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata import NEWS_BLACKOUT_MIN
from tests.plugins.altdata.provider_cases import FAST_HTTP


class Clock:
    def __init__(self, now: str) -> None:
        self.now = pd.Timestamp(now, tz="UTC")

    def __call__(self) -> pd.Timestamp:
        return self.now


@pytest.fixture
def features(tmp_path, httpserver) -> AltDataFeatures:
    config = AltDataConfig(cache_dir=tmp_path, calendar=False, feature_providers=("fear_greed",),
                           providers={"fear_greed": ProviderSettings(base_url=httpserver.url_for(""))})
    provider = FearGreedProvider(base_url=httpserver.url_for("").rstrip("/"), http=FAST_HTTP)
    return AltDataFeatures(config, providers=[provider], **NEWS_BLACKOUT_MIN)


def shipped_until(day: str) -> dict:
    payload = FearGreedProvider().wire_from_shared(bundle_dir())
    cutoff = pd.Timestamp(day, tz="UTC").timestamp()
    return {**payload, "data": [r for r in payload["data"] if int(r["timestamp"]) <= cutoff][:90]}


def test_refresh_due_when_source_answers_then_features_updated(features, httpserver):
    httpserver.expect_request("/fng/").respond_with_json(shipped_until("2025-06-01"))
    refresher = LiveRefresher(features, now=Clock("2025-06-01 12:00"))

    assert refresher.refresh_due() == ["fear_greed"]

    assert features.derived("fear_greed").index.max() == pd.Timestamp("2025-06-01", tz="UTC")


def test_refresh_due_when_not_due_yet_then_source_not_asked_again(features, httpserver):
    httpserver.expect_request("/fng/").respond_with_json(shipped_until("2025-06-01"))
    clock = Clock("2025-06-01 12:00")
    refresher = LiveRefresher(features, now=clock)
    refresher.refresh_due()
    clock.now += pd.Timedelta(minutes=10)

    assert refresher.refresh_due() == []
    assert len(httpserver.log) == 1


def test_refresh_due_when_source_keeps_failing_then_logged_once_and_old_values_kept(
        features, httpserver, caplog):
    httpserver.expect_request("/fng/").respond_with_data("down", status=503)
    clock = Clock("2025-06-01 12:00")
    refresher = LiveRefresher(features, now=clock)

    with caplog.at_level(logging.WARNING, logger="plugins.altdata.live"):
        for _ in range(3):
            assert refresher.refresh_due() == []
            clock.now += pd.Timedelta(hours=2)

    assert len([r for r in caplog.records if "refresh of fear_greed failed" in r.message]) == 1
    assert "fear_greed" in refresher.incidents


def test_refresh_due_when_field_renamed_then_drift_monitor_reports_schema_change(
        features, httpserver):
    payload = shipped_until("2025-06-01")
    for row in payload["data"]:
        row["score"] = row.pop("value")
    httpserver.expect_request("/fng/").respond_with_data(json.dumps(payload))
    drift = DriftMonitor()

    LiveRefresher(features, drift=drift, now=Clock("2025-06-01 12:00")).refresh_due()

    [finding] = drift.status()["fear_greed"]
    assert finding["kind"] == "schema" and "value" in finding["detail"]


def test_drift_check_when_last_value_beyond_3_sd_of_30_days_then_flagged():
    index = pd.date_range("2024-01-01", periods=40, freq="D", tz="UTC", name="observed_at")
    values = [10.0 + (i % 3) for i in range(39)] + [100.0]
    frame = pd.DataFrame({"x": values, "available_at": index}, index=index)

    [finding] = DriftMonitor().check("demo", frame)

    assert finding.column == "x" and finding.kind == "outlier" and finding.z > 3


def test_drift_check_when_last_value_ordinary_then_no_finding():
    index = pd.date_range("2024-01-01", periods=40, freq="D", tz="UTC", name="observed_at")
    frame = pd.DataFrame({"x": [10.0 + (i % 3) for i in range(40)], "available_at": index},
                         index=index)

    assert DriftMonitor().check("demo", frame) == []
