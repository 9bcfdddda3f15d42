"""Scenario files: the format, the validated `Scenario` and its parts, one-line messages.

A scenario file is YAML::

    name: hukou-push
    extends: baseline            # a sibling baseline.yaml, else the bundled one
    label: {zh: 户籍改革加速, en: Faster hukou reform}
    model: pingliang             # optional: a bundled model name, or a path relative to this file
    set:
      hukou_openness: {2020: 0.6, 2023: 1.0}   # time series, linear between points
      land_per_settled_person: 100             # constant
    uncertain:
      migration_base_rate: {dist: uniform, low: 0.01, high: 0.04}
    targets:
      - {indicator: urbanization_rate, year: 2025, value: 0.55}

`load_scenario(path)` reads it, resolves `extends`, loads the model and checks every entry
against the model. Any bad input raises `InputError(file, field, reason)`, one line.

Inheritance rules: `set:` and `uncertain:` entries of the child override the parent's by
name (a constant the child sets is no longer uncertain, and vice versa); `targets:` is
replaced as a whole if the child gives it; `model:` is inherited; `name` and `label` are the
child's own (name defaults to the file stem, label to the name).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulator.bundled import scenarios_dir
from simulator.engine.series import TimeSeries
from simulator.engine.yamlfile import read_yaml
from simulator.errors import InputError, suggest

#SCHEMA_IMPORTS


TOP_LEVEL_KEYS = ("name", "kind", "extends", "label", "model", "doc", "set", "uncertain", "targets")

#: what a file is: a policy `scenario` (the default), or a `support` file that holds values
#: other scenarios extend (e.g. calibration.yaml's fitted constants): it runs like any
#: scenario, but `compare` and multi-scenario reports skip it, with a notice
KINDS = ("scenario", "support")

#: longest scenario name and label text: they are drawn in chart titles and legends
MAX_NAME = 100
MAX_LABEL = 200

#: distribution name -> its required parameters (and optional ones after them)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "uniform": (("low", "high"), ()),
    "normal": (("mean", "sd"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "discrete": (("values",), ("weights",)),
}


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class Target:
    """A plan target: `indicator` (an auxiliary or stock, or `name[element]`) in `year`."""

    indicator: str
    year: int
    value: float


@dataclass(eq=False)
class JointSample:
    """Rows of joint draws from a posterior file (`uncertain: {posterior: FILE}`): every
    column is one constant (`name` or `name[element]`); sweeps draw whole rows, so the
    correlations between the constants are kept. Compared by identity."""

    file: str  # as written in the scenario (relative to it)
    path: Path
    sha256: str
    columns: tuple[str, ...]
    values: np.ndarray  # (rows, columns)

    @property
    def rows(self) -> int:
        """Number of draws."""
        return int(self.values.shape[0])


@dataclass(frozen=True)
class Distribution:
    """The range of an uncertain constant, for sweeps.

    `dist` is one of uniform (low, high), normal (mean, sd), triangular (low, mode, high)
    or discrete (values, optional weights), or `posterior`: column `column` of the joint
    draws `joint` (sweeps sample whole rows of it; alone, its ppf is the column's empirical
    quantile). For a county constant the sampled number is used for every county; a
    posterior column `name[element]` sets that element only (the others keep the value the
    scenario sets, so that value may not be a time series).
    """

    dist: str
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    mode: float | None = None
    values: tuple[float, ...] | None = None
    weights: tuple[float, ...] | None = None
    joint: JointSample | None = None
    column: int | None = None

    @property
    def params(self) -> dict[str, Any]:
        """The distribution's parameters as plain data (as written in the file)."""
        if self.dist == "posterior":
            return {"file": self.joint.file, "column": self.joint.columns[self.column],
                    "rows": self.joint.rows, "sha256": self.joint.sha256}
        required, optional = DISTRIBUTIONS[self.dist]
        out: dict[str, Any] = {}
        for key in required + optional:
            value = getattr(self, key)
            if value is None:
                continue
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def ppf(self, q: Any) -> np.ndarray:
        """Inverse CDF: maps quantiles in [0, 1] (e.g. Sobol/LHS samples) to values."""
        q = np.asarray(q, dtype=float)
        if self.dist == "uniform":
            return self.low + q * (self.high - self.low)
        if self.dist == "normal":
            from scipy.stats import norm

            return norm.ppf(q, loc=self.mean, scale=self.sd)
        if self.dist == "posterior":
            col = np.sort(self.joint.values[:, self.column])
            return col[np.clip((q * len(col)).astype(int), 0, len(col) - 1)]
        if self.dist == "triangular":
            from scipy.stats import triang

            width = self.high - self.low
            return triang.ppf(q, (self.mode - self.low) / width, loc=self.low, scale=width)
        values = np.asarray(self.values, dtype=float)
        weights = np.ones(len(values)) if self.weights is None else np.asarray(self.weights)
        cdf = np.cumsum(weights) / np.sum(weights)
        idx = np.searchsorted(cdf, q, side="left")
        return values[np.clip(idx, 0, len(values) - 1)]

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """`n` independent draws."""
        rng = np.random.default_rng(rng)
        return self.ppf(rng.random(n))


