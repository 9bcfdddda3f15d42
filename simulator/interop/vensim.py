"""Export a model with a scenario's constants and levers as a Vensim `.mdl` file.

The equations are printed from their tree (`engine.equations.to_ir`, the IR the compiler
builds; `interop.printer`), not by text substitution, so every built-in maps to its Vensim
function, its `vensim` template in `engine.functions`: `if_then_else` -> IF THEN ELSE,
`sum(x, age)` -> SUM(x[county, age!]), `smooth` -> SMOOTH, `time` -> Time, `**` -> ^. Every
dimension is a subscript range; subscripted variables keep their dims (`x[county, age]`);
per-element equations and `shift` become one Vensim equation per element. Stocks become
`INTEG(inflows - outflows, initial)`, subscripted constants `c[county] = v1, v2, ...` (a table
for two dims), time-series levers `WITH LOOKUP(Time, (...))` (linear between the years, flat
beyond them, as urbsd's TimeSeries). Units, bounds (as Vensim ranges), labels, docs and sources
go into each equation's units and comment. The run's INITIAL TIME, FINAL TIME, TIME STEP and
SAVEPER close the file. PySD 3.14 reads and runs the result (tests/interop/test_export*.py hold
it to urbsd's Euler run). PySD writes constant arrays and lookup points into its Python model
with numpy's default print precision, 8 decimals: translate under
`numpy.printoptions(floatmode="unique")` to keep every digit the export writes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.engine import ir
from simulator.engine.arrays import nested_values
from simulator.engine.equations import pieces, to_ir, tree
from simulator.engine.series import TimeSeries
from simulator.interop.printer import Printer, cells, number, owner_equations

if TYPE_CHECKING:
    from simulator.engine.modelfile import ModelSpec

#: names Vensim gives its own variables (spaces and underscores are the same in Vensim)
VENSIM_RESERVED = ("initial_time", "final_time", "time_step", "saveper", "time")


def check_names(spec: "ModelSpec", reserved: tuple[str, ...], tool: str) -> None:
    """An element named like one of the tool's own variables cannot be exported: InputError."""
    from simulator.errors import InputError

    for name in spec.all_names():
        if name.lower() in reserved:
            kind = spec.kind(name)
            table = {"auxiliary": "auxiliaries"}.get(kind, f"{kind}s")
            raise InputError(spec.path, f"{table}.{name}", f"'{name}' is a built-in name in {tool}; rename it to export")


def element_trees(spec: "ModelSpec", owner: str) -> tuple[ir.Node, list[tuple[dict[str, int], ir.Node]]]:
    """An element's equation (a stock's initial value) and its per-element equations, as IR."""
    kind = spec.kind(owner)
    if kind == "stock":
        st = spec.stocks[owner]
        return to_ir(spec, st.initial, owner=owner, field=f"stocks.{owner}.initial", initial=True), []
    table = "flows" if kind == "flow" else "auxiliaries"
    el = spec.element(owner)
    default = to_ir(spec, el.equation, owner=owner, field=f"{table}.{owner}.equation")
    parts = []
    for key, picks, text in pieces(spec, owner, table):
        target = tuple(d for d in el.dims if d not in dict(picks))
        parts.append((dict(picks), to_ir(spec, text, owner=owner, field=f"{table}.{owner}.elements.{key}",
                                         target=target, where=f"at {key}")))
    return default, parts


def expression(text: float | int | str, spec: "ModelSpec") -> str:
    """One urbsd equation (already checked by the model loader) as Vensim text."""
    return Printer(spec).text(tree(spec, text))


def vensim_units(unit: str) -> str:
    """A pint-style unit as Vensim writes it: `dimensionless` -> Dmnl, `a**2` -> a*a."""
    text = unit.strip()
    if text in ("", "dimensionless", "1"):
        return "Dmnl"

    def power(m: re.Match) -> str:
        base, exp = m.group(1), int(m.group(2))
        return "(" + "*".join([base] * exp) + ")" if exp > 1 else base

    return re.sub(r"([A-Za-z_][A-Za-z_0-9]*)\s*\*\*\s*(\d+)", power, text).replace(" ", "")


