"""Segregated state of paper and live trading: separate folders, files and logs.

``<state_dir>/paper/`` and ``<state_dir>/live/`` never share a file, and a session only ever
opens the folder of its own mode (``StatePaths.for_mode``), so a paper run cannot read or
change live state and vice versa (seed 003: "separate state, separate storage, separate logs,
and separate broker connections"). Each folder holds:

- ``ledger/<strategy>.json``: positions attributed to each strategy
  (``reconcile.AttributionLedger``), written atomically (``plugins.core.atomic``);
- ``journal.sqlite``: the decision journal (``plugins.risk.journal``; read it with
  ``python -m plugins.risk journal --file <it>``);
- ``orders.jsonl``: every order event of the session (submitted, accepted, fills, cancels,
  rejects with reason), one JSON object per line, appended;
- ``logs/alpaca.log``: the adapter's log of that mode.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.alpaca.config import AlpacaConfig, Mode

LOGGER_NAME = "adapters.alpaca"


@dataclass(frozen=True)
class StatePaths:
    """The files of one mode (module docstring)."""

    mode: Mode
    root: Path

    @classmethod
    def for_mode(cls, config: AlpacaConfig, mode: Mode) -> StatePaths:
        return cls(mode=mode, root=config.mode_dir(mode))

    @property
    def ledger(self) -> Path:
        return self.root / "ledger"

    @property
    def journal(self) -> Path:
        return self.root / "journal.sqlite"

    @property
    def order_log(self) -> Path:
        return self.root / "orders.jsonl"

    @property
    def log_file(self) -> Path:
        return self.root / "logs" / "alpaca.log"


def attach_log_file(paths: StatePaths) -> logging.Handler:
    """Log the adapter (``adapters.alpaca.*``) of this mode to ``paths.log_file`` as well;
    returns the handler (remove it with ``logging.getLogger(LOGGER_NAME).removeHandler``)."""
    paths.log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(paths.log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s [{paths.mode}] %(name)s: %(message)s"))
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    return handler


class OrderLog:
    """Append-only JSON-lines log of order events (thread-safe).

    Each line: ``{"ts": ISO UTC, "event": ..., "strategy": ..., "symbol": ..., ...}``; money in
    USD, quantities in shares. Audit only: nothing is read back to trade.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, event: str, ts: datetime | None = None, **fields: Any) -> None:
        row = {"ts": (ts or datetime.now(UTC)).astimezone(UTC).isoformat(), "event": event, **fields}
        line = json.dumps(row, default=str)
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def read(self) -> list[dict]:
        """Every event so far, oldest first."""
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]
