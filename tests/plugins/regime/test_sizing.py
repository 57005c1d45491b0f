"""Stake sizing by predicted edge, volatility target and regime caps (ai_suite.regime.sizing)."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from plugins.regime.config import RegimeConfig
from plugins.regime.sizing import SizingConfig, candles_per_year, regime_cap, stake_multiplier

EDGE_VOL = SizingConfig(kind="edge_vol", vol_target_annual=0.5, edge_cap=2.0,
                        regime_caps={"high_vol*": 0.5, "*bear*": 0.0})


def test_fixed_sizing_when_default_then_proposed_stake_unchanged():
    assert stake_multiplier(float("nan"), float("nan"), None, 0.004, 0.0, SizingConfig()) == (1.0, "fixed")


@pytest.mark.parametrize(("prediction", "vol", "regime", "expected"), [
    (0.008, 0.5, "calm_up", 1.0),        # edge at the cap, vol on target
    (0.004, 0.5, "calm_up", 0.5),        # at the threshold: 1 / edge_cap
    (0.008, 1.0, "calm_up", 0.5),        # twice the target vol: half
    (0.008, 0.25, "calm_up", 1.0),       # half the target vol: capped by max_leverage 1
    (0.020, 0.5, "high_vol_up", 0.5),    # edge capped, regime cap 0.5
    (0.008, 0.5, "calm_bear", 0.0),      # regime cap 0
])
def test_stake_multiplier_when_edge_vol_then_vol_target_times_edge_times_regime_cap(
        prediction, vol, regime, expected):
    multiplier, reason = stake_multiplier(prediction, vol, regime, 0.004, 0.0, EDGE_VOL)
    assert multiplier == pytest.approx(expected) and "vol" in reason


def test_stake_multiplier_when_sign_probability_then_edge_measured_from_one_half():
    multiplier, _ = stake_multiplier(0.65, 0.5, None, 0.55, 0.5, EDGE_VOL)
    assert multiplier == pytest.approx(1.0)   # 0.15 over 0.5 is 3x the threshold's 0.05: capped


@pytest.mark.parametrize(("prediction", "vol", "match"), [
    (float("nan"), 0.5, "prediction"), (0.01, float("nan"), "volatility"), (0.01, 0.0, "volatility")])
def test_stake_multiplier_when_input_unusable_then_zero_with_the_reason(prediction, vol, match):
    multiplier, reason = stake_multiplier(prediction, vol, "calm_up", 0.004, 0.0, EDGE_VOL)
    assert multiplier == 0.0 and match in reason


def test_sizing_config_when_cap_not_a_fraction_then_error_names_the_field():
    with pytest.raises(ValidationError, match="regime_caps"):
        RegimeConfig.model_validate({"sizing": {"kind": "edge_vol", "regime_caps": {"*": 1.5}}})
    assert regime_cap(None, {"*": 0.2}) == 1.0 and regime_cap("x_bear", {"*bear": 0.2}) == 0.2


def test_candles_per_year_when_timeframe_given_then_365_day_year():
    assert candles_per_year("1h") == 8760 and candles_per_year("4h") == 2190
    assert candles_per_year("1d") == 365 and math.isclose(candles_per_year("5m"), 105120)
    with pytest.raises(ValueError, match="timeframe"):
        candles_per_year("hourly")
