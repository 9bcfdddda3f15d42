"""Scenario files: schema, `extends`, levers (`set:`), `uncertain:` ranges and `targets:`.

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

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulator.bundled import models_dir, scenarios_dir
from simulator.errors import InputError, suggest
from simulator.series import TimeSeries
from simulator.yamlfile import read_yaml

__all__ = [
    "DISTRIBUTIONS",
    "Distribution",
    "Scenario",
    "Target",
    "bundled_scenario_names",
    "bundled_scenario_path",
    "load_scenario",
]

TOP_LEVEL_KEYS = ("name", "extends", "label", "model", "doc", "set", "uncertain", "targets")

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


@dataclass(frozen=True)
class Distribution:
    """The range of an uncertain constant, for sweeps.

    `dist` is one of uniform (low, high), normal (mean, sd), triangular (low, mode, high)
    or discrete (values, optional weights). For a county constant the sampled number is
    used for every county.
    """

    dist: str
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    mode: float | None = None
    values: tuple[float, ...] | None = None
    weights: tuple[float, ...] | None = None

    @property
    def params(self) -> dict[str, Any]:
        """The distribution's parameters as plain data (as written in the file)."""
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
    spec: Any  # simulator.modelfile.ModelSpec
    params: dict[str, float | np.ndarray | TimeSeries]
    uncertain: dict[str, Distribution]
    targets: list[Target]
    resolved: dict[str, Any]
    sha256: str
    chain: tuple[Path, ...] = field(default_factory=tuple)  # this file, its parent, ...


# --------------------------------------------------------------------------- bundled files


def bundled_scenario_path(stem: str = "baseline") -> Path:
    """The path of a bundled scenario file `scenarios/<stem>.yaml` (it may not exist)."""
    return scenarios_dir() / f"{stem}.yaml"


def bundled_scenario_names() -> list[str]:
    """Stems of the bundled scenario files."""
    folder = scenarios_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


# --------------------------------------------------------------------------- helpers


def _err(file: str | Path, field_: str, reason: str) -> InputError:
    """An InputError whose message is guaranteed to be one line."""
    flat = lambda s: re.sub(r"\s+", " ", str(s)).strip()  # noqa: E731
    return InputError(flat(file), flat(field_) or "(top level)", flat(reason))


def _display(path: Path) -> str:
    """A file name for messages: relative to the working directory when below it."""
    try:
        rel = Path(os.path.abspath(path)).relative_to(Path.cwd().resolve())
        return str(rel)
    except ValueError:
        return str(path)


def _describe(value: Any) -> str:
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
    return repr(value)


