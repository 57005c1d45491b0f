"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every write goes to a temporary file in the destination folder (same file system), is
flushed and fsynced, then renamed over the destination with ``os.replace`` (atomic on POSIX).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def atomic_copy(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` atomically, keeping the modification time.

    Raises:
        OSError: the source cannot be read or the destination folder written; ``dst`` is then
            unchanged and no temporary file is left behind.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
            shutil.copyfileobj(inp, out, length=1 << 20)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

