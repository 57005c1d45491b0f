"""The alternative-data cache: one parquet file per provider under ``user_data/altdata/``.

Each file holds a finalized provider frame (see ``contract``) and, in the parquet schema
metadata under ``ai_suite``, the schema version, provider name and columns. A file written by
another schema version or with other columns is ignored (logged) and rebuilt from the source
by the next refresh. Writes are atomic (``plugins.core.atomic``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from plugins.altdata.contract import AVAILABLE_AT, OBSERVED_AT, AltDataProvider
from plugins.core.atomic import atomic_write

logger = logging.getLogger(__name__)

#: Bump when the cached layout changes; older files are then rebuilt.
SCHEMA_VERSION = 1
_META_KEY = b"ai_suite"
#: Incremental refreshes re-fetch this much before the last cached observation (revisions).
REFRESH_OVERLAP = pd.Timedelta(days=7)


class AltDataCache:
    """Parquet cache of provider frames.

    Args:
        root: cache folder, e.g. ``user_data/altdata``.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, name: str) -> Path:
        """File of provider ``name``: ``<root>/<name>.parquet``."""
        return self.root / f"{name}.parquet"

    def read(self, provider: AltDataProvider) -> pd.DataFrame | None:
        """The cached frame of ``provider``, or ``None`` if absent or of another schema."""
        path = self.path(provider.name)
        if not path.is_file():
            return None
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowInvalid) as err:
            logger.warning("Alt-data cache %s unreadable (%s); it will be rebuilt", path, err)
            return None
        meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
        if meta.get("schema_version") != SCHEMA_VERSION or meta.get("columns") != list(
                provider.columns):
            logger.warning("Alt-data cache %s has schema %s / columns %s, expected %s / %s; "
                           "it will be rebuilt", path, meta.get("schema_version"),
                           meta.get("columns"), SCHEMA_VERSION, list(provider.columns))
            return None
        return table.to_pandas()

    def write(self, provider: AltDataProvider, frame: pd.DataFrame) -> None:
        """Replace the cached frame of ``provider`` atomically."""
        table = pa.Table.from_pandas(frame, preserve_index=True)
        meta = {"schema_version": SCHEMA_VERSION, "provider": provider.name,
                "columns": list(provider.columns)}
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), _META_KEY: json.dumps(meta).encode()})
        atomic_write(self.path(provider.name), lambda tmp: pq.write_table(table, tmp))

    def update(self, provider: AltDataProvider, new: pd.DataFrame) -> pd.DataFrame:
        """Merge ``new`` rows into the cache (new rows win on equal ``observed_at``), write,
        and return the merged frame."""
        old = self.read(provider)
        if old is not None and not old.empty:
            combined = pd.concat([old[~old.index.isin(new.index)], new]).sort_index()
        else:
            combined = new.sort_index()
        combined.index.name = OBSERVED_AT
        self.write(provider, combined[[*provider.columns, AVAILABLE_AT]])
        return combined

    def refresh(self, provider: AltDataProvider, end: pd.Timestamp,
                start: pd.Timestamp | None = None,
                overlap: pd.Timedelta = REFRESH_OVERLAP) -> pd.DataFrame:
        """Incremental refresh: fetch from the last cached observation minus ``overlap``
        (revisions) - or from ``start`` when nothing is cached - up to ``end``; store; return
        the whole cached frame.

        Raises:
            ProviderUnavailableError / ProviderSchemaError: from ``provider.fetch``; the cache
                is then left as it was.
        """
        cached = self.read(provider)
        if cached is not None and not cached.empty:
            since = cached.index.max() - overlap
        else:
            since = start if start is not None else pd.Timestamp("2015-01-01", tz="UTC")
        fresh = provider.fetch(since, end)
        return self.update(provider, fresh)
