"""Bitemporal series: from every version of every observation to what was known when.

A *versions frame* (what ``AltDataCache.read_versions`` returns) holds each observation once
per version: index ``observed_at`` (UTC, repeated across versions), the value columns,
``available_at`` (when that version became known: the source's publication time for version 1,
the time it was fetched for a revision) and ``version`` (int64, 1 = first release), sorted by
(``observed_at``, ``version``).

What a strategy may use at time t is the *latest observation known at t*, in its *latest
version known at t* - and every derived feature (``diff:7``, ``z:30`` ...) computed from the
series as it was known at t, older observations in their versions known at t. An *as-known
timeline* (``as_known_timeline``) lists exactly that, one row per moment the answer changes,
with ``available_at`` = that moment; a backward as-of merge on ``available_at`` (``merge``)
then serves each candle what was known at its close. ``first_available_at`` keeps when the
served observation was first published, so staleness is the observation's age, not the age of
its latest revision (a week-old day revised today is still a week old).

Computation: knowledge changes by *regular* arrivals (a first release newer than every
observation known before) and *irregular* ones (a revision, or a first release older than one
already known). Between two irregular arrivals the series only grows at its end, so one
transform of the series as known at the end of such a segment gives, for each regular arrival,
the value of the transform at that arrival (a transform uses only its own and earlier
observations, like ``feature_sets.derive_features``); at each irregular arrival the head is
recomputed. Cost: one transform per segment, so the number of distinct revision times plus one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from plugins.altdata.contract import (
    AVAILABLE_AT,
    FIRST_AVAILABLE_AT,
    META_COLUMNS,
    OBSERVED_AT,
    VERSION,
)

Transform = Callable[[pd.DataFrame], pd.DataFrame]


def value_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that hold values (all but ``META_COLUMNS``)."""
    return [c for c in frame.columns if c not in META_COLUMNS]


