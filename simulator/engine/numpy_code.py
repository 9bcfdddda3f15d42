"""The numpy backend: a `Program` (ir.py) as the source of two vectorized Python functions.

Every value is an array (runs, *shape) with one axis per model dimension in canonical
order, of size 1 where the value does not vary (`Program.shape`), so numpy's broadcasting
combines values by dimension name. The generated source has three sections, initial
values (`init`), rates and outputs (`rates`), and each line is preceded by a comment with
the element's name, its dims and its equation as written in the model file, so a
modeller can read what runs (`urbsd docs --generated` writes it). Each built-in's code is
its `numpy` template in `functions.FUNCTIONS`. This is the reference backend: any other
(a compiled kernel) must give the same numbers.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from simulator.engine import ir
from simulator.engine.functions import FUNCTIONS


def build(program: ir.Program, name: str) -> tuple[str, dict[str, Any]]:
    """The source of `init` and `rates`, and the namespace they were executed in."""
    text = source(program)
    namespace: dict[str, Any] = {"np": np, "spread": spread, "assemble": assemble, "shift": shift,
                                 "at_time": at_time}
    for lname, (xs, ys) in program.lookups.items():
        namespace[f"lk_{lname}"] = _lookup(np.asarray(xs, float), np.asarray(ys, float))
    exec(compile(text, f"<model {name}>", "exec"), namespace)
    return text, namespace


def source(program: ir.Program) -> str:
    """The generated Python source of a program."""
    g = _Generator(program)
    lines = ['def init(t, C, dt=0.0, side=0):',
             '    """The state at the start time t: stocks, then hidden SMOOTH/DELAY3 stocks."""']
    lines += g.constants()
    lines.append("    # ================================================================ initial values")
    for a in program.init:
        lines += g.assign(a)
    lines.append("    return {")
    for a in program.init_states:
        if a.text:
            lines.append(f"        # {_comment(a.text)}")
        lines.append(f"        '{a.name}': {g.expr(a.expr)},")
    lines += ["    }", "", "",
              'def rates(t, C, S, dt=0.0, side=0):',
              '    """(D, V) at time t (on `side` of it: ir.time_comparison): the derivative of every state, '
              'the value of every flow and auxiliary."""']
    lines += g.constants()
    lines.append("    # ---------------------------------------------------------------- state")
    lines += [f"    v_{s.name} = S['{s.name}']" for s in program.states]
    lines.append("    # ================================================================ rates")
    for a in program.rates:
        lines += g.assign(a)
    lines.append("    D = {")
    for s in program.states:
        lines.append(f"        # {s.name}{_dims(s.dims)}: {_comment(s.text)}")
        lines.append(f"        '{s.name}': {g.expr(s.derivative, top=True)},")
    lines.append("    }")
    lines.append("    # ================================================================ outputs")
    recorded = [n for n in program.outputs if n not in {s.name for s in program.states}]
    lines.append("    V = {" + ", ".join(f"'{v}': v_{v}" for v in recorded) + "}")
    lines.append("    return D, V")
    return "\n".join(lines) + "\n"


def spread(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """x (runs, ...) broadcast to its owner's shape (an equation with fewer dims than its owner)."""
    return np.broadcast_to(x, x.shape[:1] + shape)


def assemble(shape: tuple[int, ...], default: Any, *pieces: tuple[tuple[slice, ...], Any]) -> np.ndarray:
    """An array of `shape` (plus the run axis) filled with `default`, then each (index, value)
    piece written over its slice: per-element equations, least specific first."""
    values = [default] + [v for _, v in pieces]
    n = max((np.shape(v)[0] for v in values if np.ndim(v) > 0), default=1)
    out = np.empty((n,) + shape)
    out[...] = default
    for index, value in pieces:
        out[(slice(None),) + (index if isinstance(index, tuple) else (index,))] = value
    return out


_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
        "!=": operator.ne}


def at_time(t: float, x: Any, side: int, op: str) -> Any:
    """`time op x` on a side of t (ir.time_comparison): t op x where t differs from x, else side op 0."""
    f = _OPS[op]
    return np.where(t != x, f(t, x), f(side, 0))


def shift(x: np.ndarray, axis: int) -> np.ndarray:
    """x moved one element along `axis`: out[0] = 0, out[i] = x[i - 1] (an ageing chain)."""
    out = np.zeros(np.shape(x))
    dst = [slice(None)] * out.ndim
    src = [slice(None)] * out.ndim
    dst[axis], src[axis] = slice(1, None), slice(None, -1)
    out[tuple(dst)] = np.asarray(x)[tuple(src)]
    return out