@dataclass
class Scenario:
    """A validated scenario, ready to run (see docs/architecture.md)."""

    name: str
    label: dict[str, str]
    path: Path
    spec: Any  # simulator.engine.modelfile.ModelSpec
    params: dict[str, float | np.ndarray | TimeSeries]
    uncertain: dict[str, Distribution]
    targets: list[Target]
    resolved: dict[str, Any]
    sha256: str
    chain: tuple[Path, ...] = field(default_factory=tuple)  # this file, its parent, ...
    kind: str = "scenario"  # "scenario" or "support" (KINDS)


# --------------------------------------------------------------------------- bundled files


def bundled_scenario_path(stem: str = "baseline") -> Path:
    """The path of a bundled scenario file `scenarios/<stem>.yaml` (it may not exist)."""
    return scenarios_dir() / f"{stem}.yaml"


def bundled_scenario_names() -> list[str]:
    """Stems of the bundled scenario files."""
    folder = scenarios_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def scenario_file(arg: str | Path) -> Path:
    """The file a scenario argument names: a path, or the name of a bundled scenario
    (`central-pull` -> the bundled scenarios/central-pull.yaml) when no such file exists here.
    InputError (one line, with a suggestion) when it is neither."""
    text = str(arg)
    path = Path(text).expanduser()
    if path.is_file():
        return path
    if path.exists():
        raise InputError(text, "scenario", "not a file")
    plain = "/" not in text and "\\" not in text and path.suffix.lower() not in (".yaml", ".yml")
    names = bundled_scenario_names()
    if plain and text in names:
        return bundled_scenario_path(text)
    hint = suggest(text if plain else path.stem, names)
    raise InputError(text, "scenario", f"no such file, and no bundled scenario of that name{hint} "
                     f"(bundled: {', '.join(names)})")


# --------------------------------------------------------------------------- helpers


def one_line_error(file: str | Path, field_: str, reason: str) -> InputError:
    """An InputError whose message is guaranteed to be one line."""
    flat = lambda s: re.sub(r"\s+", " ", str(s)).strip()  # noqa: E731
    return InputError(flat(file), flat(field_) or "(top level)", flat(reason))


def display_path(path: Path) -> str:
    """A file name for messages: relative to the working directory when below it."""
    try:
        rel = Path(os.path.abspath(path)).relative_to(Path.cwd().resolve())
        return str(rel)
    except ValueError:
        return str(path)


