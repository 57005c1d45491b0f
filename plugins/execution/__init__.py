"""Execution costs (layer 2): what a fill costs beyond Freqtrade's fee.

- :mod:`plugins.execution.config`: ``ai_suite.costs`` (:class:`CostConfig`).
- :mod:`plugins.execution.costs`: the cost model - half-spread from OHLC (Abdi & Ranaldo
  2017), square-root market impact (Almgren et al. 2005; Toth et al. 2011), a fixed latency
  extra - per pair, rolling, point-in-time, and the fill price it implies.
- :mod:`plugins.execution.book`: depth levels whose walk reproduces the model's average fill
  price (what the replay exchange serves, so Freqtrade's own dry-run fill logic lands on it).
- :mod:`plugins.execution.report`: what the model charged in a backtest result
  (``python -m plugins.execution summary``, run by ``make demo``).

The model is applied to backtests by ``plugins.guard.costs.ExecutionCostMixin`` and to dry-run
fills by the replay exchange (``adapters/replay_exchange``); fees stay Freqtrade's.

The package imports nothing itself: its consumers load ``ai_suite.costs`` with
``plugins.core.config.load_section`` and :mod:`plugins.execution.config`'s model.
"""
