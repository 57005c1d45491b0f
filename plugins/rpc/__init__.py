"""Our Telegram commands, REST routes and notifications, registered into Freqtrade's RPC.

``registry.attach(guard, dp, clock)`` is called by the risk guard (``plugins.guard``) at
``bot_start`` in dry-run/live; the returned object's ``poll()`` runs at every ``bot_loop_start``
(Telegram's application is created in its own thread, so its commands are registered once it
exists). This package reads the guard through one small typed Protocol, ``view.GuardView``, and
never imports ``plugins.guard``.

Modules: ``view`` (the ``GuardView`` Protocol), ``selfcheck`` (the Freqtrade internals used,
pinned to ``TESTED_FREQTRADE``), ``status`` (the answers, pure), ``service`` (reads the running
bot), ``rest`` (routes under ``/api/v1/suite/``), ``telegram`` (commands), ``notify``
(``dp.send_msg``), ``llm_hooks`` (``/ideas``, ``/review``, ``/approve``), ``plot`` (the
``risk_state`` column), ``registry`` (``attach`` / ``poll``).
"""

from plugins.rpc.selfcheck import TESTED_FREQTRADE, RpcIntegrationError

__all__ = ["TESTED_FREQTRADE", "RpcIntegrationError"]
