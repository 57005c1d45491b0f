"""The Freqtrade glue (layer 3): strategy mixins that enforce the suite's rules through
Freqtrade's own callbacks.

- :mod:`plugins.guard.costs`: ``ExecutionCostMixin`` - the execution-cost model
  (``plugins.execution``) on every backtest fill, market orders, no entry without a cost
  estimate.

(The risk guard, ``plugins.risk.RiskGuardMixin``, moves here later: issue 16.)
"""

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy: importing the package does not pull in Freqtrade's strategy machinery.
    if name == "ExecutionCostMixin":
        from plugins.guard.costs import ExecutionCostMixin

        return ExecutionCostMixin
    raise AttributeError(f"module 'plugins.guard' has no attribute {name!r}")
