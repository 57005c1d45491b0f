"""``ai_suite.strategy_tree``: settings of compiled strategy trees at run time."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class StrategyTreeConfig(BaseModel):
    """``ai_suite.strategy_tree``.

    Attributes:
        start: when the deployed tree became active (UTC; a naive time is read as UTC). A
            tree's ``expiry`` counts from it and no entry happens before it. Unset: the start of
            ``--timerange`` in backtesting, the bot's start in dry-run/live (so set it for a live
            bot that restarts, or the expiry clock restarts with it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: datetime | None = None
