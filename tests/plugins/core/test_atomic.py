"""Atomic copies: the destination is the old file or the new one, never half of one."""

from __future__ import annotations

import pytest

from plugins.core.atomic import atomic_copy


def test_atomic_copy_then_bytes_and_mtime_match(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"candles" * 1000)

    atomic_copy(src, tmp_path / "out" / "dst.bin")

    dst = tmp_path / "out" / "dst.bin"
    assert dst.read_bytes() == src.read_bytes()
    assert dst.stat().st_mtime == src.stat().st_mtime


def test_atomic_copy_when_source_unreadable_then_dest_unchanged_and_no_temp_left(tmp_path):
    dst = tmp_path / "dst.bin"
    dst.write_bytes(b"old")

    with pytest.raises(FileNotFoundError):
        atomic_copy(tmp_path / "missing.bin", dst)

    assert dst.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["dst.bin"]
