"""Levers: a scenario's `set:` entries checked against the model and resolved to values.

A `set:` entry is a number, a county mapping or a time series `{year: value}` (linear
between years, flat outside); each value is checked against the constant's bounds.
The notebook API checks `run()` overrides with the same `resolve_set`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simulator.engine.arrays import ValueShapeError, nested_values
from simulator.engine.series import TimeSeries
from simulator.errors import suggest
from simulator.scenario.schema import (
    as_float,
    describe,
    fmt,
    is_number,
    number,
    number_hint,
    one_line_error,
)

_ARTICLE = {"constant": "a constant", "lookup": "a lookup table", "stock": "a stock",
            "flow": "a flow", "auxiliary": "an auxiliary"}


def kind_of(spec: Any, name: str) -> str | None:
    """'a stock', 'an auxiliary', ... for messages (from ModelSpec.kind), or None."""
    kind = spec.kind(name)
    return _ARTICLE[kind] if kind else None


def constant(spec: Any, name: str, file: str, field_: str) -> Any:
    if name in spec.constants:
        return spec.constants[name]
    kind = kind_of(spec, name)
    if kind is not None:
        raise one_line_error(file, field_, f"{name!r} is {kind}, not a constant; only constants can be set")
    raise one_line_error(file, field_, f"unknown constant{suggest(name, list(spec.constants))}")


def constant_elements(spec: Any, const: Any, name: str, file: str, field_: str) -> list[str] | None:
    """The elements of a one-dimensional constant (None for a scalar one)."""
    dims = list(const.dims or [])
    if not dims:
        return None
    return list(spec.dimensions[dims[0]].elements)


def _nested(spec: Any, const: Any, raw: Any, bounds: Any, file: str, field_: str) -> np.ndarray:
    """A value of a constant with several dims (or a list for one dim): nested mappings or
    lists in the order of its dims (engine.arrays.nested_values), each element within bounds."""
    dims = list(const.dims)
    try:
        arr = nested_values(raw, dims, {d: spec.elements(d) for d in dims}, field_)
    except ValueShapeError as exc:
        raise one_line_error(file, exc.field, exc.reason) from None
    if bounds is not None:
        outside = (arr < bounds[0]) | (arr > bounds[1])
        if outside.any():
            index = tuple(int(i[0]) for i in np.nonzero(outside))
            where = ".".join(spec.elements(d)[i] for d, i in zip(dims, index))
            check_bounds(float(arr[index]), bounds, file, f"{field_}.{where}")
    return arr


def _plain(arr: np.ndarray, spec: Any, dims: list[str]) -> Any:
    """An array over dims as nested {element: ...} mappings (the canonical resolved form)."""
    if not dims:
        return float(arr)
    return {e: _plain(arr[i], spec, dims[1:]) for i, e in enumerate(spec.elements(dims[0]))}


def bounds_of(const: Any) -> tuple[float, float] | None:
    b = getattr(const, "bounds", None)
    if b is None:
        return None
    lo, hi = b
    return (-math.inf if lo is None else float(lo), math.inf if hi is None else float(hi))


def check_bounds(x: float, bounds: tuple[float, float] | None, file: str, field_: str) -> None:
    if bounds is not None and not (bounds[0] <= x <= bounds[1]):
        raise one_line_error(
            file,
            field_,
            f"{fmt(x)} is outside the bounds [{fmt(bounds[0])}, {fmt(bounds[1])}] of this constant",
        )


def run_years(spec: Any) -> tuple[float, float]:
    return float(spec.time.start), float(spec.time.stop)


def year_key(key: Any, spec: Any, file: str, field_: str, what: str = "year") -> int:
    start, stop = run_years(spec)
    run = f"the run years {fmt(start)}-{fmt(stop)}"
    if isinstance(key, str):
        try:
            key = float(key.strip())
        except ValueError:
            raise one_line_error(file, field_, f"expected a {what} within {run}, got {describe(key)}") from None
    if not is_number(key) or not math.isfinite(as_float(key)):
        raise one_line_error(file, field_, f"expected a {what} within {run}, got {describe(key)}")
    if float(key) != int(key):
        raise one_line_error(file, field_, f"{what} {key!r} is not a whole number")
    if not (start <= float(key) <= stop):
        raise one_line_error(file, field_, f"{what} {int(key)} is outside {run}")
    return int(key)


def is_yearish(key: Any) -> bool:
    if is_number(key):
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
    if is_number(raw):
        x = number(raw, file, field_)
        check_bounds(x, bounds, file, field_)
        return np.full(len(elements), x)
    if not isinstance(raw, dict):
        raise one_line_error(
            file, field_, f"expected a number or a mapping {{county: number}}, got {describe(raw)}"
        )
    for key in raw:
        if key not in elements:
            raise one_line_error(file, f"{field_}.{key}", f"unknown county{suggest(str(key), elements)}")
    missing = [e for e in elements if e not in raw]
    if missing:
        raise one_line_error(
            file,
            field_,
            f"missing {', '.join(missing)}; a county mapping names every county "
            f"({', '.join(elements)}), or give one number for all",
        )
    out = np.empty(len(elements))
    for i, e in enumerate(elements):
        out[i] = number(raw[e], file, f"{field_}.{e}")
        check_bounds(out[i], bounds, file, f"{field_}.{e}")
    return out


def resolve_set(
    name: str, raw: Any, spec: Any, file: str
) -> tuple[float | np.ndarray | TimeSeries, Any]:
    """One `set:` entry -> (param for simulate, canonical plain value for `resolved`)."""
    field_ = f"set.{name}"
    const = constant(spec, name, file, field_)
    elements = constant_elements(spec, const, name, file, field_)
    bounds = bounds_of(const)
    listed = isinstance(raw, list) or (isinstance(raw, dict) and any(isinstance(v, list) for v in raw.values()))
    if len(const.dims) > 1 or (elements is not None and listed):
        return _resolve_nested(name, raw, spec, const, bounds, file)

    if isinstance(raw, dict) and raw:
        county_like = elements is not None and any(not is_yearish(k) for k in raw)
        if county_like:
            arr = _county_values(raw, elements, bounds, file, field_)
            return arr, dict(zip(elements, arr.tolist()))
        # a time series {year: value}
        knots: dict[int, Any] = {}
        for key, value in raw.items():
            kfield = f"{field_}.{key}"
            if elements is None and not is_yearish(key):
                raise one_line_error(
                    file,
                    kfield,
                    f"{name!r} is not per county; give a number or a time series "
                    f"{{year: number}}, got key {describe(key)}",
                )
            year = year_key(key, spec, file, kfield)
            if year in knots:
                raise one_line_error(file, kfield, f"year {year} given twice")
            if elements is None:
                x = number(value, file, kfield)
                check_bounds(x, bounds, file, kfield)
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
        raise one_line_error(file, field_, "empty mapping; give a number or a time series {year: number}")
    if elements is not None:
        if isinstance(raw, (list, str, bool)) or raw is None:
            raise one_line_error(
                file,
                field_,
                f"expected a number, a mapping {{county: number}} or a time series "
                f"{{year: number}}, got {describe(raw)}{number_hint(raw)}",
            )
        arr = _county_values(raw, elements, bounds, file, field_)
        return arr, dict(zip(elements, arr.tolist()))
    if not is_number(raw):
        raise one_line_error(
            file,
            field_,
            f"expected a number or a time series {{year: number}}, got "
            f"{describe(raw)}{number_hint(raw)}",
        )
    x = number(raw, file, field_)
    check_bounds(x, bounds, file, field_)
    return x, x


def _resolve_nested(name: str, raw: Any, spec: Any, const: Any, bounds: Any, file: str) -> tuple[Any, Any]:
    """`set:` of a constant with several dims (or a list for one dim): a nested value, or a
    time series {year: nested value}."""
    field_ = f"set.{name}"
    dims = list(const.dims)
    if isinstance(raw, dict) and raw and all(is_yearish(k) for k in raw):
        knots: dict[int, np.ndarray] = {}
        for key, value in raw.items():
            kfield = f"{field_}.{key}"
            year = year_key(key, spec, file, kfield)
            if year in knots:
                raise one_line_error(file, kfield, f"year {year} given twice")
            knots[year] = _nested(spec, const, value, bounds, file, kfield)
        years = sorted(knots)
        series = TimeSeries(np.array(years, dtype=float), np.array([knots[y] for y in years], dtype=float))
        return series, {str(y): _plain(knots[y], spec, dims) for y in years}
    arr = _nested(spec, const, raw, bounds, file, field_)
    return arr, _plain(arr, spec, dims)
