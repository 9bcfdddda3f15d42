"""Units check: every equation's unit, inferred from its operands, must equal the declared one.

Dimensional consistency is the first validation test of a system-dynamics model (Sterman,
Business Dynamics ch. 21). At load time (`load.check_model` calls `check_units` last)
every declared unit is parsed with pint against the project's own registry
(`DEFINITIONS`), the unit of every stock initial value, flow and auxiliary equation is
inferred by walking the equation's tree (`equations.to_ir`; each built-in's unit rule is
its row of `functions.FUNCTIONS`), and a mismatch is an
`InputError` naming the element and the two units. Units must agree exactly, magnitude
included: `km**2` where `m**2` is declared is an error, because the engine multiplies
plain numbers and never converts. Rules in docs/model-format.md ("Units").

pint is imported lazily, and the registry is built once per process from the short
`DEFINITIONS` list (not pint's default file of a thousand units), so the check stays cheap.
"""

from __future__ import annotations

import functools
import math
import sys
from typing import TYPE_CHECKING, Any

from simulator.engine import equations, ir
from simulator.engine.functions import CONDITION, FUNCTIONS, TIME
from simulator.errors import InputError, suggest

if TYPE_CHECKING:
    import pint

    from simulator.engine.modelfile import ModelSpec

#: The project's unit registry, in pint's definition syntax. Base dimensions in brackets;
#: every other unit is a multiple of one. Counted things of different kinds (people, school
#: places, beds, dwellings, jobs) are different dimensions, so they never add up by mistake.
DEFINITIONS: tuple[str, ...] = (
    # time; model time runs in years
    "second = [time] = s",
    "minute = 60 * second",
    "hour = 60 * minute = h",
    "day = 24 * hour = d",
    "week = 7 * day",
    "year = 365.25 * day = yr = a",
    "month = year / 12",
    # length, area, volume, mass
    "meter = [length] = m = metre",
    "centimeter = meter / 100 = cm",
    "kilometer = 1000 * meter = km",
    "hectare = 10000 * meter ** 2 = ha",
    "mu = 10000 / 15 * meter ** 2 = 亩",
    "liter = meter ** 3 / 1000 = L = litre",
    "gram = [mass] = g",
    "kilogram = 1000 * gram = kg",
    "ton = 1000 * kilogram = t = tonne",
    # people and what serves them
    "person = [population] = _ = people",
    "wan_person = 10000 * person = 万人",
    "household = [household]",
    "place = [school_place]",
    "bed = [hospital_bed]",
    "dwelling = [dwelling]",
    "job = [job]",
    # money
    "yuan = [currency] = 元",
    "wan_yuan = 10000 * yuan = 万元",
    "yi_yuan = 100000000 * yuan = 亿元",
    # pure numbers with a scale
    "percent = 0.01 = %",
    "permille = 0.001 = ‰",
)

#: The unit of model time (`time`, `time.dt`, delays, step and ramp times).
TIME_UNIT = "year"

#: Relative tolerance when comparing two units' conversion factors to the base units
#: (only float rounding: 1 km**2 is 1e6 m**2, far outside it).
_FACTOR_RTOL = 1e-9


class _Any:
    """The unit of the literal 0, which has every unit (`max(0, x)`, `if_then_else(c, x, 0)`)."""

    def __repr__(self) -> str:
        return "any unit"


ANY = _Any()


class _UnitError(Exception):
    pass


def _import_pint() -> Any:
    """Import pint without its optional dask hook.

    pint.compat imports dask.base when dask is installed (it is, for sweeps), only to support
    dask arrays inside Quantities, which a units check never makes; that import is a large part
    of pint's import time (benchmarks/units_check.py prints both). While pint is imported, dask is marked
    absent (`sys.modules['dask'] = None` makes `find_spec('dask')` None); the mark is removed
    right after, so `import dask` works as usual. If dask is already imported, nothing is hidden.
    """
    if "pint" in sys.modules or "dask" in sys.modules:
        import pint

        return pint
    sys.modules["dask"] = None  # type: ignore[assignment]
    try:
        import pint
    finally:
        if "dask" in sys.modules and sys.modules["dask"] is None:
            del sys.modules["dask"]
    return pint


@functools.lru_cache(maxsize=1)
def registry() -> "pint.UnitRegistry":
    """The project's pint registry (built once per process from DEFINITIONS)."""
    pint = _import_pint()
    ureg = pint.UnitRegistry(None, cache_folder=None)
    for line in DEFINITIONS:
        ureg.define(line)
    return ureg


def unit_names() -> list[str]:
    """Names of the units defined in the registry (for messages and docs)."""
    return [line.split("=", 1)[0].strip() for line in DEFINITIONS]


