"""Comparing an urbsd run with PySD's run of its export (tests/interop/): every element of every
variable, named as PySD names its columns."""

from __future__ import annotations

import itertools
from typing import Iterator

import numpy as np


def columns(run, fmt: str = "vensim") -> Iterator[tuple[str, np.ndarray]]:
    """(column as PySD names it, urbsd values over the saved steps) of every variable and element.
    XMILE writes `_` in an element name as a space (the same character in XMILE), and PySD names
    the XMILE columns so: `x[kongtong,a0 14]`."""
    for name, arr in run.data.items():
        dims = run.dims[name]
        if not dims:
            yield name, arr[0]
            continue
        for combo in itertools.product(*(range(len(run.elements[d])) for d in dims)):
            label = ",".join(run.elements[d][i] for d, i in zip(dims, combo))
            yield f"{name}[{label.replace('_', ' ') if fmt == 'xmile' else label}]", arr[0][(slice(None),) + combo]


def max_relative_error(run, frame, fmt: str = "vensim") -> tuple[float, str]:
    """The largest |pysd - urbsd| / |urbsd| over every variable, element and saved step, and where."""
    worst, where = 0.0, ""
    for column, ours in columns(run, fmt):
        theirs = frame[column].to_numpy(dtype=float)
        scale = np.maximum(np.abs(ours), 1e-12 * max(1.0, float(np.max(np.abs(ours)))))
        err = float(np.max(np.abs(theirs - ours) / scale))
        if not np.isfinite(err) or err > worst:
            worst, where = (err if np.isfinite(err) else np.inf), column
    return worst, where