def _lookup(xs: np.ndarray, ys: np.ndarray):
    """A graphical function: linear between points, flat beyond the ends (Vensim's default)."""
    def f(x):
        return np.interp(x, xs, ys)
    return f


def _comment(text: str) -> str:
    """Text for one comment line: whitespace collapsed, anything unprintable replaced."""
    text = " ".join(text.split())
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)


def _dims(dims: tuple[str, ...]) -> str:
    return f"[{', '.join(dims)}]" if dims else ""


class _Generator:
    def __init__(self, program: ir.Program) -> None:
        self.p = program

    def constants(self) -> list[str]:
        lines = ["    # ---------------------------------------------------------------- constants"]
        return lines + [f"    v_{c} = C['{c}']" for c in self.p.constants]

    def assign(self, a: ir.Assign) -> list[str]:
        """The comment and the line(s) computing one variable."""
        lines = [f"    # {a.name}{_dims(a.dims)}: {_comment(a.text)}" if a.name == a.owner
                 else f"    # {a.name}{_dims(a.dims)} ({_comment(a.text)})"]
        shape = self.p.shape(a.dims)
        if not a.pieces:
            return lines + [f"    v_{a.name} = {self.value(a.expr, a.dims)}"]
        for piece in a.pieces:
            lines.append(f"    #   at {piece.key}: {_comment(piece.text)}")
        parts = [self.expr(a.expr, top=True)]
        for piece in a.pieces:
            picked = dict(piece.picks)
            index = ", ".join(f"{picked[d]}:{picked[d] + 1}" if d in picked else ":" for d in self.p.dims)
            parts.append(f"(np.s_[{index}], {self.expr(piece.expr, top=True)})")
        return lines + [f"    v_{a.name} = assemble({shape}, {', '.join(parts)})"]

    def value(self, node: ir.Node, dims: tuple[str, ...]) -> str:
        """An expression as the full array of a variable with `dims`."""
        code = self.expr(node, top=True)
        shape = self.p.shape(dims)
        if not any(isinstance(n, ir.Ref) for n in ir.walk(node)):
            return f"np.full({(1,) + shape}, {code})"  # no array in it: a number (or a function of t)
        if node.dims != dims:
            return f"spread({code}, {shape})"
        return code

    def expr(self, node: ir.Node, top: bool = False) -> str:
        """numpy code of a tree (parenthesized unless `top`)."""
        code = self._expr(node)
        if top and code.startswith("(") and _balanced(code[1:-1]):
            return code[1:-1]
        return code

    def _expr(self, node: ir.Node) -> str:
        if isinstance(node, ir.Const):
            return repr(node.value) if node.value >= 0 or node.value != node.value else f"({node.value!r})"
        if isinstance(node, ir.Time):
            return "t"
        if isinstance(node, ir.Ref):
            return f"v_{node.name}"
        if isinstance(node, ir.Neg):
            return f"(-{self._expr(node.x)})"
        if isinstance(node, ir.Chain):
            parts = [self._expr(node.first)] + [f"{op} {self._expr(t)}" for op, t in node.rest]
            return f"({' '.join(parts)})"
        if isinstance(node, ir.Pow):
            return f"({self._expr(node.base)} ** {self._expr(node.exponent)})"
        if isinstance(node, ir.Compare):
            at = ir.time_comparison(node)
            if at:
                return f"at_time(t, {self._expr(at[1])}, side, {at[0]!r})"
            return f"({self._expr(node.a)} {node.op} {self._expr(node.b)})"
        if isinstance(node, ir.Call):
            return FUNCTIONS[node.fn].numpy.format(*(self._expr(a) for a in node.args))
        if isinstance(node, ir.Lookup):
            return f"lk_{node.name}({self._expr(node.x)})"
        if isinstance(node, ir.Reduce):
            return FUNCTIONS[node.fn].numpy.format(self._expr(node.x), axis=self.p.axis(node.dim))
        if isinstance(node, ir.Select):
            picked = {d: i for d, i, _ in node.picks}
            last = max(self.p.axis(d) for d in picked)
            index = [f"{picked[d]}:{picked[d] + 1}" if d in picked else ":" for d in list(self.p.dims)[:last]]
            return f"{self._expr(node.x)}[:, {', '.join(index)}]"
        if isinstance(node, ir.Shift):
            return FUNCTIONS["shift"].numpy.format(self._expr(node.x), axis=self.p.axis(node.dim))
        raise TypeError(f"no numpy code for {type(node).__name__} (smooth/delay3 are lowered by the compiler)")


def _balanced(code: str) -> bool:
    """True if `code` has no parenthesis closed before it opened (so outer ones may go)."""
    depth = 0
    for c in code:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0
