"""Alpaca US-equities adapter: backtrader store, broker and data feed on alpaca-py.

The design card named ``alpaca-backtrader-api``; it is unmaintained, so the same three
backtrader roles are built here on Alpaca's maintained official SDK, ``alpaca-py`` (0.44),
whose clients all take ``url_override`` (tests run them against local servers in Alpaca's
documented formats).

Modules, split as config / raw client / parsing / roles:

- ``config``: ``AlpacaConfig`` (``ai_suite.alpaca``) and ``AlpacaCredentials`` (env only).
- ``errors``: typed errors; wire errors never pass the boundary untranslated.
- ``client``: ``AlpacaRest``, the raw REST client (retries, timeouts, paging, idempotent orders).
- ``parsing``: Alpaca wire formats -> the adapter's types (floats, UTC).
- ``orders``: backtrader order -> alpaca-py request mapping (pure).
- ``nyse``: NYSE sessions and hours (``exchange_calendars``).
- ``bars``: timeframes, historical bar sources (REST, files), live aggregation.
- ``store`` / ``broker`` / ``feed``: ``AlpacaStore``, ``AlpacaBroker``, ``AlpacaData``.
- ``risk`` / ``guard`` / ``pdt``: the suite's breakers (``plugins.risk``) enforced in the
  broker, and the pattern-day-trader rule.
- ``reconcile`` / ``state``: attribution per strategy, reconciliation, segregated state.
- ``metrics``: the backtest metrics table with red flags (seed 000, stage 5).
- ``runner`` / ``__main__``: ``python -m adapters.alpaca backtest|paper|reconcile|reset-killswitch``.

US-equity specifics (each documented where it is implemented):

- NYSE calendar and hours: daily bars close at the session close (``nyse``, ``bars``).
- Fractional shares where Alpaca allows them, whole shares elsewhere (``orders``).
- The pattern-day-trader rule under $25k (``pdt``).
- Corporate actions through adjusted bars (``adjustment``; ``bars`` module docstring).

Import what you need from its modules (``adapters.alpaca.config``, ``.store``, ``.broker``,
``.feed``...): the package itself imports nothing.
"""
