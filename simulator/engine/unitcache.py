"""Remembering that a model file passed the units check, so that loading it again skips pint.

The units check (units.py) is a pure function of the model file and of the code that infers
units, and it costs about 0.1 s per load, most of it importing pint and building its registry:
a quarter of `urbsd run`'s own work before it draws. A file that passed leaves an empty marker
in the kernel cache folder (`kernel.cache_dir()`, subfolder `units`), named by the sha256 of
the file's sha256, the source of the modules the check runs (units, functions, equations, ir)
and pint's installed module file (path, size, modification time). An edited model, an edited
check or another pint misses the marker and is checked again. Only a pass is remembered: a
file that fails is checked, and its error raised, every time. A folder that cannot be written
only means the check runs every time.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from pathlib import Path

from simulator.engine import equations, functions, ir, kernel, units

#: markers kept; the oldest are deleted past this (one per model version checked)
KEEP = 256


@functools.lru_cache(maxsize=1)
def _code() -> str | None:
    """The digest of what the check runs: its modules' source and pint's installed file (read
    once per process); None without pint."""
    spec = importlib.util.find_spec("pint")
    if spec is None or spec.origin is None:
        return None
    stat = os.stat(spec.origin)
    digest = hashlib.sha256(f"{spec.origin}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    for module in (units, functions, equations, ir):
        digest.update(Path(module.__file__).read_bytes())  # type: ignore[arg-type]
    return digest.hexdigest()


def _key(sha256: str) -> str | None:
    code = _code()
    return None if code is None else hashlib.sha256(f"{sha256}|{code}".encode()).hexdigest()[:40]


def _folder() -> Path:
    return kernel.cache_dir() / "units"


def passed(sha256: str | None) -> bool:
    """True if the model file with this sha256 passed the units check with this code and pint."""
    if not sha256:
        return False
    try:
        key = _key(sha256)
        return key is not None and (_folder() / key).is_file()
    except OSError:
        return False


def remember(sha256: str | None) -> None:
    """Leave the marker of a pass (best effort), and delete the oldest markers past KEEP."""
    if not sha256:
        return
    try:
        key = _key(sha256)
        if key is None:
            return
        folder = _folder()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / key).touch()
        markers = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
        for old in markers[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
