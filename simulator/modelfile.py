"""The model file: its schema (pydantic) and loading, with one-line errors for bad input.

A model file (`models/*.yaml`, format in docs/model-format.md) declares dimensions,
constants, lookups, stocks, flows and auxiliaries. Loading checks names, types, bounds,
dimensions, stock-flow wiring and every equation (parsed against the whitelist in
`equations.py`); the compiler then only has to order and translate.
"""

from __future__ import annotations

import hashlib
import keyword
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simulator import equations
from simulator.bundled import models_dir
from simulator.errors import InputError, suggest
from simulator.yamlfile import read_yaml

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
        for kind, table in self._tables():
            if name in table:
                return kind
        return None

    def element(self, name: str) -> _Element:
        """The declaration of any named element."""
        for _, table in self._tables():
            if name in table:
                return table[name]
        raise KeyError(name)

    def all_names(self) -> list[str]:
        return [n for _, table in self._tables() for n in table]

    def _tables(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            ("constant", self.constants),
            ("lookup", self.lookups),
            ("stock", self.stocks),
            ("flow", self.flows),
            ("auxiliary", self.auxiliaries),
        ]


def bundled_model_path(name: str = "pingliang") -> Path:
    """Path of a model file shipped with the package (models/<name>.yaml)."""
    return models_dir() / f"{name}.yaml"


def load_model(path: str | Path | None = None, *, units: bool = True) -> ModelSpec:
    """Read, validate and return a model file; None means the bundled Pingliang model.

    `units=False` skips only the units check (for engine tests on abstract toy models).
    """
    path = bundled_model_path() if path is None else Path(path)
    raw, raw_bytes = read_yaml(path, str(path), "model file")
    if not isinstance(raw, dict):
        raise InputError(path, "model", "the file must hold a mapping (name, time, stocks, ...)")
    for key in ("path", "sha256"):
        raw.pop(key, None)
    try:
        spec = ModelSpec.model_validate(raw)
    except ValidationError as exc:
        raise _first_error(path, exc, raw) from None
    spec.path = path
    spec.sha256 = hashlib.sha256(raw_bytes).hexdigest()
    check_model(spec, units=units)
    return spec


def _first_error(path: Path, exc: ValidationError, raw: dict) -> InputError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    # pydantic tries each branch of a union; the branch name is noise for the reader
    loc = [p for p in loc if p not in ("float", "str", "dict[str,float]", "function-after[_two_bounds(), list[float]]")]
    field = ".".join(loc) or "model"
    if err["type"] == "extra_forbidden":
        allowed = _allowed_fields(loc)
        return InputError(path, field, f"unknown field{suggest(loc[-1], allowed)}")
    if err["type"] == "missing":
        return InputError(path, field, "required field is missing")
    msg = err["msg"].removeprefix("Value error, ")
    return InputError(path, field, f"{msg} (got {err.get('input')!r})")


def _allowed_fields(loc: list[str]) -> list[str]:
    top = {
        "constants": Constant, "lookups": Lookup, "stocks": Stock, "flows": Flow,
        "auxiliaries": Auxiliary, "dimensions": Dimension,
    }
    if len(loc) == 1:
        return list(ModelSpec.model_fields)
    if loc[0] == "time":
        return list(TimeSpec.model_fields)
    if loc[0] in top and len(loc) == 3:
        return list(top[loc[0]].model_fields)
    if loc[0] == "loops" and len(loc) == 3:
        return list(Loop.model_fields)
    return []


