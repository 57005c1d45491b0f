"""``ai_suite.costs``: defaults, and bad values rejected with the field named."""

from __future__ import annotations

import pytest

from plugins.core.config import SuiteConfigError, load_section
from plugins.execution.config import CostConfig


def test_costs_when_section_absent_then_model_on_with_documented_defaults():
    costs = load_section({}, "costs", CostConfig)

    assert costs.enabled is True
    assert costs.impact_y == 1.0 and costs.latency_bps == 1.0 and costs.fixed_bps is None
    assert costs.required_candles() == 721
    assert "Abdi-Ranaldo" in costs.describe()


def test_costs_when_disabled_explicitly_then_off():
    costs = load_section({"ai_suite": {"costs": {"enabled": False}}}, "costs", CostConfig)

    assert costs.enabled is False
    assert costs.describe().startswith("off")


@pytest.mark.parametrize(("section", "field", "hint"), [
    ({"latency_bps": -1}, "ai_suite.costs.latency_bps", "between 0 and 10000"),
    ({"fixed_bps": -5}, "ai_suite.costs.fixed_bps", "between 0 and 10000"),
    ({"impact_y": 0}, "ai_suite.costs.impact_y", "must be > 0"),
    ({"impact_y": -0.5}, "ai_suite.costs.impact_y", "enabled to false"),
    ({"spread_window_candles": 1}, "ai_suite.costs.spread_window_candles", "greater than or equal"),
    ({"latency_ms": 5}, "ai_suite.costs.latency_ms", "Extra inputs are not permitted"),
])
def test_costs_when_value_invalid_then_error_names_field_and_fix(section, field, hint):
    with pytest.raises(SuiteConfigError) as err:
        load_section({"ai_suite": {"costs": section}}, "costs", CostConfig)

    assert field in str(err.value)
    assert hint in str(err.value)