def describe(value: Any) -> str:
    """A short description of a bad value for a message."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"text {text!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int) and abs(value) >= 10**40:
        return f"a {len(str(abs(value)))}-digit number"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def number_hint(value: Any) -> str:
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        if "e" in value.lower() and "." not in value:
            return " (YAML reads 1e-3 as text; write 1.0e-3)"
        return " (write it without quotes)"
    return ""


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_float(value: Any) -> float:
    """float(value); an integer too large for a float gives inf (not OverflowError)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def number(value: Any, file: str, field_: str) -> float:
    """A finite float, or an InputError (a bool or a string is not a number)."""
    if not is_number(value):
        raise one_line_error(file, field_, f"expected a number, got {describe(value)}{number_hint(value)}")
    x = as_float(value)
    if not math.isfinite(x):
        raise one_line_error(file, field_, f"expected a finite number, got {describe(value)}")
    return x


def fmt(x: float) -> str:
    return f"{x:g}"


# --------------------------------------------------------------------------- YAML reading


def read_scenario_yaml(path: Path, shown: str) -> Any:
    return read_yaml(path, shown, "scenario file")[0]


# --------------------------------------------------------------------------- file schema

NumberField = Annotated[float, Field(strict=True, allow_inf_nan=False)]
TextField = Annotated[str, Field(strict=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


LabelText = Annotated[str, Field(strict=True, min_length=1, max_length=MAX_LABEL)]


class LabelIn(_Strict):
    zh: LabelText
    en: LabelText


class TargetIn(_Strict):
    indicator: TextField
    year: NumberField
    value: NumberField


class FileIn(_Strict):
    name: Annotated[str, Field(strict=True, min_length=1, max_length=MAX_NAME)] | None = None
    kind: Literal["scenario", "support"] | None = None
    extends: TextField | None = None
    label: LabelIn | None = None
    model: TextField | None = None
    doc: str | None = None
    set: dict[str, Any] | None = None
    uncertain: dict[str, Any] | None = None
    targets: list[TargetIn] | None = None


_KEYS_AT = {"label": ("zh", "en"), "targets": ("indicator", "year", "value")}


def pydantic_error(exc: ValidationError, file: str, prefix: tuple = ()) -> InputError:
    """The first pydantic error as a one-line InputError (field path joined by '.')."""
    errors = exc.errors()
    # a misspelt key shows up as 'missing' + 'extra'; the misspelling is the better message
    e = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
    loc = prefix + tuple(e["loc"])
    # pydantic adds the union/type branch to loc (e.g. 'str', 'list[...]'); drop those
    loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in _TYPE_TAGS)))
    field_ = ".".join(str(p) for p in loc)
    kind, value = e["type"], e.get("input")
    if kind == "missing":
        reason = "required but missing"
    elif kind == "extra_forbidden":
        allowed = _KEYS_AT.get(str(loc[0]), ()) if loc else ()
        reason = "unknown key" + suggest(str(loc[-1]), allowed)
        if allowed:
            reason += f"; expected {', '.join(allowed)}"
    elif kind in ("float_type", "float_parsing", "int_type", "int_parsing"):
        reason = f"expected a number, got {describe(value)}{number_hint(value)}"
    elif kind == "finite_number":
        reason = f"expected a finite number, got {describe(value)}"
    elif kind in ("string_type", "str_type"):
        reason = f"expected text, got {describe(value)}"
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        reason = f"expected a mapping, got {describe(value)}"
    elif kind == "list_type":
        reason = f"expected a list, got {describe(value)}"
    elif kind in ("string_too_short", "too_short"):
        reason = "must not be empty"
    elif kind == "string_too_long":
        reason = f"too long: at most {e.get('ctx', {}).get('max_length')} characters"
    elif kind == "literal_error":
        reason = f"expected one of {e.get('ctx', {}).get('expected')}, got {describe(value)}"
    else:
        reason = e["msg"]
    return one_line_error(file, field_, reason)


_TYPE_TAGS = {"str", "float", "int", "dict", "list", "none", "function-after", "constrained-str"}
