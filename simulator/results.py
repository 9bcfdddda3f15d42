"""A Run as a table, and the scenario's targets checked against it.

`timeseries_columns(run)` gives one row per saved (whole) year and one column per
variable, as an ordered dict of numpy arrays; a variable subscripted by a dimension
becomes one column per element, named `name[element]` (e.g.
`county_urbanization_rate[kongtong]`). `timeseries_frame(run)` is the same as a pandas
DataFrame, for notebooks; the command line stays off pandas so `urbsd run` starts fast.
The functions below take either (any mapping of column name to values).

`evaluate_targets(table, targets)` compares the table with the scenario's targets and
returns plain dicts `{indicator, year, target, value, reached}`; `value` is the exact
float of the run (never rounded), `reached` is `value >= target`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

# The four outputs every model must provide (names fixed by DESIGN.md).
REQUIRED_OUTPUTS = (
    "urbanization_rate",
    "hukou_urbanization_rate",
    "resident_population",
    "urban_population",
)


Table = Mapping[str, Any]


def timeseries_frame(run: Any, index: int = 0) -> "pd.DataFrame":  # noqa: F821
    """One parameter set (`index` on the run axis) of `run` as a pandas DataFrame."""
    import pandas as pd

    return pd.DataFrame(timeseries_columns(run, index))


def timeseries_columns(run: Any, index: int = 0) -> dict[str, np.ndarray]:
    """One parameter set (`index` on the run axis) of `run` as ordered columns.

    Column `time` holds the saved times as int years; then one column per variable in
    the order of `run.data`, subscripted ones expanded to `name[element]`.
    """
    times = np.asarray(run.times, dtype=float)
    years = np.rint(times)
    if not np.allclose(times, years, atol=1e-6):
        raise ValueError(f"run times are not whole years: {times.tolist()}")
    columns: dict[str, np.ndarray] = {"time": years.astype(int)}
    dims = getattr(run, "dims", {}) or {}
    elements = getattr(run, "elements", {}) or {}
    for name, values in run.data.items():
        arr = np.asarray(values)
        n_runs = arr.shape[0]
        if not -n_runs <= index < n_runs:
            raise IndexError(f"run index {index} out of range for {n_runs} run(s)")
        series = arr[index]
        if series.ndim == 1:
            columns[name] = series.astype(float)
        elif series.ndim == 2:
            var_dims = tuple(dims.get(name, ()))
            if len(var_dims) == 1 and var_dims[0] in elements:
                labels = list(elements[var_dims[0]])
            else:
                labels = [str(i) for i in range(series.shape[1])]
            if len(labels) != series.shape[1]:
                raise ValueError(
                    f"variable {name!r}: {series.shape[1]} values per year but "
                    f"{len(labels)} elements in dimension {var_dims}"
                )
            for j, label in enumerate(labels):
                columns[f"{name}[{label}]"] = series[:, j].astype(float)
        else:
            raise ValueError(f"variable {name!r}: unsupported shape {arr.shape}")
    return columns


def _get(target: Any, key: str) -> Any:
    if isinstance(target, Mapping):
        return target[key]
    return getattr(target, key)


def _row(table: Table, year: int) -> int | None:
    hits = np.flatnonzero(np.asarray(table["time"]) == year)
    return int(hits[0]) if hits.size else None


def evaluate_targets(table: Table, targets: Iterable[Any]) -> list[dict]:
    """Each target checked against the table: `{indicator, year, target, value, reached}`.

    `targets` are objects with `indicator, year, value` (scenario `Target`) or dicts
    with the same keys. The scenario loader has already checked that each indicator is
    a variable and each year lies in the run; a target the frame cannot answer raises
    KeyError (a programming error, not bad input).
    """
    out: list[dict] = []
    for t in targets:
        indicator = str(_get(t, "indicator"))
        year = int(_get(t, "year"))
        target = float(_get(t, "value"))
        if indicator not in table:
            raise KeyError(f"target indicator {indicator!r} is not a column of the results")
        row = _row(table, year)
        if row is None:
            raise KeyError(f"target year {year} is not a saved year of the results")
        value = float(np.asarray(table[indicator])[row])
        reached = bool(value >= target) if not math.isnan(value) else False
        out.append(
            {
                "indicator": indicator,
                "year": year,
                "target": target,
                "value": value,
                "reached": reached,
            }
        )
    return out


def value_at(table: Table, column: str, year: int) -> float | None:
    """The value of `column` in `year`, or None if the table has no such row/column."""
    if column not in table:
        return None
    row = _row(table, year)
    return None if row is None else float(np.asarray(table[column])[row])


def key_figures(frame: Table, year: int | None = None) -> dict[str, Any]:
    """The required outputs and per-county urbanization rates in `year` (default: last)."""
    if year is None:
        year = int(np.asarray(frame["time"])[-1])
    figures: dict[str, Any] = {"year": int(year)}
    for name in REQUIRED_OUTPUTS:
        v = value_at(frame, name, year)
        if v is not None:
            figures[name] = v
    # Per-county rates (e.g. `county_urbanization_rate[kongtong]`): one dict per variable.
    for col in frame.keys():
        base, sep, element = col.partition("[")
        if sep and "urbanization_rate" in base and element.endswith("]"):
            v = value_at(frame, col, year)
            figures.setdefault(base, {})[element[:-1]] = v
    return figures
