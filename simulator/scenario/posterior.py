"""`uncertain: {posterior: FILE}`: joint draws of constants from a posterior file (e.g. the
one `urbsd calibrate` writes beside scenarios/calibration.yaml).

The file is CSV of numbers (no quoting): lines starting with `#` are comments; then a header `draw` (optional),
one column per constant (`name`, or `name[element]` for one element of a subscripted
constant; a constant is given whole or by element, not both) and `log_prob` (optional,
ignored); then one row of numbers per draw.

Scenario files are shared between strangers, so the path is held on a short leash: a
relative path without `..`, inside the folder of the scenario file that names it (the
bundled scenarios' posterior sits beside them); symlinks that lead elsewhere are refused,
and so are files over MAX_BYTES. Every value must be a finite number inside the
constant's bounds.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import suggest
from simulator.scenario.levers import bounds_of, constant
from simulator.scenario.schema import JointSample, describe, fmt, one_line_error

#: the largest posterior file read (a few thousand draws of a few dozen constants is ~1 MB)
MAX_BYTES = 50_000_000
#: columns that are not constants
SPECIAL = ("draw", "log_prob")


def posterior_ref(raw: Any, file: str) -> tuple[str, list[str] | None]:
    """The file name and the optional column list of an `uncertain.posterior` entry."""
    field_ = "uncertain.posterior"
    if isinstance(raw, str):
        return raw, None
    if isinstance(raw, dict):
        unknown = [k for k in raw if k not in ("file", "columns")]
        if unknown:
            raise one_line_error(file, f"{field_}.{unknown[0]}",
                                 f"unknown key{suggest(str(unknown[0]), ('file', 'columns'))}; expected file, columns")
        if not isinstance(raw.get("file"), str) or not raw["file"].strip():
            raise one_line_error(file, f"{field_}.file", f"expected a file name, got {describe(raw.get('file'))}")
        cols = raw.get("columns")
        if cols is not None and (not isinstance(cols, list) or not cols or not all(isinstance(c, str) for c in cols)):
            raise one_line_error(file, f"{field_}.columns", f"expected a list of column names, got {describe(cols)}")
        return raw["file"], cols
    raise one_line_error(file, field_, f"expected a file name (e.g. calibration-posterior.csv) or "
                                       f"{{file: ..., columns: [...]}}, got {describe(raw)}")


def safe_path(ref: str, folder: Path, file: str) -> Path:
    """`folder / ref`, refused unless it stays inside `folder` (no absolute path, no '..', no escaping symlink)."""
    field_ = "uncertain.posterior"
    p = Path(ref)
    if p.is_absolute() or ref.startswith("~") or any(part == ".." for part in p.parts):
        raise one_line_error(file, field_, f"{ref!r}: give a path inside the scenario's folder (no absolute path, "
                                           "no '..')")
    target = folder / p
    try:
        real, base = target.resolve(strict=True), folder.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError):
        raise one_line_error(file, field_, f"no such posterior file {ref!r} (looked in {folder})") from None
    if not real.is_relative_to(base):
        raise one_line_error(file, field_, f"{ref!r} leads outside the scenario's folder; refused")
    if not real.is_file():
        raise one_line_error(file, field_, f"{ref!r} is not a file")
    if real.stat().st_size > MAX_BYTES:
        raise one_line_error(file, field_, f"{ref!r} is larger than {MAX_BYTES // 1_000_000} MB")
    return real


def _column(name: str, spec: Any, file: str, field_: str) -> tuple[str, int | None]:
    """A column name checked against the model: (constant, flat element index or None)."""
    m = re.fullmatch(r"([A-Za-z_]\w*)(?:\[([A-Za-z_]\w*)\])?", name)
    if m is None:
        raise one_line_error(file, field_, f"column {name!r} is not a constant name or name[element]")
    const = constant(spec, m.group(1), file, field_)
    dims = list(const.dims or [])
    element = m.group(2)
    if element is None:
        return m.group(1), None
    if len(dims) != 1:
        raise one_line_error(file, field_, f"column {name!r}: {m.group(1)} is "
                             f"{'not subscripted' if not dims else 'multi-dimensional'}")
    elements = list(spec.dimensions[dims[0]].elements)
    if element not in elements:
        raise one_line_error(file, field_,
                             f"column {name!r}: unknown {dims[0]} {element!r}{suggest(element, elements)}")
    return m.group(1), elements.index(element)


def read_posterior(raw: Any, folder: Path, spec: Any, file: str) -> JointSample:
    """The joint draws named by an `uncertain.posterior` entry of `file` (in `folder`), checked
    against the model `spec`."""
    ref, wanted = posterior_ref(raw, file)
    path = safe_path(ref, folder, file)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise one_line_error(file, "uncertain.posterior", f"{ref!r} is not UTF-8 text") from None
    lines = [(i, ln) for i, ln in enumerate(text.splitlines(), start=1)
             if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 2:
        raise one_line_error(file, "uncertain.posterior", f"{ref!r} has no header and draws")
    rows = [(i, [f.strip() for f in ln.split(",")]) for i, ln in lines]  # numbers only: no quoting
    header = rows[0][1]
    if len(set(header)) != len(header):
        raise one_line_error(file, "uncertain.posterior", f"{ref!r}: a column name appears twice")
    names = [h for h in header if h not in SPECIAL]
    if not names:
        raise one_line_error(file, "uncertain.posterior", f"{ref!r}: no constant columns")
    if wanted is not None:
        missing = [c for c in wanted if c not in names]
        if missing:
            raise one_line_error(file, "uncertain.posterior.columns",
                                 f"{ref!r} has no column {missing[0]!r}{suggest(missing[0], names)}")
        names = list(dict.fromkeys(wanted))
    index = [header.index(n) for n in names]
    body = rows[1:]
    for line, row in body:
        if len(row) != len(header):
            raise one_line_error(file, "uncertain.posterior", f"{ref!r} line {line}: {len(row)} fields, "
                                                              f"the header has {len(header)}")
    try:  # fast path; on any bad cell, find it below to name its line
        values = np.array([[row[k] for k in index] for _, row in body], dtype=float).reshape(len(body), len(index))
        ok = bool(np.all(np.isfinite(values)))
    except ValueError:
        ok = False
    if not ok:
        for line, row in body:
            for k in index:
                try:
                    x = float(row[k])
                except ValueError:
                    raise one_line_error(file, "uncertain.posterior", f"{ref!r} line {line}, column {header[k]}: "
                                                                      f"not a number ({row[k][:20]!r})") from None
                if not math.isfinite(x):
                    raise one_line_error(file, "uncertain.posterior", f"{ref!r} line {line}, column {header[k]}: "
                                                                      "not a finite number")
    first: dict[str, str] = {}  # constant -> its first column (the whole constant, or one element)
    for j, name in enumerate(names):
        base, element = _column(name, spec, file, f"uncertain.posterior ({ref} column {name})")
        other = first.setdefault(base, name)
        if other != name and (element is None or "[" not in other):
            raise one_line_error(file, "uncertain.posterior",
                                 f"{ref!r}: columns {other} and {name} both give {base}; give the whole "
                                 "constant or its elements, not both")
        b = bounds_of(spec.constants[base])
        if b is not None:
            bad = np.nonzero((values[:, j] < b[0]) | (values[:, j] > b[1]))[0]
            if len(bad):
                raise one_line_error(file, "uncertain.posterior",
                                     f"{ref!r} column {name}: {fmt(values[bad[0], j])} (line {rows[bad[0] + 1][0]}) is "
                                     f"outside the bounds [{fmt(b[0])}, {fmt(b[1])}] of this constant")
    return JointSample(file=ref, path=path, sha256=hashlib.sha256(data).hexdigest(), columns=tuple(names),
                       values=values)


def column_constant(name: str) -> str:
    """The constant of a posterior column (`name[element]` -> `name`)."""
    return name.split("[", 1)[0]

