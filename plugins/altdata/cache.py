"""The alternative-data cache: one parquet file per provider under ``user_data/altdata/``.

The cache is bitemporal: it keeps every version of every observation with the time it became
known (``versions`` describes the frame). A first release is stored with the source's own
publication time (``available_at`` from the provider); a later fetch that returns another value
for a cached observation - a revision - is stored as the next version, known from the time it
was fetched (never earlier than the source's publication time). Nothing is overwritten, so a
backtest sees each value only from when it could have been known (``merge`` serves each
candle what was known at its close), and live trading and a later backtest of the same days
see the same thing.

Each file holds the versions frame and, in the parquet schema metadata under ``ai_suite``, the
schema version, provider name and columns. Schema 1 files (before versions) load as version 1
of every observation. A file written with other columns (another provider configuration) is
ignored (logged) and rebuilt from the source by the next refresh. A file that is not readable
parquet, has metadata that is not JSON, or lacks a column or has one of the wrong dtype is
rejected with ``CacheCorruptError`` naming the file and the fix - not rebuilt silently, since
it may hold revisions the source no longer serves. Writes are atomic (``plugins.core.atomic``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from plugins.altdata.contract import AVAILABLE_AT, OBSERVED_AT, VERSION, AltDataProvider
from plugins.altdata.errors import CacheCorruptError
from plugins.altdata.versions import first_release, with_versions
from plugins.core.atomic import atomic_write

logger = logging.getLogger(__name__)

#: Bump when the cached layout changes. 2: every version (``version`` column); 1 (no
#: versions) is read as version 1 of every observation.
SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)
_META_KEY = b"ai_suite"
#: Incremental refreshes re-fetch this much before the last cached observation (revisions).
REFRESH_OVERLAP = pd.Timedelta(days=7)


def utc_now() -> pd.Timestamp:
    """Wall clock, UTC."""
    return pd.Timestamp.now(tz="UTC")


def _corrupt(path: Path, problem: str) -> CacheCorruptError:
    return CacheCorruptError(
        f"Alt-data cache {path} {problem}. It is not rebuilt automatically (it may hold "
        "revisions the source no longer serves): move it away or delete it, then run "
        "`python -m plugins.altdata import-shared` (shipped data) or `python -m plugins.altdata "
        "download` (from the API).")


def _is_utc(values: object) -> bool:
    dtype = getattr(values, "dtype", None)
    return isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC"


def _check_layout(path: Path, frame: pd.DataFrame, provider: AltDataProvider) -> None:
    """Raise ``CacheCorruptError`` unless ``frame`` is a versions frame of ``provider``."""
    if not isinstance(frame.index, pd.DatetimeIndex) or not _is_utc(frame.index):
        raise _corrupt(path, f"has no observed_at index of UTC timestamps (index dtype "
                             f"{frame.index.dtype})")
    for column in (*provider.columns, AVAILABLE_AT, VERSION):
        if column not in frame.columns:
            raise _corrupt(path, f"has no {column!r} column (columns: {', '.join(frame.columns)})")
    wrong = [c for c in provider.columns if frame[c].dtype != "float64"]
    if wrong:
        raise _corrupt(path, f"has value column(s) {', '.join(map(repr, wrong))} of dtype "
                             f"{frame[wrong[0]].dtype}, not float64")
    if not _is_utc(frame[AVAILABLE_AT]):
        raise _corrupt(path, f"has an 'available_at' column of dtype {frame[AVAILABLE_AT].dtype}, "
                             "not UTC timestamps")
    if frame[AVAILABLE_AT].isna().any():
        raise _corrupt(path, f"has 'available_at' missing in {int(frame[AVAILABLE_AT].isna().sum())}"
                             " row(s)")
    if frame[VERSION].dtype != "int64" or (frame[VERSION] < 1).any():
        raise _corrupt(path, f"has a 'version' column of dtype {frame[VERSION].dtype} or below 1 "
                             "(expected int64 >= 1)")
    if pd.MultiIndex.from_arrays([frame.index, frame[VERSION]]).duplicated().any():
        raise _corrupt(path, "has an observation with the same 'version' twice")


class AltDataCache:
    """Parquet cache of provider versions frames.

    Args:
        root: cache folder, e.g. ``user_data/altdata``.
        clock: current time (UTC ``Timestamp``): when a fetched revision became known, unless
            ``update`` / ``refresh`` are given ``known_at``.
    """

    def __init__(self, root: Path, clock: Callable[[], pd.Timestamp] = utc_now) -> None:
        self.root = Path(root)
        self.clock = clock

    def path(self, name: str) -> Path:
        """File of provider ``name``: ``<root>/<name>.parquet``."""
        return self.root / f"{name}.parquet"

    def read_versions(self, provider: AltDataProvider) -> pd.DataFrame | None:
        """Every cached version of ``provider``'s observations (``versions`` module docstring:
        index ``observed_at``, value columns, ``available_at``, ``version``), or ``None`` if
        there is no file or it was written for other columns (logged; rebuilt by the next
        refresh).

        Raises:
            CacheCorruptError: the file is not readable parquet, its metadata is not JSON, or
                a column is missing or of the wrong dtype (the message names the file, the
                problem and the fix).
        """
        path = self.path(provider.name)
        if not path.is_file():
            return None
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as err:
            raise _corrupt(path, f"is not a readable parquet file ({err})") from err
        try:
            meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise _corrupt(path, f"has metadata ({_META_KEY.decode()}) that is not JSON "
                                 f"({err})") from err
        if not isinstance(meta, dict):
            raise _corrupt(path, f"has metadata ({_META_KEY.decode()}) that is not a JSON object")
        if meta.get("schema_version") not in READABLE_SCHEMAS or meta.get("columns") != list(
                provider.columns):
            logger.warning("Alt-data cache %s has schema %s / columns %s, expected %s / %s; "
                           "it will be rebuilt", path, meta.get("schema_version"),
                           meta.get("columns"), SCHEMA_VERSION, list(provider.columns))
            return None
        frame = table.to_pandas()
        if meta["schema_version"] == 1:
            frame = with_versions(frame)
        _check_layout(path, frame, provider)
        frame.index.name = OBSERVED_AT
        return frame.sort_values([OBSERVED_AT, VERSION], kind="stable")

    def read(self, provider: AltDataProvider) -> pd.DataFrame | None:
        """``provider``'s cached first releases: a provider frame (unique ``observed_at``, value
        columns, ``available_at``), or ``None`` (see ``read_versions``). Never shows a revision;
        strategies get revisions as they became known through ``read_versions`` and the
        point-in-time merge."""
        versions = self.read_versions(provider)
        return None if versions is None else first_release(versions)

    def write(self, provider: AltDataProvider, frame: pd.DataFrame) -> None:
        """Replace the cached versions of ``provider`` atomically (a provider frame is written
        as version 1 of each observation)."""
        frame = with_versions(frame)[[*provider.columns, AVAILABLE_AT, VERSION]]
        table = pa.Table.from_pandas(frame, preserve_index=True)
        meta = {"schema_version": SCHEMA_VERSION, "provider": provider.name,
                "columns": list(provider.columns)}
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), _META_KEY: json.dumps(meta).encode()})
        atomic_write(self.path(provider.name), lambda tmp: pq.write_table(table, tmp))

    def update(self, provider: AltDataProvider, new: pd.DataFrame,
               known_at: pd.Timestamp | None = None) -> pd.DataFrame:
        """Add what ``new`` (a provider frame, as fetched) tells beyond the cache, write, and
        return every version.

        An observation not cached yet is stored as version 1 with its ``available_at``. One
        whose values differ from its latest cached version (NaN equals NaN) is a revision:
        stored as the next version, known from ``max(known_at, its available_at)``. Equal
        values add nothing.

        Args:
            known_at: when ``new`` was fetched (UTC; default: ``clock()``).
        """
        known_at = self.clock() if known_at is None else known_at
        new = new[[*provider.columns, AVAILABLE_AT]]
        old = self.read_versions(provider)
        if old is None or old.empty:
            combined = with_versions(new)
        else:
            latest = old[~old.index.duplicated(keep="last")]
            fresh = new[~new.index.isin(latest.index)]
            seen = new[new.index.isin(latest.index)]
            before = latest.loc[seen.index, list(provider.columns)].to_numpy(dtype="float64")
            after = seen[list(provider.columns)].to_numpy(dtype="float64")
            same = ((before == after) | (np.isnan(before) & np.isnan(after))).all(axis=1)
            revised = seen[~same].copy()
            if len(revised):
                revised[VERSION] = latest.loc[revised.index, VERSION].to_numpy() + 1
                revised[AVAILABLE_AT] = revised[AVAILABLE_AT].clip(lower=known_at)
                logger.info("%s: %d revised observation(s) (%s .. %s), known from %s",
                            provider.name, len(revised), revised.index.min(),
                            revised.index.max(), known_at)
            combined = pd.concat([old, with_versions(fresh), revised])
        combined.index.name = OBSERVED_AT
        combined = combined.sort_values([OBSERVED_AT, VERSION], kind="stable")
        combined[VERSION] = combined[VERSION].astype("int64")
        self.write(provider, combined)
        return combined[[*provider.columns, AVAILABLE_AT, VERSION]]

    def refresh(self, provider: AltDataProvider, end: pd.Timestamp,
                start: pd.Timestamp | None = None,
                overlap: pd.Timedelta = REFRESH_OVERLAP,
                known_at: pd.Timestamp | None = None) -> pd.DataFrame:
        """Incremental refresh: fetch from the last cached observation minus ``overlap``
        (revisions) - or from ``start`` when nothing is cached - up to ``end``; store (a
        changed value as a revision known at ``known_at``, default ``clock()``); return every
        version.

        Raises:
            ProviderUnavailableError / ProviderSchemaError: from ``provider.fetch``; the cache
                is then left as it was.
        """
        known_at = self.clock() if known_at is None else known_at
        cached = self.read_versions(provider)
        if cached is not None and not cached.empty:
            since = cached.index.max() - overlap
        else:
            since = start if start is not None else pd.Timestamp("2015-01-01", tz="UTC")
        fresh = provider.fetch(since, end)
        return self.update(provider, fresh, known_at=known_at)
