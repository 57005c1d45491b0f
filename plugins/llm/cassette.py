"""Cassettes: Messages API request/response pairs stored by prompt hash.

The prompt hash is the sha256 of the request as sent (model, max_tokens, system, messages,
tools, tool_choice, output_config), serialised canonically (sorted keys, no whitespace). The
same prompt therefore always maps to the same file, ``<cassette_dir>/<hash>.json``::

    {"prompt_hash": "...", "hook": "ideas", "model": "...", "recorded_at": "...",
     "request": {...as sent...}, "response": {...the Messages API answer as received...}}

Replaying a cassette returns the stored answer without any network call, so reruns and tests
cost nothing and a backtest that reads LLM verdicts sees the same verdicts every time. Secrets
never enter a cassette: the key travels in a header, and headers are not stored. Writes are
atomic (``plugins.core.atomic``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from plugins.core.atomic import atomic_write

logger = logging.getLogger(__name__)


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON text (sorted keys, no whitespace, UTF-8 kept)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def prompt_hash(request: dict) -> str:
    """sha256 hex of the canonical JSON of a Messages API request body."""
    return prompt_hash_of(canonical_json(request))


def prompt_hash_of(canonical: str) -> str:
    """sha256 hex of already canonical JSON text."""
    return hashlib.sha256(canonical.encode()).hexdigest()


class CassetteStore:
    """Prompt-hash keyed request/response store (see the module docstring).

    Args:
        root: the cassette folder (created on the first write).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """File of prompt hash ``key``."""
        return self.root / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The stored response of prompt hash ``key``, or None when there is none.

        A file that cannot be read or parsed is logged and treated as absent (it is then
        re-recorded in ``auto``/``record`` mode, or reported as a miss in ``replay`` mode).
        """
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            response = data["response"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            logger.warning("Cassette %s unreadable (%s); treated as missing", path, err)
            return None
        if not isinstance(response, dict):
            logger.warning("Cassette %s holds no response object; treated as missing", path)
            return None
        return response

    def put(self, key: str, hook: str, request: dict, response: dict, recorded_at: datetime) -> Path:
        """Store one pair atomically (replacing any earlier recording of the same prompt)."""
        data = {"prompt_hash": key, "hook": hook, "model": request.get("model"),
                "recorded_at": recorded_at.isoformat(), "request": request, "response": response}
        text = json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        path = self.path(key)
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return path

    def keys(self) -> list[str]:
        """Prompt hashes stored, sorted."""
        return sorted(p.stem for p in self.root.glob("*.json")) if self.root.is_dir() else []
