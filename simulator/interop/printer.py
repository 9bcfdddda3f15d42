"""Equation trees (`engine.ir`) printed as Vensim or XMILE text, subscripts and all.

Both exporters print the tree the engine compiles (`engine.equations.to_ir`), never the
equation's text, so each built-in has one translation: its `vensim` or `xmile` template in
`engine.functions.FUNCTIONS`. A reference prints its dims in the element's declared order;
a dimension fixed by the context (an element equation, `x[kongtong]`) prints as the
element; a dimension summed over prints as `age!` (Vensim, and XMILE for PySD) or `*`
(standard XMILE). `shift(x, age)` has no counterpart in either tool: an equation that uses it
is written once per element of `age` (`owner_equations`), where the shift is x at the
previous element (0 for the first). A reduction of a reduction of the same kind is one
call (`SUM(x[county!, age!])`); a shift or another reduction inside a reduction is written
out as the sum (max, min) of its terms, element by element, which both tools read.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

from simulator.engine import ir
from simulator.engine.functions import FUNCTIONS

if TYPE_CHECKING:
    from simulator.engine.modelfile import ModelSpec

#: binding strength of the printed forms: an operand binding less than its operator is
#: parenthesized (unary minus and IF THEN ELSE in XMILE are always printed in parentheses)
_ATOM, _POW, _MUL, _ADD, _CMP = 4, 3, 2, 1, 0
_CHAIN = {"+": _ADD, "*": _MUL}
_CMP_TEXT = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}

Cell = dict[str, str]


def number(x: float) -> str:
    """A float as the shortest text that reads back to the same float (Vensim and XMILE)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot export the non-finite number {x}")
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


class Printer:
    """IR -> Vensim (`dialect="vensim"`) or XMILE (`"xmile"`) expression text.

    `array_sum="pysd"` writes XMILE sums as SUM(x[county!]) (what PySD reads) instead of
    the standard SUM(x[*])."""

    def __init__(self, spec: "ModelSpec", dialect: str = "vensim", array_sum: str = "xmile") -> None:
        self.spec = spec
        self.dialect = dialect
        self.bang = "!" if dialect == "vensim" or array_sum == "pysd" else "*"

    def text(self, node: ir.Node, cell: Cell | None = None) -> str:
        """The expression with the dims in `cell` fixed to those elements."""
        return self._p(node, dict(cell or {}), frozenset())[0]

    def ref(self, name: str, cell: Cell, banged: frozenset = frozenset()) -> str:
        """A variable with its subscripts (declared order) in context."""
        dims = self.spec.element(name).dims
        if not dims:
            return name
        subs = []
        for d in dims:
            if d in cell:
                subs.append(cell[d])
            elif d in banged:
                subs.append("*" if self.bang == "*" else f"{d}!")
            else:
                subs.append(d)
        return f"{name}[{', '.join(subs)}]"

    # ------------------------------------------------------------------ nodes
    def _p(self, node: ir.Node, cell: Cell, banged: frozenset) -> tuple[str, int]:
        if isinstance(node, ir.Const):
            text = number(node.value)
            return (text, _ATOM) if node.value >= 0 else (f"({text})", _ATOM)
        if isinstance(node, ir.Time):
            return ("Time" if self.dialect == "vensim" else "TIME"), _ATOM
        if isinstance(node, ir.Ref):
            return self.ref(node.name, cell, banged), _ATOM
        if isinstance(node, ir.Select):
            return self.ref(node.x.name, {**cell, **{d: e for d, _, e in node.picks}}, banged), _ATOM  # type: ignore[attr-defined]
        if isinstance(node, ir.Neg):
            text, prec = self._p(node.x, cell, banged)
            return (f"(-{text})" if prec in (_ATOM, _MUL) else f"(-({text}))"), _ATOM
        if isinstance(node, ir.Chain):
            prec = _CHAIN[node.family]
            text, p = self._p(node.first, cell, banged)
            parts = [text if p >= prec else f"({text})"]
            for op, term in node.rest:
                text, p = self._p(term, cell, banged)
                parts.append(f"{op} {text if p > prec else f'({text})'}")
            return " ".join(parts), prec
        if isinstance(node, ir.Pow):  # associativity of ^ differs between tools: always explicit
            (b, pb), (e, pe) = self._p(node.base, cell, banged), self._p(node.exponent, cell, banged)
            return f"{b if pb == _ATOM else f'({b})'} ^ {e if pe == _ATOM else f'({e})'}", _POW
        if isinstance(node, ir.Compare):
            a, b = self._p(node.a, cell, banged)[0], self._p(node.b, cell, banged)[0]
            return f"{a} {_CMP_TEXT[node.op]} {b}", _CMP
        if isinstance(node, ir.Lookup):
            return f"{node.name}({self._p(node.x, cell, banged)[0]})", _ATOM
        if isinstance(node, (ir.Call, ir.Delay)):
            args = node.args if isinstance(node, ir.Call) else (node.x, node.delay)
            texts = [self._p(a, cell, banged)[0] for a in args]
            return self._template(node.fn).format(*texts), _ATOM
        if isinstance(node, ir.Reduce):
            return self._reduce(node, cell, banged), _ATOM
        if isinstance(node, ir.Shift):
            elements = self.spec.elements(node.dim)
            i = elements.index(cell[node.dim])
            if i == 0:
                return "0", _ATOM
            return self._p(node.x, {**cell, node.dim: elements[i - 1]}, banged)
        raise TypeError(f"cannot export {type(node).__name__}")

    def _template(self, fn: str) -> str:
        return getattr(FUNCTIONS[fn], self.dialect)

    def _reduce(self, node: ir.Reduce, cell: Cell, banged: frozenset) -> str:
        dims = [node.dim]
        body = node.x
        while isinstance(body, ir.Reduce) and body.fn == node.fn and node.fn != "mean":
            dims.append(body.dim)  # sum(sum(x, age), county): one SUM(x[county!, age!])
            body = body.x
        inner_cell = {d: e for d, e in cell.items() if d not in dims}
        if len(dims) > 1:
            inner = self._p(body, inner_cell, banged | set(dims))[0]
            return self._template(node.fn).format(inner, dim=node.dim, n=len(self.spec.elements(node.dim)))
        elements = self.spec.elements(node.dim)
        nested = any(isinstance(n, ir.Reduce) for n in ir.walk(node.x))
        if nested or node.dim in shift_dims(node.x):  # written out element by element
            terms = [self._p(node.x, {**inner_cell, node.dim: e}, banged)[0] for e in elements]
            if node.fn in ("sum", "mean"):
                total = "(" + " + ".join(terms) + ")"
                return total if node.fn == "sum" else f"({total} / {len(terms)})"
            pair = "MAX" if node.fn == "vmax" else "MIN"
            text = terms[-1]
            for t in reversed(terms[:-1]):
                text = f"{pair}({t}, {text})"
            return text
        inner = self._p(node.x, inner_cell, banged | {node.dim})[0]
        return self._template(node.fn).format(inner, dim=node.dim, n=len(elements))