@functools.lru_cache(maxsize=1024)
def parse_unit(text: str) -> "pint.Unit":
    """Parse a declared unit string ('person/year', 'm**2/person', 'dimensionless'); ValueError if bad."""
    ureg = registry()
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a unit is required ('dimensionless' for a pure number)")
    try:
        unit = ureg.parse_units(text.strip())
    except Exception as exc:  # pint raises UndefinedUnitError, ValueError, AssertionError, ...
        name = getattr(exc, "unit_names", None)
        if name:
            missing = name if isinstance(name, str) else next(iter(name))
            raise ValueError(
                f"unknown unit '{missing}' in '{text}'{suggest(missing, unit_names())} "
                f"(units: {', '.join(unit_names())}, and products, quotients, powers of them)"
            ) from None
        raise ValueError(f"'{text}' is not a unit expression (write e.g. person/year, m**2/person)") from None
    return unit


def fmt(unit: "pint.Unit | _Any") -> str:
    """A unit as text for messages: 'person/year', 'meter**2/person', 'dimensionless'."""
    if unit is ANY:
        return "any unit"
    text = format(unit, "C")
    return text or "dimensionless"


def same(a: "pint.Unit | _Any", b: "pint.Unit | _Any") -> bool:
    """True if two units are equal in dimension and magnitude (the literal 0 matches any)."""
    if a is ANY or b is ANY:
        return True
    if a == b:
        return True
    ureg = registry()
    fa, ra = ureg.get_root_units(a)
    fb, rb = ureg.get_root_units(b)
    return ra == rb and math.isclose(fa, fb, rel_tol=_FACTOR_RTOL)


def _mismatch_hint(a: "pint.Unit", b: "pint.Unit") -> str:
    """' (same dimension, 1 kilometer**2 = 1e+06 meter**2: ...)' when only the magnitude differs."""
    ureg = registry()
    fa, ra = ureg.get_root_units(a)
    fb, rb = ureg.get_root_units(b)
    if ra != rb:
        return ""
    return (f" (same dimension, but 1 {fmt(a)} = {fa / fb:g} {fmt(b)}: the engine does not convert, "
            "multiply by a constant whose unit converts them)")


def check_units(spec: "ModelSpec", trees: "equations.Trees | None" = None) -> None:
    """Check every declared unit and the unit of every equation of a model; raises InputError."""
    path = spec.path
    declared: dict[str, Any] = {}
    for kind, table in spec.tables():
        for name, element in table.items():
            field = f"{_plural(kind)}.{name}.unit"
            declared[name] = _parse_field(path, field, element.unit)
            if kind == "lookup":
                _parse_field(path, f"lookups.{name}.x_unit", element.x_unit)
    year = parse_unit(TIME_UNIT)

    for sname, stock in spec.stocks.items():
        need = declared[sname] / year
        for role in ("inflows", "outflows"):
            for fname in getattr(stock, role):
                if not same(declared[fname], need):
                    raise InputError(
                        path, f"flows.{fname}.unit",
                        f"unit mismatch: flow '{fname}' is declared {fmt(declared[fname])} but it is an "
                        f"{role[:-1]} of stock '{sname}' ({fmt(declared[sname])}), so it must be "
                        f"{fmt(need)}{_mismatch_hint(declared[fname], need)}",
                    )
    walker = _Walker(spec, declared)
    for field, owner, node, what in (equations.equation_trees(spec) if trees is None else trees):
        if isinstance(node, ir.Const):
            continue  # a bare number is a value in the element's own unit, like a constant's value
        try:
            got = walker.unit(node)
        except _UnitError as exc:
            raise InputError(path, field, f"unit mismatch: {exc}") from None
        want = declared[owner]
        if not same(got, want):
            raise InputError(
                path, field,
                f"unit mismatch: the {what} of '{owner}' gives {fmt(got)} but '{owner}' is declared "
                f"{fmt(want)}{_mismatch_hint(got, want)} in '{equations.shown(ir.source(node))}'",
            )


def equation_unit(spec: "ModelSpec", text: float | int | str) -> "pint.Unit | _Any":
    """The unit an equation of `spec` gives (ANY for the literal 0); ValueError if it is inconsistent.

    The equation is read as an auxiliary's would be (any dims)."""
    declared = {n: parse_unit(spec.element(n).unit) for n in spec.all_names()}
    try:
        node = equations.tree(spec, text)
        return _Walker(spec, declared).unit(node)
    except _UnitError as exc:
        raise ValueError(f"unit mismatch: {exc}") from None
    except equations.EquationError as exc:
        raise ValueError(str(exc)) from None


def _parse_field(path: Any, field: str, text: str) -> "pint.Unit":
    try:
        return parse_unit(text)
    except ValueError as exc:
        raise InputError(path, field, str(exc)) from None


def _q(node: "ir.Node") -> str:
    return equations.shown(ir.source(node), 60)


