"""A Run as a table, and the scenario's targets checked against it.

`timeseries_columns(run)` gives one row per saved (whole) year and one column per
variable, as an ordered dict of numpy arrays; a variable subscripted by a dimension
becomes one column per element, named `name[element]` (e.g.
`county_urbanization_rate[kongtong]`), and one subscripted by several dimensions one column
per combination, `name[el1,el2]` in the order of its dims (Vensim's style, e.g.
`rural_residents[kongtong,a0_4]`). `timeseries_frame(run)` is the same as a pandas
DataFrame, for notebooks; the command line stays off pandas so `urbsd run` starts fast.
The functions below take either (any mapping of column name to values).

`run_summary(scenario, run, frame, targets)` is the content of `summary.json`: the
figures with the scenario, model and integration they came from (the report, the Excel
workbook and the screen all read it, so they state the same numbers). Each target there
also carries `first_year`, the first saved year at or above it (None: not by the end).

`evaluate_targets(table, targets)` compares the table with the scenario's targets and
returns plain dicts `{indicator, year, target, value, reached}`; `value` is the exact
float of the run (never rounded), `reached` is `value >= target`.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

#: the plan's milestone years reported in summary.json (seed plan 2(3): 2020 base, 2025, 2035 targets)
MILESTONES = (2020, 2025, 2030, 2035)

#: county indicators summary.json reports for the last year when the model has them
#: (land per urban resident against GB 50137, service and job adequacy; DESIGN.md outputs)
COUNTY_INDICATORS = ("land_per_urban_resident", "service_adequacy", "job_adequacy")

# The four outputs every model must provide (names fixed by DESIGN.md).
REQUIRED_OUTPUTS = (
    "urbanization_rate",
    "hukou_urbanization_rate",
    "resident_population",
    "urban_population",
)


Table = Mapping[str, Any]


def timeseries_frame(run: Any, index: int = 0) -> "pd.DataFrame":  # noqa: F821
    """One parameter set (`index` on the run axis) of `run` as a pandas DataFrame.

    Built from one float matrix (one pandas block), not column by column: the shipped model
    has some 2,500 columns, and a DataFrame made from a dict of them cost ~20 ms a run.
    """
    import pandas as pd

    years, series, layout, elements = _series(run, index)
    matrix = np.concatenate([years[:, None].astype(float)] + [s.reshape(s.shape[0], -1) for s in series],
                            axis=1, dtype=float)
    frame = pd.DataFrame(matrix, columns=_frame_columns(layout, elements).copy(), copy=False)
    frame["time"] = years  # the years as ints: a column of its own kind, the rest one float block
    return frame


def timeseries_columns(run: Any, index: int = 0) -> dict[str, np.ndarray]:
    """One parameter set (`index` on the run axis) of `run` as ordered columns.

    Column `time` holds the saved times as int years; then one column per variable in
    the order of `run.data`, subscripted ones expanded to `name[element]`.
    """
    years, blocks = _column_blocks(run, index)
    columns: dict[str, np.ndarray] = {"time": years}
    for names, values in blocks:
        columns.update(zip(names, values.astype(float).T))
    return columns


def _column_blocks(run: Any, index: int) -> tuple[np.ndarray, list[tuple[list[str], np.ndarray]]]:
    """The saved years (int), and per variable its column names with a (years, columns) matrix."""
    years, series, layout, elements = _series(run, index)
    names = _column_names(layout, elements)
    return years, [(n, s.reshape(s.shape[0], -1)) for n, s in zip(names, series)]


def _series(run: Any, index: int) -> tuple[np.ndarray, list[np.ndarray], tuple, tuple]:
    """The saved years (int), each variable's values of run `index` (years, *sizes), and the
    (layout, elements) key of their column names."""
    times = np.asarray(run.times, dtype=float)
    years = np.rint(times)
    if not np.allclose(times, years, atol=1e-6):
        raise ValueError(f"run times are not whole years: {times.tolist()}")
    if "time" in run.data:
        raise ValueError("a variable is named 'time', the name of the table's first column")
    dims = getattr(run, "dims", {}) or {}
    elements = getattr(run, "elements", {}) or {}
    series = []
    for values in run.data.values():
        arr = np.asarray(values)
        if not -arr.shape[0] <= index < arr.shape[0]:
            raise IndexError(f"run index {index} out of range for {arr.shape[0]} run(s)")
        series.append(arr[index])
    layout = tuple((name, tuple(dims.get(name, ())), s.shape[1:]) for name, s in zip(run.data, series))
    return years.astype(int), series, layout, tuple((d, tuple(e)) for d, e in elements.items())


@functools.lru_cache(maxsize=16)
def _frame_columns(layout: tuple, elements: tuple) -> "pd.Index":  # noqa: F821
    """A frame's column labels, `time` first: made once per layout, as making an Index of some
    2,500 strings costs more than the rest of the frame (each frame gets a shallow copy)."""
    import pandas as pd

    return pd.Index(["time"] + [n for names in _column_names(layout, elements) for n in names])


@functools.lru_cache(maxsize=16)
def _column_names(layout: tuple, elements: tuple) -> list[list[str]]:
    """Column names per variable, `name[el1,el2]`; cached, as a model's runs share one layout."""
    known = dict(elements)
    out: list[list[str]] = []
    for name, var_dims, shape in layout:
        if not shape:
            out.append([name])
            continue
        if len(var_dims) == len(shape) and all(d in known for d in var_dims):
            axes = [list(known[d]) for d in var_dims]
        else:
            axes = [[str(i) for i in range(n)] for n in shape]
        if tuple(len(a) for a in axes) != shape:
            raise ValueError(
                f"variable {name!r}: {shape} values per year but "
                f"{tuple(len(a) for a in axes)} elements in dimensions {var_dims}"
            )
        out.append([f"{name}[{','.join(labels)}]" for labels in itertools.product(*axes)])
    return out


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


