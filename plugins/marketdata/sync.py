"""Fill Freqtrade's data dir with real candles: from a local bundle, or by download.

A *bundle* is either a folder of Freqtrade candle files or the project's shared data folder,
whose candles sit in ``crypto/freqtrade_binance_spot/`` (see ``../shared/data/MANIFEST.md``).
"""

from __future__ import annotations

import filecmp
import logging
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from plugins.core.atomic import atomic_copy
from plugins.core.errors import DataNotFoundError
from plugins.marketdata.requirements import CandleNeed

logger = logging.getLogger(__name__)

#: Where Binance spot candles sit inside the shared data bundle.
BUNDLE_CANDLE_SUBDIR = Path("crypto/freqtrade_binance_spot")
CANDLE_SUFFIXES = (".feather", ".parquet", ".json", ".json.gz")


@dataclass
class SyncReport:
    """What a sync did: files copied, files already identical (paths relative to the dest)."""

    copied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def candle_source_dir(bundle: Path) -> Path:
    """The folder holding candle files inside ``bundle`` (the bundle itself if flat).

    Raises:
        DataNotFoundError: ``bundle`` does not exist.
    """
    if not bundle.is_dir():
        raise DataNotFoundError(
            f"Data bundle {bundle} does not exist. Set SUITE_DATA_DIR to the shared data "
            "folder (default ../shared/data) or run `make data` with internet to download.")
    nested = bundle / BUNDLE_CANDLE_SUBDIR
    return nested if nested.is_dir() else bundle


def sync_candles(bundle: Path, datadir: Path) -> SyncReport:
    """Copy every candle file of ``bundle`` into ``datadir`` (sub-folders such as
    ``futures/`` kept), atomically, skipping files whose bytes are already identical.

    Raises:
        DataNotFoundError: the bundle does not exist or holds no candle files.
    """
    source = candle_source_dir(bundle)
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.name.endswith(CANDLE_SUFFIXES))
    if not files:
        raise DataNotFoundError(
            f"No candle files (*.feather, *.parquet, *.json) under {source}. Expected the "
            "shared data bundle (crypto/freqtrade_binance_spot/) or a Freqtrade data dir.")
    report = SyncReport()
    for src in files:
        rel = src.relative_to(source)
        dst = datadir / rel
        if dst.is_file() and filecmp.cmp(src, dst, shallow=False):
            report.unchanged.append(str(rel))
            continue
        atomic_copy(src, dst)
        report.copied.append(str(rel))
    logger.info("Candles: %d copied, %d already up to date in %s",
                len(report.copied), len(report.unchanged), datadir)
    return report


def download_candles(config_files: list[Path], needs: list[CandleNeed], timerange: str,
                     datadir: Path | None = None) -> None:
    """Download the needed candles with ``freqtrade download-data`` (needs internet).

    Uses the exchange of the given configs (without the offline overlay, so the real
    exchange), the pairs and timeframes of ``needs`` and ``timerange`` (``YYYYMMDD-``), into
    ``datadir`` (default: the configs' own ``datadir``).

    Raises:
        DataNotFoundError: the download failed; the message gives freqtrade's exit status.
    """
    pairs = sorted({n.pair for n in needs})
    timeframes = sorted({n.timeframe for n in needs})
    cmd = [sys.executable, "-m", "freqtrade", "download-data"]
    for f in config_files:
        cmd += ["-c", str(f)]
    cmd += ["--pairs", *pairs, "--timeframes", *timeframes, "--timerange", timerange]
    if datadir is not None:
        cmd += ["--datadir", str(datadir)]
    logger.info("Downloading candles: %s", " ".join(cmd))
    result = subprocess.run(cmd, check=False)
    if result.returncode != 0:
        raise DataNotFoundError(
            f"`freqtrade download-data` failed (exit {result.returncode}). It needs internet "
            "access to the exchange; offline, point SUITE_DATA_DIR at a data bundle instead.")