class _Walker:
    """Infers the unit of a checked equation tree (see equations.py); the unit rule of each
    built-in is its `unit` in functions.FUNCTIONS."""

    def __init__(self, spec: "ModelSpec", declared: dict[str, Any]) -> None:
        self.spec = spec
        self.declared = declared
        self.one = registry().dimensionless
        self.year = parse_unit(TIME_UNIT)

    def unit(self, node: "ir.Node") -> Any:
        if isinstance(node, ir.Const):
            return ANY if node.value == 0 else self.one
        if isinstance(node, ir.Time):
            return self.year
        if isinstance(node, ir.Ref):
            return self.declared[node.name]
        if isinstance(node, (ir.Neg, ir.Select, ir.Shift)):
            return self.unit(node.x)
        if isinstance(node, ir.Chain):
            return self._chain(node)
        if isinstance(node, ir.Pow):
            return self._power(node)
        if isinstance(node, ir.Compare):
            a, b = self.unit(node.a), self.unit(node.b)
            self._equal(node, f"compares {fmt(a)} with {fmt(b)}", a, b)
            return self.one
        if isinstance(node, ir.Lookup):
            lookup = self.spec.lookups[node.name]
            x = self.unit(node.x)
            want = parse_unit(lookup.x_unit)
            if not same(x, want):
                raise _UnitError(
                    f"lookup '{node.name}' takes x in {fmt(want)} but '{_q(node.x)}' is {fmt(x)}"
                    f"{_mismatch_hint(x, want) if x is not ANY else ''}"
                )
            return parse_unit(lookup.unit)
        if isinstance(node, ir.Reduce):
            return self._rule(node, node.fn, [node.x])
        if isinstance(node, ir.Call):
            return self._rule(node, node.fn, list(node.args))
        if isinstance(node, ir.Delay):
            return self._rule(node, node.fn, [node.x, node.delay])
        raise _UnitError(f"cannot infer the unit of '{_q(node)}'")

    def _chain(self, node: "ir.Chain") -> Any:
        acc = self.unit(node.first)
        for op, term in node.rest:
            u = self.unit(term)
            if node.family == "+":
                verb = "adds" if op == "+" else "subtracts"
                acc = self._equal(node, f"{verb} {fmt(acc)} and {fmt(u)}", acc, u)
            elif acc is ANY or u is ANY:
                acc = ANY
            else:
                acc = acc * u if op == "*" else acc / u
        return acc

    def _power(self, node: "ir.Pow") -> Any:
        base, exponent = self.unit(node.base), self.unit(node.exponent)
        if not same(exponent, self.one):
            raise _UnitError(f"the exponent in '{_q(node)}' is {fmt(exponent)}, it must be dimensionless")
        if base is ANY or same(base, self.one):
            return base
        if not isinstance(node.exponent, ir.Const):
            raise _UnitError(
                f"'{_q(node)}' raises {fmt(base)} to a power that is not a number, so its unit is "
                "unknown (use a number exponent, or make the base dimensionless)"
            )
        return base ** node.exponent.value

    def _rule(self, node: "ir.Node", fname: str, args: list) -> Any:
        """A built-in's unit from its row: time arguments in years, then its unit rule."""
        fn = FUNCTIONS[fname]
        values = []
        for param, arg in zip(fn.params, args):
            if param.kind == TIME:
                self._time(node, arg, f"the {param.words or param.name} of {fname}")
            elif param.kind == CONDITION:
                self.unit(arg)  # a comparison checks its own sides; any other condition is a number
            else:
                values.append((arg, self.unit(arg)))
        rule = fn.unit
        if rule == "first":
            return values[0][1]
        if rule == "same":
            a, b = values[0][1], values[1][1]
            return self._equal(node, f"compares {fmt(a)} with {fmt(b)}", a, b)
        if rule == "branches":
            a, b = values[0][1], values[1][1]
            return self._equal(node, f"has branches in {fmt(a)} and {fmt(b)}", a, b)
        if rule == "dimensionless":
            arg, x = values[0]
            if not same(x, self.one):
                raise _UnitError(f"{fname} needs a dimensionless argument, '{_q(arg)}' is {fmt(x)}")
            return self.one
        if rule == "sqrt":
            x = values[0][1]
            return x if x is ANY else x ** 0.5
        if rule == "times_year":
            x = values[0][1]
            return x if x is ANY else x * self.year
        raise AssertionError(f"unknown unit rule {rule!r} of {fname}")

    def _time(self, node: "ir.Node", arg: "ir.Node", what: str) -> None:
        """A time argument must be in years; a number there is read as years (a date or a delay)."""
        if isinstance(arg, ir.Const):
            return
        got = self.unit(arg)
        if not same(got, self.year):
            raise _UnitError(
                f"{what} in '{_q(node)}' is {fmt(got)}, it must be {TIME_UNIT}"
                f"{_mismatch_hint(got, self.year) if got is not ANY else ''}"
            )

    def _equal(self, node: "ir.Node", what: str, a: Any, b: Any) -> Any:
        if not same(a, b):
            raise _UnitError(f"'{_q(node)}' {what}{_mismatch_hint(a, b)}")
        return b if a is ANY else a


def _plural(kind: str) -> str:
    return {"auxiliary": "auxiliaries"}.get(kind, kind + "s")
