"""The calibration specification's file format (pydantic, strict) and its data file.

`SpecIn` is the parsed YAML (`simulator.analysis.calspec` checks it against the model and
the data); `read_data` reads the data file the spec names; `ModelView` looks up what the
spec's expressions may read: constants of the model file, their elements, data rows.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from simulator.analysis.calexpr import ExprError
from simulator.errors import InputError, suggest

Num = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Text = Annotated[str, Field(strict=True, min_length=1)]
NumOrExpr = Num | Text


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class RunIn(_Strict):
    start: Num
    stop: Num
    dt: Num | None = None
    method: Literal["euler", "heun", "rk4"] | None = None   # None: the model's time.method
    saveper: Num = 1.0


class FitIn(_Strict):
    search: int = Field(2048, ge=1)
    starts: int = Field(3, ge=1)
    seed: int = Field(0, ge=0)


class PosteriorIn(_Strict):
    walkers: int = Field(32, ge=4)
    steps: int = Field(2000, ge=10)
    draws: int = Field(2000, ge=10)
    seed: int = Field(0, ge=0)


class LabelIn(_Strict):
    zh: Text
    en: Text


class WriteIn(_Strict):
    scenario: Text = "calibration.yaml"
    posterior: Text = "calibration-posterior.csv"
    name: Text = "calibration"
    label: LabelIn | None = None
    model: Text | None = None


class PriorIn(_Strict):
    dist: Literal["normal", "uniform", "lognormal"]
    mean: NumOrExpr | None = None
    sd: NumOrExpr | None = None
    median: NumOrExpr | None = None
    sigma: NumOrExpr | None = None


class ParameterIn(_Strict):
    prior: PriorIn | None = None
    bounds: list[NumOrExpr] | None = None
    start: NumOrExpr | None = None
    group: str = ""
    free: bool = False


class ObservationIn(_Strict):
    row: list[int | str]
    model: NumOrExpr | None = None
    at: Literal["end", "mean"] = "end"
    bound: Literal["lower", "upper"] | None = None
    sigma: Num | None = None
    role: Literal["fit", "check", "initial"] = "fit"
    sets: Text | None = None
    series: Text | None = None


class SpecIn(_Strict):
    name: Text
    model: Text
    data: Text
    area: Text | None = None
    doc: str | None = None
    run: RunIn
    fit: FitIn = FitIn()
    posterior: PosteriorIn = PosteriorIn()
    write: WriteIn = WriteIn()
    parameters: dict[str, ParameterIn]
    fixed: dict[str, NumOrExpr | dict[str, NumOrExpr]] = {}
    observations: list[ObservationIn]


class ModelView:
    """The model file's constants, element positions and the data rows, as the spec's
    expressions see them (`data(...)`, `model(...)`)."""

    def __init__(self, model: Any, rows: dict[tuple[int, str, str], dict[str, Any]], data_path: Path) -> None:
        self.model, self.rows, self.data_path = model, rows, data_path
        self.spec = model.spec
        self._defaults: dict[str, np.ndarray] | None = None

    def defaults(self) -> dict[str, np.ndarray]:
        """Every constant's value in the model file, (1, width) with the elements flattened in
        declared order (row-major over its dims); computed once, not to be modified."""
        if self._defaults is None:
            internal = self.model.default_constants()
            self._defaults = {name: np.asarray(self.model.declared(name, arr, lead=1), dtype=float).reshape(1, -1)
                              for name, arr in internal.items()}
        return self._defaults

    def flat(self, name: str, element: tuple[str, ...]) -> int:
        """Position of `element` (one name per dimension) in the flat (row-major) array of `name`."""
        idx = 0
        for d, e in zip(self.model.dims[name], element):
            names = self.spec.elements(d)
            idx = idx * len(names) + names.index(e)
        return idx

    def shaped(self, name: str, arr: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
        """(rows, width) values of `name` as (rows, *elements per dimension), with the dimensions."""
        dims = tuple(self.model.dims.get(name, ()))
        arr = np.asarray(arr, dtype=float)
        if not dims:
            return arr.reshape(-1), dims
        shape = tuple(len(self.spec.elements(d)) for d in dims)
        return arr.reshape((arr.shape[0],) + shape), dims

    def data(self, year: int, area: str, indicator: str) -> float:
        """A data row's value (ExprError if there is none)."""
        row = self.rows.get((year, area, indicator))
        if row is None:
            raise ExprError(f"no row {year},{area},{indicator} in {self.data_path.name}")
        return row["value"]

    def model_value(self, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
        """The model file's value of constant `name` (for `model(name)`)."""
        if name not in self.spec.constants:
            raise ExprError(f"model(): {name!r} is not a constant of the model"
                            f"{suggest(name, list(self.spec.constants))}")
        return self.shaped(name, self.defaults()[name])


def read_data(path: Path, shown: str, text: str | None = None) -> dict[tuple[int, str, str], dict[str, Any]]:
    """Rows of a data file (year, area, indicator, value; optional sigma, kind, source) by key;
    `text` stands in for the file's content (a derived history not yet written)."""
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(shown, "data", f"no such data file {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(shown, "data", f"cannot read {path.name}: {exc}") from None
    try:
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in ("year", "area", "indicator", "value") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(shown, "data", f"{path.name} lacks column(s) {', '.join(missing)}")
        rows: dict[tuple[int, str, str], dict[str, Any]] = {}
        for i, r in enumerate(reader, start=2):
            try:
                key = (int(r["year"]), r["area"], r["indicator"])
                value = float(r["value"])
                sigma = float(r["sigma"]) if r.get("sigma") not in (None, "") else None
            except (TypeError, ValueError):
                raise InputError(shown, "data",
                                 f"{path.name} line {i}: year, value and sigma must be numbers") from None
            if not math.isfinite(value) or (sigma is not None and not math.isfinite(sigma)):
                raise InputError(shown, "data", f"{path.name} line {i}: value and sigma must be finite")
            rows[key] = {"value": value, "sigma": sigma, "kind": r.get("kind") or "",
                         "source": r.get("source") or "", "note": r.get("note") or ""}
        return rows
    except csv.Error as exc:
        raise InputError(shown, "data", f"cannot read {path.name}: {exc}") from None
