"""The Freqtrade config overlay that aims ccxt at a replay exchange."""

from __future__ import annotations

import copy
import json
from pathlib import Path

#: ``config/offline.json``: ccxt's Binance URLs on 127.0.0.1:18765, spot markets only
OFFLINE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "offline.json"


def offline_overlay(api_url: str) -> dict:
    """``config/offline.json`` with every ccxt API URL (sync and async) replaced by
    ``api_url`` (e.g. ``ReplayServer.api_url``, ``http://127.0.0.1:PORT/api/v3``).

    Raises:
        FileNotFoundError: ``config/offline.json`` is missing from the checkout.
    """
    overlay = copy.deepcopy(json.loads(OFFLINE_CONFIG.read_text()))
    for key in ("ccxt_config", "ccxt_async_config"):
        overlay["exchange"][key]["urls"]["api"] = dict.fromkeys(("public", "private", "sapi"),
                                                                api_url)
    return overlay
