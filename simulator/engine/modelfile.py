"""The model file's schema (pydantic): `ModelSpec` and its parts.

A model file (`models/*.yaml`, format in docs/model-format.md) declares dimensions,
constants, lookups, stocks, flows and auxiliaries. This module only says what the parts
are; `simulator.engine.load` reads a file into a `ModelSpec` and checks it (names,
bounds, wiring, equations, units). Kept apart so that `equations` and `units`, which
take a `ModelSpec`, and the loader, which calls them, import in one direction.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: names of elements, dimensions and dimension elements: lower-case identifiers without a double
#: underscore (reserved for the compiler's hidden variables) or a trailing one, so that every name
#: is also a valid and distinct Vensim and XMILE name (those tools read `_` as a space)
NAME_RE = re.compile(r"^[a-z](?:[a-z0-9]|_(?!_))*(?<!_)$")
#: the longest model name (it is printed in outputs and exports)
MAX_NAME = 200


def _finite(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"must be a finite number, not {v}")
    return v


def _no_bool(v: Any) -> Any:
    """Refuse true/false anywhere in a (nested) value: YAML reads yes/no as booleans."""
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, bool):
            raise ValueError("a number is required, not true/false")
        if isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class Label(_Strict):
    zh: str
    en: str


class TimeSpec(_Strict):
    start: float
    stop: float
    dt: float = Field(gt=0)
    saveper: float = Field(default=1.0, gt=0)
    #: the integration method runs use when none is given (`--method`, `simulate(method=)`)
    method: Literal["euler", "heun", "rk4"] = "euler"

    @field_validator("start", "stop", "dt", "saveper")
    @classmethod
    def _finite_time(cls, v: float) -> float:
        return _finite(v)


class Dimension(_Strict):
    elements: list[str] = Field(min_length=1)
    labels: dict[str, Label] = Field(default_factory=dict)
    #: true: `shift(x, dim)` may move values along it (an ageing chain)
    ordered: bool = False


class _Element(_Strict):
    unit: str
    label: Label
    doc: str = ""
    source: str = ""
    dims: list[str] = Field(default_factory=list)
    #: the model sector the element belongs to (population, land, ...): docs group by it, and
    #: `engine.sectors.run_sector` runs one sector alone
    sector: str | None = None


class Constant(_Element):
    #: a number, or for dims [d1, d2, ...] a list or mapping over d1 of values over d2, ...
    value: Any
    #: optional: the dims `value` is given over (a subset of dims); repeated over the others
    value_dims: list[str] | None = None
    bounds: list[float] | None = None
    lever: bool = False

    @field_validator("value", mode="before")
    @classmethod
    def _value_no_bool(cls, v: Any) -> Any:
        return _no_bool(v)

    @field_validator("bounds")
    @classmethod
    def _two_bounds(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (len(v) != 2 or v[0] > v[1] or any(math.isnan(b) for b in v)):
            raise ValueError("bounds must be [low, high] with low <= high")
        return v


class Lookup(_Element):
    x: list[float] = Field(min_length=2)
    y: list[float] = Field(min_length=2)
    x_unit: str = "dimensionless"

    @field_validator("x", "y")
    @classmethod
    def _finite_points(cls, v: list[float]) -> list[float]:
        for p in v:
            _finite(p)
        return v


class Stock(_Element):
    initial: float | str
    inflows: list[str] = Field(default_factory=list)
    outflows: list[str] = Field(default_factory=list)

    @field_validator("initial")
    @classmethod
    def _finite_initial(cls, v: float | str) -> float | str:
        return _finite(v)


class Flow(_Element):
    equation: float | str
    #: per-element equations: "element" or "element, element" -> equation on that slice
    elements: dict[str, float | str] = Field(default_factory=dict)


class Auxiliary(_Element):
    equation: float | str
    #: per-element equations, as for flows
    elements: dict[str, float | str] = Field(default_factory=dict)


class Loop(_Strict):
    """A feedback loop named for the documentation: the elements along it, checked to be linked."""

    name: str = Field(min_length=1)
    polarity: Literal["+", "-", "reinforcing", "balancing"]
    label: Label
    elements: list[str] = Field(min_length=2)
    doc: str = ""

    @property
    def reinforcing(self) -> bool:
        """True for a reinforcing (+) loop, False for a balancing (-) one."""
        return self.polarity in ("+", "reinforcing")


class ModelSpec(_Strict):
    """A validated model file; `path` and `sha256` say exactly which file it came from."""

    name: str
    doc: str = ""
    version: str = ""
    time: TimeSpec
    dimensions: dict[str, Dimension] = Field(default_factory=dict)
    constants: dict[str, Constant] = Field(default_factory=dict)
    lookups: dict[str, Lookup] = Field(default_factory=dict)
    stocks: dict[str, Stock] = Field(default_factory=dict)
    flows: dict[str, Flow] = Field(default_factory=dict)
    auxiliaries: dict[str, Auxiliary] = Field(default_factory=dict)
    loops: list[Loop] = Field(default_factory=list)
    path: Path = Path("<memory>")
    sha256: str = ""

    @field_validator("name")
    @classmethod
    def _printable_name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the model name is empty")
        if len(v) > MAX_NAME:
            raise ValueError(f"the model name is {len(v)} characters long; at most {MAX_NAME}")
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in v):
            raise ValueError("the model name holds a control character (NUL, newline, tab, ...)")
        return v

    def elements(self, dim: str) -> list[str]:
        """The element names of a dimension, in declared order."""
        return self.dimensions[dim].elements

    def kind(self, name: str) -> str | None:
        """'constant', 'lookup', 'stock', 'flow', 'auxiliary' or None."""
        for kind, table in self.tables():
            if name in table:
                return kind
        return None

    def element(self, name: str) -> _Element:
        """The declaration of any named element."""
        for _, table in self.tables():
            if name in table:
                return table[name]
        raise KeyError(name)

    def all_names(self) -> list[str]:
        """Every element's name, in file order by kind."""
        return [n for _, table in self.tables() for n in table]

    def sectors(self) -> list[str]:
        """The sectors elements name, in order of first appearance."""
        found: dict[str, None] = {}
        for _, table in self.tables():
            for el in table.values():
                if el.sector:
                    found.setdefault(el.sector)
        return list(found)

    def tables(self) -> list[tuple[str, dict[str, Any]]]:
        """(kind, {name: declaration}) for each kind of element, in file order."""
        return [
            ("constant", self.constants),
            ("lookup", self.lookups),
            ("stock", self.stocks),
            ("flow", self.flows),
            ("auxiliary", self.auxiliaries),
        ]
