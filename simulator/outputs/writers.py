"""Atomic output files: CSV and JSON text, single files, and whole folders all or nothing.

Every file is written to a temporary name in the folder it belongs in and moved into
place with `os.replace`, so a reader never sees a half-written file (the primitives are
`simulator.engine.atomic`'s, re-exported here). One scenario's
outputs (`timeseries.csv`, `summary.json`, `charts/urbanization.png` and `.svg`), or a
report's files, are built together in a temporary sibling folder first (`write_folder`);
only when all of them exist are they moved into `out_dir`. If anything fails before or
while moving, `out_dir` is left as it was.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulator.engine.atomic import atomic_write_bytes, atomic_write_text, fsync_write, umask

__all__ = ["CHART", "SUMMARY", "TIMESERIES", "Staging", "atomic_write_bytes", "atomic_write_csv",
           "atomic_write_json", "atomic_write_text", "csv_text", "json_text", "remove_stale_stages", "write_folder",
           "write_run_outputs"]

TIMESERIES = "timeseries.csv"
SUMMARY = "summary.json"
CHART = Path("charts") / "urbanization.png"


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _json_clean(obj: Any) -> Any:
    """NaN/inf are not JSON: write them as null rather than invalid JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_clean(v) for v in obj]
    return obj


def json_text(obj: Any) -> str:
    return (
        json.dumps(_json_clean(obj), ensure_ascii=False, indent=2, default=_json_default)
        + "\n"
    )


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json_text(obj))


def csv_text(table: Mapping[str, Any]) -> str:
    """CSV of a column table (dict of arrays or DataFrame): a header, then one row per
    entry; floats at repr precision, so the CSV holds the exact values the summary reports."""
    names = list(table.keys())
    columns = [np.asarray(table[n]) for n in names]
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(names)
    cells = [[_cell(v) for v in col.tolist()] for col in columns]
    out.writerows(zip(*cells))
    return buf.getvalue()


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return str(v)


def atomic_write_csv(path: str | Path, frame: Mapping[str, Any]) -> Path:
    return atomic_write_text(path, csv_text(frame))


@dataclass(frozen=True)
class Later:
    """A file's bytes, made by `make()` when the folder is written: while its charts are drawn
    in other processes, not before they start."""

    make: Callable[[], bytes]


#: a file's content: its bytes, bytes made later, or a function that draws it at the path it is given
FileContent = bytes | Later | Callable[[Path], Any]


#: staging folders are named `.<folder>.urbsd-<host>-<pid>-<random>.tmp`: recognisably
#: urbsd's, with the host (a hash of its name) and the process that made them, so a later
#: run can remove the ones whose process is dead (after a kill -9 or a power cut)
_STAGE_RE = re.compile(r"^\..*\.urbsd-([0-9a-f]{8})-(\d+)-[^/]*\.tmp$")


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OSError:
        return True
    return True


def remove_stale_stages(parent: str | Path) -> list[Path]:
    """Remove the staging folders in `parent` left by urbsd processes of this host that are no
    longer running (killed while writing); return what was removed. Others are left alone."""
    parent = Path(parent)
    host = _host_tag()
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _STAGE_RE.match(entry.name)
        if m is None or m.group(1) != host or _pid_alive(int(m.group(2))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


class Staging:
    """A folder of files built beside `out_dir` and moved into it all at once.

    `with Staging(out_dir) as stage:` gives the staging folder (`stage.path`); write files
    under it. On leaving the block without an error every file is moved into `out_dir`
    (`stage.written`: {relative path: final path}); on an error (or an interruption:
    KeyboardInterrupt, SystemExit) the staging folder is removed and `out_dir` is left as it
    was. If the process is killed outright, the folder stays behind under a recognisable
    name and the next Staging in the same parent removes it (`remove_stale_stages`).

    If `out_dir` does not exist, the staging folder is renamed into place in one step. If it
    exists, each file is replaced with os.replace after hard-linking (or copying) the old
    file aside; if a replace fails, the files already replaced are restored. Other files in
    an existing `out_dir` are left alone.
    """

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)
        self.path: Path | None = None
        self.written: dict[Path, Path] = {}

    def __enter__(self) -> Staging:
        parent = self.out_dir.parent
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale_stages(parent)
        prefix = f".{self.out_dir.name}.urbsd-{_host_tag()}-{os.getpid()}-"
        self.path = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
        os.chmod(self.path, 0o777 & ~umask())  # mkdtemp makes it 0700
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        stage = self.path
        assert stage is not None
        try:
            if kind is None:
                rels = sorted(p.relative_to(stage) for p in stage.rglob("*") if p.is_file())
                if not self.out_dir.exists():
                    os.replace(stage, self.out_dir)
                else:
                    _replace_files(stage, self.out_dir, rels)
                self.written = {r: self.out_dir / r for r in rels}
        finally:
            if stage.exists():
                shutil.rmtree(stage, ignore_errors=True)


