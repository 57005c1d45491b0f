"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every write goes to a temporary file in the destination folder (same file system), is
flushed and fsynced, then renamed over the destination with ``os.replace`` (atomic on POSIX).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(dst: Path, write: Callable[[Path], None]) -> None:
    """Let ``write(tmp_path)`` produce the file, then move it over ``dst`` atomically.

    Raises:
        Whatever ``write`` raises, or ``OSError``; ``dst`` is then unchanged and no temporary
        file is left behind.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_copy(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` atomically, keeping the modification time.

    Raises:
        OSError: the source cannot be read or the destination folder written; ``dst`` is then
            unchanged and no temporary file is left behind.
    """
    if not src.is_file():
        raise FileNotFoundError(f"No such file: {src}")
    atomic_write(dst, lambda tmp: shutil.copy2(src, tmp))
