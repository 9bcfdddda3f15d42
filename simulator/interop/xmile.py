"""Export a model with a scenario's constants and levers as XMILE 1.0 (Stella, iThink).

Same translation as `simulator.interop.vensim`, from the equation trees, with XMILE's spelling
(the `xmile` templates of `engine.functions`): `TIME`, `SMTH1`, `DELAY3`, `IF c THEN a ELSE b`,
`RAMP(s, t1) - RAMP(s, t2)` (XMILE's RAMP has no end time), graphical functions as `<gf>` with
explicit `<xpts>`, arrays as `<dimensions>` with one `<element subscript="a,b">` per element
where a variable has per-element equations, a shift or subscripted constant values. Sums over a
dimension are `SUM(x[county, *])` (the XMILE standard); PySD 3.14 cannot parse the `*`
wildcard, so `array_sum="pysd"` writes `SUM(x[county, age!])` instead, the only difference
(docs/export.md). Dimension and element names are written with a space for `_` in the XML
attributes (`<elem name="a15 29">`) and with `_` in equations (`x[a15_29]`), XMILE's spelling of
one name; PySD finds an element only so.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.engine.series import TimeSeries
from simulator.interop.printer import Printer, cells, number, owner_equations
from simulator.interop.vensim import (
    check_names,
    comment,
    constant_values,
    element_trees,
    scenario_title,
    vensim_units,
)

if TYPE_CHECKING:
    from simulator.engine.modelfile import ModelSpec

NS = "http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"
ARRAY_SUMS = ("xmile", "pysd")
#: names XMILE gives its own variables
XMILE_RESERVED = ("time", "dt", "starttime", "stoptime")

#: XMILE 1.0's name of each integration method (sim_specs/@method); Heun's is a second-order
#: Runge-Kutta method, XMILE's RK2
XMILE_METHODS = {"euler": "Euler", "heun": "RK2", "rk4": "RK4"}


def _units(unit: str) -> str:
    u = vensim_units(unit)
    return "dmnl" if u == "Dmnl" else u


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def _gf(parent: ET.Element, xs: Any, ys: Any, name: str | None = None) -> ET.Element:
    """A graphical function with explicit x points (continuous: flat beyond the ends)."""
    gf = _sub(parent, "gf", **({"name": name} if name else {}))
    ys = [float(y) for y in ys]
    _sub(gf, "yscale", min=number(min(ys)), max=number(max(ys)))
    _sub(gf, "xpts", ",".join(number(x) for x in xs))
    _sub(gf, "ypts", ",".join(number(y) for y in ys))
    return gf


def _xml_name(name: str) -> str:
    """A dimension or element name as an XML attribute writes it: XMILE treats `_` and space as
    the same character, writes a space in attributes and `_` in equations (XMILE 1.0, 3.2.2).
    PySD relies on it: it reads `x[a15_29]` in an equation as the element `a15 29` but takes
    `<elem name>` and `<element subscript>` as written, so `a15_29` there would not match."""
    return name.replace("_", " ")


def _variable(parent: ET.Element, tag: str, name: str, dims: list[str], eqn: str | None) -> ET.Element:
    var = _sub(parent, tag, name=name)
    if dims:
        d = _sub(var, "dimensions")
        for dim in dims:
            _sub(d, "dim", name=_xml_name(dim))
    if eqn is not None:
        _sub(var, "eqn", eqn)
    return var


def _subscript(dims: list[str], cell: dict[str, str]) -> str:
    """An element's subscript as PySD reads it: comma-separated, no spaces after the commas."""
    return ",".join(_xml_name(cell[d]) for d in dims)


def _elements(var: ET.Element, dims: list[str], equations: list[tuple[dict[str, str], str]]) -> None:
    for cell, eqn in equations:
        _sub(_sub(var, "element", subscript=_subscript(dims, cell)), "eqn", eqn)


def _finish(var: ET.Element, el: Any, note: str = "") -> None:
    """Units, range and documentation go after the equation (XMILE element order)."""
    _sub(var, "units", _units(el.unit))
    bounds = getattr(el, "bounds", None)
    if bounds:
        _sub(var, "range", min=number(bounds[0]), max=number(bounds[1]))
    _sub(var, "doc", comment(el, note))


