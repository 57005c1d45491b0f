"""Circuit breakers, entry gates and deployment stages (the risk layer).

This package starts with its core: typed settings (``config``), the trading state and the
typed reasons for every denial (``state``), the account snapshot the rules read
(``snapshot``) and the breaker rules themselves as pure functions (``breakers``). The
Freqtrade strategy mixin that enforces them through locks and callbacks builds on these.
"""
