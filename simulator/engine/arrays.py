"""Subscripted values as arrays: nested constant values, and the two axis orders.

An element's values are laid out in two orders:

- **declared**: the element's own `dims:` in the order it lists them. Model files, scenario
  files, `Run.data[name]` (n_runs, n_t, *sizes) and parameter arrays use it.
- **internal**: every dimension of the model in canonical order (the order of
  `dimensions:`), with size 1 where the element does not vary. Generated code uses it, so
  numpy broadcasts values by dimension *name*: (runs, 7, 1) county values times
  (runs, 1, 18) age values give (runs, 7, 18).

`Layout` converts between the two; `nested_values` reads a nested value of a model or
scenario file (a number, a list in element order, or a mapping naming every element, nested
in the declared order) into a declared-order array.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simulator.errors import suggest


class ValueShapeError(ValueError):
    """A nested value does not fit its dims; `field` is the dotted path of the bad part."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class Layout:
    """The model's dimensions, in canonical order, and conversions between the axis orders."""

    def __init__(self, dims: Mapping[str, Sequence[str]]) -> None:
        self.dims: dict[str, tuple[str, ...]] = {d: tuple(e) for d, e in dims.items()}
        self.order = list(self.dims)
        #: declared dims -> (their sizes in canonical order, the axis order back to declared, or
        #: None): worked out once, as a run converts some 160 recorded variables
        self._to_declared: dict[tuple[str, ...], tuple[tuple[int, ...], tuple[int, ...] | None]] = {}

    def canonical(self, dims: Sequence[str]) -> tuple[str, ...]:
        """`dims` sorted into the model's order."""
        return tuple(d for d in self.order if d in dims)

    def sizes(self, dims: Sequence[str]) -> tuple[int, ...]:
        """The number of elements of each dim, in the order given."""
        return tuple(len(self.dims[d]) for d in dims)

    def full_shape(self, dims: Sequence[str]) -> tuple[int, ...]:
        """The internal shape without the run axis: every model dimension, 1 where absent."""
        return tuple(len(self.dims[d]) if d in dims else 1 for d in self.order)

    def to_internal(self, arr: np.ndarray, declared: Sequence[str], lead: int = 1) -> np.ndarray:
        """(*lead axes, *declared sizes) -> (*lead axes, *internal shape)."""
        arr = np.asarray(arr, dtype=float)
        canon = self.canonical(declared)
        if list(canon) != list(declared):
            order = list(range(lead)) + [lead + list(declared).index(d) for d in canon]
            arr = arr.transpose(order)
        return arr.reshape(arr.shape[:lead] + self.full_shape(declared))

    def to_declared(self, arr: np.ndarray, declared: Sequence[str], lead: int = 1) -> np.ndarray:
        """(*lead axes, *internal shape) -> (*lead axes, *declared sizes); a view when it can be."""
        key = tuple(declared)
        plan = self._to_declared.get(key)
        if plan is None:
            canon = self.canonical(key)
            plan = self._to_declared[key] = (
                self.sizes(canon), None if canon == key else tuple(canon.index(d) for d in key))
        sizes, order = plan
        arr = arr.reshape(arr.shape[:lead] + sizes)
        if order is not None:
            arr = arr.transpose(tuple(range(lead)) + tuple(lead + k for k in order))
        return arr


def nested_values(raw: Any, dims: Sequence[str], elements: Mapping[str, Sequence[str]], field: str,
                  value_dims: Sequence[str] | None = None) -> np.ndarray:
    """A value of a model or scenario file as an array over `dims` (declared order).

    `raw` is a number (every element), or for dims [d, ...] a list in the order of d's
    elements or a mapping naming every element of d, whose items are values over the
    remaining dims, and so on. With `value_dims` (a subset of `dims`, in `dims` order or
    not) the value is given over those only and repeated over the others. Raises
    ValueShapeError naming the dotted field of the first bad part.
    """
    given = list(dims if value_dims is None else value_dims)
    arr = _nested(raw, given, elements, field)
    if given == list(dims):
        return arr
    order = [given.index(d) for d in dims if d in given]
    arr = arr.transpose(order)
    shape = [len(elements[d]) if d in given else 1 for d in dims]
    arr = arr.reshape(shape)
    return np.broadcast_to(arr, tuple(len(elements[d]) for d in dims)).copy()


def _nested(raw: Any, dims: Sequence[str], elements: Mapping[str, Sequence[str]], field: str) -> np.ndarray:
    if _is_number(raw):
        try:
            x = float(raw)
        except OverflowError:
            raise ValueShapeError(field, f"{_describe(raw)} is too large for a float") from None
        if not math.isfinite(x):
            raise ValueShapeError(field, f"{x} is not a finite number")
        return np.full(tuple(len(elements[d]) for d in dims), x)
    if not dims:
        raise ValueShapeError(field, f"expected a number, got {_describe(raw)}")
    dim, rest = dims[0], dims[1:]
    names = list(elements[dim])
    if isinstance(raw, Mapping):
        for key in raw:
            if key not in names:
                raise ValueShapeError(f"{field}.{key}", f"unknown element of '{dim}'{suggest(str(key), names)}")
        missing = [e for e in names if e not in raw]
        if missing:
            shown = ", ".join(missing[:8]) + (", ..." if len(missing) > 8 else "")
            raise ValueShapeError(field, f"no value for {shown} (a mapping over '{dim}' names every element, "
                                         "or give one number for all)")
        parts = [_nested(raw[e], rest, elements, f"{field}.{e}") for e in names]
    elif isinstance(raw, (list, tuple)):
        if len(raw) != len(names):
            raise ValueShapeError(field, f"a list over '{dim}' needs {len(names)} values (one per element, "
                                         f"in order: {', '.join(names[:4])}{', ...' if len(names) > 4 else ''}), "
                                         f"got {len(raw)}")
        parts = [_nested(v, rest, elements, f"{field}.{e}") for v, e in zip(raw, names)]
    else:
        raise ValueShapeError(field, f"expected a number, a list or a mapping over '{dim}', got {_describe(raw)}")
    return np.stack(parts)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _describe(x: Any) -> str:
    text = repr(x)
    return f"{text[:40]}{'...' if len(text) > 40 else ''}"
