"""The suite's config section, ``"ai_suite"`` in Freqtrade's config, validated at the edge.

Freqtrade accepts unknown top-level keys, so the suite keeps all of its settings under
``ai_suite`` and validates them here once (pydantic, unknown keys rejected), with every
default defined in the section models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.alpaca.config import AlpacaConfig
from plugins.altdata.config import AltDataConfig
from plugins.core.errors import SuiteError
from plugins.core.secrets import register_config_secrets
from plugins.execution.config import CostConfig
from plugins.llm.config import LlmConfig
from plugins.regime.config import RegimeConfig
from plugins.research.config import ResearchConfig
from plugins.risk.config import RiskConfig, StageConfig
from plugins.strategy_tree.config import StrategyTreeConfig


class SuiteConfigError(SuiteError):
    """``ai_suite`` is invalid. Raised at bot start (``bot_start``), which stops the bot with
    a message naming the field and the fix."""


class SuiteConfig(BaseModel):
    """``ai_suite``: one attribute per plugin section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    altdata: AltDataConfig = Field(default_factory=AltDataConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    stages: StageConfig = Field(default_factory=StageConfig)
    regime: RegimeConfig = Field(default_factory=RegimeConfig)
    alpaca: AlpacaConfig = Field(default_factory=AlpacaConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    strategy_tree: StrategyTreeConfig = Field(default_factory=StrategyTreeConfig)
    research: ResearchConfig = Field(default_factory=ResearchConfig)
    costs: CostConfig = Field(default_factory=CostConfig)


def load_suite_config(freqtrade_config: dict[str, Any]) -> SuiteConfig:
    """Validate ``freqtrade_config["ai_suite"]`` (absent = all defaults), and register the
    config's secrets (Telegram token, API-server password / JWT secret / websocket tokens,
    exchange keys: ``plugins.core.secrets.CONFIG_SECRET_PATHS``) so that no log line or suite
    error shows them.

    Raises:
        SuiteConfigError: a field is unknown or invalid; the message lists each as
            ``ai_suite.<path>: <problem>``.
    """
    register_config_secrets(freqtrade_config)
    try:
        return SuiteConfig.model_validate(freqtrade_config.get("ai_suite") or {})
    except ValidationError as err:
        problems = "; ".join(
            f"ai_suite.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise SuiteConfigError(f"Invalid suite config: {problems}") from err
