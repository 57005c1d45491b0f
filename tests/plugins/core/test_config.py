"""``load_section``: one ``ai_suite`` section validated by its owner's model, unknown sections
refused whoever loads, errors naming the field; core knows the names only."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field

from plugins.core.config import SECTIONS, SuiteConfigError, load_section, suite_sections


class Limits(BaseModel):
    """A section model as the packages write theirs: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    max_loss_frac: float = Field(default=0.03, gt=0, lt=1)
    window_candles: int = Field(default=24, ge=1)


def test_load_section_when_ai_suite_absent_then_the_models_defaults():
    assert load_section({}, "risk", Limits) == Limits()


@pytest.mark.parametrize("config", [{"ai_suite": None}, {"ai_suite": {}}, {"ai_suite": {"llm": {}}}])
def test_load_section_when_section_absent_or_null_suite_then_defaults(config):
    assert load_section(config, "risk", Limits) == Limits()


def test_load_section_when_section_given_then_only_that_section_is_validated():
    config = {"ai_suite": {"risk": {"max_loss_frac": 0.05}, "llm": {"anything": "else"}}}

    limits = load_section(config, "risk", Limits)

    assert limits.max_loss_frac == 0.05 and limits.window_candles == 24


@pytest.mark.parametrize(("section", "field"), [
    ({"max_loss_frac": 1.5}, "max_loss_frac"),
    ({"max_loss_frac": float("inf")}, "max_loss_frac"),
    ({"window_candles": 0}, "window_candles"),
    ({"max_los_frac": 0.05}, "max_los_frac"),
])
def test_load_section_when_a_field_is_invalid_or_unknown_then_error_names_the_path(section, field):
    with pytest.raises(SuiteConfigError, match=rf"ai_suite\.risk\.{field}: "):
        load_section({"ai_suite": {"risk": section}}, "risk", Limits)


def test_load_section_when_a_section_name_is_misspelt_then_refused_by_every_loader():
    config = {"ai_suite": {"rsik": {"max_loss_frac": 0.05}}}

    with pytest.raises(SuiteConfigError, match=r"ai_suite\.rsik: Extra inputs are not permitted"):
        load_section(config, "llm", Limits)
    with pytest.raises(SuiteConfigError, match="the sections are altdata, risk"):
        suite_sections(config)


def test_load_section_when_ai_suite_is_not_an_object_then_error_says_what_it_must_be():
    with pytest.raises(SuiteConfigError, match="ai_suite: must be an object of sections"):
        load_section({"ai_suite": ["risk"]}, "risk", Limits)


def test_load_section_when_key_is_not_a_section_then_value_error_for_the_programmer():
    with pytest.raises(ValueError, match="'rsik' is not an ai_suite section"):
        load_section({}, "rsik", Limits)


def test_sections_when_listed_then_every_shipped_config_key_is_known():
    import json

    from tests.conftest import REPO_ROOT

    for path in sorted((REPO_ROOT / "config").glob("*.json")):
        for key in json.loads(path.read_text()).get("ai_suite", {}):
            assert key in SECTIONS, f"{path.name}: ai_suite.{key}"