def shift_dims(node: ir.Node) -> set[str]:
    """Dims along which a tree shifts outside any sum over the same dim: an equation that has
    them is written once per element of each."""
    found: set[str] = set()
    stack: list[tuple[ir.Node, frozenset]] = [(node, frozenset())]
    while stack:
        n, reduced = stack.pop()
        if isinstance(n, ir.Shift) and n.dim not in reduced:
            found.add(n.dim)
        inner = reduced | {n.dim} if isinstance(n, ir.Reduce) else reduced
        stack.extend((c, inner) for c in ir.children(n))
    return found


def cells(spec: "ModelSpec", owner: str, dims: set[str]) -> list[Cell]:
    """Every combination of elements of `dims` (in the owner's declared order)."""
    ordered = [d for d in spec.element(owner).dims if d in dims]
    return [dict(zip(ordered, combo)) for combo in itertools.product(*(spec.elements(d) for d in ordered))]


def owner_equations(spec: "ModelSpec", owner: str, default: ir.Node,
                    pieces: list[tuple[dict[str, int], ir.Node]], *, every: bool = False) -> list[tuple[Cell, ir.Node]]:
    """The (cell, tree) equations of an element: one for all elements when it can be, else one
    per combination of the dims that per-element equations or shifts name (`every`: of all its
    dims, as XMILE's element equations need). Pieces are least specific first."""
    dims = set(shift_dims(default))
    for picks, node in pieces:
        dims |= set(picks) | shift_dims(node)
    if not dims:
        return [({}, default)]
    if every:
        dims = set(spec.element(owner).dims)
    out = []
    for cell in cells(spec, owner, dims):
        chosen = default
        for picks, node in pieces:
            if all(spec.elements(d)[i] == cell[d] for d, i in picks.items()):
                chosen = node
        out.append((cell, chosen))
    return out
