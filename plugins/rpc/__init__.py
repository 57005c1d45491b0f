"""Our Telegram commands, REST routes and notifications, registered into Freqtrade's RPC.

``attach(strategy)`` is called by ``RiskGuardMixin`` at ``bot_start`` in dry-run/live; the
returned object's ``poll()`` runs at every ``bot_loop_start`` (Telegram's application is created
in its own thread, so its commands are registered once it exists).
"""

from __future__ import annotations

from typing import Any


def attach(strategy: Any) -> Any:
    """Register the suite's RPC extensions for ``strategy``; ``None`` without Freqtrade RPC.

    Placeholder until ``plugins.rpc.registry`` lands: nothing is registered.
    """
    return None
