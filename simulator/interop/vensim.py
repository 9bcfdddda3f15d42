"""Export a model with a scenario's constants and levers as a Vensim `.mdl` file.

The equations are translated from their parsed form (`equations.parse`), not by text
substitution, so every builtin maps to its Vensim function: `if_then_else` -> IF THEN
ELSE, `ln` -> LN, `sum(x)` -> SUM(x[county!]), `smooth` -> SMOOTH, `delay3` -> DELAY3,
`time` -> Time, `**` -> ^. Stocks become `INTEG(inflows - outflows, initial)`, county
constants `c[county] = v1, v2, ...`, time-series levers `WITH LOOKUP(Time, (...))`
(linear between the years, flat beyond them, as urbsd's TimeSeries). Units, bounds (as
Vensim ranges), labels, docs and sources go into each equation's units and comment. The
run's INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER close the file. PySD 3.x reads and
runs the result (tests/test_export.py holds it to urbsd's Euler run).
"""

from __future__ import annotations

import ast
import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.engine.equations import parse
from simulator.engine.series import TimeSeries

if TYPE_CHECKING:
    from simulator.engine.modelfile import ModelSpec

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "=", ast.NotEq: "<>"}
#: urbsd builtin -> Vensim function (if_then_else and sum are handled apart)
FUNCTIONS = {
    "min": "MIN", "max": "MAX", "abs": "ABS", "exp": "EXP", "ln": "LN", "sqrt": "SQRT",
    "step": "STEP", "ramp": "RAMP", "smooth": "SMOOTH", "delay3": "DELAY3",
}


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


def number(x: float) -> str:
    """A float as the shortest text that reads back to the same float (Vensim and XMILE)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot export the non-finite number {x}")
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


#: binding strength of the printed forms: an operand binding less than its operator is
#: parenthesized (unary minus and IF THEN ELSE in XMILE are always printed in parentheses)
_ATOM, _POW, _MUL, _ADD, _CMP = 4, 3, 2, 1, 0
_PREC = {ast.Add: _ADD, ast.Sub: _ADD, ast.Mult: _MUL, ast.Div: _MUL, ast.Pow: _POW}


class VensimExpression(ast.NodeVisitor):
    """ast of a checked urbsd equation -> Vensim expression text (few parentheses)."""

    def __init__(self, spec: "ModelSpec") -> None:
        self.spec = spec
        self.in_sum = False

    def visit(self, node: ast.AST) -> str:
        return self.printed(node)[0]

    def printed(self, node: ast.AST) -> tuple[str, int]:
        """The text of a node and how strongly it binds."""
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.Compare):
            op = _CMPOPS[type(node.ops[0])]
            return f"{self.visit(node.left)} {op} {self.visit(node.comparators[0])}", _CMP
        return super().visit(node), _ATOM

    def _binop(self, node: ast.BinOp) -> tuple[str, int]:
        prec = _PREC[type(node.op)]
        (left, lp), (right, rp) = self.printed(node.left), self.printed(node.right)
        if isinstance(node.op, ast.Pow):  # associativity of ^ differs between tools: always explicit
            left = left if lp == _ATOM else f"({left})"
            right = right if rp == _ATOM else f"({right})"
        else:
            left = left if lp >= prec else f"({left})"
            tight = isinstance(node.op, (ast.Sub, ast.Div))
            right = right if rp > prec or (rp == prec and not tight) else f"({right})"
        return f"{left} {_BINOPS[type(node.op)]} {right}", prec

    def generic_visit(self, node: ast.AST) -> str:
        raise ValueError(f"cannot export '{ast.unparse(node)}'")

    def visit_Constant(self, node: ast.Constant) -> str:
        return number(node.value)

    def visit_Name(self, node: ast.Name) -> str:
        if node.id == "time":
            return "Time"
        dims = self.spec.element(node.id).dims
        if not dims:
            return node.id
        return f"{node.id}[{dims[0]}{'!' if self.in_sum else ''}]"

    def visit_Subscript(self, node: ast.Subscript) -> str:
        return f"{node.value.id}[{node.slice.id}]"

    def visit_UnaryOp(self, node: ast.UnaryOp) -> str:
        text, prec = self.printed(node.operand)
        if isinstance(node.op, ast.UAdd):
            return text if prec == _ATOM else f"({text})"
        return f"(-{text})" if prec in (_ATOM, _MUL) else f"(-({text}))"

    def visit_Call(self, node: ast.Call) -> str:
        fname = node.func.id
        if fname == "sum":
            outer, self.in_sum = self.in_sum, True
            inner = self.visit(node.args[0])
            self.in_sum = outer
            return f"SUM({inner})"
        args = ", ".join(self.visit(a) for a in node.args)
        if fname in self.spec.lookups:
            return f"{fname}({args})"
        if fname == "if_then_else":
            return f"IF THEN ELSE({args})"
        return f"{FUNCTIONS[fname]}({args})"


def expression(text: float | int | str, spec: "ModelSpec") -> str:
    """One urbsd equation (already checked by the model loader) as Vensim text."""
    return VensimExpression(spec).visit(parse(text))


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
    text = " ".join(parts)
    return text.replace("~", "-").replace("|", "/").replace("\\", "/")


def _range(el: Any) -> str:
    bounds = getattr(el, "bounds", None)
    return f" [{number(bounds[0])},{number(bounds[1])}]" if bounds else ""


def _lookup_points(xs: Any, ys: Any) -> str:
    xs, ys = [float(x) for x in xs], [float(y) for y in ys]
    rng = f"[({number(min(xs))},{number(min(ys))})-({number(max(xs))},{number(max(ys))})]"
    return rng + "," + ",".join(f"({number(x)},{number(y)})" for x, y in zip(xs, ys))


def _series(ts: TimeSeries, column: int | None) -> str:
    vals = ts.values if column is None else ts.values[:, column]
    if len(ts.years) == 1:
        return number(vals[0])
    return f"WITH LOOKUP(Time, ({_lookup_points(ts.years, vals)}))"


def _block(lhs: str, rhs: str, unit: str, text: str) -> str:
    return f"{lhs} =\n\t{rhs}\n\t~\t{unit}\n\t~\t{text}\n\t|\n"


def _constant_blocks(spec: "ModelSpec", name: str, value: Any) -> list[str]:
    """A constant with the scenario's value (number, per-county array or time series)."""
    c = spec.constants[name]
    unit = vensim_units(c.unit) + _range(c)
    dims = c.dims
    if isinstance(value, TimeSeries):
        note = "Scenario time series: linear between the years, flat beyond them."
        if not dims:
            return [_block(name, _series(value, None), unit, comment(c, note))]
        # one equation per element (Vensim defines an array element by element)
        return [_block(f"{name}[{e}]", _series(value, i), unit, comment(c, note) if i == 0 else "")
                for i, e in enumerate(spec.elements(dims[0]))]
    if dims:
        elements = spec.elements(dims[0])
        if value is None:
            v = c.value
            arr = [v[e] for e in elements] if isinstance(v, dict) else [v] * len(elements)
        else:
            arr = np.broadcast_to(np.asarray(value, dtype=float), (len(elements),)).tolist()
        return [_block(f"{name}[{dims[0]}]", ", ".join(number(x) for x in arr), unit, comment(c))]
    v = c.value if value is None else float(np.asarray(value, dtype=float).reshape(()))
    return [_block(name, number(v), unit, comment(c))]


