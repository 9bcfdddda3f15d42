"""The model file's schema (pydantic): `ModelSpec` and its parts.

A model file (`models/*.yaml`, format in docs/model-format.md) declares dimensions,
constants, lookups, stocks, flows and auxiliaries. This module only says what the parts
are; `simulator.engine.load` reads a file into a `ModelSpec` and checks it (names,
bounds, wiring, equations, units). Kept apart so that `equations` and `units`, which
take a `ModelSpec`, and the loader, which calls them, import in one direction.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


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


class Dimension(_Strict):
    elements: list[str] = Field(min_length=1)
    labels: dict[str, Label] = Field(default_factory=dict)


class _Element(_Strict):
    unit: str
    label: Label
    doc: str = ""
    source: str = ""
    dims: list[str] = Field(default_factory=list)


class Constant(_Element):
    value: float | dict[str, float]
    bounds: list[float] | None = None
    lever: bool = False

    @field_validator("value", mode="before")
    @classmethod
    def _no_bool(cls, v: Any) -> Any:
        if isinstance(v, bool) or (isinstance(v, dict) and any(isinstance(x, bool) for x in v.values())):
            raise ValueError("a number is required, not true/false")
        return v

    @field_validator("bounds")
    @classmethod
    def _two_bounds(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (len(v) != 2 or v[0] > v[1]):
            raise ValueError("bounds must be [low, high] with low <= high")
        return v


class Lookup(_Element):
    x: list[float] = Field(min_length=2)
    y: list[float] = Field(min_length=2)
    x_unit: str = "dimensionless"


class Stock(_Element):
    initial: float | str
    inflows: list[str] = Field(default_factory=list)
    outflows: list[str] = Field(default_factory=list)


class Flow(_Element):
    equation: float | str


class Auxiliary(_Element):
    equation: float | str


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
        return [n for _, table in self.tables() for n in table]

    def tables(self) -> list[tuple[str, dict[str, Any]]]:
        """(kind, {name: declaration}) for each kind of element, in file order."""
        return [
            ("constant", self.constants),
            ("lookup", self.lookups),
            ("stock", self.stocks),
            ("flow", self.flows),
            ("auxiliary", self.auxiliaries),
        ]