def to_xmile(spec: "ModelSpec", params: dict[str, Any] | None = None, *, title: str = "",
             dt: float | None = None, array_sum: str = "xmile") -> str:
    """The model with `params` (a scenario's resolved `set:` values) as XMILE text."""
    if array_sum not in ARRAY_SUMS:
        raise ValueError(f"array_sum must be one of {ARRAY_SUMS}, not {array_sum!r}")
    check_names(spec, XMILE_RESERVED, "XMILE")
    params = params or {}
    x = Printer(spec, "xmile", array_sum)
    root = ET.Element("xmile", version="1.0", xmlns=NS)
    header = _sub(root, "header")
    _sub(header, "vendor", "urbsd")
    _sub(header, "product", "urbsd", version="1", lang="en")
    _sub(header, "name", spec.name)
    if spec.dimensions:
        most = max((len(spec.element(n).dims) for n in spec.all_names()), default=1)
        _sub(_sub(header, "options"), "uses_arrays", maximum_dimensions=str(max(most, 1)))
    if title:
        _sub(header, "caption", title)
    t = spec.time
    sim = _sub(root, "sim_specs", method=XMILE_METHODS[t.method], time_units="year")
    _sub(sim, "start", number(t.start))
    _sub(sim, "stop", number(t.stop))
    _sub(sim, "dt", number(t.dt if dt is None else dt))
    dims_el = _sub(root, "dimensions")
    for dname, dim in spec.dimensions.items():
        d = _sub(dims_el, "dim", name=_xml_name(dname))
        for e in dim.elements:
            _sub(d, "elem", name=_xml_name(e))
    model = _sub(root, "model")
    variables = _sub(model, "variables")

    for name, st in spec.stocks.items():
        initial, _ = element_trees(spec, name)
        eqs = owner_equations(spec, name, initial, [], every=True)
        if len(eqs) == 1 and not eqs[0][0]:
            var = _variable(variables, "stock", name, st.dims, x.text(initial))
        else:
            var = _variable(variables, "stock", name, st.dims, None)
            _elements(var, st.dims, [(cell, x.text(node, cell)) for cell, node in eqs])
        for f in st.inflows:
            _sub(var, "inflow", f)
        for f in st.outflows:
            _sub(var, "outflow", f)
        _finish(var, st)
    for tag, table in (("flow", spec.flows), ("aux", spec.auxiliaries)):
        for name, el in table.items():
            default, parts = element_trees(spec, name)
            eqs = owner_equations(spec, name, default, parts, every=True)
            if len(eqs) == 1 and not eqs[0][0]:
                var = _variable(variables, tag, name, el.dims, x.text(default))
            else:
                var = _variable(variables, tag, name, el.dims, None)
                _elements(var, el.dims, [(cell, x.text(node, cell)) for cell, node in eqs])
            _finish(var, el)
    for name, lk in spec.lookups.items():
        gf = _gf(variables, lk.x, lk.y, name)
        _sub(gf, "units", _units(lk.unit))
        _sub(gf, "doc", comment(lk, f"x in {lk.x_unit}."))
    taken = set(spec.all_names())
    for name, c in spec.constants.items():
        value = params.get(name)
        dims = list(c.dims)
        if isinstance(value, TimeSeries):
            note = "Scenario time series: linear between the years, flat beyond them."
            if not dims:
                var = _variable(variables, "aux", name, dims, "TIME")
                _gf(var, value.years, value.values)
                _finish(var, c, note)
                continue
            # PySD reads only an aux-level <gf>, so each element's series is its own gf
            var = _variable(variables, "aux", name, dims, None)
            for cell in cells(spec, name, set(dims)):
                gname = f"{name}_series_{'_'.join(cell[d] for d in dims)}"
                while gname in taken:
                    gname += "_"
                taken.add(gname)
                index = tuple(spec.elements(d).index(cell[d]) for d in dims)
                _gf(variables, value.years, value.values[(slice(None),) + index], gname)
                _sub(_sub(var, "element", subscript=_subscript(dims, cell)), "eqn", f"{gname}(TIME)")
            _finish(var, c, note)
            continue
        if dims:
            arr = constant_values(spec, name, value)
            var = _variable(variables, "aux", name, dims, None)
            for cell in cells(spec, name, set(dims)):
                index = tuple(spec.elements(d).index(cell[d]) for d in dims)
                _sub(_sub(var, "element", subscript=_subscript(dims, cell)), "eqn", number(arr[index]))
        else:
            v = c.value if value is None else float(np.asarray(value, dtype=float).reshape(()))
            var = _variable(variables, "aux", name, dims, number(v))
        _finish(var, c)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def scenario_xmile(scenario: Any, *, dt: float | None = None, array_sum: str = "xmile") -> str:
    """The scenario's model and levers as the text of an XMILE file (titled with its labels)."""
    return to_xmile(scenario.spec, scenario.params, title=scenario_title(scenario), dt=dt, array_sum=array_sum)
