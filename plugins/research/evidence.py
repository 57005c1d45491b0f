"""The evidence file: everything a promotion decision needs from a sweep or walk-forward run.

A sweep (``python -m plugins.research sweep``), a walk-forward run or a hand-made study writes
one JSON file; ``python -m plugins.research promote --evidence FILE`` reads it. Selection among
many trials can only be deflated if **all** trials are in it, the failed ones counted too: the
Deflated Sharpe Ratio needs how many were run and how their Sharpe ratios spread, PBO needs
every trial's returns.

Schema (version 1; unknown keys are rejected)::

    {
      "schema_version": 1,
      "strategy": "RegimeMoE",             # the strategy class the trials are variants of
      "source": "sweep",                   # free text: sweep | walkforward | manual ...
      "created_at": "2025-01-31T12:00:00Z",# optional, ISO-8601
      "n_trials": 120,                     # trials actually run, failed ones included (>= trials listed)
      "selected": "t-017",                 # the candidate; default: the best daily Sharpe
      "days": ["2024-01-01", ...],         # UTC days of every trial's daily_returns, in order
      "trials": [
        {"id": "t-017", "family": "lightgbm", "state": "complete",
         "params": {"train_period_days": 30},   # free-form, for the reader
         "daily_returns": [0.001, -0.002, ...]} # fractions of the starting balance, one per day
      ],
      "windows": {                          # the variants x walk-forward windows matrix
        "metric": "return",                 # "return" (fraction per window) or "sharpe"
        "names": ["2024-01-01/2024-01-31", ...],   # test windows in time order
        "results": {"t-017": [0.012, -0.004, null, ...]}   # null = no result (counts as failed)
      },
      "haircut": {                          # optional: measured live vs backtest
        "measured_frac": 0.31,              # 1 - live profit / backtest profit, same period
        "source": "python -m plugins.research haircut --db ...", "trades": 57}
    }

Rules checked on load: trial ids unique and non-empty; ``n_trials`` >= the trials listed;
every ``daily_returns`` as long as ``days`` (``days`` required when any trial has returns),
finite; ``selected`` names a listed trial; each ``windows.results`` row as long as
``windows.names`` and named after a listed trial; ``measured_frac`` in [0, 1).
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SCHEMA_VERSION = 1


class EvidenceError(ValueError):
    """An evidence file that cannot be read or breaks the schema (the message names the
    file, the field and the fix)."""


class Trial(BaseModel):
    """One variant that was run. ``daily_returns``: fractions, aligned with ``Evidence.days``
    (None when the trial kept none, e.g. it failed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    family: str = Field(default="default", min_length=1)
    state: Literal["complete", "failed"] = "complete"
    params: dict[str, Any] = Field(default_factory=dict)
    daily_returns: list[float] | None = None


class WindowMatrix(BaseModel):
    """Out-of-sample result of each variant in each walk-forward test window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: Literal["return", "sharpe"] = "return"
    names: list[str] = Field(min_length=1)
    results: dict[str, list[float | None]] = Field(min_length=1)

    @model_validator(mode="after")
    def _rectangular(self) -> WindowMatrix:
        if len(set(self.names)) != len(self.names):
            raise ValueError("windows.names has duplicates")
        for trial, row in self.results.items():
            if len(row) != len(self.names):
                raise ValueError(f"windows.results[{trial!r}] has {len(row)} values for "
                                 f"{len(self.names)} windows")
        return self


class Haircut(BaseModel):
    """A measured haircut: ``measured_frac`` = 1 - live profit / backtest profit over the
    same period (0.3 = live made 30 % less), from ``source`` over ``trades`` live trades."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    measured_frac: float = Field(ge=0, lt=1)
    source: str = ""
    trades: int | None = Field(default=None, ge=0)


class Evidence(BaseModel):
    """A validated evidence file (module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    strategy: str | None = None
    source: str = "manual"
    created_at: datetime | None = None
    n_trials: int = Field(ge=1)
    selected: str | None = None
    days: list[date] | None = None
    trials: list[Trial] = Field(min_length=1)
    windows: WindowMatrix | None = None
    haircut: Haircut | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Evidence:
        ids = [t.id for t in self.trials]
        if len(set(ids)) != len(ids):
            raise ValueError("trial ids must be unique")
        if self.n_trials < len(ids):
            raise ValueError(f"n_trials ({self.n_trials}) is below the {len(ids)} trials listed; "
                             "count every trial run, failed ones too")
        if self.selected is not None and self.selected not in ids:
            raise ValueError(f"selected {self.selected!r} is not a listed trial id")
        with_returns = [t for t in self.trials if t.daily_returns is not None]
        if with_returns and self.days is None:
            raise ValueError("trials have daily_returns but 'days' (their UTC dates) is missing")
        for trial in with_returns:
            if len(trial.daily_returns) != len(self.days):
                raise ValueError(f"trial {trial.id!r} has {len(trial.daily_returns)} daily returns "
                                 f"for {len(self.days)} days")
            if not all(math.isfinite(r) for r in trial.daily_returns):
                raise ValueError(f"trial {trial.id!r} has a NaN or infinite daily return")
        if self.windows is not None:
            unknown = sorted(set(self.windows.results) - set(ids))
            if unknown:
                raise ValueError(f"windows.results names trials that are not listed: {unknown}")
        return self

    def trial(self, trial_id: str) -> Trial:
        """The listed trial ``trial_id`` (KeyError if absent)."""
        for trial in self.trials:
            if trial.id == trial_id:
                return trial
        raise KeyError(trial_id)


def load_evidence(path: Path) -> Evidence:
    """Read and validate an evidence file.

    Raises:
        EvidenceError: missing/unreadable file, invalid JSON, or a schema problem; the message
            lists each problem as ``<field path>: <problem>``.
    """
    try:
        raw = json.loads(Path(path).read_text())
    except OSError as err:
        raise EvidenceError(f"evidence file {path}: cannot read it ({err.strerror or err})") from err
    except json.JSONDecodeError as err:
        raise EvidenceError(f"evidence file {path}: not JSON ({err.msg} at line {err.lineno})") from err
    try:
        return Evidence.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}"
                             for e in err.errors())
        raise EvidenceError(f"evidence file {path} does not follow schema version "
                            f"{SCHEMA_VERSION} (see plugins/research/evidence.py): {problems}") from err


def returns_matrix(evidence: Evidence) -> pd.DataFrame:
    """Trials x days (float, fractions) of the trials that have daily returns; columns =
    ``evidence.days`` as UTC timestamps. Empty when none has."""
    rows = {t.id: t.daily_returns for t in evidence.trials if t.daily_returns is not None}
    if not rows:
        return pd.DataFrame()
    columns = pd.DatetimeIndex([pd.Timestamp(d, tz="UTC") for d in evidence.days])
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).astype("float64")


def window_matrix(evidence: Evidence) -> pd.DataFrame:
    """Variants x windows (float, NaN = no result) of ``evidence.windows``; empty when absent."""
    if evidence.windows is None:
        return pd.DataFrame()
    w = evidence.windows
    return pd.DataFrame.from_dict(
        {k: [np.nan if v is None else v for v in row] for k, row in w.results.items()},
        orient="index", columns=w.names).astype("float64")


def families(evidence: Evidence) -> dict[str, str]:
    """Trial id -> family."""
    return {t.id: t.family for t in evidence.trials}
