"""The suite's config section, ``"ai_suite"`` in Freqtrade's config, loaded one section at a time.

Freqtrade accepts unknown top-level keys, so the suite keeps all of its settings under
``ai_suite``: one sub-section per package (``ai_suite.risk``, ``ai_suite.altdata``...). Each
section's model (pydantic, ``extra="forbid"``, every default defined there) belongs to the
package that uses it; the package's consumer validates its own section once, at its edge, with
:func:`load_section`. This module is the lowest layer: it knows the section *names*
(:data:`SECTIONS`, so a misspelt ``ai_suite.rsik`` is refused whoever loads) and never the
models, nor any package above it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from plugins.core.errors import SuiteError
from plugins.core.secrets import register_config_secrets

#: Every section ``ai_suite`` may hold, and the package whose model validates it:
#: ``altdata`` (plugins.altdata), ``risk`` and ``stages`` (plugins.risk), ``regime``
#: (plugins.regime), ``alpaca`` (adapters.alpaca), ``llm`` (plugins.llm), ``strategy_tree``
#: (plugins.strategy_tree), ``research`` (plugins.research), ``costs`` (plugins.execution),
#: ``metrics`` (plugins.metrics).
SECTIONS = ("altdata", "risk", "stages", "regime", "alpaca", "llm", "strategy_tree", "research",
            "costs", "metrics")

Section = TypeVar("Section", bound=BaseModel)


class SuiteConfigError(SuiteError):
    """``ai_suite`` is invalid. Raised where a section is loaded: at bot start (``bot_start``
    or the strategy's construction), which stops the bot, or by a CLI, which exits 1; the
    message names the field (``ai_suite.<section>.<field>``) and the problem."""


def suite_sections(freqtrade_config: Mapping[str, Any]) -> Mapping[str, Any]:
    """``freqtrade_config["ai_suite"]`` (absent or null = ``{}``), after checking that it is an
    object holding only known sections (:data:`SECTIONS`).

    Raises:
        SuiteConfigError: ``ai_suite`` is not an object, or names a section that does not exist
            (the message names it and lists the sections).
    """
    raw = freqtrade_config.get("ai_suite") or {}
    if not isinstance(raw, Mapping):
        raise SuiteConfigError(f"Invalid suite config: ai_suite: must be an object of sections "
                               f"({', '.join(SECTIONS)}), got {type(raw).__name__}")
    unknown = [key for key in raw if key not in SECTIONS]
    if unknown:
        problems = "; ".join(f"ai_suite.{key}: Extra inputs are not permitted" for key in unknown)
        raise SuiteConfigError(f"Invalid suite config: {problems} (the sections are "
                               f"{', '.join(SECTIONS)})")
    return raw


def load_section(freqtrade_config: Mapping[str, Any], key: str,
                 model: type[Section]) -> Section:
    """Validate the section ``ai_suite.<key>`` of a Freqtrade config with ``model`` (absent =
    all defaults), and register the config's secrets (Telegram token, API-server password /
    JWT secret / websocket tokens, exchange keys: ``plugins.core.secrets.CONFIG_SECRET_PATHS``)
    so that no log line or suite error shows them.

    Args:
        freqtrade_config: Freqtrade's config (the merged ``-c`` files, or a strategy's
            ``self.config``).
        key: one of :data:`SECTIONS`.
        model: the section's pydantic model (frozen, ``extra="forbid"``).

    Raises:
        SuiteConfigError: ``ai_suite`` names an unknown section, or a field of this one is
            unknown or invalid; the message lists each as ``ai_suite.<key>.<path>: <problem>``.
        ValueError: ``key`` is not a section name (a programming error, not a config one).
    """
    if key not in SECTIONS:
        raise ValueError(f"{key!r} is not an ai_suite section; add it to SECTIONS "
                         f"(plugins.core.config) with its model")
    register_config_secrets(freqtrade_config)
    raw = suite_sections(freqtrade_config)
    try:
        return model.model_validate(raw.get(key, {}))
    except ValidationError as err:
        problems = "; ".join(
            f"ai_suite.{'.'.join(map(str, (key, *e['loc'])))}: {e['msg']}" for e in err.errors())
        raise SuiteConfigError(f"Invalid suite config: {problems}") from err