def _lhs(spec: "ModelSpec", name: str) -> str:
    dims = spec.element(name).dims
    return f"{name}[{dims[0]}]" if dims else name


def to_vensim(spec: "ModelSpec", params: dict[str, Any] | None = None, *,
              title: str = "", dt: float | None = None) -> str:
    """The model with `params` (a scenario's resolved `set:` values) as Vensim .mdl text."""
    check_names(spec, VENSIM_RESERVED, "Vensim")
    params = params or {}
    v = VensimExpression(spec)
    out: list[str] = ["{UTF-8}\n"]
    for dname, dim in spec.dimensions.items():
        labels = "; ".join(f"{e} = {lab.zh} {lab.en}" for e, lab in dim.labels.items())
        out.append(f"{dname}:\n\t{', '.join(dim.elements)}\n\t~\t\n\t~\t{labels}\n\t|\n")
    for name, st in spec.stocks.items():
        terms = [v.visit(ast.Name(f)) for f in st.inflows]
        net = " + ".join(terms) if terms else ""
        for f in st.outflows:
            net += f" - {v.visit(ast.Name(f))}" if net else f"-{v.visit(ast.Name(f))}"
        rhs = f"INTEG({net or '0'}, {v.visit(parse(st.initial))})"
        out.append(_block(_lhs(spec, name), rhs, vensim_units(st.unit), comment(st)))
    for table in (spec.flows, spec.auxiliaries):
        for name, el in table.items():
            out.append(_block(_lhs(spec, name), v.visit(parse(el.equation)), vensim_units(el.unit), comment(el)))
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
    out.append(_block("TIME STEP ", number(step), "year [0,?]", "The time step for the simulation (Euler)."))
    return "".join(out)


def scenario_vensim(scenario: Any, *, dt: float | None = None) -> str:
    """The scenario's model and levers as the text of a Vensim .mdl file (titled with its labels)."""
    return to_vensim(scenario.spec, scenario.params, title=scenario_title(scenario), dt=dt)


def scenario_title(scenario: Any) -> str:
    """`name: 中文标签 / English label`, the title an export carries."""
    return f"{scenario.name}: {scenario.label.get('zh', '')} / {scenario.label.get('en', '')}"