def comment(el: Any, extra: str = "") -> str:
    """Label (zh / en), doc and source as one Vensim comment (no ~ or | inside)."""
    parts = []
    label = getattr(el, "label", None)
    if label is not None:
        parts.append(f"{label.zh} / {label.en}.")
    for text in (getattr(el, "doc", ""), extra):
        if text:
            parts.append(" ".join(str(text).split()))
    source = getattr(el, "source", "")
    if source:
        parts.append("Source: " + " ".join(str(source).split()))
    if getattr(el, "lever", False):
        parts.append("Policy lever.")
    return _safe(" ".join(parts))


def _safe(text: str) -> str:
    """Text for a Vensim comment: one line, no ~ | \\ (Vensim's separators) or control characters."""
    text = " ".join(text.split())
    text = "".join(c if c.isprintable() else " " for c in text)
    return text.replace("~", "-").replace("|", "/").replace("\\", "/")


def _range(el: Any) -> str:
    bounds = getattr(el, "bounds", None)
    return f" [{number(bounds[0])},{number(bounds[1])}]" if bounds else ""


def _lookup_points(xs: Any, ys: Any) -> str:
    xs, ys = [float(x) for x in xs], [float(y) for y in ys]
    rng = f"[({number(min(xs))},{number(min(ys))})-({number(max(xs))},{number(max(ys))})]"
    return rng + "," + ",".join(f"({number(x)},{number(y)})" for x, y in zip(xs, ys))


def _series(ts: TimeSeries, index: tuple[int, ...] | None) -> str:
    vals = ts.values if index is None else ts.values[(slice(None),) + index]
    if len(ts.years) == 1:
        return number(vals[0])
    return f"WITH LOOKUP(Time, ({_lookup_points(ts.years, vals)}))"


def _block(lhs: str, rhs: str, unit: str, text: str) -> str:
    return f"{lhs} =\n\t{rhs}\n\t~\t{unit}\n\t~\t{text}\n\t|\n"


def _blocks(equations: list[tuple[str, str]], unit: str, text: str) -> list[str]:
    """Several equations of one element: units and comment on the last, `~~|` before."""
    out = [f"{lhs} =\n\t{rhs} ~~|\n" for lhs, rhs in equations[:-1]]
    lhs, rhs = equations[-1]
    return out + [_block(lhs, rhs, unit, text)]


def constant_values(spec: "ModelSpec", name: str, value: Any) -> np.ndarray:
    """A constant's value for the export (the model's, or the scenario's array) over its dims."""
    c = spec.constants[name]
    sizes = tuple(len(spec.elements(d)) for d in c.dims)
    if value is None:
        return nested_values(c.value, c.dims, {d: spec.elements(d) for d in c.dims}, name, c.value_dims)
    arr = np.asarray(value, dtype=float)
    return np.broadcast_to(arr.reshape(sizes) if arr.size == int(np.prod(sizes)) else arr, sizes)


def _lhs_cell(name: str, dims: list[str], cell: dict[str, str]) -> str:
    return f"{name}[{', '.join(cell.get(d, d) for d in dims)}]" if dims else name


def _constant_blocks(spec: "ModelSpec", name: str, value: Any) -> list[str]:
    """A constant with the scenario's value (number, array over its dims or time series)."""
    c = spec.constants[name]
    unit = vensim_units(c.unit) + _range(c)
    dims = list(c.dims)
    if isinstance(value, TimeSeries):
        note = "Scenario time series: linear between the years, flat beyond them."
        if not dims:
            return [_block(name, _series(value, None), unit, comment(c, note))]
        # one equation per element (Vensim defines an array element by element)
        eqs = [(_lhs_cell(name, dims, cell), _series(value, _index(spec, dims, cell)))
               for cell in cells(spec, name, set(dims))]
        return _blocks(eqs, unit, comment(c, note))
    if not dims:
        v = c.value if value is None else float(np.asarray(value, dtype=float).reshape(()))
        return [_block(name, number(v), unit, comment(c))]
    arr = constant_values(spec, name, value)
    if len(dims) == 1:
        return [_block(f"{name}[{dims[0]}]", ", ".join(number(x) for x in arr), unit, comment(c))]
    if len(dims) == 2:  # a table: one row per element of the first dim, columns the second
        rows = "; ".join(", ".join(number(x) for x in row) for row in arr) + ";"
        return [_block(f"{name}[{', '.join(dims)}]", rows, unit, comment(c))]
    eqs = [(_lhs_cell(name, dims, cell), number(arr[_index(spec, dims, cell)])) for cell in cells(spec, name, set(dims))]
    return _blocks(eqs, unit, comment(c))


