"""Drift monitor: features far outside their recent range, and schema changes at the source.

A feature drifts when its latest observation lies more than ``z_threshold`` standard
deviations from the mean of its observations in the trailing ``window`` before it (default
3 sd over 30 days). A schema change is a ``ProviderSchemaError`` from a refresh (a missing or
renamed field). Each finding is logged once, with a clear line, and kept in ``status()``
until the next check of that provider replaces it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from plugins.altdata.contract import META_COLUMNS

logger = logging.getLogger(__name__)

DRIFT_WINDOW = pd.Timedelta(days=30)


@dataclass(frozen=True)
class DriftFinding:
    """One finding. ``kind``: ``outlier`` or ``schema``; ``z``: standard deviations (outliers)."""

    provider: str
    column: str
    kind: str
    detail: str
    observed_at: str
    z: float | None = None


class DriftMonitor:
    """Checks provider feature frames; thread-safe; ``status()`` is what REST/Telegram show.

    Args:
        z_threshold: standard deviations that count as drift (> 0).
        window: trailing span of observations the latest value is compared with.
        min_observations: fewer observations in the window -> no verdict.
    """

    def __init__(self, z_threshold: float = 3.0, window: pd.Timedelta = DRIFT_WINDOW,
                 min_observations: int = 10) -> None:
        self.z_threshold = z_threshold
        self.window = window
        self.min_observations = min_observations
        self._findings: dict[str, list[DriftFinding]] = {}
        self._lock = threading.Lock()

    def check(self, provider: str, frame: pd.DataFrame) -> list[DriftFinding]:
        """Check the latest observation of every value column of ``frame``; returns and
        stores the findings of ``provider`` (replacing its earlier ones)."""
        findings = []
        for column in (c for c in frame.columns if c not in META_COLUMNS):
            series = frame[column].dropna()
            if len(series) <= self.min_observations:
                continue
            last_at, last = series.index[-1], float(series.iloc[-1])
            past = series[(series.index >= last_at - self.window) & (series.index < last_at)]
            std = float(past.std()) if len(past) >= self.min_observations else np.nan
            if not std or np.isnan(std):
                continue
            z = (last - float(past.mean())) / std
            if abs(z) > self.z_threshold:
                finding = DriftFinding(provider, column, "outlier",
                                       f"{last:.6g} is {z:+.1f} sd from its {self.window.days}-day "
                                       f"mean {past.mean():.6g}", str(last_at), round(z, 2))
                logger.warning("Alt-data drift: %s.%s %s", provider, column, finding.detail)
                findings.append(finding)
        self._store(provider, findings)
        return findings

    def record_schema_error(self, provider: str, error: Exception) -> DriftFinding:
        """Record a schema change reported by a refresh (``ProviderSchemaError``)."""
        finding = DriftFinding(provider, "*", "schema", str(error),
                               str(pd.Timestamp.now(tz="UTC")))
        logger.warning("Alt-data schema change: %s: %s", provider, error)
        self._store(provider, [finding])
        return finding

    def _store(self, provider: str, findings: list[DriftFinding]) -> None:
        with self._lock:
            self._findings[provider] = findings

    def status(self) -> dict[str, list[dict]]:
        """Current findings per provider, as plain dicts (JSON-ready)."""
        with self._lock:
            return {name: [asdict(f) for f in found] for name, found in self._findings.items()}