def with_versions(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a versions frame: a provider frame (no ``version`` column, one row per
    observation) becomes all version 1; a versions frame is returned as it is."""
    if VERSION in frame.columns:
        return frame
    return frame.assign(**{VERSION: np.ones(len(frame), dtype="int64")})


def first_release(versions: pd.DataFrame) -> pd.DataFrame:
    """Each observation's version 1: a provider frame (unique ``observed_at``, sorted; value
    columns and ``available_at``) that never shows a revision - what was first published."""
    first = versions[versions[VERSION] == 1] if VERSION in versions.columns else versions
    return first[[*value_columns(first), AVAILABLE_AT]].sort_index(kind="stable")


def as_known_timeline(versions: pd.DataFrame, transform: Transform | None = None, *,
                      lookback: int | None = None,
                      counted: list[str] | None = None) -> pd.DataFrame:
    """What was known when (module docstring): one row per moment the latest known state of the
    series - after ``transform`` - changes.

    Args:
        versions: a versions frame (or a provider frame: all version 1).
        transform: snapshot -> frame, e.g. ``lambda s: derive_features(name, s)``. A snapshot
            is a provider frame (unique ``observed_at`` ascending, value columns,
            ``available_at``); the result must keep (a subset of) its index, each row using
            only its own and earlier observations. Default: the value columns.
        lookback: how many earlier observations a transformed row may use at most (``diff:7``:
            7); snapshots of a revision are then cut to that many before the latest
            observation (faster, same result). ``None``: the whole series every time.
        counted: with ``lookback``, the columns that make an observation count (one of them
            not NaN); default all value columns (``derive_features`` skips observations
            whose source columns are all NaN: pass its source columns).

    Returns:
        Index ``observed_at`` (UTC; repeated when an observation's value changed after it was
        first served), the transform's value columns (float64), ``available_at`` (when the row
        became known) and ``first_available_at`` (when its observation was first published),
        sorted by (``available_at``, ``observed_at``). For a series without revisions,
        published in observation order, this is ``transform`` of the whole series with
        ``first_available_at`` = ``available_at``.
    """
    versions = with_versions(versions)
    transform = transform or (lambda snap: snap[[*value_columns(snap), AVAILABLE_AT]])
    columns = value_columns(versions)
    if versions.empty:
        out = transform(versions[[*columns, AVAILABLE_AT]])
        return out.assign(**{FIRST_AVAILABLE_AT: out[AVAILABLE_AT]})
    rows = versions.rename_axis(OBSERVED_AT).reset_index()
    rows = rows.sort_values([AVAILABLE_AT, OBSERVED_AT, VERSION], kind="stable")
    rows = rows.reset_index(drop=True)
    observed = rows[OBSERVED_AT].to_numpy()
    newest_before = np.concatenate([observed[:1], np.maximum.accumulate(observed)[:-1]])
    regular = (rows[VERSION].to_numpy() == 1) & ((observed > newest_before) | (rows.index == 0))
    available = rows[AVAILABLE_AT]
    boundaries = list(pd.unique(available[~regular]))
    state = _State(rows, columns, counted or columns)
    parts = []
    for start, end in zip([None, *boundaries], [*boundaries, None], strict=True):
        upto = len(rows) if end is None else int(np.searchsorted(available, end, side="left"))
        state.apply(upto)
        head = state.head_before(start) if start is not None else None
        snapshot = state.snapshot(head, lookback)
        derived = transform(snapshot).drop(columns=[AVAILABLE_AT], errors="ignore")
        arriving = regular[:upto] & (np.ones(upto, bool) if start is None
                                     else (available[:upto] > start).to_numpy())
        served = derived[derived.index.isin(rows.loc[np.flatnonzero(arriving), OBSERVED_AT])]
        first_at = state.first_available(served.index)
        parts.append(served.assign(**{AVAILABLE_AT: first_at, FIRST_AVAILABLE_AT: first_at}))
        if head is not None:
            at_head = derived[derived.index <= head].iloc[-1:]
            parts.append(at_head.assign(**{AVAILABLE_AT: start,
                                           FIRST_AVAILABLE_AT: state.first_available(at_head.index)}))
    out = pd.concat(parts) if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        out.index.name = OBSERVED_AT
        out = out.reset_index().sort_values([AVAILABLE_AT, OBSERVED_AT], kind="stable")
        out = out.set_index(OBSERVED_AT)
    return out


class _State:
    """The series as known after the first ``n`` rows (in publication order) were applied:
    per observation its highest version's values and ``available_at``, and when it was first
    published. Arrays indexed by the observation's rank among all observation times."""

    def __init__(self, rows: pd.DataFrame, columns: list[str], counted: list[str]) -> None:
        self.rows = rows
        self.columns = columns
        observed = pd.DatetimeIndex(rows[OBSERVED_AT])
        self.times = observed.unique().sort_values()
        self.rank = np.searchsorted(self.times.asi8, observed.asi8)
        self.all_values = rows[columns].to_numpy(dtype="float64")
        self.all_counted = rows[counted].notna().to_numpy().any(axis=1)
        self.all_versions = rows[VERSION].to_numpy()
        self.available = rows[AVAILABLE_AT]
        self.available_array = rows[AVAILABLE_AT].array  # tz-aware, indexable by position
        n = len(self.times)
        self.values = np.full((n, len(columns)), np.nan)
        self.counts = np.zeros(n, dtype=bool)
        self.version = np.zeros(n, dtype="int64")
        self.latest_row = np.full(n, -1)
        self.first_row = np.full(n, -1)
        self.applied = 0

    def apply(self, upto: int) -> None:
        """Apply rows ``applied .. upto - 1`` (each replaces an observation's lower version)."""
        for i in range(self.applied, upto):
            r = self.rank[i]
            if self.first_row[r] < 0:
                self.first_row[r] = i
            if self.all_versions[i] >= self.version[r]:
                self.version[r] = self.all_versions[i]
                self.values[r] = self.all_values[i]
                self.counts[r] = self.all_counted[i]
                self.latest_row[r] = i
        self.applied = max(self.applied, upto)

    def head_before(self, at) -> pd.Timestamp:
        """The newest observation published at or before ``at`` (rows applied so far)."""
        upto = int(np.searchsorted(self.available.iloc[: self.applied], at, side="right"))
        return self.times[self.rank[:upto].max()]

    def snapshot(self, head: pd.Timestamp | None, lookback: int | None) -> pd.DataFrame:
        """The known series (a provider frame), cut to ``lookback`` counted observations
        before ``head`` when both are given."""
        known = np.flatnonzero(self.latest_row >= 0)
        if head is not None and lookback is not None:
            h = int(self.times.searchsorted(head))
            before = known[(known < h) & self.counts[known]]
            lo = before[-lookback] if len(before) >= lookback > 0 else (h if lookback == 0 else 0)
            known = known[known >= min(lo, h)]
        frame = pd.DataFrame(self.values[known], columns=self.columns,
                             index=self.times[known].rename(OBSERVED_AT))
        frame[AVAILABLE_AT] = self.available_array[self.latest_row[known]]
        return frame

    def first_available(self, observed: pd.Index) -> pd.api.extensions.ExtensionArray:
        """When each of ``observed`` was first published (UTC)."""
        ranks = np.searchsorted(self.times.asi8, pd.DatetimeIndex(observed).asi8)
        return self.available_array[self.first_row[ranks]]
