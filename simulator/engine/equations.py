"""Equations: Python-syntax expressions parsed with `ast`, checked against a whitelist,
and translated to numpy code.

Every value in the generated code is a 2-D array (runs, width): width 1 for a scalar,
the number of counties for a county-subscripted value, so broadcasting a scalar over the
counties is numpy's own. `translate` returns the code, the dimension of the result and
the element names it reads; SMOOTH and DELAY3 calls are handed to the caller (the
compiler), which turns them into hidden stocks.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from simulator.errors import InputError, suggest

if TYPE_CHECKING:
    from simulator.engine.modelfile import ModelSpec

#: builtin function name -> number of arguments
BUILTINS: dict[str, int] = {
    "min": 2, "max": 2, "abs": 1, "exp": 1, "ln": 1, "sqrt": 1,
    "if_then_else": 3, "step": 2, "ramp": 3, "smooth": 2, "delay3": 2, "sum": 1,
}
RESERVED = set(BUILTINS) | {"time"}

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_UNARY = {"abs": "np.abs", "exp": "np.exp", "ln": "np.log", "sqrt": "np.sqrt"}

#: the dimension of a value: None for a scalar, else the dimension's name
Dim = str | None


@dataclass
class Translated:
    """Code for one expression, its dimension, and whether it varies by run (else a literal)."""

    code: str
    dim: Dim
    literal: bool = False


@dataclass
class Context:
    """What the translator needs from the compiler."""

    spec: "ModelSpec"
    owner: str
    field: str
    initial: bool = False
    #: called for smooth/delay3 with (kind, input, delay, dim, input reads, delay reads);
    #: returns code for the output and adds what that code reads to `reads`
    hidden: Callable[[str, Translated, Translated, Dim, set[str], set[str]], Translated] | None = None
    reads: set[str] = field(default_factory=set)


class _EquationError(Exception):
    pass


def parse(text: float | int | str) -> ast.expr:
    """Parse an equation (or a bare number) into an ast expression."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return ast.Constant(float(text))
    if not isinstance(text, str):
        raise _EquationError(f"an equation must be a string or a number, not {type(text).__name__}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise _EquationError(f"does not parse ({exc.msg})") from None
    return tree.body


def translate(text: float | int | str, ctx: Context) -> Translated:
    """Check an equation against the whitelist and translate it; raises InputError."""
    try:
        result = _Translator(ctx).visit(parse(text))
    except _EquationError as exc:
        raise InputError(ctx.spec.path, ctx.field, f"{exc} in '{text}'") from None
    dims = ctx.spec.element(ctx.owner).dims
    own = dims[0] if dims else None
    if result.dim is not None and result.dim != own:
        what = f"dims [{own}]" if own else "no dims"
        raise InputError(ctx.spec.path, ctx.field,
                         f"the equation is subscripted by '{result.dim}' but '{ctx.owner}' has {what}; use sum(...) or x[element] in '{text}'")
    return result


def check(spec: "ModelSpec", owner: str, text: float | int | str, *, field: str, initial: bool = False) -> set[str]:
    """Validate one equation at load time; returns the element names it reads."""
    def hidden(kind: str, inp: Translated, delay: Translated, dim: Dim, r_in: set[str], r_delay: set[str]) -> Translated:
        ctx.reads |= r_in | r_delay
        return Translated("h", dim)

    ctx = Context(spec, owner, field, initial=initial, hidden=hidden)
    translate(text, ctx)
    return ctx.reads


class _Translator(ast.NodeVisitor):
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.spec = ctx.spec

    def generic_visit(self, node: ast.AST) -> Translated:
        raise _EquationError(f"'{ast.unparse(node)}' is not allowed ({type(node).__name__})")

    def visit_Constant(self, node: ast.Constant) -> Translated:
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise _EquationError(f"{node.value!r} is not a number")
        return Translated(repr(float(node.value)), None, literal=True)

    def visit_Name(self, node: ast.Name) -> Translated:
        name = node.id
        if name == "time":
            return Translated("t", None, literal=True)
        kind = self.spec.kind(name)
        if kind is None:
            raise _EquationError(f"unknown name '{name}'{suggest(name, self.spec.all_names() + ['time'])}")
        if kind == "lookup":
            raise _EquationError(f"lookup '{name}' must be called, as {name}(x)")
        if self.ctx.initial and kind in ("flow", "auxiliary"):
            raise _EquationError(f"an initial value may use constants and stocks, not the {kind} '{name}'")
        self.ctx.reads.add(name)
        dims = self.spec.element(name).dims
        return Translated(f"v_{name}", dims[0] if dims else None)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Translated:
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise _EquationError(f"'{ast.unparse(node)}' is not allowed (use if_then_else for logic)")
        x = self.visit(node.operand)
        sign = "-" if isinstance(node.op, ast.USub) else "+"
        return Translated(f"({sign}{x.code})", x.dim, x.literal)

    def visit_BinOp(self, node: ast.BinOp) -> Translated:
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise _EquationError(f"operator in '{ast.unparse(node)}' is not allowed")
        a, b = self.visit(node.left), self.visit(node.right)
        return Translated(f"({a.code} {op} {b.code})", self._join(a, b, node), a.literal and b.literal)

    def visit_Compare(self, node: ast.Compare) -> Translated:
        raise _EquationError(f"comparison '{ast.unparse(node)}' is allowed only as the condition of if_then_else")

    def _condition(self, node: ast.expr) -> Translated:
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise _EquationError(f"chained comparison '{ast.unparse(node)}' is not allowed")
            op = _CMPOPS[type(node.ops[0])]
            a, b = self.visit(node.left), self.visit(node.comparators[0])
            return Translated(f"({a.code} {op} {b.code})", self._join(a, b, node), a.literal and b.literal)
        return self.visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> Translated:
        if not isinstance(node.value, ast.Name) or not isinstance(node.slice, ast.Name):
            raise _EquationError(f"'{ast.unparse(node)}' is not allowed (use name[element])")
        x = self.visit(node.value)
        elem = node.slice.id
        if x.dim is None:
            raise _EquationError(f"'{node.value.id}' has no dimension to take '{elem}' from")
        elements = self.spec.elements(x.dim)
        if elem not in elements:
            raise _EquationError(f"'{elem}' is not an element of '{x.dim}'{suggest(elem, elements)}")
        i = elements.index(elem)
        return Translated(f"{x.code}[:, {i}:{i + 1}]", None)

    def visit_Call(self, node: ast.Call) -> Translated:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise _EquationError(f"call '{ast.unparse(node)}' is not allowed")
        fname = node.func.id
        if fname in self.spec.lookups:
            if len(node.args) != 1:
                raise _EquationError(f"lookup '{fname}' takes one argument")
            x = self.visit(node.args[0])
            self.ctx.reads.add(fname)
            return Translated(f"lk_{fname}({x.code})", x.dim, x.literal)
        if fname not in BUILTINS:
            raise _EquationError(f"unknown function '{fname}'{suggest(fname, list(BUILTINS) + list(self.spec.lookups))}")
        if len(node.args) != BUILTINS[fname]:
            raise _EquationError(f"{fname} takes {BUILTINS[fname]} argument(s), got {len(node.args)}")
        if fname == "if_then_else":
            c = self._condition(node.args[0])
            a, b = self.visit(node.args[1]), self.visit(node.args[2])
            dim = self._join(c, a, b, node)
            return Translated(f"np.where({c.code}, {a.code}, {b.code})", dim, c.literal and a.literal and b.literal)
        if fname in ("smooth", "delay3"):
            return self._hidden(fname, node)
        args = [self.visit(a) for a in node.args]
        literal = all(a.literal for a in args)
        if fname in _UNARY:
            return Translated(f"{_UNARY[fname]}({args[0].code})", args[0].dim, literal)
        if fname in ("min", "max"):
            fn = "np.minimum" if fname == "min" else "np.maximum"
            return Translated(f"{fn}({args[0].code}, {args[1].code})", self._join(*args, node), literal)
        if fname == "sum":
            if args[0].dim is None:
                raise _EquationError(f"sum needs a subscripted argument in '{ast.unparse(node)}'")
            return Translated(f"np.sum({args[0].code}, axis=1, keepdims=True)", None)
        if fname == "step":
            h, t0 = args
            # Vensim's STEP: on once Time + TIME STEP/2 > step time (so an off-grid step
            # time switches at the nearest grid point)
            return Translated(f"np.where(t + dt / 2 > {t0.code}, {h.code}, 0.0)", self._join(h, t0, node), literal)
        if fname == "ramp":
            s, t1, t2 = args
            dim = self._join(s, t1, t2, node)
            return Translated(f"({s.code} * (np.clip(t, {t1.code}, {t2.code}) - {t1.code}))", dim, literal)
        raise AssertionError(fname)

    def _hidden(self, fname: str, node: ast.Call) -> Translated:
        """smooth/delay3: the compiler makes hidden stocks; their inputs are read apart."""
        if self.ctx.initial or self.ctx.hidden is None:
            raise _EquationError(f"{fname} is not allowed in an initial value")
        outer, self.ctx.reads = self.ctx.reads, set()
        inp = self.visit(node.args[0])
        r_in, self.ctx.reads = self.ctx.reads, set()
        delay = self.visit(node.args[1])
        r_delay, self.ctx.reads = self.ctx.reads, outer
        return self.ctx.hidden(fname, inp, delay, self._join(inp, delay, node), r_in, r_delay)

    def _join(self, *args: Translated | ast.AST) -> Dim:
        """The common dimension of the operands (the last argument is the node, for messages)."""
        *values, node = args
        dims = {v.dim for v in values if v.dim is not None}
        if len(dims) > 1:
            raise _EquationError(f"'{ast.unparse(node)}' mixes dimensions {sorted(dims)}")
        return dims.pop() if dims else None
