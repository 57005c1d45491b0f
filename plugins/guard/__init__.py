"""The Freqtrade glue (layer 3): strategy mixins that enforce the suite's rules through
Freqtrade's own callbacks and locks. Use them first in a strategy's bases:
``class MyStrategy(ExecutionCostMixin, RiskGuardMixin, IStrategy)``.

- :mod:`plugins.guard.mixin`: ``RiskGuardMixin`` - the risk layer (``plugins.risk``: breakers,
  entry checks, stages, journal) enforced through Freqtrade's callbacks; it wraps them and
  composes the jobs below.
- :mod:`plugins.guard.account`: the breakers' account snapshot read from Freqtrade.
- :mod:`plugins.guard.locks`: trips as Freqtrade's global locks, and back.
- :mod:`plugins.guard.entries`: the facts of one entry for the entry-check core.
- :mod:`plugins.guard.signals`: every entry / exit signal journaled.
- :mod:`plugins.guard.stages`: deployment stages at each bot loop.
- :mod:`plugins.guard.faults`: failing closed and recovering.
- :mod:`plugins.guard.killswitch`: the human kill-switch reset (``python -m plugins.guard``).
- :mod:`plugins.guard.rpcview`: the guard as ``plugins.rpc`` reads it (``GuardView``).
- :mod:`plugins.guard.costs`: ``ExecutionCostMixin`` - the execution-cost model
  (``plugins.execution``) on every backtest fill, market orders, no entry without a cost
  estimate.
"""

from plugins.guard.costs import ExecutionCostMixin
from plugins.guard.mixin import RiskGuardMixin

__all__ = ["ExecutionCostMixin", "RiskGuardMixin"]