def first_year_reached(years: Any, values: Any, target: float) -> int | None:
    """The first saved whole year whose value is >= target (no interpolation), or None."""
    values = np.asarray(values, dtype=float)
    hits = np.flatnonzero(values >= target)
    return int(np.asarray(years)[hits[0]]) if hits.size else None


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


def county_values(frame: Table, variable: str, year: int) -> dict[str, float]:
    """`variable[element]` columns of the table in `year`, as {element: value} (empty if none)."""
    out: dict[str, float] = {}
    prefix = variable + "["
    for col in frame.keys():
        if col.startswith(prefix) and col.endswith("]"):
            v = value_at(frame, col, year)
            if v is not None:
                out[col[len(prefix):-1]] = v
    return out


def run_summary(scenario: Any, run: Any, frame: Table, targets: list[dict]) -> dict[str, Any]:
    """summary.json of one run: provenance, targets, milestone and last-year figures, UN comparator."""
    from pathlib import Path

    from simulator.analysis.comparator import comparator_summary
    from simulator.bundled import __version__

    spec = scenario.spec
    milestones = {
        str(y): {
            k: value_at(frame, k, y)
            for k in ("urbanization_rate", "hukou_urbanization_rate")
            if value_at(frame, k, y) is not None
        }
        for y in MILESTONES
        if value_at(frame, "urbanization_rate", y) is not None
    }
    final = key_figures(frame)
    for name in COUNTY_INDICATORS:
        values = county_values(frame, name, final["year"])
        if values:
            final[name] = values
    label = getattr(scenario, "label", None)
    return {
        "scenario": {
            "name": scenario.name,
            "label": dict(label) if label else {},
            "path": str(Path(scenario.path).resolve()),
        },
        "model": {
            "name": spec.name,
            "path": str(Path(spec.path).resolve()),
            "sha256": spec.sha256,
        },
        "scenario_sha256": scenario.sha256,
        "package_version": __version__,
        "method": run.method,
        "dt": float(run.dt),
        "time": {"start": int(frame["time"][0]), "stop": int(frame["time"][-1])},
        "targets": [
            {**t, "first_year": first_year_reached(frame["time"], frame[t["indicator"]], t["target"])}
            for t in targets
        ],
        "final_year": final,
        "milestones": milestones,
        "comparator": comparator_summary([int(y) for y in frame["time"]]),
    }


#: the words of the provenance lines under the charts, by language
SOURCE_WORDS = {
    "zh": {"scenario": "情景：", "scenarios": "情景：", "model": "模型：", "scenario_sha": "情景 sha256",
           "n_scenarios": "{n} 个情景", "runs": "{runs:,} 次运行"},
    "en": {"scenario": "scenario: ", "scenarios": "scenarios: ", "model": "model: ", "scenario_sha": "scenario sha256",
           "n_scenarios": "{n} scenarios", "runs": "{runs:,} runs"},
}


def source_line(scenario: Any, run: Any, today: str | None = None, lang: str = "zh", *, dated: bool = True) -> str:
    """The provenance line under a chart, in `lang`: scenario, model and scenario sha256, method,
    version, and the date unless `dated` is False (a chart that must come out byte-identical on a rerun)."""
    import datetime as _dt

    from simulator.bundled import __version__

    w = SOURCE_WORDS["en" if lang == "en" else "zh"]
    line = (
        f"{w['scenario']}{scenario.name} · {w['model']}{scenario.spec.name} "
        f"sha256 {scenario.spec.sha256[:12]} · {w['scenario_sha']} {scenario.sha256[:12]} · "
        f"{run.method} dt={run.dt:g} · urbsd {__version__}"
    )
    if not dated:
        return line
    return f"{line} · {today or _dt.datetime.now(_dt.timezone.utc).date().isoformat()}"
