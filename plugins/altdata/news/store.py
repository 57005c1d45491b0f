"""Where headlines and their scores are kept: ``<cache_dir>/news/``.

- ``<provider>.parquet``: the provider's headline frame (``schema``). Append-only: a headline
  once stored is never changed (a later fetch of the same ``headline_id`` adds nothing), so a
  backtest re-run later sees the same headlines with the same times.
- ``scores.parquet``: one row per (``content_hash``, ``scorer``): ``score`` (float64, -1..1,
  negative = bearish tone), ``scored_at`` (UTC, when it was scored). A headline's title is
  scored once per scorer version; an abstention is not stored (a later run may score it).

Writes are atomic (``plugins.core.atomic``); a file that cannot be read or lacks a column raises
``CacheCorruptError`` naming the file and the fix.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.errors import CacheCorruptError
from plugins.altdata.news.schema import (
    CONTENT_HASH,
    HEADLINE_COLUMNS,
    HEADLINE_ID,
    PUBLISHED_AT,
    SOURCE,
    empty_headlines,
)
from plugins.core.atomic import atomic_write

logger = logging.getLogger(__name__)

SCORER = "scorer"
SCORE = "score"
SCORED_AT = "scored_at"
SCORE_COLUMNS = (CONTENT_HASH, SCORER, SCORE, SCORED_AT)


def _corrupt(path: Path, problem: str) -> CacheCorruptError:
    return CacheCorruptError(
        f"News cache {path} {problem}. Move it away or delete it, then run `python -m "
        "plugins.altdata import-shared` (shipped headlines) or `download` (from the sources).")


def _read(path: Path, columns: Iterable[str]) -> pd.DataFrame:
    try:
        frame = pq.read_table(path).to_pandas()
    except (OSError, pa.ArrowException) as err:
        raise _corrupt(path, f"is not a readable parquet file ({err})") from err
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise _corrupt(path, f"has no {', '.join(map(repr, missing))} column")
    return frame


def _write(path: Path, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


class NewsStore:
    """Append-only headline files, one per provider (module docstring).

    Args:
        root: the folder (``<cache_dir>/news``).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def path(self, provider: str) -> Path:
        """``<root>/<provider>.parquet``."""
        return self.root / f"{provider}.parquet"

    def read(self, provider: str) -> pd.DataFrame:
        """The stored headline frame of ``provider`` (empty when there is no file).

        Raises:
            CacheCorruptError: unreadable, or a column missing.
        """
        path = self.path(provider)
        if not path.is_file():
            return empty_headlines()
        frame = _read(path, HEADLINE_COLUMNS)[list(HEADLINE_COLUMNS)]
        for column in (PUBLISHED_AT, AVAILABLE_AT):
            if not isinstance(frame[column].dtype, pd.DatetimeTZDtype):
                raise _corrupt(path, f"has a {column!r} column of dtype {frame[column].dtype}, "
                                     "not UTC timestamps")
            frame[column] = frame[column].dt.tz_convert("UTC").dt.as_unit("ns")
        return frame

    def update(self, provider: str, new: pd.DataFrame) -> pd.DataFrame:
        """Add the headlines of ``new`` (a headline frame) not stored yet; write; return all.

        Raises:
            CacheCorruptError: the stored file is unreadable.
        """
        with self._lock:
            old = self.read(provider)
            fresh = new[~new[HEADLINE_ID].isin(old[HEADLINE_ID])]
            combined = fresh if old.empty else pd.concat([old, fresh], ignore_index=True)
            combined = combined.sort_values([PUBLISHED_AT, HEADLINE_ID], kind="stable")
            combined = combined.reset_index(drop=True)[list(HEADLINE_COLUMNS)]
            if len(fresh) or not self.path(provider).is_file():
                _write(self.path(provider), combined)
            logger.info("news %s: %d new headline(s), %d stored", provider, len(fresh), len(combined))
            return combined

    def read_all(self, providers: Iterable[str]) -> pd.DataFrame:
        """The headlines of ``providers`` together. The same title from the same source (one
        story delivered by two providers, or posted twice) is kept once, at its earliest
        ``available_at``. Sorted by ``available_at``.

        Raises:
            CacheCorruptError: a file is unreadable.
        """
        frames = [f for f in (self.read(p) for p in providers) if not f.empty]
        if not frames:
            return empty_headlines()
        frame = pd.concat(frames, ignore_index=True).sort_values(
            [AVAILABLE_AT, HEADLINE_ID], kind="stable")
        frame = frame[~frame.duplicated([CONTENT_HASH, SOURCE], keep="first")]
        return frame.reset_index(drop=True)


class ScoreCache:
    """Scores by (content hash, scorer version) in ``<root>/scores.parquet`` (module docstring).

    Args:
        root: the folder (``<cache_dir>/news``).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._frame: pd.DataFrame | None = None

    @property
    def path(self) -> Path:
        return self.root / "scores.parquet"

    def _load(self) -> pd.DataFrame:
        if self._frame is None:
            if self.path.is_file():
                frame = _read(self.path, SCORE_COLUMNS)[list(SCORE_COLUMNS)]
                frame[SCORE] = frame[SCORE].astype("float64")
            else:
                frame = pd.DataFrame({CONTENT_HASH: pd.Series(dtype="object"),
                                      SCORER: pd.Series(dtype="object"),
                                      SCORE: pd.Series(dtype="float64"),
                                      SCORED_AT: pd.Series(dtype="datetime64[ns, UTC]")})
            self._frame = frame
        return self._frame

    def get(self, scorer: str, hashes: Iterable[str]) -> pd.Series:
        """Scores of ``scorer`` for ``hashes`` (float64 indexed by hash; NaN = not scored).

        Raises:
            CacheCorruptError: the file is unreadable.
        """
        hashes = pd.Index(list(hashes))
        with self._lock:
            frame = self._load()
        known = frame[frame[SCORER] == scorer].drop_duplicates(CONTENT_HASH, keep="last")
        known = known.set_index(CONTENT_HASH)[SCORE]
        return known.reindex(hashes).astype("float64")

    def put(self, scorer: str, scores: Mapping[str, float], scored_at: pd.Timestamp) -> int:
        """Store ``{content hash: score}`` of ``scorer`` (finite values in -1..1 only; the rest
        are logged and skipped); returns how many were stored."""
        rows = {h: float(s) for h, s in scores.items()
                if s is not None and np.isfinite(s) and -1.0 <= float(s) <= 1.0}
        if len(rows) < len(scores):
            logger.warning("news scores: %d of %d %s score(s) missing or outside [-1, 1] not "
                           "stored (abstained)", len(scores) - len(rows), len(scores), scorer)
        if not rows:
            return 0
        with self._lock:
            frame = self._load()
            new = pd.DataFrame({CONTENT_HASH: list(rows), SCORER: scorer,
                                SCORE: list(rows.values()),
                                SCORED_AT: pd.Timestamp(scored_at).tz_convert("UTC")})
            new[SCORED_AT] = new[SCORED_AT].dt.as_unit("ns")
            combined = new if frame.empty else pd.concat([frame, new], ignore_index=True)
            combined = combined.drop_duplicates([CONTENT_HASH, SCORER], keep="first")
            self.root.mkdir(parents=True, exist_ok=True)
            _write(self.path, combined)
            self._frame = combined.reset_index(drop=True)
        return len(rows)