def _index(spec: "ModelSpec", dims: list[str], cell: dict[str, str]) -> tuple[int, ...]:
    return tuple(spec.elements(d).index(cell[d]) for d in dims)


def to_vensim(spec: "ModelSpec", params: dict[str, Any] | None = None, *,
              title: str = "", dt: float | None = None) -> str:
    """The model with `params` (a scenario's resolved `set:` values) as Vensim .mdl text."""
    check_names(spec, VENSIM_RESERVED, "Vensim")
    params = params or {}
    pr = Printer(spec, "vensim")
    out: list[str] = ["{UTF-8}\n"]
    for dname, dim in spec.dimensions.items():
        labels = "; ".join(f"{e} = {lab.zh} {lab.en}" for e, lab in dim.labels.items())
        out.append(f"{dname}:\n\t{', '.join(dim.elements)}\n\t~\t\n\t~\t{_safe(labels)}\n\t|\n")
    for name, st in spec.stocks.items():
        initial, _ = element_trees(spec, name)
        eqs = []
        for cell, node in owner_equations(spec, name, initial, []):
            terms = [pr.ref(f, cell) for f in st.inflows]
            net = " + ".join(terms) if terms else ""
            for f in st.outflows:
                net += f" - {pr.ref(f, cell)}" if net else f"-{pr.ref(f, cell)}"
            eqs.append((_lhs_cell(name, st.dims, cell), f"INTEG({net or '0'}, {pr.text(node, cell)})"))
        out += _blocks(eqs, vensim_units(st.unit), comment(st))
    for table in (spec.flows, spec.auxiliaries):
        for name, el in table.items():
            default, parts = element_trees(spec, name)
            eqs = [(_lhs_cell(name, el.dims, cell), pr.text(node, cell))
                   for cell, node in owner_equations(spec, name, default, parts)]
            out += _blocks(eqs, vensim_units(el.unit), comment(el))
    for name, lk in spec.lookups.items():
        out.append(f"{name}(\n\t{_lookup_points(lk.x, lk.y)})\n\t~\t{vensim_units(lk.unit)}\n"
                   f"\t~\t{comment(lk, f'x in {lk.x_unit}.')}\n\t|\n")
    for name in spec.constants:
        out += _constant_blocks(spec, name, params.get(name))
    t = spec.time
    step = t.dt if dt is None else dt
    out.append("********************************************************\n\t.Control\n"
               "********************************************************~\n"
               f"\t\tSimulation Control Parameters{(' - ' + comment(None, title)) if title else ''}\n\t|\n")
    out.append(_block("FINAL TIME ", number(t.stop), "year", "The final time for the simulation."))
    out.append(_block("INITIAL TIME ", number(t.start), "year", "The initial time for the simulation."))
    out.append(_block("SAVEPER ", number(t.saveper), "year [0,?]", "The frequency with which output is stored."))
    how = {"euler": "Euler",
           "rk4": "the model integrates by RK4: set Vensim's integration type to RK4 to match; PySD integrates by "
                  "Euler",
           "heun": "the model integrates by Heun's method, a second-order Runge-Kutta (the mean of the slopes at "
                   "the start and at the end of an Euler step): Vensim's nearest integration type is RK2; PySD "
                   "integrates by Euler"}[t.method]
    out.append(_block("TIME STEP ", number(step), "year [0,?]", f"The time step for the simulation ({how})."))
    return "".join(out)


def scenario_vensim(scenario: Any, *, dt: float | None = None) -> str:
    """The scenario's model and levers as the text of a Vensim .mdl file (titled with its labels)."""
    return to_vensim(scenario.spec, scenario.params, title=scenario_title(scenario), dt=dt)


def scenario_title(scenario: Any) -> str:
    """`name: 中文标签 / English label`, the title an export carries."""
    return f"{scenario.name}: {scenario.label.get('zh', '')} / {scenario.label.get('en', '')}"
