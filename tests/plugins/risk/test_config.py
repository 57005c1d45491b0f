"""``ai_suite.risk`` / ``ai_suite.stages`` validation: non-finite numbers and durations too long
to add to a date are refused when the config is loaded, naming the field (before, ``inf`` passed
and raised ``OverflowError`` in the bot loop)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from plugins.core.config import SuiteConfigError, load_section
from plugins.risk.config import MAX_PAUSE_MIN, RiskConfig, StageConfig

DURATIONS = ["losing_streak_pause_min", "anomaly_pause_min", "blackout_before_min",
             "blackout_after_min", "cooldown_after_win_min", "cooldown_after_loss_min"]
MODELS = {"risk": RiskConfig, "stages": StageConfig}
FLOATS = ["max_daily_loss_frac", "max_weekly_loss_frac", "max_drawdown_frac",
          "max_position_frac", "signal_anomaly_factor"]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, "Infinity", "NaN", 1e300])
@pytest.mark.parametrize("field", DURATIONS)
def test_load_when_a_duration_is_not_finite_or_absurd_then_error_naming_the_field(field, value):
    with pytest.raises(SuiteConfigError, match=rf"ai_suite\.risk\.{field}: "):
        load_section({"ai_suite": {"risk": {field: value}}}, "risk", RiskConfig)


@pytest.mark.parametrize("value", [math.inf, math.nan])
@pytest.mark.parametrize("field", FLOATS)
def test_load_when_a_risk_value_is_not_finite_then_error_naming_the_field(field, value):
    with pytest.raises(SuiteConfigError, match=rf"ai_suite\.risk\.{field}: "):
        load_section({"ai_suite": {"risk": {field: value}}}, "risk", RiskConfig)


@pytest.mark.parametrize(("section", "field"), [
    ("stages", "promotion_tolerance"), ("stages", "canary_stake_frac"),
    ("risk.gates", "momentum_drop_max"), ("risk.gates", "ema_band_high_frac")])
def test_load_when_other_values_are_infinite_then_error_naming_the_field(section, field):
    config: dict = {field: math.inf}
    for part in reversed(section.split(".")):
        config = {part: config}

    with pytest.raises(SuiteConfigError, match=rf"ai_suite\.{section}\.{field}: "):
        load_section({"ai_suite": config}, section.split(".")[0], MODELS[section.split(".")[0]])


def test_load_when_infinity_comes_from_a_json_file_then_refused():
    config = json.loads('{"ai_suite": {"risk": {"anomaly_pause_min": Infinity}}}')

    with pytest.raises(SuiteConfigError, match="anomaly_pause_min"):
        load_section(config, "risk", RiskConfig)


def test_the_longest_pause_still_fits_a_date():
    cfg = RiskConfig(**dict.fromkeys(DURATIONS, MAX_PAUSE_MIN))

    assert datetime(2100, 1, 1, tzinfo=UTC) + timedelta(minutes=cfg.anomaly_pause_min)
