"""Loading a model file: read, validate, check; one-line errors for bad input.

`load_model(path)` reads a model file (YAML, format in docs/model-format.md) into a
`ModelSpec` (`simulator.engine.modelfile`) and checks names, types, bounds, dimensions,
stock-flow wiring, feedback loops, every equation (parsed against the whitelist in
`equations.py`) and the units (`units.py`); the compiler then only has to order and
translate. The engine knows no bundled model: `simulator.bundled.bundled_model_path()`
names the Pingliang one.
"""

from __future__ import annotations

import hashlib
import keyword
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from simulator.engine import equations
from simulator.engine.arrays import ValueShapeError, nested_values
from simulator.engine.modelfile import (
    NAME_RE,
    Auxiliary,
    Constant,
    Dimension,
    Flow,
    Lookup,
    Loop,
    ModelSpec,
    Stock,
    TimeSpec,
)
from simulator.engine.timestep import check_horizon, steps_per_save
from simulator.engine.yamlfile import read_yaml
from simulator.errors import InputError, suggest


def load_model(path: str | Path, *, units: bool = True, require_sectors: bool = False) -> ModelSpec:
    """Read, validate and return a model file (`simulator.bundled.bundled_model_path()` is
    the bundled Pingliang model).

    `units=False` skips only the units check (for engine tests on abstract toy models);
    `require_sectors=True` refuses an element without `sector:`.
    """
    path = Path(path)
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
    from simulator.engine import unitcache

    known = units and unitcache.passed(spec.sha256)  # this file passed the units check before
    check_model(spec, units=units and not known, require_sectors=require_sectors)
    if units and not known:
        unitcache.remember(spec.sha256)
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


def check_model(spec: ModelSpec, *, units: bool = True, require_sectors: bool = False) -> None:
    """Cross-element checks: time, names, dims, values, bounds, wiring, equations, loops, units.
    Raises InputError. `require_sectors=True` also refuses an element without `sector:`."""
    path = spec.path
    _check_time(spec)
    _check_dimensions(spec)
    element_names = {e: d for d, dim in spec.dimensions.items() for e in dim.elements}
    seen: dict[str, str] = {}
    for kind, table in spec.tables():
        for name in table:
            field = f"{_plural(kind)}.{name}"
            if not NAME_RE.match(name) or keyword.iskeyword(name):
                raise InputError(path, field, "names are lower-case snake_case identifiers (no double or trailing _)")
            if name in equations.RESERVED:
                raise InputError(path, field, f"'{name}' is a builtin and cannot name an element")
            if name in element_names:
                raise InputError(path, field, f"'{name}' is already an element of dimension '{element_names[name]}'")
            if name in spec.dimensions:
                raise InputError(path, field, f"'{name}' is already a dimension")
            if name in seen:
                raise InputError(path, field, f"'{name}' is already declared as a {seen[name]}")
            seen[name] = kind
            dims = table[name].dims
            for dim in dims:
                if dim not in spec.dimensions:
                    raise InputError(path, f"{field}.dims", f"unknown dimension '{dim}'{suggest(dim, spec.dimensions)}")
            if len(set(dims)) != len(dims):
                raise InputError(path, f"{field}.dims", f"a dimension is listed twice in {dims}")
            if require_sectors and not table[name].sector:
                raise InputError(path, f"{field}.sector", f"every element needs a sector ({', '.join(spec.sectors())})")

    for name, c in spec.constants.items():
        _check_constant(spec, name, c)
    for name, lk in spec.lookups.items():
        field = f"lookups.{name}"
        if lk.dims:
            raise InputError(path, f"{field}.dims", "lookups are not subscripted (a lookup applies to each element "
                                                    "of its argument)")
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
                if set(spec.flows[fname].dims) != set(stock.dims):
                    raise InputError(path, field, f"flow '{fname}' has dims {spec.flows[fname].dims} but the stock has {stock.dims}")
                inflow_of.setdefault(fname, sname)
    for fname in spec.flows:
        if fname not in inflow_of:
            raise InputError(path, f"flows.{fname}", "the flow is not an inflow or outflow of any stock")

    trees = equations.equation_trees(spec)
    reads: dict[str, set[str]] = {}
    for _, owner, node, what in trees:
        if what != "initial value":
            reads.setdefault(owner, set()).update(equations.reads(node))
    for sname, stock in spec.stocks.items():
        reads[sname] = set(stock.inflows) | set(stock.outflows)
    _check_loops(spec, reads)
    if units:
        from simulator.engine.units import check_units  # pint is imported only here, when a model is loaded

        check_units(spec, trees)


