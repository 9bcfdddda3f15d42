"""Atomic file primitives: a reader never sees a half-written file.

A file is written to a temporary name in the folder it belongs in, flushed to disk and
moved into place with `os.replace`. They live in the engine, the lowest stage, because
low stages need them too (the sweep's resumable chunk store; an on-disk cache of
compiled models); `simulator.outputs.writers` builds its output files and all-or-nothing
folders on them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def umask() -> int:
    """The process's file-creation mask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _tmp_path(path: Path) -> Path:
    # mkstemp makes the file 0600; give it the mode a plain open() would have.
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~umask())
    finally:
        os.close(fd)
    return Path(name)


def fsync_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` (not atomically: for files in a folder not yet in place),
    creating the folder, and flush it to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` via a temporary file in the same folder and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """`atomic_write_bytes` of `text` encoded as UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"))
