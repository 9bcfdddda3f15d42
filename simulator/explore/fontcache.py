"""The page's font subset kept on disk between starts (making it takes seconds; reading it, none).

The key is the text's characters and the versions of mplfonts (the font file) and fontTools (the
subsetter), so a new model label, font or subsetter makes a new file. The folder is
`$XDG_CACHE_HOME/urbsd/fonts` (default `~/.cache/urbsd/fonts`); if it cannot be read or
written, the subset is simply made again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path


def cache_folder() -> Path:
    """Where the subsets are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "urbsd" / "fonts"


def _versions() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("mplfonts", "fonttools"):
        try:
            out.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            out.append(f"{name}=?")
    return out


def cached_subset(text: str, make: Callable[[str], bytes], folder: Path | None) -> bytes:
    """`make(text)`, read from `folder` if made before (None: no disk cache)."""
    if folder is None:
        return make(text)
    key = hashlib.sha256(json.dumps([sorted(set(text)), _versions()]).encode("utf-8")).hexdigest()[:32]
    path = folder / f"cjk-{key}.woff2"
    try:
        data = path.read_bytes()
        if data[:4] == b"wOF2":
            return data
    except OSError:
        pass
    data = make(text)
    try:
        from simulator.engine.atomic import atomic_write_bytes

        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    except OSError:
        pass
    return data
