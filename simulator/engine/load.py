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

from pydantic import ValidationError

from simulator.engine import equations
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
from simulator.engine.yamlfile import read_yaml
from simulator.errors import InputError, suggest


def load_model(path: str | Path, *, units: bool = True) -> ModelSpec:
    """Read, validate and return a model file (`simulator.bundled.bundled_model_path()` is
    the bundled Pingliang model).

    `units=False` skips only the units check (for engine tests on abstract toy models).
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
    for kind, table in spec.tables():
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
        from simulator.engine.units import check_units  # pint is imported only here, when a model is loaded

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