def _check_time(spec: ModelSpec) -> None:
    t = spec.time
    try:
        check_horizon(t.start, t.stop, t.saveper)
    except ValueError as exc:
        raise InputError(spec.path, "time.stop", str(exc)) from None
    if not float(t.start).is_integer():
        raise InputError(spec.path, "time.start", f"must be a whole year (the results are yearly tables), not {t.start:g}")
    if not float(t.saveper).is_integer():
        raise InputError(spec.path, "time.saveper", f"must be a whole number of years (the results are yearly "
                                                    f"tables), not {t.saveper:g}")
    try:
        steps_per_save(t.dt, t.saveper)
    except ValueError as exc:
        raise InputError(spec.path, "time.dt", str(exc)) from None


def _check_dimensions(spec: ModelSpec) -> None:
    """Dimension and element names are identifiers; elements are unique within and across dimensions."""
    path = spec.path
    owner: dict[str, str] = {}
    for dname, dim in spec.dimensions.items():
        field = f"dimensions.{dname}"
        if not NAME_RE.match(dname) or keyword.iskeyword(dname) or dname in equations.RESERVED:
            raise InputError(path, field, "dimension names are lower-case snake_case identifiers, not a builtin")
        for e in dim.elements:
            if not isinstance(e, str) or not NAME_RE.match(e) or keyword.iskeyword(e) or e in equations.RESERVED:
                raise InputError(path, f"{field}.elements", f"'{equations.shown(e, 40)}' is not a plain name: element "
                                 "names are lower-case snake_case identifiers (letters, digits, single _), not a builtin")
            if e in owner:
                where = "twice in this dimension" if owner[e] == dname else f"also an element of '{owner[e]}'"
                raise InputError(path, f"{field}.elements", f"'{e}' is {where}; element names are unique across "
                                                            "all dimensions")
            if e in spec.dimensions:
                raise InputError(path, f"{field}.elements", f"'{e}' is also the name of a dimension")
            owner[e] = dname
        for e in dim.labels:
            if e not in dim.elements:
                raise InputError(path, f"{field}.labels.{equations.shown(e, 40)}",
                                 f"not an element of '{dname}'{suggest(str(e), dim.elements)}")


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
    if c.value_dims is not None:
        bad = [d for d in c.value_dims if d not in c.dims]
        if bad or len(set(c.value_dims)) != len(c.value_dims):
            raise InputError(path, f"{field}.value_dims", f"must list some of the constant's dims {c.dims} once each")
    values = constant_array(spec, name, c.value)
    if c.bounds is not None:
        lo, hi = c.bounds
        outside = (values < lo) | (values > hi)
        if outside.any():
            v = float(values[outside].flat[0])
            raise InputError(path, f"{field}.value", f"{v} is outside the bounds [{lo}, {hi}]")


def constant_array(spec: ModelSpec, name: str, value: object, field: str | None = None) -> np.ndarray:
    """A value of constant `name` (from the model file, or a scenario's value at one year) as an
    array over its dims in declared order; InputError naming the bad part."""
    c = spec.constants[name]
    elements = {d: spec.elements(d) for d in c.dims}
    base = field or f"constants.{name}.value"
    if isinstance(value, dict) and not c.dims:
        raise InputError(spec.path, base, f"a mapping of values needs dims (e.g. dims: [{next(iter(spec.dimensions), 'county')}])")
    try:
        return nested_values(value, c.dims, elements, base, c.value_dims)
    except ValueShapeError as exc:
        raise InputError(spec.path, exc.field, exc.reason) from None


def _plural(kind: str) -> str:
    return {"auxiliary": "auxiliaries"}.get(kind, kind + "s")