def check_model(spec: ModelSpec, *, units: bool = True) -> None:
    """Cross-element checks: names, dims, bounds, wiring, equations, loops, units. Raises InputError."""
    path = spec.path
    if spec.time.stop <= spec.time.start:
        raise InputError(path, "time.stop", "must be after time.start")
    steps_per_save = spec.time.saveper / spec.time.dt
    if abs(steps_per_save - round(steps_per_save)) > 1e-9:
        raise InputError(path, "time.dt", "must divide time.saveper into whole steps")

    element_names = {e for d in spec.dimensions.values() for e in d.elements}
    seen: dict[str, str] = {}
    for kind, table in spec._tables():
        for name in table:
            field = f"{_plural(kind)}.{name}"
            if not NAME_RE.match(name) or keyword.iskeyword(name):
                raise InputError(path, field, "names are lower-case snake_case identifiers")
            if name in equations.RESERVED:
                raise InputError(path, field, f"'{name}' is a builtin and cannot name an element")
            if name in element_names:
                raise InputError(path, field, f"'{name}' is already a dimension element")
            if name in seen:
                raise InputError(path, field, f"'{name}' is already declared as a {seen[name]}")
            seen[name] = kind
            for dim in table[name].dims:
                if dim not in spec.dimensions:
                    raise InputError(path, f"{field}.dims", f"unknown dimension '{dim}'{suggest(dim, spec.dimensions)}")
            if len(table[name].dims) > 1:
                raise InputError(path, f"{field}.dims", "at most one dimension per element")

    for name, c in spec.constants.items():
        _check_constant(spec, name, c)
    for name, lk in spec.lookups.items():
        field = f"lookups.{name}"
        if lk.dims:
            raise InputError(path, f"{field}.dims", "lookups are not subscripted")
        if len(lk.x) != len(lk.y):
            raise InputError(path, field, f"x has {len(lk.x)} points but y has {len(lk.y)}")
        if any(b <= a for a, b in zip(lk.x, lk.x[1:])):
            raise InputError(path, f"{field}.x", "x must be strictly increasing")

    inflow_of: dict[str, str] = {}
    for sname, stock in spec.stocks.items():
        for role in ("inflows", "outflows"):
            for fname in getattr(stock, role):
                field = f"stocks.{sname}.{role}"
                if fname not in spec.flows:
                    what = spec.kind(fname)
                    reason = f"'{fname}' is a {what}, not a flow" if what else f"unknown flow '{fname}'{suggest(fname, spec.flows)}"
                    raise InputError(path, field, reason)
                if spec.flows[fname].dims != stock.dims:
                    raise InputError(path, field, f"flow '{fname}' has dims {spec.flows[fname].dims} but the stock has {stock.dims}")
                inflow_of.setdefault(fname, sname)
    for fname in spec.flows:
        if fname not in inflow_of:
            raise InputError(path, f"flows.{fname}", "the flow is not an inflow or outflow of any stock")

    for sname, stock in spec.stocks.items():
        equations.check(spec, sname, stock.initial, field=f"stocks.{sname}.initial", initial=True)
    reads: dict[str, set[str]] = {}
    for fname, flow in spec.flows.items():
        reads[fname] = equations.check(spec, fname, flow.equation, field=f"flows.{fname}.equation")
    for aname, aux in spec.auxiliaries.items():
        reads[aname] = equations.check(spec, aname, aux.equation, field=f"auxiliaries.{aname}.equation")
    for sname, stock in spec.stocks.items():
        reads[sname] = set(stock.inflows) | set(stock.outflows)
    _check_loops(spec, reads)
    if units:
        from simulator.units import check_units  # pint is imported only here, when a model is loaded

        check_units(spec)


def _check_loops(spec: ModelSpec, reads: dict[str, set[str]]) -> None:
    """Each declared feedback loop names stocks, flows and auxiliaries, each one read by the next."""
    path = spec.path
    names: set[str] = set()
    for i, loop in enumerate(spec.loops):
        field = f"loops.{i}"
        if loop.name in names:
            raise InputError(path, f"{field}.name", f"a loop named '{loop.name}' is declared twice")
        names.add(loop.name)
        field = f"loops.{loop.name}.elements"
        chain = list(loop.elements)
        if len(chain) > 2 and chain[0] == chain[-1]:
            chain = chain[:-1]  # a closed listing [a, b, a] names the loop [a, b]
        if len(set(chain)) != len(chain):
            raise InputError(path, field, "an element appears twice; list each element of the loop once")
        for name in chain:
            kind = spec.kind(name)
            if kind is None:
                raise InputError(path, field, f"unknown element '{name}'{suggest(name, reads)}")
            if kind not in ("stock", "flow", "auxiliary"):
                raise InputError(path, field, f"'{name}' is a {kind}; a feedback loop passes only through "
                                              "stocks, flows and auxiliaries")
        for a, b in zip(chain, chain[1:] + chain[:1]):
            if a not in reads[b]:
                how = "is not an inflow or outflow of" if spec.kind(b) == "stock" else "is not used in the equation of"
                raise InputError(path, field, f"'{a}' {how} '{b}', so the loop is broken between them "
                                              "(list the elements in causal order, each one read by the next)")


def _check_constant(spec: ModelSpec, name: str, c: Constant) -> None:
    field = f"constants.{name}"
    path = spec.path
    if isinstance(c.value, dict):
        if not c.dims:
            raise InputError(path, f"{field}.value", "a mapping of values needs dims: [county]")
        elements = spec.elements(c.dims[0])
        for key in c.value:
            if key not in elements:
                raise InputError(path, f"{field}.value.{key}", f"unknown element of '{c.dims[0]}'{suggest(key, elements)}")
        missing = [e for e in elements if e not in c.value]
        if missing:
            raise InputError(path, f"{field}.value", f"no value for {', '.join(missing)}")
        values = list(c.value.values())
    else:
        values = [c.value]
    if c.bounds is not None:
        lo, hi = c.bounds
        for v in values:
            if not lo <= v <= hi:
                raise InputError(path, f"{field}.value", f"{v} is outside the bounds [{lo}, {hi}]")


def _plural(kind: str) -> str:
    return {"auxiliary": "auxiliaries"}.get(kind, kind + "s")