def _number_hint(value: Any) -> str:
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        if "e" in value.lower() and "." not in value:
            return " (YAML reads 1e-3 as text; write 1.0e-3)"
        return " (write it without quotes)"
    return ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value: Any, file: str, field_: str) -> float:
    """A finite float, or an InputError (a bool or a string is not a number)."""
    if not _is_number(value):
        raise _err(file, field_, f"expected a number, got {_describe(value)}{_number_hint(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise _err(file, field_, f"expected a finite number, got {value!r}")
    return number


def _fmt(x: float) -> str:
    return f"{x:g}"


# --------------------------------------------------------------------------- YAML reading


def _read_yaml(path: Path, shown: str) -> Any:
    return read_yaml(path, shown, "scenario file")[0]


# --------------------------------------------------------------------------- file schema

_Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
_Text = Annotated[str, Field(strict=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class _Label(_Strict):
    zh: _Text
    en: _Text


class _TargetIn(_Strict):
    indicator: _Text
    year: _Number
    value: _Number


class _FileIn(_Strict):
    name: _Text | None = None
    extends: _Text | None = None
    label: _Label | None = None
    model: _Text | None = None
    doc: str | None = None
    set: dict[str, Any] | None = None
    uncertain: dict[str, Any] | None = None
    targets: list[_TargetIn] | None = None


_KEYS_AT = {"label": ("zh", "en"), "targets": ("indicator", "year", "value")}


def _pydantic_error(exc: ValidationError, file: str, prefix: tuple = ()) -> InputError:
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
        reason = f"expected a number, got {_describe(value)}{_number_hint(value)}"
    elif kind == "finite_number":
        reason = f"expected a finite number, got {value!r}"
    elif kind in ("string_type", "str_type"):
        reason = f"expected text, got {_describe(value)}"
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        reason = f"expected a mapping, got {_describe(value)}"
    elif kind == "list_type":
        reason = f"expected a list, got {_describe(value)}"
    elif kind in ("string_too_short", "too_short"):
        reason = "must not be empty"
    else:
        reason = e["msg"]
    return _err(file, field_, reason)


_TYPE_TAGS = {"str", "float", "int", "dict", "list", "none", "function-after", "constrained-str"}


# --------------------------------------------------------------------------- extends chain


@dataclass
class _Layer:
    """A scenario file merged with its parents; every entry remembers its file."""

    name: str
    label: dict[str, str] | None
    model: tuple[str, Path, str] | None  # (reference, folder of the file, shown file)
    set: dict[str, tuple[Any, str]]
    uncertain: dict[str, tuple[Any, str]]
    targets: tuple[list[_TargetIn], str] | None
    chain: list[Path]


def _is_path_ref(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.endswith((".yaml", ".yml"))


def _find_parent(ref: str, child: Path, shown: str) -> Path:
    here = child.parent
    if _is_path_ref(ref):
        candidate = Path(ref).expanduser()
        candidate = candidate if candidate.is_absolute() else here / candidate
        if not candidate.is_file():
            raise _err(shown, "extends", f"no such parent scenario file {ref!r}")
        return candidate
    sibling = here / f"{ref}.yaml"
    if sibling.is_file() and not _same_file(sibling, child):
        return sibling
    bundled = bundled_scenario_path(ref)
    if bundled.is_file():
        return bundled
    if sibling.is_file():
        raise _err(shown, "extends", f"{ref!r} is this file itself; a scenario cannot extend itself")
    names = {p.stem for p in here.glob("*.yaml") if not _same_file(p, child)}
    names.update(bundled_scenario_names())
    raise _err(
        shown,
        "extends",
        f"unknown parent scenario {ref!r} (no {ref}.yaml next to this file or among the "
        f"bundled scenarios){suggest(ref, sorted(names))}",
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _load_layer(path: Path, shown: str, stack: list[Path]) -> _Layer:
    raw = _read_yaml(path, shown)
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else _describe(raw)
        raise _err(shown, "(top level)", f"expected a mapping of scenario keys, got {got}")
    for key in raw:
        if not isinstance(key, str) or key not in TOP_LEVEL_KEYS:
            raise _err(
                shown,
                str(key),
                f"unknown key{suggest(str(key), TOP_LEVEL_KEYS)}; "
                f"expected {', '.join(TOP_LEVEL_KEYS)}",
            )
    for key in ("set", "uncertain"):  # the names inside: text keys only
        if isinstance(raw.get(key), dict):
            for name in raw[key]:
                if not isinstance(name, str):
                    raise _err(shown, f"{key}.{name}", "expected the name of a constant")
    try:
        data = _FileIn.model_validate(raw)
    except ValidationError as exc:
        raise _pydantic_error(exc, shown) from None

    set_ = data.set or {}
    uncertain = data.uncertain or {}
    for name in set_:
        if name in uncertain:
            raise _err(
                shown, f"uncertain.{name}", "also given in set:; a constant is either set or uncertain"
            )

    me = Path(os.path.abspath(path))
    if data.extends is not None:
        parent_path = Path(os.path.abspath(_find_parent(data.extends, path, shown)))
        for seen in stack + [me]:
            if _same_file(seen, parent_path):
                loop = " -> ".join(_display(p) for p in stack + [me, parent_path])
                raise _err(shown, "extends", f"cycle: {loop}")
        parent = _load_layer(parent_path, _display(parent_path), stack + [me])
    else:
        parent = _Layer("", None, None, {}, {}, None, [])

    # A child's `uncertain:` entry keeps the parent's `set:` value for plain runs (sweeps
    # sample the distribution instead); a child's `set:` entry fixes a parent's uncertain one.
    merged_set = dict(parent.set)
    merged_set.update({k: (v, shown) for k, v in set_.items()})
    merged_unc = {k: v for k, v in parent.uncertain.items() if k not in set_}
    merged_unc.update({k: (v, shown) for k, v in uncertain.items()})
    return _Layer(
        name=data.name if data.name is not None else path.stem,
        label=data.label.model_dump() if data.label is not None else None,
        model=(data.model, me.parent, shown) if data.model is not None else parent.model,
        set=merged_set,
        uncertain=merged_unc,
        targets=(data.targets, shown) if data.targets is not None else parent.targets,
        chain=[me] + parent.chain,
    )


# --------------------------------------------------------------------------- model


def _load_spec(ref: tuple[str, Path, str] | None) -> Any:
    from simulator.modelfile import load_model

    if ref is None:
        return load_model(None)
    name, folder, shown = ref
    if _is_path_ref(name):
        path = Path(name).expanduser()
        path = path if path.is_absolute() else folder / path
        if not path.is_file():
            raise _err(shown, "model", f"no such model file {name!r} (looked for {path})")
        return load_model(path)
    path = models_dir() / f"{name}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in models_dir().glob("*.yaml"))
        raise _err(
            shown,
            "model",
            f"unknown model {name!r} (bundled models: {', '.join(names) or 'none'}; "
            f"give a path to use another file){suggest(name, names)}",
        )
    return load_model(path)


_ARTICLE = {"constant": "a constant", "lookup": "a lookup table", "stock": "a stock",
            "flow": "a flow", "auxiliary": "an auxiliary"}


def _kind_of(spec: Any, name: str) -> str | None:
    """'a stock', 'an auxiliary', ... for messages (from ModelSpec.kind), or None."""
    kind = spec.kind(name)
    return _ARTICLE[kind] if kind else None


def _constant(spec: Any, name: str, file: str, field_: str) -> Any:
    if name in spec.constants:
        return spec.constants[name]
    kind = _kind_of(spec, name)
    if kind is not None:
        raise _err(file, field_, f"{name!r} is {kind}, not a constant; only constants can be set")
    raise _err(file, field_, f"unknown constant{suggest(name, list(spec.constants))}")


def _elements(spec: Any, const: Any, name: str, file: str, field_: str) -> list[str] | None:
    dims = list(const.dims or [])
    if not dims:
        return None
    if len(dims) > 1:
        raise _err(file, field_, f"{name!r} has dims {dims}; only one dimension is supported")
    return list(spec.dimensions[dims[0]].elements)


def _bounds(const: Any) -> tuple[float, float] | None:
    b = getattr(const, "bounds", None)
    if b is None:
        return None
    lo, hi = b
    return (-math.inf if lo is None else float(lo), math.inf if hi is None else float(hi))


def _check_bounds(x: float, bounds: tuple[float, float] | None, file: str, field_: str) -> None:
    if bounds is not None and not (bounds[0] <= x <= bounds[1]):
        raise _err(
            file,
            field_,
            f"{_fmt(x)} is outside the bounds [{_fmt(bounds[0])}, {_fmt(bounds[1])}] of this constant",
        )


def _run_years(spec: Any) -> tuple[float, float]:
    return float(spec.time.start), float(spec.time.stop)


def _year(key: Any, spec: Any, file: str, field_: str, what: str = "year") -> int:
    start, stop = _run_years(spec)
    run = f"the run years {_fmt(start)}-{_fmt(stop)}"
    if isinstance(key, str):
        try:
            key = float(key.strip())
        except ValueError:
            raise _err(file, field_, f"expected a {what} within {run}, got {_describe(key)}") from None
    if not _is_number(key) or not math.isfinite(float(key)):
        raise _err(file, field_, f"expected a {what} within {run}, got {_describe(key)}")
    if float(key) != int(key):
        raise _err(file, field_, f"{what} {key!r} is not a whole number")
    if not (start <= float(key) <= stop):
        raise _err(file, field_, f"{what} {int(key)} is outside {run}")
    return int(key)


def _is_yearish(key: Any) -> bool:
    if _is_number(key):
        return True
    if isinstance(key, str):
        try:
            float(key)
            return True
        except ValueError:
            return False
    return False


def _county_values(
    raw: Any, elements: list[str], bounds: Any, file: str, field_: str
) -> np.ndarray:
    """A number for every element, or a mapping naming every element."""
    if _is_number(raw):
        x = _number(raw, file, field_)
        _check_bounds(x, bounds, file, field_)
        return np.full(len(elements), x)
    if not isinstance(raw, dict):
        raise _err(
            file, field_, f"expected a number or a mapping {{county: number}}, got {_describe(raw)}"
        )
    for key in raw:
        if key not in elements:
            raise _err(file, f"{field_}.{key}", f"unknown county{suggest(str(key), elements)}")
    missing = [e for e in elements if e not in raw]
    if missing:
        raise _err(
            file,
            field_,
            f"missing {', '.join(missing)}; a county mapping names every county "
            f"({', '.join(elements)}), or give one number for all",
        )
    out = np.empty(len(elements))
    for i, e in enumerate(elements):
        out[i] = _number(raw[e], file, f"{field_}.{e}")
        _check_bounds(out[i], bounds, file, f"{field_}.{e}")
    return out


def _resolve_set(
    name: str, raw: Any, spec: Any, file: str
) -> tuple[float | np.ndarray | TimeSeries, Any]:
    """One `set:` entry -> (param for simulate, canonical plain value for `resolved`)."""
    field_ = f"set.{name}"
    const = _constant(spec, name, file, field_)
    elements = _elements(spec, const, name, file, field_)
    bounds = _bounds(const)

    if isinstance(raw, dict) and raw:
        county_like = elements is not None and any(not _is_yearish(k) for k in raw)
        if county_like:
            arr = _county_values(raw, elements, bounds, file, field_)
            return arr, dict(zip(elements, arr.tolist()))
        # a time series {year: value}
        knots: dict[int, Any] = {}
        for key, value in raw.items():
            kfield = f"{field_}.{key}"
            if elements is None and not _is_yearish(key):
                raise _err(
                    file,
                    kfield,
                    f"{name!r} is not per county; give a number or a time series "
                    f"{{year: number}}, got key {_describe(key)}",
                )
            year = _year(key, spec, file, kfield)
            if year in knots:
                raise _err(file, kfield, f"year {year} given twice")
            if elements is None:
                x = _number(value, file, kfield)
                _check_bounds(x, bounds, file, kfield)
                knots[year] = x
            else:
                knots[year] = _county_values(value, elements, bounds, file, kfield)
        years = sorted(knots)
        values = np.array([knots[y] for y in years], dtype=float)
        series = TimeSeries(np.array(years, dtype=float), values)
        if elements is None:
            canonical = {str(y): knots[y] for y in years}
        else:
            canonical = {str(y): dict(zip(elements, knots[y].tolist())) for y in years}
        return series, canonical

    if isinstance(raw, dict):
        raise _err(file, field_, "empty mapping; give a number or a time series {year: number}")
    if elements is not None:
        if isinstance(raw, (list, str, bool)) or raw is None:
            raise _err(
                file,
                field_,
                f"expected a number, a mapping {{county: number}} or a time series "
                f"{{year: number}}, got {_describe(raw)}{_number_hint(raw)}",
            )
        arr = _county_values(raw, elements, bounds, file, field_)
        return arr, dict(zip(elements, arr.tolist()))
    if not _is_number(raw):
        raise _err(
            file,
            field_,
            f"expected a number or a time series {{year: number}}, got "
            f"{_describe(raw)}{_number_hint(raw)}",
        )
    x = _number(raw, file, field_)
    _check_bounds(x, bounds, file, field_)
    return x, x


def _resolve_uncertain(name: str, raw: Any, spec: Any, file: str) -> tuple[Distribution, dict]:
    field_ = f"uncertain.{name}"
    const = _constant(spec, name, file, field_)
    _elements(spec, const, name, file, field_)  # rejects unsupported dims
    bounds = _bounds(const)
    choices = ", ".join(DISTRIBUTIONS)
    if not isinstance(raw, dict):
        raise _err(
            file, field_, f"expected a mapping like {{dist: uniform, low: ..., high: ...}}, got {_describe(raw)}"
        )
    if "dist" not in raw:
        raise _err(file, f"{field_}.dist", f"required but missing; one of {choices}")
    dist = raw["dist"]
    if not isinstance(dist, str) or dist not in DISTRIBUTIONS:
        raise _err(
            file,
            f"{field_}.dist",
            f"unknown distribution {_describe(dist)}{suggest(str(dist), DISTRIBUTIONS)}; "
            f"one of {choices}",
        )
    required, optional = DISTRIBUTIONS[dist]
    expects = ", ".join(required + tuple(f"{o} (optional)" for o in optional))
    for key in raw:
        if key != "dist" and key not in required + optional:
            raise _err(
                file,
                f"{field_}.{key}",
                f"unknown parameter for a {dist} distribution{suggest(str(key), required + optional)}; "
                f"it takes {expects}",
            )
    for key in required:
        if key not in raw:
            raise _err(
                file, f"{field_}.{key}", f"required but missing; a {dist} distribution takes {expects}"
            )

    def num(key: str) -> float:
        return _number(raw[key], file, f"{field_}.{key}")

    def inside(key: str, x: float) -> None:
        _check_bounds(x, bounds, file, f"{field_}.{key}")

    if dist in ("uniform", "triangular"):
        low, high = num("low"), num("high")
        if low >= high:
            raise _err(file, f"{field_}.high", f"high {_fmt(high)} must be greater than low {_fmt(low)}")
        inside("low", low)
        inside("high", high)
        if dist == "uniform":
            d = Distribution("uniform", low=low, high=high)
        else:
            mode = num("mode")
            if not low <= mode <= high:
                raise _err(
                    file, f"{field_}.mode", f"mode {_fmt(mode)} is outside [low, high] = [{_fmt(low)}, {_fmt(high)}]"
                )
            d = Distribution("triangular", low=low, mode=mode, high=high)
    elif dist == "normal":
        mean, sd = num("mean"), num("sd")
        if sd <= 0:
            raise _err(file, f"{field_}.sd", f"sd must be greater than 0, got {_fmt(sd)}")
        inside("mean", mean)
        d = Distribution("normal", mean=mean, sd=sd)
    else:
        vals = raw["values"]
        if not isinstance(vals, list) or not vals:
            raise _err(file, f"{field_}.values", f"expected a non-empty list of numbers, got {_describe(vals)}")
        values = tuple(_number(v, file, f"{field_}.values.{i}") for i, v in enumerate(vals))
        for i, v in enumerate(values):
            _check_bounds(v, bounds, file, f"{field_}.values.{i}")
        weights = None
        if raw.get("weights") is not None:
            w = raw["weights"]
            if not isinstance(w, list) or len(w) != len(values):
                raise _err(
                    file, f"{field_}.weights", f"expected a list of {len(values)} numbers (one per value), got {_describe(w)}"
                )
            weights = tuple(_number(v, file, f"{field_}.weights.{i}") for i, v in enumerate(w))
            if any(x < 0 for x in weights) or sum(weights) <= 0:
                raise _err(file, f"{field_}.weights", "weights must be >= 0 and not all 0")
        d = Distribution("discrete", values=values, weights=weights)
    return d, {"dist": d.dist, **d.params}


def _resolve_target(i: int, t: _TargetIn, spec: Any, file: str) -> Target:
    field_ = f"targets.{i}"
    m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*(?:\[\s*([A-Za-z_]\w*)\s*\])?\s*", t.indicator)
    if m is None:
        raise _err(file, f"{field_}.indicator", f"not a variable name: {t.indicator!r}")
    name, element = m.group(1), m.group(2)
    stocks = getattr(spec, "stocks", None) or {}
    auxes = getattr(spec, "auxiliaries", None) or {}
    if name in auxes:
        var = auxes[name]
    elif name in stocks:
        var = stocks[name]
    else:
        kind = _kind_of(spec, name)
        if kind is not None:
            raise _err(file, f"{field_}.indicator", f"{name!r} is {kind}; a target names an auxiliary or a stock")
        raise _err(file, f"{field_}.indicator", f"unknown indicator{suggest(name, list(auxes) + list(stocks))}")
    dims = list(getattr(var, "dims", None) or [])
    if dims:
        elements = list(spec.dimensions[dims[0]].elements)
        if element is None:
            raise _err(
                file,
                f"{field_}.indicator",
                f"{name!r} is per {dims[0]}; name one element, e.g. '{name}[{elements[0]}]'",
            )
        if element not in elements:
            raise _err(file, f"{field_}.indicator", f"unknown {dims[0]} {element!r}{suggest(element, elements)}")
        indicator = f"{name}[{element}]"
    else:
        if element is not None:
            raise _err(file, f"{field_}.indicator", f"{name!r} is not subscripted; drop '[{element}]'")
        indicator = name
    year = _year(t.year, spec, file, f"{field_}.year", what="target year")
    return Target(indicator, year, float(t.value))


# --------------------------------------------------------------------------- entry point


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read, resolve (`extends`) and validate a scenario file; None -> bundled baseline.

    Raises `InputError` (one line: file, field, reason) for any bad input.
    """
    if path is None:
        path = bundled_scenario_path("baseline")
        shown = _display(path)
    else:
        shown = str(path)
        path = Path(path).expanduser()
    layer = _load_layer(path, shown, [])
    spec = _load_spec(layer.model)

    params: dict[str, float | np.ndarray | TimeSeries] = {}
    canon_set: dict[str, Any] = {}
    for name, (raw, file) in layer.set.items():
        params[name], canon_set[name] = _resolve_set(name, raw, spec, file)

    uncertain: dict[str, Distribution] = {}
    canon_unc: dict[str, Any] = {}
    for name, (raw, file) in layer.uncertain.items():
        uncertain[name], canon_unc[name] = _resolve_uncertain(name, raw, spec, file)

    targets: list[Target] = []
    if layer.targets is not None:
        items, file = layer.targets
        seen: dict[tuple[str, int], int] = {}
        for i, t in enumerate(items):
            target = _resolve_target(i, t, spec, file)
            key = (target.indicator, target.year)
            if key in seen:
                raise _err(
                    file,
                    f"targets.{i}",
                    f"duplicates targets.{seen[key]} ({target.indicator} in {target.year})",
                )
            seen[key] = i
            targets.append(target)

    label = layer.label or {"zh": layer.name, "en": layer.name}
    resolved = {
        "name": layer.name,
        "label": dict(label),
        "model": Path(spec.path).name,
        "set": canon_set,
        "uncertain": canon_unc,
        "targets": [{"indicator": t.indicator, "year": t.year, "value": t.value} for t in targets],
    }
    canonical = json.dumps(resolved, sort_keys=True, ensure_ascii=False)
    return Scenario(
        name=layer.name,
        label=dict(label),
        path=Path(os.path.abspath(path)),
        spec=spec,
        params=params,
        uncertain=uncertain,
        targets=targets,
        resolved=resolved,
        sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        chain=tuple(layer.chain),
    )
