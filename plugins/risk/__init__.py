"""The risk layer: pure rules, the entry-check core, stages and the decision journal.

Nothing here reads Freqtrade, a venue or the clock: each venue's guard gathers the facts and
enforces the decisions (``plugins.guard`` for Freqtrade, ``adapters.alpaca.risk`` for
backtrader / Alpaca). Modules: ``config`` (``ai_suite.risk`` / ``ai_suite.stages``), ``state``
(ACTIVE / REDUCING / HALTED, typed reasons, the names of the locks that hold a trip),
``snapshot`` / ``account`` (the account the rules read, the equity anchors), ``breakers`` (the
rules, pure functions), ``checks`` / ``entry`` (the typed entry checks and the entry-check
core), ``gates`` (the 7-gate framework), ``signals`` (entry-signal windows), ``stages``
(deployment stages), ``journal`` (SQLite decision journal), ``__main__`` (CLI: journal,
summary, stages).
"""