def write_folder(out_dir: str | Path, files: Mapping[str | Path, FileContent]) -> dict[Path, Path]:
    """Write a folder of files, all or nothing as far as possible; return {relative: final path}.

    `files` maps a path relative to `out_dir` to its bytes, to `Later` bytes, or to a function
    that draws the file at the path it is given (a chart); such a function may also write
    siblings (the SVG beside a PNG), which are moved with the rest. The functions run side by
    side, one process per core (`simulator.outputs.drawing`): they must not depend on each other;
    the bytes are made and written in this process meanwhile.
    Built in a `Staging` folder beside `out_dir` (see there for what happens on a failure or
    a kill).
    """
    from simulator.outputs.drawing import draw_all

    with Staging(out_dir) as staging:
        stage = staging.path
        assert stage is not None
        drawings, data = [], []
        for rel, content in files.items():
            target = stage / rel
            if isinstance(content, (bytes, Later)):
                data.append((target, content))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                drawings.append((target, content))

        def write_data() -> None:
            for target, content in data:
                fsync_write(target, content.make() if isinstance(content, Later) else content)

        draw_all(drawings, meanwhile=write_data)  # side by side on several cores (simulator.outputs.drawing)
        for target, _ in drawings:
            if not target.is_file():
                raise RuntimeError(f"the function for {target.relative_to(stage)} wrote no file at {target}")
    return staging.written


def write_run_outputs(
    out_dir: str | Path,
    frame: Mapping[str, Any],
    summary: dict,
    chart_fn: Callable[[Path], Any] | None,
    extras: Mapping[str, FileContent] | None = None,
) -> dict[str, Path]:
    """Write one scenario's outputs into `out_dir` (all or nothing: `write_folder`).

    `chart_fn(path)` must render the urbanization chart to `path` (a PNG; an SVG beside
    it is kept too); pass None to skip the chart. `extras` are further files by relative
    path: bytes (e.g. `timeseries.xlsx`) or a function drawing a chart there (e.g.
    `charts/county-map.png`). Returns the final paths by kind: `timeseries`, `summary`,
    `chart`, `chart_svg` (if drawn), each extra's path, and after a drawn `.png` extra its
    `.svg` if one was written.
    """
    files: dict[str | Path, FileContent] = {
        TIMESERIES: Later(lambda: csv_text(frame).encode("utf-8")),
        SUMMARY: Later(lambda: json_text(summary).encode("utf-8")),
    }
    if chart_fn is not None:
        files[CHART] = chart_fn
    files.update(extras or {})
    written = write_folder(out_dir, files)
    kinds = {"timeseries": Path(TIMESERIES), "summary": Path(SUMMARY), "chart": CHART,
             "chart_svg": CHART.with_suffix(".svg")}
    for name in extras or {}:
        kinds[str(name)] = Path(name)
        if Path(name).suffix == ".png":
            kinds[str(Path(name).with_suffix(".svg"))] = Path(name).with_suffix(".svg")
    return {kind: written[rel] for kind, rel in kinds.items() if rel in written}


def _replace_files(stage: Path, out_dir: Path, rels: list[Path]) -> None:
    """Move staged files over existing ones; on failure put the old ones back."""
    backup = stage / ".backup"
    backup.mkdir()
    done: list[tuple[Path, Path | None]] = []  # (target, backup or None if new)
    created_dirs: list[Path] = []
    try:
        for i, r in enumerate(rels):
            target = out_dir / r
            if not target.parent.exists():
                target.parent.mkdir(parents=True)
                created_dirs.append(target.parent)
            saved: Path | None = None
            if target.exists():
                saved = backup / f"{i}-{target.name}"
                try:
                    os.link(target, saved)
                except OSError:
                    shutil.copy2(target, saved)
            os.replace(stage / r, target)
            done.append((target, saved))
    except BaseException:
        for target, saved in reversed(done):
            try:
                if saved is None:
                    target.unlink(missing_ok=True)
                else:
                    os.replace(saved, target)
            except OSError:
                pass
        for d in reversed(created_dirs):
            try:
                d.rmdir()
            except OSError:
                pass
        raise
