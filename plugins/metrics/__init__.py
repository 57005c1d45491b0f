"""The suite's Prometheus exporter (layer 3): what the suite decides, as metrics.

Freqtrade's REST API does not know our breakers, gates, regimes, stages, data freshness or LLM
spend, so an exporter that scrapes it cannot show them; this one runs inside the bot.

- :mod:`plugins.metrics.config`: ``ai_suite.metrics`` (off by default; 127.0.0.1:9108).
- :mod:`plugins.metrics.families`: every metric, defined once (names, units, labels).
- :mod:`plugins.metrics.view`: what the exporter reads of a running bot (a Protocol the guard
  implements: ``plugins.guard.metricsview``).
- :mod:`plugins.metrics.frames`: figures of analysed dataframes (model outputs, live IC).
- :mod:`plugins.metrics.exporter`: refresh in the bot thread, serve over HTTP.

Started by ``RiskGuardMixin`` at bot start in dry-run/live only (never in backtesting,
hyperopt or plot-dataframe); dashboards and alert rules are in ``deploy/``.
"""
