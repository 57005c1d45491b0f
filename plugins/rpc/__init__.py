"""Our Telegram commands, REST routes and notifications, registered into Freqtrade's RPC.

``attach(strategy)`` is called by ``RiskGuardMixin`` at ``bot_start`` in dry-run/live; the
returned object's ``poll()`` runs at every ``bot_loop_start`` (Telegram's application is created
in its own thread, so its commands are registered once it exists).

Modules: ``selfcheck`` (the Freqtrade internals used, pinned to ``TESTED_FREQTRADE``),
``status`` (the answers, pure), ``service`` (reads the running bot), ``rest`` (routes under
``/api/v1/suite/``), ``telegram`` (commands), ``notify`` (``dp.send_msg``), ``llm_hooks``
(``/ideas``, ``/review``, ``/approve``), ``plot`` (the ``risk_state`` column), ``registry``
(``attach`` / ``poll``).
"""

from __future__ import annotations

from typing import Any

from plugins.rpc.selfcheck import TESTED_FREQTRADE, RpcIntegrationError

__all__ = ["TESTED_FREQTRADE", "RpcIntegrationError", "attach"]


def attach(strategy: Any) -> Any:
    """Register the suite's RPC extensions for ``strategy``; ``None`` without Freqtrade RPC.

    See :func:`plugins.rpc.registry.attach` (imported here lazily: FastAPI and
    python-telegram-bot are only needed in dry-run/live).

    Raises:
        RpcIntegrationError: a Freqtrade internal the registration needs is missing.
    """
    from plugins.rpc.registry import attach as attach_rpc

    return attach_rpc(strategy)
