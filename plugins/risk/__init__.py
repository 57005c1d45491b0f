"""Circuit breakers and the decision journal (the risk layer).

``from plugins.risk import RiskGuardMixin`` and use it first in a strategy's bases:
``class MyStrategy(RiskGuardMixin, IStrategy)``. Modules: ``config`` (``ai_suite.risk``),
``state`` (ACTIVE / REDUCING / HALTED and typed reasons), ``snapshot`` / ``account`` (the
account the rules read), ``breakers`` (the rules, pure functions), ``signals`` (entry-signal
windows), ``mixin`` (enforcement through Freqtrade's locks and callbacks), ``journal``
(SQLite decision journal), ``reset`` (the human kill-switch reset), ``__main__`` (CLI).
"""

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy, so `plugins.risk.config` can be imported by `plugins.core.config` without
    # pulling in the mixin (which imports `plugins.core.config` itself).
    if name == "RiskGuardMixin":
        from plugins.risk.mixin import RiskGuardMixin

        return RiskGuardMixin
    raise AttributeError(f"module 'plugins.risk' has no attribute {name!r}")
